"""The log's client role (``LogClient``): which coordinator next, what a reply asks, results."""

from __future__ import annotations

import random

import pytest

from ticketing.consensus.log_client import Catchup, LogClient
from ticketing.consensus.messages import Decide
from ticketing.consensus.replica import Replica
from ticketing.consensus.simulator import AppendLog
from ticketing.consensus.storage import MemoryStorage
from ticketing.consensus.values import Batch, Command
from ticketing.errors import Unavailable


def value(n: int) -> Batch:
    return Batch(float(n), (Command(f"q{n}", n),))


def walk(client: LogClient, answers: dict[str, bool]) -> tuple[list[str], str | None, Unavailable]:
    """Drive one failover as a driver does: the names tried, the one that answered."""
    failover = client.failover()
    tried = []
    while (name := failover.next()) is not None:
        tried.append(name)
        if answers[name]:
            client.answered(name)
            return tried, name, None
        failover.failed(Unavailable(f"{name} is down"))
    return tried, None, failover.error


def test_the_main_coordinator_is_asked_first_and_the_standby_when_it_fails() -> None:
    client = LogClient("r1", ["main", "standby"])
    assert walk(client, {"main": True, "standby": True})[:2] == (["main"], "main")
    assert walk(client, {"main": False, "standby": True})[:2] == (["main", "standby"], "standby")


def test_the_coordinator_that_answered_last_is_asked_first_next_time() -> None:
    client = LogClient("r1", ["main", "standby"])
    walk(client, {"main": False, "standby": True})
    assert client.coordinators == ["standby", "main"]
    assert walk(client, {"main": True, "standby": False})[:2] == (["standby", "main"], "main")
    assert client.coordinators == ["main", "standby"]


def test_when_every_coordinator_fails_the_call_fails_with_the_first_error() -> None:
    client = LogClient("r1", ["main", "standby"])
    tried, answered, error = walk(client, {"main": False, "standby": False})
    assert tried == ["main", "standby"] and answered is None
    assert str(error) == "main is down"
    assert client.coordinators == ["main", "standby"]  # nobody answered: order unchanged


def test_a_reply_asks_to_learn_its_values_and_wait_for_the_highest_slot() -> None:
    client = LogClient("r1", ["c"])
    decide = Decide(((4, value(4)),))
    assert client.on_submit_reply([3, 5, 4], decide) == Catchup(decide, 5)
    assert client.on_read_index_reply(7, None) == Catchup(None, 7)


def test_results_come_from_the_exactly_once_table_and_a_forgotten_one_is_unavailable() -> None:
    client = LogClient("r1", ["c"])
    table = {"a": (1, {"ok": True}), "b": (2, {"ok": False})}
    assert client.results(["b", "a"], table.get) == [{"ok": False}, {"ok": True}]
    with pytest.raises(Unavailable, match="r1 lost track of request c; retry"):
        client.results(["a", "c"], table.get)


def test_a_replica_learns_handed_back_values_in_order() -> None:
    replica = Replica("r1", ["r1", "r2"], AppendLog(), MemoryStorage(), random.Random(1))
    ready = replica.learn(Decide(((1, value(1)), (2, value(2)))), now=0.0)
    assert ready.applied == 2 and ready.reply is None and not ready.must_sync
    assert replica.learn(Decide(((4, value(4)),)), now=1.0).applied == 0  # slot 3 missing
    assert replica.learn(Decide(((3, value(3)),)), now=1.0).applied == 2
