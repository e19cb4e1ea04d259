"""The seat store: conditional booking, fencing, determinism, never raising."""

from __future__ import annotations

import json
from typing import Any

import pytest
import serpent
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.catalog import parse_catalog
from ticketing.domain.seat_store import FREE, SeatStore
from ticketing.errors import TicketNotFound, UnknownEvent, UnknownTheater

CATALOG = parse_catalog("""
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
[[theater.event]]
id = "e2"
title = "Two"
starts_at = "2026-12-01T21:00:00"

[[theater]]
id = "REG"
name = "Regal"
city = "New York"
rows = 1
seats_per_row = 4
cluster = "east"
[[theater.event]]
id = "e1"
title = "One"
starts_at = "2026-12-02T19:00:00"

[[theater]]
id = "FAR"
name = "Elsewhere"
city = "Nowhere"
rows = 1
seats_per_row = 1
[[theater.event]]
id = "e1"
title = "One"
starts_at = "2026-12-02T19:00:00"
""")
EAST = CATALOG.clusters()["east"]


def free_seats(store: SeatStore, theater: str, event: str) -> list[str]:
    """Seats not booked, in seat-map order, read from the store's ``seat_states``."""
    states = store.seat_states(theater, event)
    seat_map = next(t for t in store.theaters() if t.id == theater).seat_map
    return [seat_map.label(i) for i, state in enumerate(states) if state == FREE]


def book(
    ticket_no: str,
    hold_id: str,
    seats: list[str],
    *,
    theater: str = "AMC",
    event: str = "e1",
    fence: int = 1,
    expires_at: float = 100.0,
) -> dict:
    return {
        "op": "book",
        "ticket_no": ticket_no,
        "hold_id": hold_id,
        "theater": theater,
        "event": event,
        "seats": seats,
        "name": "Ada",
        "email": "ada@example.org",
        "fence": fence,
        "expires_at": expires_at,
    }


def cancel(ticket_no: str, theater: str = "AMC") -> dict:
    return {"op": "cancel", "theater": theater, "ticket_no": ticket_no}


def error(result: dict) -> str | None:
    return None if result["ok"] else result["error"]


def test_book_and_read_back() -> None:
    store = SeatStore(EAST)
    result = store.apply(book("t1", "h1", ["b1", "A2"]), slot=1, now=10.0)
    ticket = {
        "ticket_no": "t1",
        "theater": "AMC",
        "event": "e1",
        "seats": ["A2", "B1"],
        "name": "Ada",
        "email": "ada@example.org",
    }
    assert result == {"ok": True, "ticket": ticket}
    assert store.ticket("AMC", "t1") == ticket
    assert free_seats(store, "AMC", "e1") == ["A1", "A3", "B2", "B3"]
    assert store.seat_states("AMC", "e1") == "010100"
    assert store.seat_states("AMC", "e2") == "000000"
    assert free_seats(store, "REG", "e1") == ["A1", "A2", "A3", "A4"]


def test_same_hold_booked_twice_gives_the_same_ticket() -> None:
    store = SeatStore(EAST)
    first = store.apply(book("t1", "h1", ["A1"]), 1, 10.0)
    again = store.apply(book("t2", "h1", ["A1"], expires_at=1.0), 2, 50.0)
    assert again == first and len(store) == 1


def test_refusals() -> None:
    store = SeatStore(EAST)
    store.apply(book("t1", "h1", ["A1", "A2"], fence=5), 1, 10.0)
    cases = [
        (book("t2", "h2", ["A1"], theater="FAR"), "UnknownTheater"),
        (book("t2", "h2", ["A1"], event="e9"), "UnknownEvent"),
        (book("t2", "h2", ["C1"]), "UnknownSeat"),
        (book("t2", "h2", ["1A"]), "InvalidRequest"),
        (book("t2", "h2", ["A3", "a3"]), "InvalidRequest"),
        (book("t2", "h2", ["A3"], expires_at=10.0), "HoldExpired"),
        (book("t2", "h2", ["A2", "A3"], fence=4), "HoldExpired"),
        (book("t1", "h2", ["A3"], fence=6), "InvalidRequest"),  # ticket number in use
    ]
    for payload, expected in cases:
        assert error(store.apply(payload, 2, 10.0)) == expected, payload
    taken = store.apply(book("t2", "h2", ["A3", "A2"], fence=6), 2, 10.0)
    assert error(taken) == "SeatsUnavailable" and taken["seats"] == ["A2"]
    assert free_seats(store, "AMC", "e1") == ["A3", "B1", "B2", "B3"]


