"""Which replica of a group serves a call: writes stick to one, reads go round.

A fake pool stands in for the replicas: the choice is pure selection logic.
"""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from ticketing.errors import SeatsUnavailable, Unavailable
from ticketing.server import replica_group
from ticketing.server.replica_group import ReplicaGroup

PREFIX = "ticketing.datastore.east.replica."
R1, R2, R3 = (f"{PREFIX}{n}" for n in (1, 2, 3))


class FakePool:
    """Replicas that answer with their own name; ``down`` ones are ``Unavailable``."""

    ns_host, ns_port = "localhost", 9090

    def __init__(self, replicas: list[str]) -> None:
        self.replicas = replicas
        self.down: set[str] = set()
        self.refused: set[str] = set()
        self.served: list[str] = []  # who answered, in order
        self.tried: list[str] = []  # who was asked, in order
        self.listings = 0

    def list(self, prefix: str, refresh: bool = False) -> dict[str, str]:
        self.listings += 1
        return {name: f"PYRO:{name}@here:1" for name in self.replicas if name.startswith(prefix)}

    def call(self, name: str, method: str, *args: Any) -> Any:
        self.tried.append(name)
        if name in self.down:
            raise Unavailable(f"{name} is down")
        if name in self.refused:
            raise SeatsUnavailable("taken", seats=["A1"])
        self.served.append(name)
        return name


def group(pool: FakePool) -> ReplicaGroup:
    return ReplicaGroup(pool, PREFIX, "data store replica")  # type: ignore[arg-type]


def test_reads_go_round_every_replica_while_writes_stay_on_the_preferred_one() -> None:
    pool = FakePool([R3, R1, R2])  # listed out of order: turns follow id order
    replicas = group(pool)
    assert [replicas.read("seat_states") for _ in range(6)] == [R1, R2, R3, R1, R2, R3]
    assert [replicas.call("book") for _ in range(3)] == [R1, R1, R1]
    assert replicas.preferred == R1
    assert pool.listings == 1  # the names are listed once and kept


def test_a_read_fails_over_to_the_next_replica_and_passes_the_failed_one_over() -> None:
    pool = FakePool([R1, R2, R3])
    replicas = group(pool)
    pool.down.add(R2)
    assert replicas.read("seat_states") == R1
    assert replicas.read("seat_states") == R3  # R2's turn: it failed, R3 answered
    # R2 now rests: the turns go on over R1 and R3 only, with no call to R2.
    pool.tried.clear()
    assert [replicas.read("seat_states") for _ in range(4)] == [R1, R3, R1, R3]
    assert R2 not in pool.tried
    assert replicas.preferred is None  # reads pick no favourite for the writes


def test_a_rested_replica_takes_its_turns_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replica_group, "READ_REST", 0.0)
    pool = FakePool([R1, R2, R3])
    replicas = group(pool)
    pool.down.add(R2)
    assert [replicas.read("seat_states") for _ in range(2)] == [R1, R3]
    pool.down.clear()
    assert [replicas.read("seat_states") for _ in range(3)] == [R3, R1, R2]


def test_resting_replicas_are_still_tried_when_no_other_answers() -> None:
    pool = FakePool([R1, R2])
    replicas = group(pool)
    pool.down.add(R1)
    assert replicas.read("seat_states") == R2
    pool.down = {R2}
    pool.tried.clear()
    assert replicas.read("seat_states") == R1  # R1 rests, but is the only one left
    assert pool.tried == [R2, R1]


def test_a_read_with_every_replica_down_is_unavailable_naming_each() -> None:
    pool = FakePool([R1, R2, R3])
    pool.down = {R1, R2, R3}
    with pytest.raises(Unavailable, match="no data store replica can serve") as info:
        group(pool).read("seat_states")
    assert all(name in str(info.value) for name in (R1, R2, R3))
    assert pool.listings == 2  # listed again once every known one failed


def test_a_replica_answer_other_than_unavailable_is_not_retried_elsewhere() -> None:
    pool = FakePool([R1, R2, R3])
    pool.refused.add(R1)
    with pytest.raises(SeatsUnavailable):
        group(pool).read("holds_booked_on")
    assert pool.tried == [R1]


def test_reads_from_many_threads_share_the_turns_evenly() -> None:
    pool = FakePool([R1, R2, R3])
    replicas = group(pool)
    with ThreadPoolExecutor(max_workers=8) as threads:
        served = list(threads.map(lambda _: replicas.read("seat_states"), range(300)))
    assert Counter(served) == {R1: 100, R2: 100, R3: 100}
