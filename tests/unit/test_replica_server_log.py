"""``ReplicaServer`` as the driver of its ``LogClient``: the calls it makes, in which order,
and the errors its callers get. A fake pool plays the coordinator and its standby; the
replica is a real ``ReplicaHost`` (SQLite in a temporary directory, never started)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ticketing.consensus import codec
from ticketing.consensus.messages import Decide
from ticketing.consensus.values import Batch, Command
from ticketing.errors import Unavailable
from ticketing.server.coordinator_identity import standby_name
from ticketing.server.replica_host import ReplicaHost
from ticketing.server.replica_server import ReplicaServer

MAIN = "ticketing.test.coordinator"
STANDBY = standby_name(MAIN)


class Counter:
    """A state machine whose result is how many commands it applied."""

    def __init__(self) -> None:
        self.count = 0

    def apply(self, payload: Any, slot: int, now: float) -> Any:
        self.count += 1
        return {"ok": True, "count": self.count}

    def snapshot(self) -> Any:
        return self.count

    def restore(self, snapshot: Any) -> None:
        self.count = snapshot

    def digest(self) -> str:
        return str(self.count)


class FakePool:
    """The coordinators: ``down`` ones fail; the others decide each command at the next slot."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, tuple]] = []
        self.down: set[str] = set()
        self.log: list[tuple[int, Batch]] = []
        self.hand_back = True  # whether answers carry the chosen values

    def call(self, name: str, method: str, *args: Any) -> Any:
        self.calls.append((name, method, args))
        if name in self.down:
            raise Unavailable(f"{name} is down")
        if method == "submit":
            for request_id, payload in args[0]:
                self.log.append((len(self.log) + 1, Batch(0.0, (Command(request_id, payload),))))
            slots = list(range(len(self.log) - len(args[0]) + 1, len(self.log) + 1))
            return {"slots": slots, "decided": self._decided(args[1])}
        assert method == "commit_index"
        return {"index": len(self.log), "decided": self._decided(args[0])}

    def _decided(self, learned_below: int) -> str | None:
        entries = tuple(e for e in self.log if e[0] >= learned_below)
        return codec.dumps(Decide(entries)) if entries and self.hand_back else None


@pytest.fixture
def pool() -> FakePool:
    return FakePool()


@pytest.fixture
def server(tmp_path: Path, pool: FakePool) -> ReplicaServer:
    host = ReplicaHost("r1", ["r1"], Counter(), tmp_path / "r1.sqlite", pool)
    return ReplicaServer("r1", host, MAIN, pool)


def test_a_write_is_submitted_to_the_main_coordinator_and_answered_with_its_result(
    server: ReplicaServer, pool: FakePool
) -> None:
    assert server._write("q1", {"n": 1}) == {"ok": True, "count": 1}
    assert pool.calls == [(MAIN, "submit", ([["q1", {"n": 1}]], 1))]
    assert server._write("q2", {"n": 2}) == {"ok": True, "count": 2}
    assert pool.calls[1] == (MAIN, "submit", ([["q2", {"n": 2}]], 2))


def test_the_standby_answers_when_the_main_fails_and_is_then_asked_first(
    server: ReplicaServer, pool: FakePool
) -> None:
    pool.down = {MAIN}
    server._write("q1", {"n": 1})
    pool.down = set()
    server._write("q2", {"n": 2})
    server._sync()
    assert [(name, method) for name, method, _ in pool.calls] == [
        (MAIN, "submit"),
        (STANDBY, "submit"),
        (STANDBY, "submit"),
        (STANDBY, "commit_index"),
    ]


def test_with_every_coordinator_down_the_caller_gets_the_first_failure(
    server: ReplicaServer, pool: FakePool
) -> None:
    pool.down = {MAIN, STANDBY}
    with pytest.raises(Unavailable, match=rf"^{MAIN} is down$"):
        server._write("q1", {"n": 1})
    with pytest.raises(Unavailable, match=rf"^{MAIN} is down$"):
        server._sync()


def test_the_read_barrier_applies_what_was_chosen_before_reading(
    server: ReplicaServer, pool: FakePool
) -> None:
    pool.log.append((1, Batch(0.0, (Command("elsewhere", {"n": 9}),))))  # via another replica
    assert server._read(lambda counter: counter.count, missing=lambda n: n == 0) == 1
    assert pool.calls == [(MAIN, "commit_index", (1,))]


def test_a_result_the_replica_cannot_find_is_unavailable(
    server: ReplicaServer, pool: FakePool
) -> None:
    """The slot named is applied, but what it holds is another request's."""
    pool.call = _renaming(pool.call)
    with pytest.raises(Unavailable, match=r"^r1 lost track of request q1; retry$"):
        server._write("q1", {"n": 1})


def _renaming(call: Any) -> Any:
    """A coordinator that decides ``q1`` under another request id (so its result is missing)."""

    def renamed(name: str, method: str, *args: Any) -> Any:
        if method == "submit":
            args = ([["not-q1", payload] for _, payload in args[0]], *args[1:])
        return call(name, method, *args)

    return renamed
