"""The lock table: leases, fencing tokens, determinism, and never raising."""

from __future__ import annotations

import json
from typing import Any

import pytest
import serpent
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.domain.lock_table import LockTable


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
    st.builds(release, st.sampled_from(HOLD_IDS)),
)
steps = st.lists(st.tuples(commands, st.sampled_from([0.0, 0.5, 1.0, 4.0])), max_size=40)


class Model:
    """The lock table's rules written the slow, obvious way."""

    def __init__(self) -> None:
        self.holds: dict[str, dict[str, Any]] = {}

    def apply(self, cmd: dict, slot: int, now: float) -> dict:
        self.holds = {h: v for h, v in self.holds.items() if v["expires_at"] > now}
        if cmd["op"] == "release":
            self.holds.pop(cmd["hold_id"], None)
            return {"ok": True}
        if cmd["hold_id"] in self.holds:
            return {"ok": True, **self.holds[cmd["hold_id"]]}
        taken = [
            s
            for s in cmd["seats"]
            if any(v["event"] == cmd["event"] and s in v["seats"] for v in self.holds.values())
        ]
        if taken:
            return {"ok": False, "error": "SeatsUnavailable", "seats": taken}
        hold = {k: cmd[k] for k in ("hold_id", "theater", "event", "seats")}
        hold.update(expires_at=now + cmd["ttl"], fence=slot)
        self.holds[cmd["hold_id"]] = hold
        return {"ok": True, **hold}


@settings(max_examples=150, deadline=None)
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
            assert len(seats) == len(set(seats)), "two live holds share a seat"
            assert table.held_seats("AMC", event, now) == set(seats)
        for hold_id in HOLD_IDS:
            mine = table.hold(hold_id, now)
            assert mine == model.holds.get(hold_id)


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
payload_keys = st.sampled_from(["op", "hold_id", "theater", "event", "seats", "ttl"])
payloads = st.one_of(
    plain,
    st.dictionaries(payload_keys, plain | st.sampled_from(["acquire", "release", "A1"])),
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
