"""The manager's merge of the clusters' catalogs, and a follower of it (no processes: the
follower's pool is a stub, the unit under test is its logic of when to ask and what to take)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import pytest

from ticketing import names
from ticketing.catalog import parse_catalog
from ticketing.errors import SalesClosed, Unavailable, UnknownEvent, UnknownTheater
from ticketing.server import shared_ask
from ticketing.server.catalog_follower import CatalogFollower
from ticketing.server.merged_catalog import MergedCatalog

FILE = parse_catalog("""
hold_ttl = 7

[[theater]]
id = "AMC"
name = "AMC"
city = "Boston"
rows = 2
seats_per_row = 3
cluster = "east"
[[theater.event]]
id = "e1"
title = "One"
starts_at = "2026-12-01T19:00:00"

[[theater]]
id = "REG"
name = "Regal"
city = "New York"
rows = 1
seats_per_row = 4
cluster = "west"
[[theater.event]]
id = "e1"
title = "One"
starts_at = "2026-12-02T19:00:00"
""")
AMC, REG = (theater.to_table() for theater in FILE.theaters)
GALA = {"id": "gala", "title": "Gala", "starts_at": "2026-12-24T20:00:00"}
FES = {
    "id": "FES",
    "name": "Festival Hall",
    "city": "Salem",
    "rows": 3,
    "seats_per_row": 3,
    "cluster": "north",
    "event": [GALA],
}


def ids(merged: MergedCatalog) -> list[str]:
    return [theater.id for theater in merged.catalog.theaters]


# -- MergedCatalog ----------------------------------------------------------------


def test_the_files_theaters_are_version_0() -> None:
    merged = MergedCatalog(FILE)
    assert merged.clusters() == {"east": 0, "west": 0}
    assert merged.token == "east:0,west:0"
    assert merged.catalog.theaters == FILE.theaters
    assert merged.catalog.hold_ttl == 7  # the file's limits stay
    assert merged.to_plain() == {"token": "east:0,west:0", "theaters": [AMC, REG]}


def test_newer_versions_win_older_ones_are_ignored() -> None:
    merged = MergedCatalog(FILE)
    retitled = {**AMC, "name": "AMC Boston"}
    assert merged.update("east", {"version": 3, "theaters": [retitled]})
    assert merged.clusters() == {"east": 3, "west": 0} and merged.token == "east:3,west:0"
    assert merged.catalog.theater("AMC").name == "AMC Boston"
    for stale in (2, 3):  # an older poll's answer arriving late, or the same again
        assert not merged.update("east", {"version": stale, "theaters": [AMC]})
    assert merged.catalog.theater("AMC").name == "AMC Boston" and merged.token == "east:3,west:0"
    assert merged.update("east", {"version": 4, "theaters": [retitled, {**FES, "cluster": "east"}]})
    assert ids(merged) == ["AMC", "FES", "REG"]  # clusters in the file's order
    assert merged.update("west", {"version": 1, "theaters": []})
    assert ids(merged) == ["AMC", "FES"] and merged.token == "east:4,west:1"
    assert merged.catalog.hold_ttl == 7


@pytest.mark.parametrize(
    "answer",
    [
        None,
        "east",
        [],
        {},
        {"version": 5},
        {"theaters": [AMC]},
        {"version": "five", "theaters": [AMC]},
        {"version": 5, "theaters": None},
        {"version": 5, "theaters": "AMC"},
        {"version": 5, "theaters": [{"id": "AMC"}]},
        {"version": 5, "theaters": [AMC, {**REG, "rows": 0}]},
        {"version": 5, "theaters": [{**AMC, "event": [{"id": "e1", "sales": "gone"}]}]},
        {"version": float("inf"), "theaters": [AMC]},
    ],
)
def test_a_malformed_answer_is_ignored(answer: Any) -> None:
    merged = MergedCatalog(FILE)
    before = (merged.catalog, merged.token)
    assert merged.update("east", answer) is False
    assert (merged.catalog, merged.token) == before


def test_add_cluster_and_its_first_answer() -> None:
    merged = MergedCatalog(FILE)
    merged.add_cluster("north")
    assert merged.clusters() == {"east": 0, "west": 0, "north": 0}
    assert merged.token == "east:0,north:0,west:0"
    assert ids(merged) == ["AMC", "REG"]  # no theaters until it answers
    merged.add_cluster("north")  # found again on the next look: nothing changes
    merged.add_cluster("east")
    assert merged.clusters() == {"east": 0, "west": 0, "north": 0}
    assert merged.update("north", {"version": 1, "theaters": [FES]})
    assert ids(merged) == ["AMC", "REG", "FES"] and merged.token == "east:0,north:1,west:0"
    assert merged.catalog.theater("FES").cluster == "north"


def test_an_unknown_cluster_answering_is_taken() -> None:
    merged = MergedCatalog(FILE)
    assert merged.update("north", {"version": 2, "theaters": [FES]})
    assert merged.clusters()["north"] == 2 and "FES" in ids(merged)


def test_a_theater_two_clusters_claim_is_kept_from_the_first(
    caplog: pytest.LogCaptureFixture,
) -> None:
    merged = MergedCatalog(FILE)
    assert merged.update("west", {"version": 1, "theaters": [REG, {**AMC, "name": "Impostor"}]})
    assert ids(merged) == ["AMC", "REG"]
    assert merged.catalog.theater("AMC").name == "AMC" and merged.catalog.theater("AMC").cluster
    assert merged.catalog.theater("AMC").cluster == "east"
    assert "theater AMC is in clusters east and west" in caplog.text


# -- CatalogFollower, on a stub pool ----------------------------------------------------


@dataclass
class StubPool:
    """Answers ``catalog_since`` from ``merged`` as the manager does, counting asks; an
    ``answer`` or ``refusal`` set by the test wins."""

    merged: MergedCatalog
    asks: list[str] = field(default_factory=list)
    answer: Any = None
    refusal: Exception | None = None
    gate: threading.Event | None = None  # when set by a test, the next ask waits on it
    asking: threading.Event = field(default_factory=threading.Event)

    def call(self, name: str, method: str, *args: Any) -> Any:
        assert (name, method) == (names.DATASTORE_MANAGER, "catalog_since")
        (token,) = args
        self.asks.append(token)
        self.asking.set()
        gate, self.gate = self.gate, None
        if gate is not None:
            assert gate.wait(10)
        if self.refusal is not None:
            raise self.refusal
        if self.answer is not None:
            return self.answer
        return None if token == self.merged.token else self.merged.to_plain()


class Clock:
    """``time`` for the follower's asks: ``monotonic`` as the test sets it, reads counted."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.reads = 0
        self.read = threading.Condition()

    def monotonic(self) -> float:
        with self.read:
            self.reads += 1
            self.read.notify_all()
            return self.now

    def wait_for_reads(self, count: int) -> None:
        with self.read:
            assert self.read.wait_for(lambda: self.reads >= count, timeout=10)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(shared_ask, "time", clock)
    return clock


