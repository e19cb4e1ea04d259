"""The lock table: leases, fencing tokens, determinism, and never raising."""

from __future__ import annotations

import json
from typing import Any

import pytest
import serpent
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.lock_table import FREED_MEMORY, LockTable
from ticketing.domain.seats import SeatMap


def acquire(hold_id: str, seats: list[str], ttl: float = 10.0, event: str = "e1") -> dict:
    return {
        "op": "acquire",
        "hold_id": hold_id,
        "theater": "AMC",
        "event": event,
        "seats": seats,
        "ttl": ttl,
    }


def release(hold_id: str) -> dict:
    return {"op": "release", "hold_id": hold_id}


def acquire_best(hold_id: str, count: int, ttl: float = 10.0, event: str = "e1") -> dict:
    return {
        "op": "acquire_best",
        "hold_id": hold_id,
        "theater": "AMC",
        "event": event,
        "count": count,
        "rows": 2,
        "seats_per_row": 3,
        "ttl": ttl,
    }


def settle(hold_id: str, seats: list[str], event: str = "e1") -> dict:
    return {"op": "settle", "hold_id": hold_id, "theater": "AMC", "event": event, "seats": seats}


def free(hold_id: str) -> dict:
    return {"op": "free", "hold_id": hold_id}


def test_acquire_is_all_or_nothing() -> None:
    table = LockTable()
    first = table.apply(acquire("h1", ["A1", "A2"]), slot=1, now=100.0)
    assert first == {
        "ok": True,
        "hold_id": "h1",
        "theater": "AMC",
        "event": "e1",
        "seats": ["A1", "A2"],
        "expires_at": 110.0,
        "fence": 1,
    }
    refused = table.apply(acquire("h2", ["A3", "A2", "A1"]), slot=2, now=101.0)
    assert refused["ok"] is False and refused["error"] == "SeatsUnavailable"
    assert refused["seats"] == ["A2", "A1"]
    assert table.held_seats("AMC", "e1", 101.0) == {"A1", "A2"}
    assert table.hold("h2", 101.0) is None


def test_held_among_names_seats_of_other_live_holds_only() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1", "A2"], ttl=10), slot=1, now=100.0)
    table.apply(acquire("h2", ["B1"], ttl=1), slot=2, now=100.0)
    assert table.held_among("AMC", "e1", ["A2", "A3", "B1"], "h9", now=100.5) == ["A2", "B1"]
    assert table.held_among("AMC", "e1", ["A2", "B1"], "h9", now=101.0) == ["A2"]  # h2 ended
    assert table.held_among("AMC", "e1", ["A1", "A2"], "h1", now=100.5) == []  # its own
    assert table.held_among("AMC", "e2", ["A1"], "h9", now=100.5) == []


def test_other_event_is_independent() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1"]), 1, 0.0)
    assert table.apply(acquire("h2", ["A1"], event="e2"), 2, 0.0)["ok"] is True


def test_acquire_again_is_idempotent() -> None:
    table = LockTable()
    first = table.apply(acquire("h1", ["A1"]), 1, 0.0)
    again = table.apply(acquire("h1", ["B7"], ttl=99), 5, 3.0)
    assert again == first
    assert table.held_seats("AMC", "e1", 3.0) == {"A1"}


def test_expiry_only_from_now() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1"], ttl=5), 1, 0.0)
    assert table.hold("h1", 4.9) is not None
    assert table.hold("h1", 5.0) is None, "expired exactly at expires_at"
    assert table.held_seats("AMC", "e1", 5.0) == set()
    assert len(table) == 1, "queries do not change the state"
    later = table.apply(acquire("h2", ["A1"]), 2, 5.0)
    assert later["ok"] is True and later["fence"] == 2
    assert len(table) == 1 and table.hold("h1", 0.0) is None


def test_release_is_idempotent_and_frees() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1"]), 1, 0.0)
    assert table.apply(release("h1"), 2, 0.0) == {"ok": True}
    assert table.apply(release("h1"), 3, 0.0) == {"ok": True}
    assert table.apply(release("never"), 4, 0.0) == {"ok": True}
    assert table.apply(acquire("h2", ["A1"]), 5, 0.0)["ok"] is True


