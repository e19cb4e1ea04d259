"""Typed domain commands: they round-trip, today's logs parse, bad input is refused as before.

The plain forms below are written out as the servers wrote them before the
commands were typed (same keys, same order, same ``op``): a log holding them
must replay, so each must parse to the command it spells and that command
must write the same dict back. The refusals' messages are the ones the state
machines gave for the same payloads before (taken from that code).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
import serpent
from hypothesis import given, settings
from hypothesis import strategies as st

from ticketing.catalog import Event, load_catalog
from ticketing.domain import lock_commands, seat_commands
from ticketing.domain.lock_commands import Acquire, AcquireBest, Free, Release, Settle
from ticketing.domain.lock_table import LockTable
from ticketing.domain.seat_commands import (
    AddEvent,
    AddTheater,
    Book,
    Booking,
    Bootstrap,
    Cancel,
    CancelEvent,
    ResizeTheater,
    SetSales,
    UpdateEvent,
)
from ticketing.domain.seat_store import SeatStore
from ticketing.errors import InvalidRequest, UnknownTheater
from ticketing.server import validation

CATALOG = load_catalog()
AMC = CATALOG.theater("AMC")
DUNE = AMC.events[0].id
GALA = Event("gala", "Gala", "2030-01-01T19:00:00")
BOOKING = Booking("t1", "h1", "AMC", DUNE, ("A1", "A2"), "Ada", "ada@example.org", 3, 100.0)

# (the plain form as the servers wrote it before, the command it spells)
SEAT_LOGS: list[tuple[dict[str, Any], Any]] = [
    (
        {
            "op": "book",
            "ticket_no": "t1",
            "hold_id": "h1",
            "theater": "AMC",
            "event": DUNE,
            "seats": ["A1", "A2"],
            "name": "Ada",
            "email": "ada@example.org",
            "fence": 3,
            "expires_at": 100.0,
        },
        Book(BOOKING),
    ),
    ({"op": "cancel", "theater": "AMC", "ticket_no": "t1"}, Cancel("AMC", "t1")),
    (
        {"op": "bootstrap", "theaters": [t.to_table() for t in CATALOG.theaters]},
        Bootstrap(CATALOG.theaters),
    ),
    ({"op": "add_theater", "theater": AMC.to_table()}, AddTheater(AMC)),
    ({"op": "add_event", "theater": "AMC", "event": GALA.to_table()}, AddEvent("AMC", GALA)),
    (
        {"op": "update_event", "theater": "AMC", "event": DUNE, "title": "Dune: Part Two"},
        UpdateEvent("AMC", DUNE, title="Dune: Part Two"),
    ),
    (
        {"op": "update_event", "theater": "AMC", "event": DUNE, "starts_at": "2030-01-01T20:00"},
        UpdateEvent("AMC", DUNE, starts_at="2030-01-01T20:00"),
    ),
    (
        {"op": "set_sales", "theater": "AMC", "event": DUNE, "sales": "stopped"},
        SetSales("AMC", DUNE, "stopped"),
    ),
    ({"op": "cancel_event", "theater": "AMC", "event": DUNE}, CancelEvent("AMC", DUNE)),
    (
        {"op": "resize_theater", "theater": "AMC", "rows": 30, "seats_per_row": 40},
        ResizeTheater("AMC", 30, 40),
    ),
]
LOCK_LOGS: list[tuple[dict[str, Any], Any]] = [
    (
        {"op": "acquire", "hold_id": "h1", "theater": "AMC", "event": "e1", "seats": ["A1"],
         "ttl": 5.0},
        Acquire("h1", "AMC", "e1", ("A1",), 5.0),
    ),
    (
        {
            "op": "acquire_best",
            "hold_id": "h2",
            "theater": "AMC",
            "event": "e1",
            "count": 2,
            "rows": 2,
            "seats_per_row": 3,
            "ttl": 5.0,
        },
        AcquireBest("h2", "AMC", "e1", 2, 2, 3, 5.0),
    ),
    ({"op": "release", "hold_id": "h1"}, Release("h1")),
    (
        {"op": "settle", "hold_id": "h1", "theater": "AMC", "event": "e1", "seats": ["A1"]},
        Settle("h1", "AMC", "e1", ("A1",)),
    ),
    ({"op": "free", "hold_id": "h1"}, Free("h1")),
]  # fmt: skip


@pytest.mark.parametrize(
    ("plain", "command", "parse"),
    [(p, c, seat_commands.from_plain) for p, c in SEAT_LOGS]
    + [(p, c, lock_commands.from_plain) for p, c in LOCK_LOGS],
    ids=lambda value: value.get("op") if isinstance(value, dict) else None,
)
def test_the_plain_form_of_existing_logs_parses_and_is_written_the_same(
    plain: dict[str, Any], command: Any, parse: Any
) -> None:
    assert parse(plain) == command
    assert list(command.to_plain().items()) == list(plain.items())  # keys, values and order
    # What serpent carries and the log stores comes back as the same command.
    assert parse(serpent.loads(serpent.dumps(command.to_plain()))) == command
    assert parse(json.loads(json.dumps(command.to_plain()))) == command


labels = st.text("ABC", min_size=1, max_size=1).flatmap(
    lambda row: st.integers(1, 30).map(lambda n: f"{row}{n}")
)
texts = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=20)
bookings = st.builds(
    Booking,
    ticket_no=texts,
    hold_id=texts,
    theater=texts,
    event=texts,
    seats=st.lists(labels, min_size=1, max_size=5, unique=True).map(tuple),
    name=texts,
    email=texts,
    fence=st.integers(0, 2**40),
    expires_at=st.floats(0, 2e9),
)
lock_examples = st.one_of(
    st.builds(Acquire, texts, texts, texts, st.just(("A1", "B2")), st.floats(0.5, 600)),
    st.builds(AcquireBest, texts, texts, texts, st.just(2), st.just(2), st.just(3), st.just(5.0)),
    st.builds(Release, texts),
    st.builds(Settle, texts, texts, texts, st.just(("C3",))),
    st.builds(Free, texts),
)


@settings(max_examples=60, deadline=None)
@given(bookings, lock_examples)
def test_commands_round_trip_through_their_plain_form(booking: Booking, lock: Any) -> None:
    assert seat_commands.from_plain(Book(booking).to_plain()) == Book(booking)
    assert lock_commands.from_plain(lock.to_plain()) == lock


# (a payload, the message the state machine answered it with before the commands were typed)
BOOK = SEAT_LOGS[0][0]
SEAT_REFUSALS = [
    (None, "a command is a dict, got NoneType"),
    ([], "a command is a dict, got list"),
    ({}, "a command needs a text 'op', got None"),
    ({"op": 3}, "a command needs a text 'op', got 3"),
    ({"op": "steal"}, "unknown data store operation 'steal'"),
    ({**BOOK, "ticket_no": ""}, "'ticket_no' must be non-empty text, got ''"),
    ({**BOOK, "hold_id": 7}, "'hold_id' must be non-empty text, got 7"),
    ({**BOOK, "seats": []}, "'seats' must be a non-empty list of seat labels, got []"),
    ({**BOOK, "seats": ["A1", "A1"]}, "a seat is listed twice in ['A1', 'A1']"),
    ({**BOOK, "seats": "A1"}, "'seats' must be a non-empty list of seat labels, got 'A1'"),
    ({**BOOK, "name": "x" * 500}, "'name' is longer than 100 characters"),
    ({**BOOK, "email": None}, "'email' must be non-empty text, got None"),
    ({**BOOK, "fence": -1}, "'fence' must be an integer >= 0, got -1"),
    ({**BOOK, "fence": True}, "'fence' must be an integer >= 0, got True"),
    ({**BOOK, "expires_at": float("nan")}, "'expires_at' must be a finite number, got nan"),
    ({"op": "cancel", "theater": "AMC"}, "'ticket_no' must be non-empty text, got None"),
    ({"op": "add_theater", "theater": "AMC"}, "command: theater: must be a table ([[theater]])"),
    (
        {"op": "add_theater", "theater": {**AMC.to_table(), "rows": 0}},
        "command: theater.rows: must be an integer >= 1, got 0",
    ),
    (
        {"op": "add_event", "theater": "AMC", "event": {**GALA.to_table(), "title": ""}},
        "command: event.title: must be non-empty text, got ''",
    ),
    (
        {"op": "update_event", "theater": "AMC", "event": DUNE, "title": 5},
        "command: event.title: must be non-empty text, got 5",
    ),
    (
        {"op": "update_event", "theater": "AMC", "event": DUNE, "starts_at": "2030-01-01"},
        "command: event.starts_at: needs a time of day too: '2030-01-01'",
    ),
    (
        {"op": "set_sales", "theater": "AMC", "event": DUNE, "sales": "cancelled"},
        "'sales' must be 'open' or 'stopped', got 'cancelled'",
    ),
    ({"op": "cancel_event", "theater": "AMC"}, "'event' must be non-empty text, got None"),
    (
        {"op": "resize_theater", "theater": "AMC", "rows": 0, "seats_per_row": 3},
        "command: theater.rows: must be an integer >= 1, got 0",
    ),
    (
        {"op": "resize_theater", "theater": "AMC", "rows": 1000, "seats_per_row": 1000},
        "command: theater.rows: 1000x1000 seats is more than 200000",
    ),
    (
        {"op": "bootstrap", "theaters": [AMC.to_table(), AMC.to_table()]},
        "a theater id appears twice in the bootstrap",
    ),
]
ACQUIRE = LOCK_LOGS[0][0]
LOCK_REFUSALS = [
    (None, "a command is a dict, got NoneType"),
    ({"op": "steal"},
     "unknown lock operation 'steal' (acquire, acquire_best, release, settle or free)"),
    ({"op": "release"}, "'hold_id' must be non-empty text, got None"),
    ({**ACQUIRE, "ttl": 0}, "'ttl' must be positive, got 0.0"),
    ({**ACQUIRE, "ttl": True}, "'ttl' must be a finite number, got True"),
    ({**LOCK_LOGS[1][0], "count": 7}, "cannot pick 7 seats of a 2x3 map"),
    ({**LOCK_LOGS[3][0], "seats": [7]}, "not a seat label: 7"),
    ({"op": "free", "hold_id": ""}, "'hold_id' must be non-empty text, got ''"),
]  # fmt: skip


@pytest.mark.parametrize(("payload", "message"), SEAT_REFUSALS)
def test_the_seat_store_refuses_bad_plain_input_as_before(payload: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        seat_commands.from_plain(payload)
    assert str(refused.value) == message
    seeding = isinstance(payload, dict) and payload.get("op") == "bootstrap"
    store = SeatStore() if seeding else SeatStore(CATALOG.theaters)  # a bootstrap seeds once
    digest = store.digest()
    result = store.apply(payload, 1, 0.0)
    assert (result["error"], result["message"]) == ("InvalidRequest", message)
    assert store.digest() == digest


@pytest.mark.parametrize(("payload", "message"), LOCK_REFUSALS)
def test_the_lock_table_refuses_bad_plain_input_as_before(payload: Any, message: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        lock_commands.from_plain(payload)
    assert str(refused.value) == message
    table = LockTable()
    result = table.apply(payload, 1, 0.0)
    assert (result["error"], result["message"]) == ("InvalidRequest", message)
    assert len(table) == 0


def test_a_balancer_booking_is_checked_against_the_catalog_and_made_canonical() -> None:
    plain = {**BOOKING.to_plain(), "seats": ["a2", "A1"], "name": "  Ada  "}
    assert validation.booking(CATALOG, plain) == BOOKING  # seats in map order, name trimmed
    for bad in (None, ["t1"], {**plain, "fence": "3"}, {**plain, "email": "ada"}):
        with pytest.raises(InvalidRequest):
            validation.booking(CATALOG, bad)
    with pytest.raises(UnknownTheater):
        validation.booking(CATALOG, {**plain, "theater": "NOPE"})