def follower_of(merged: MergedCatalog, lock_groups: int = 1) -> tuple[CatalogFollower, StubPool]:
    pool = StubPool(merged)
    return CatalogFollower(pool, FILE, lock_groups), pool  # type: ignore[arg-type]


def book_check(theater: str, event: str) -> Any:
    """A balancer's check of a hold request against the catalog."""
    return lambda catalog: catalog.theater(theater).on_sale(event)


def test_a_miss_asks_and_finds_the_new_event(clock: Clock) -> None:
    merged = MergedCatalog(FILE)
    follower, pool = follower_of(merged)
    assert follower.checked(book_check("AMC", "e1")).id == "e1"
    assert pool.asks == []  # a known event costs no ask
    merged.update("east", {"version": 2, "theaters": [{**AMC, "event": [*AMC["event"], GALA]}]})
    assert follower.checked(book_check("AMC", "gala")).title == "Gala"
    assert pool.asks == [""] and follower.catalog.hold_ttl == 7
    clock.now += 1
    with pytest.raises(UnknownEvent, match="nope"):
        follower.checked(book_check("AMC", "nope"))  # asked, nothing newer: the miss stands
    assert pool.asks == ["", merged.token]


def test_a_miss_on_closed_sales_asks_again(clock: Clock) -> None:
    merged = MergedCatalog(FILE)
    stopped = {**AMC, "event": [{**AMC["event"][0], "sales": "stopped"}]}
    merged.update("east", {"version": 2, "theaters": [stopped]})
    follower, pool = follower_of(merged)
    follower.refresh()
    with pytest.raises(SalesClosed):
        follower.catalog.theater("AMC").on_sale("e1")
    merged.update("east", {"version": 3, "theaters": [AMC]})  # resumed
    clock.now += 1
    assert follower.checked(book_check("AMC", "e1")).sales == "open"
    assert len(pool.asks) == 2