def test_released_hold_reacquired_keeps_its_new_lease() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1"], ttl=5), 1, 0.0)
    table.apply(release("h1"), 2, 1.0)
    table.apply(acquire("h1", ["A1"], ttl=10), 3, 2.0)
    table.apply(release("x"), 4, 6.0)  # the old heap entry (5.0) comes due: must not drop it
    assert table.hold("h1", 6.0) == {
        "hold_id": "h1",
        "theater": "AMC",
        "event": "e1",
        "seats": ["A1"],
        "expires_at": 12.0,
        "fence": 3,
    }


def test_a_settled_hold_stays_sold_until_freed() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1", "A2"], ttl=5), 1, 0.0)
    table.apply(settle("h1", ["A1", "A2"]), 2, 1.0)
    assert table.hold("h1", 1.0) is None, "a sold mark is not a hold"
    assert table.held_seats("AMC", "e1", 1.0) == set(), "views read booked seats elsewhere"
    assert table.held_among("AMC", "e1", ["A2", "A3"], "h9", 1000.0) == ["A2"], "never expires"
    table.apply(release("h1"), 3, 2.0)  # a client releasing its booked hold changes nothing
    refused = table.apply(acquire("h2", ["A2"]), 4, 1000.0)
    assert refused["error"] == "SeatsUnavailable" and refused["seats"] == ["A2"]
    assert table.apply(free("h1"), 5, 1000.0) == {"ok": True}
    assert table.apply(acquire("h2", ["A2"]), 6, 1000.0)["ok"] is True


def test_a_late_settle_waits_behind_a_newer_hold_and_takes_the_seat_when_it_ends() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1", "A2"], ttl=5), 1, 0.0)
    table.apply(acquire("h2", ["A2", "A3"], ttl=50), 2, 6.0)  # h1 lapsed, h2 took A2
    table.apply(settle("h1", ["A1", "A2"]), 3, 7.0)  # but h1 had been booked in time
    assert table.hold("h2", 7.0) is not None, "a granted hold is a lease: nothing takes it back"
    assert table.held_among("AMC", "e1", ["A1", "A2", "A3"], "h9", 7.0) == ["A1", "A2", "A3"]
    table.apply(release("h2"), 4, 8.0)  # h2's booking was refused: A2 was booked
    assert table.held_among("AMC", "e1", ["A1", "A2", "A3"], "h9", 8.0) == ["A1", "A2"]
    refused = table.apply(acquire("h3", ["A2"]), 5, 8.0)
    assert refused["error"] == "SeatsUnavailable" and refused["seats"] == ["A2"]
    table.apply(free("h1"), 6, 9.0)
    assert table.apply(acquire("h3", ["A1", "A2"]), 7, 9.0)["ok"] is True


def test_a_stale_late_settle_never_gives_a_held_seat_to_a_second_hold() -> None:
    """The double hold a fault run found: h1 was booked, then cancelled, and its
    settle came late, between the grant of h2 and the cancel's free."""
    table = LockTable()
    table.apply(acquire("h1", ["A1"], ttl=5), 1, 0.0)
    table.apply(acquire("h2", ["A1"], ttl=50), 2, 6.0)  # h1 lapsed; its ticket was cancelled
    table.apply(settle("h1", ["A1"]), 3, 7.0)  # the booking's mark, late
    table.apply(free("h1"), 4, 8.0)  # the cancel's, later still
    refused = table.apply(acquire("h3", ["A1"]), 5, 9.0)
    assert refused["error"] == "SeatsUnavailable", "h2 still holds A1 until 56"
    assert table.hold("h2", 9.0) is not None
    assert table.apply(acquire("h3", ["A1"]), 6, 57.0)["ok"] is True, "and then it is free"