def test_cancel_frees_and_keeps_the_fence() -> None:
    store = SeatStore(EAST)
    store.apply(book("t1", "h1", ["A1"], fence=5), 1, 10.0)
    assert error(store.apply(cancel("t1", "REG"), 2, 10.0)) == "TicketNotFound"
    assert error(store.apply(cancel("t1", "FAR"), 2, 10.0)) == "UnknownTheater"
    assert store.apply(cancel("t1"), 2, 10.0) == {"ok": True, "hold_id": "h1", "event": "e1"}
    assert error(store.apply(cancel("t1"), 3, 10.0)) == "TicketNotFound"
    assert free_seats(store, "AMC", "e1")[0] == "A1"
    assert error(store.apply(book("t2", "h2", ["A1"], fence=4), 4, 10.0)) == "HoldExpired"
    assert store.apply(book("t3", "h3", ["A1"], fence=5), 5, 10.0)["ok"] is True
    assert store.apply(book("t4", "h1", ["A2"], fence=9), 6, 10.0)["ok"] is True


def test_queries_raise_contract_errors() -> None:
    store = SeatStore(EAST)
    with pytest.raises(UnknownTheater):
        free_seats(store, "FAR", "e1")
    with pytest.raises(UnknownEvent):
        store.seat_states("AMC", "e9")
    with pytest.raises(TicketNotFound):
        store.ticket("AMC", "nope")
    store.apply(book("t1", "h1", ["A1"]), 1, 10.0)
    with pytest.raises(TicketNotFound):
        store.ticket("REG", "t1")


def test_snapshot_restore_and_refusals() -> None:
    store = SeatStore(EAST)
    store.apply(book("t1", "h1", ["A1"], fence=3), 1, 10.0)
    store.apply(book("t2", "h2", ["A1"], theater="REG", fence=4), 2, 10.0)
    store.apply(book("t3", "h3", ["B2"], fence=5), 3, 10.0)
    store.apply(cancel("t3"), 4, 10.0)
    snap = json.loads(json.dumps(store.snapshot()))
    copy = SeatStore(EAST)
    copy.restore(snap)
    assert copy.digest() == store.digest() and copy.snapshot() == store.snapshot()
    assert copy.seat_states("AMC", "e1") == store.seat_states("AMC", "e1")
    assert serpent.loads(serpent.dumps(store.snapshot())) == store.snapshot()
    assert error(copy.apply(book("t9", "h9", ["B2"], fence=4), 5, 10.0)) == "HoldExpired"
    far = SeatStore(CATALOG.clusters()["FAR"])
    far.restore(snap)  # a snapshot brings its catalog along
    assert far.digest() == store.digest() and far.theaters() == store.theaters()
    without_catalog = {key: value for key, value in snap.items() if key != "catalog"}
    with pytest.raises(ValueError):
        SeatStore(CATALOG.clusters()["FAR"]).restore(without_catalog)  # theaters it lacks
    overlapping = {
        "tickets": [*snap["tickets"], {**snap["tickets"][0], "ticket_no": "x", "hold_id": "y"}],
        "fences": [],
    }
    with pytest.raises(ValueError):
        copy.restore(overlapping)


def test_large_venue_stays_cheap() -> None:
    stadium = parse_catalog("""
[[theater]]
id = "BIG"
name = "Stadium"
city = "Anywhere"
rows = 250
seats_per_row = 200
[[theater.event]]
id = "final"
title = "Final"
starts_at = "2026-07-19T20:00:00"
""").theaters
    store = SeatStore(stadium)
    assert len(store.snapshot()["fences"]) == 0
    assert store.apply(book("t", "h", ["IP200"], theater="BIG", event="final"), 1, 0.0)["ok"]
    assert store.seat_states("BIG", "final").count("1") == 1
    assert len(free_seats(store, "BIG", "final")) == 49_999
    assert len(json.dumps(store.snapshot())) < 1000


# -- properties -----------------------------------------------------------------