def test_a_burst_of_misses_costs_one_ask(clock: Clock) -> None:
    merged = MergedCatalog(FILE)
    follower, pool = follower_of(merged)
    merged.update("west", {"version": 2, "theaters": [REG, FES]})
    pool.gate = gate = threading.Event()
    first = threading.Thread(target=follower.refresh)
    first.start()
    assert pool.asking.wait(10)  # an ask in flight, begun before the burst's misses
    clock.now += 1
    reads = clock.reads
    results: list[bool] = []
    burst = [threading.Thread(target=lambda: results.append(follower.refresh())) for _ in range(8)]
    for thread in burst:
        thread.start()
    clock.wait_for_reads(reads + len(burst))  # each miss has noted when it began
    clock.now += 1
    gate.set()
    for thread in [first, *burst]:
        thread.join(10)
    # The ask in flight could predate what the misses look for, so one more; only one.
    assert len(pool.asks) == 2 and results == [True] * 8
    assert follower.catalog.theater("FES").cluster == "north"


def test_an_ask_refused_keeps_the_old_catalog(clock: Clock) -> None:
    merged = MergedCatalog(FILE)
    follower, pool = follower_of(merged)
    merged.update("west", {"version": 2, "theaters": [REG, FES]})
    pool.refusal = Unavailable("the data store manager is not running")
    before = follower.catalog
    assert follower.refresh() is False
    clock.now += 1
    with pytest.raises(UnknownTheater):
        follower.checked(book_check("FES", "gala"))
    assert follower.catalog is before and len(pool.asks) == 2
    pool.refusal = None
    clock.now += 1
    assert follower.checked(book_check("FES", "gala")).id == "gala"


@pytest.mark.parametrize(
    "answer",
    [
        "garbage",
        ["token", "theaters"],
        {"token": "x"},
        {"theaters": [AMC]},
        {"token": "x", "theaters": None},
        {"token": "x", "theaters": [AMC, {**FES, "rows": "three"}]},
        {"token": "x", "theaters": [{**FES, "lock_group": 3}]},  # more groups than we run
    ],
)
def test_a_malformed_answer_is_ignored_by_the_follower(clock: Clock, answer: Any) -> None:
    merged = MergedCatalog(FILE)
    follower, pool = follower_of(merged, lock_groups=2)
    merged.update("west", {"version": 2, "theaters": [REG, FES]})
    pool.answer = answer
    before = (follower.catalog, follower.placement)
    assert follower.refresh() is False
    assert (follower.catalog, follower.placement) == before
    pool.answer = None
    clock.now += 1
    assert follower.refresh() is True  # the token was not taken: the next ask gets it all
    assert pool.asks[-1] == "" and "FES" in [t.id for t in follower.catalog.theaters]


def test_placement_follows_a_new_theaters_lock_group(clock: Clock) -> None:
    merged = MergedCatalog(FILE)
    follower, pool = follower_of(merged, lock_groups=3)
    merged.update("north", {"version": 1, "theaters": [{**FES, "lock_group": 3}]})
    assert follower.checked(lambda c: follower.placement.event_group("FES", "gala")) == 3
    assert pool.asks == [""]
    merged.update("north", {"version": 2, "theaters": [{**FES, "lock_group": 2}]})
    clock.now += 1
    assert follower.refresh()
    assert follower.placement.event_group("FES", "gala") == 2
    assert follower.placement.catalog is follower.catalog