def test_a_booked_hold_wins_its_seats_from_a_stale_waiting_mark() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1", "A2"], ttl=5), 1, 0.0)
    table.apply(acquire("h2", ["A2"], ttl=50), 2, 6.0)
    table.apply(settle("h1", ["A1", "A2"]), 3, 7.0)  # A2 waits behind h2
    table.apply(settle("h2", ["A2"]), 4, 8.0)  # h2 booked: the data store found A2 free
    table.apply(free("h2"), 5, 9.0)  # and h2's ticket is cancelled
    assert table.held_among("AMC", "e1", ["A1", "A2"], "h9", 9.0) == ["A1"], "h1 lost A2"
    assert table.apply(acquire("h3", ["A2"]), 6, 9.0)["ok"] is True


def test_a_cancel_decided_before_the_settle_wins() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1"]), 1, 0.0)
    table.apply(free("h1"), 2, 1.0)  # booked and cancelled before its settle came
    table.apply(settle("h1", ["A1"]), 3, 2.0)
    assert table.held_among("AMC", "e1", ["A1"], "h9", 2.0) == []
    assert table.apply(acquire("h2", ["A1"]), 4, 2.0)["ok"] is True


def test_freed_ids_are_forgotten_in_time() -> None:
    table = LockTable()
    table.apply(free("h1"), 1, 0.0)
    assert table.snapshot()["freed"] == [["h1", FREED_MEMORY]]
    table.apply(release("x"), 2, FREED_MEMORY)
    assert table.snapshot()["freed"] == []


def test_best_available_picks_centre_blocks_and_never_a_taken_seat() -> None:
    table = LockTable()  # a 2x3 map: A1 A2 A3 / B1 B2 B3
    table.apply(acquire("h1", ["A2"]), 1, 0.0)
    table.apply(settle("h1", ["A2"]), 2, 0.0)
    first = table.apply(acquire_best("b1", 2), 3, 0.0)
    assert first["ok"] is True and first["seats"] == ["B1", "B2"], "row A has no 2 adjacent"
    second = table.apply(acquire_best("b2", 2), 4, 0.0)
    assert second["seats"] == ["A1", "A3"], "no pair left: the best single seats"
    assert table.apply(acquire_best("b1", 2), 5, 0.0) == first, "a retry answers the same"
    refused = table.apply(acquire_best("b3", 2), 6, 0.0)
    assert refused["ok"] is False and refused["error"] == "SeatsUnavailable"
    assert "only 1 seats are free" in refused["message"]
    assert table.free_count("AMC", "e1", SeatMap(2, 3)) == 1


def test_malformed_payloads_are_invalid_request() -> None:
    table = LockTable()
    for payload in [
        None,
        [],
        "acquire",
        {},
        {"op": 3},
        {"op": "steal"},
        {"op": "release"},
        acquire("", ["A1"]),
        acquire("h", []),
        acquire("h", ["A1", "A1"]),
        acquire("h", [7]),
        acquire("h", ["A1"], ttl=0),
        acquire("h", ["A1"], ttl=float("nan")),
        {**acquire("h", ["A1"]), "ttl": True},
        acquire("h" * 65, ["A1"]),
        acquire_best("h", 0),
        acquire_best("h", 7),
        {**acquire_best("h", 1), "rows": 10**6},
        {**acquire_best("h", 1), "count": 1.0},
        settle("h", []),
        {"op": "free"},
    ]:
        result = table.apply(payload, 1, 0.0)
        assert result["ok"] is False and result["error"] == "InvalidRequest", payload
    assert len(table) == 0


def test_snapshot_restore_digest() -> None:
    table = LockTable()
    table.apply(acquire("h1", ["A1"]), 1, 0.0)
    table.apply(acquire("h2", ["A2", "A3"], event="e2"), 2, 1.0)
    copy = LockTable()
    copy.restore(json.loads(json.dumps(table.snapshot())))
    assert copy.digest() == table.digest() and copy.snapshot() == table.snapshot()
    assert copy.held_seats("AMC", "e2", 1.0) == {"A2", "A3"}
    assert LockTable().digest() != table.digest()
    assert serpent.loads(serpent.dumps(table.snapshot())) == table.snapshot()