TICKETS = [f"t{i}" for i in range(4)]
HOLDS = [f"h{i}" for i in range(5)]
LABELS = ["A1", "A2", "A3", "B1", "C1", "a1", "A2", "A1"]

bookings = st.builds(
    lambda t, h, seats, theater, event, fence, ttl: book(
        t, h, seats, theater=theater, event=event, fence=fence, expires_at=ttl
    ),
    st.sampled_from(TICKETS),
    st.sampled_from(HOLDS),
    st.lists(st.sampled_from(LABELS), min_size=1, max_size=3, unique=True),
    st.sampled_from(["AMC", "AMC", "REG", "FAR"]),
    st.sampled_from(["e1", "e1", "e2"]),
    st.integers(min_value=0, max_value=6),
    st.sampled_from([5.0, 20.0, 50.0]),  # expires_at, against now running from 0 to ~40
)
cancels = st.builds(cancel, st.sampled_from(TICKETS), st.sampled_from(["AMC", "AMC", "REG"]))
commands = st.integers(0, 3).flatmap(lambda i: cancels if i == 0 else bookings)


def live_seats(store: SeatStore) -> list[tuple[str, str, str]]:
    return [(t["theater"], t["event"], s) for t in store.snapshot()["tickets"] for s in t["seats"]]


@settings(max_examples=150, deadline=None)
@given(st.lists(commands, max_size=40), st.integers(min_value=0, max_value=40))
def test_restore_mid_way_agrees_and_never_double_books(cmds: list, cut: int) -> None:
    store, copy = SeatStore(EAST), None
    for slot, cmd in enumerate(cmds, start=1):
        now = float(slot)
        if slot == cut:
            copy = SeatStore(EAST)
            copy.restore(json.loads(json.dumps(store.snapshot())))
            assert copy.digest() == store.digest()
        result = store.apply(cmd, slot, now)
        if copy is not None:
            assert copy.apply(cmd, slot, now) == result
            assert copy.digest() == store.digest()
        seats = live_seats(store)
        assert len(seats) == len(set(seats)), "a seat is in two live bookings"
        for theater in ("AMC", "REG"):
            for event in [e.id for e in CATALOG.theater(theater).events]:
                states = store.seat_states(theater, event)
                mine = {s for t, e, s in seats if (t, e) == (theater, event)}
                seat_map = CATALOG.theater(theater).seat_map
                assert {seat_map.label(i) for i, c in enumerate(states) if c == "1"} == mine


plain = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
payload_keys = st.sampled_from(
    [
        "op",
        "ticket_no",
        "hold_id",
        "theater",
        "event",
        "seats",
        "name",
        "email",
        "fence",
        "expires_at",
    ]
)
payloads = st.one_of(
    plain,
    st.dictionaries(payload_keys, plain | st.sampled_from(["book", "cancel", "AMC", "e1"])),
    st.builds(
        lambda base, extra: {**base, **extra},
        commands,
        st.dictionaries(payload_keys, plain, max_size=2),
    ),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(payloads, max_size=8))
def test_apply_never_raises(payload_list: list[Any]) -> None:
    store = SeatStore(EAST)
    for slot, payload in enumerate(payload_list, start=1):
        result = store.apply(payload, slot, float(slot))
        assert isinstance(result, dict) and isinstance(result["ok"], bool)
        json.dumps(result)
        store.digest()
    seats = live_seats(store)
    assert len(seats) == len(set(seats))


def test_ticket_for_hold_follows_the_live_booking() -> None:
    from ticketing.catalog import load_catalog

    store = SeatStore(load_catalog().clusters()["AMC"])
    book = {
        "op": "book",
        "ticket_no": "T1",
        "hold_id": "H1",
        "theater": "AMC",
        "event": load_catalog().theater("AMC").events[0].id,
        "seats": ["A1"],
        "name": "N",
        "email": "n@x.y",
        "fence": 1,
        "expires_at": 100.0,
    }
    assert store.ticket_for_hold("H1") is None
    assert store.apply(book, 1, 10.0)["ok"]
    assert store.ticket_for_hold("H1")["ticket_no"] == "T1"
    store.apply({"op": "cancel", "theater": "AMC", "ticket_no": "T1"}, 2, 11.0)
    assert store.ticket_for_hold("H1") is None