def test_restore_refuses_garbage_and_overlaps() -> None:
    table = LockTable()
    hold = {
        "hold_id": "a",
        "theater": "T",
        "event": "e",
        "seats": ["A1"],
        "expires_at": 1.0,
        "fence": 1,
    }
    for bad in [
        None,
        {},
        {"holds": [{"hold_id": "a"}]},
        {"holds": [hold, {**hold, "hold_id": "b"}]},
    ]:
        with pytest.raises(ValueError):
            table.restore(bad)


# -- properties -----------------------------------------------------------------

HOLD_IDS = [f"h{i}" for i in range(6)]
SEATS = ["A1", "A2", "A3", "B1"]

commands = st.one_of(
    st.builds(
        lambda h, s, ttl, ev: acquire(h, s, ttl, ev),
        st.sampled_from(HOLD_IDS),
        st.lists(st.sampled_from(SEATS), min_size=1, max_size=3, unique=True),
        st.sampled_from([1.0, 5.0, 30.0]),
        st.sampled_from(["e1", "e2"]),
    ),
    st.builds(
        lambda h, n, ttl, ev: acquire_best(h, n, ttl, ev),
        st.sampled_from(HOLD_IDS),
        st.integers(min_value=1, max_value=4),
        st.sampled_from([1.0, 5.0, 30.0]),
        st.sampled_from(["e1", "e2"]),
    ),
    st.builds(release, st.sampled_from(HOLD_IDS)),
    st.builds(
        settle,
        st.sampled_from(HOLD_IDS),
        st.lists(st.sampled_from(SEATS), min_size=1, max_size=3, unique=True),
        st.sampled_from(["e1", "e2"]),
    ),
    st.builds(free, st.sampled_from(HOLD_IDS)),
)
steps = st.lists(st.tuples(commands, st.sampled_from([0.0, 0.5, 1.0, 4.0])), max_size=40)


MAP = SeatMap(2, 3)  # what acquire_best names: A1 A2 A3 / B1 B2 B3


class Model:
    """The lock table's rules written the slow, obvious way."""

    def __init__(self) -> None:
        self.holds: dict[str, dict[str, Any]] = {}
        self.sold: dict[str, dict[str, Any]] = {}  # hold id -> {"event", "seats"}
        self.freed: dict[str, float] = {}

    def taken(self, event: str) -> set[str]:
        marks = [*self.holds.values(), *self.sold.values()]
        return {s for m in marks if m["event"] == event for s in m["seats"]}

    def unmark(self, event: str, seats: list[str], keep: str) -> None:
        """Take ``seats`` out of every sold mark but ``keep``'s (stale marks)."""
        for owner, mark in list(self.sold.items()):
            if owner != keep and mark["event"] == event:
                rest = [s for s in mark["seats"] if s not in seats]
                if rest:
                    self.sold[owner] = {**mark, "seats": rest}
                else:
                    del self.sold[owner]

    def apply(self, cmd: dict, slot: int, now: float) -> dict:
        self.holds = {h: v for h, v in self.holds.items() if v["expires_at"] > now}
        self.freed = {h: t for h, t in self.freed.items() if t > now}
        hold_id = cmd["hold_id"]
        if cmd["op"] == "release":
            self.holds.pop(hold_id, None)
            return {"ok": True}
        if cmd["op"] == "free":
            if hold_id in self.holds:  # booked: marks on its seats were stale
                hold = self.holds.pop(hold_id)
                self.unmark(hold["event"], hold["seats"], hold_id)
            self.sold.pop(hold_id, None)
            self.freed[hold_id] = now + FREED_MEMORY
            return {"ok": True}
        if cmd["op"] == "settle":
            if hold_id in self.freed or hold_id in self.sold:
                return {"ok": True}
            if hold_id in self.holds:
                hold = self.holds.pop(hold_id)
                self.unmark(hold["event"], hold["seats"], hold_id)
                self.sold[hold_id] = {"hold_id": hold_id, **hold}
                return {"ok": True}
            # Holds keep their seats: the mark takes them when the holds end.
            self.unmark(cmd["event"], cmd["seats"], hold_id)
            self.sold[hold_id] = {"hold_id": hold_id, "event": cmd["event"], "seats": cmd["seats"]}
            return {"ok": True}
        if hold_id in self.holds:
            return {"ok": True, **self.holds[hold_id]}
        if hold_id in self.sold or hold_id in self.freed:
            return {"ok": False, "error": "InvalidRequest", "seats": []}
        taken = self.taken(cmd["event"])
        if cmd["op"] == "acquire_best":
            seats = best_the_slow_way(set(taken), cmd["count"])
            if seats is None:
                return {"ok": False, "error": "SeatsUnavailable", "seats": []}
        else:
            seats = cmd["seats"]
            busy = [s for s in seats if s in taken]
            if busy:
                return {"ok": False, "error": "SeatsUnavailable", "seats": busy}
        hold = {"hold_id": hold_id, "theater": "AMC", "event": cmd["event"], "seats": seats}
        hold.update(expires_at=now + cmd["ttl"], fence=slot)
        self.holds[hold_id] = hold
        return {"ok": True, **hold}


def best_the_slow_way(taken: set[str], count: int) -> list[str] | None:
    """Every block of ``count`` in a row, ranked; else every free seat, ranked."""
    width = MAP.seats_per_row

    def distance(start: int, size: int) -> int:
        return abs(2 * start + size - width)

    blocks = [
        (distance(start, count), row, start)
        for row in range(MAP.rows)
        for start in range(width - count + 1)
        if not {MAP.label(row * width + start + i) for i in range(count)} & taken
    ]
    if blocks:
        _, row, start = min(blocks)
        return [MAP.label(row * width + start + i) for i in range(count)]
    free = [i for i in range(len(MAP)) if MAP.label(i) not in taken]
    if len(free) < count:
        return None
    free.sort(key=lambda i: (distance(i % width, 1), i // width, i % width))
    return [MAP.label(i) for i in sorted(free[:count])]


@settings(max_examples=300, deadline=None)
@given(steps, st.integers(min_value=0, max_value=40))
def test_matches_model_restores_equal_and_never_overlaps(steps: list, cut: int) -> None:
    table, model, copy = LockTable(), Model(), None
    now = 1000.0
    for slot, (cmd, dt) in enumerate(steps, start=1):
        if slot == cut:
            copy = LockTable()
            copy.restore(json.loads(json.dumps(table.snapshot())))
            assert copy.digest() == table.digest()
        now += dt
        result = table.apply(cmd, slot, now)
        expected = model.apply(cmd, slot, now)
        assert {k: v for k, v in result.items() if k != "message"} == expected
        if copy is not None:
            assert copy.apply(cmd, slot, now) == result
            assert copy.digest() == table.digest()
        for event in ("e1", "e2"):
            live = [h for h in model.holds.values() if h["event"] == event]
            seats = [s for h in live for s in h["seats"]]
            sold = [s for m in model.sold.values() if m["event"] == event for s in m["seats"]]
            assert len(seats) == len(set(seats)), "two holds share a seat"
            assert len(sold) == len(set(sold)), "two sold marks share a seat"
            assert table.held_seats("AMC", event, now) == set(seats)
            assert table.free_count("AMC", event, MAP) == len(MAP) - len(set(seats + sold))
        for hold_id in HOLD_IDS:
            mine = table.hold(hold_id, now)
            assert mine == model.holds.get(hold_id)


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
payload_keys = st.sampled_from(
    ["op", "hold_id", "theater", "event", "seats", "ttl", "count", "rows", "seats_per_row"]
)
payloads = st.one_of(
    plain,
    st.dictionaries(
        payload_keys,
        plain | st.sampled_from(["acquire", "acquire_best", "release", "settle", "free", "A1"]),
    ),
    st.builds(
        lambda base, extra: {**base, **extra},
        commands,
        st.dictionaries(payload_keys, plain, max_size=2),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(payloads, max_size=8))
def test_apply_never_raises(payload_list: list) -> None:
    table = LockTable()
    for slot, payload in enumerate(payload_list, start=1):
        result = table.apply(payload, slot, float(slot))
        assert isinstance(result, dict) and isinstance(result["ok"], bool)
        json.dumps(result)  # plain data
        table.digest()
