"""The seat store's catalog commands: decided in the log beside the bookings, refusing
what does not fit and changing nothing then, the same on every replica."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any

import pytest
import serpent
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from test_seat_store import free_seats

from ticketing.catalog import CANCELLED, OPEN, STOPPED, parse_catalog
from ticketing.domain.seat_commands import CATALOG_OPS
from ticketing.domain.seat_store import SeatStore
from ticketing.errors import TicketNotFound

CATALOG = parse_catalog("""
[[theater]]
id = "AMC"
name = "AMC"
city = "Boston"
rows = 2
seats_per_row = 7
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
lock_group = 2
[[theater.event]]
id = "e1"
title = "One"
starts_at = "2026-12-02T19:00:00"
""")
TABLES = [theater.to_table() for theater in CATALOG.theaters]

FES = {
    "id": "FES",
    "name": "Festival Hall",
    "city": "Salem",
    "rows": 3,
    "seats_per_row": 3,
    "cluster": "east",
    "event": [{"id": "gala", "title": "Gala", "starts_at": "2026-12-24T20:00:00"}],
}
MATINEE = {"id": "mat", "title": "Matinee", "starts_at": "2026-12-03T14:00:00"}


def book(
    ticket_no: str,
    hold_id: str,
    seats: list[str],
    *,
    theater: str = "AMC",
    event: str = "e1",
    fence: int = 1,
) -> dict[str, Any]:
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
        "expires_at": 1e9,
    }


def cancel(ticket_no: str, theater: str = "AMC") -> dict[str, Any]:
    return {"op": "cancel", "theater": theater, "ticket_no": ticket_no}


def op(name: str, **fields: Any) -> dict[str, Any]:
    return {"op": name, **fields}


def seeded() -> SeatStore:
    """A store seeded through its log, as a new cluster is."""
    store = SeatStore()
    assert store.apply(op("bootstrap", theaters=TABLES), 1, 0.0)["ok"]
    return store


def run(store: SeatStore, payload: Any) -> dict[str, Any]:
    """Apply at the next slot; every result must be plain enough to send."""
    result = store.apply(payload, 0, 0.0)
    json.dumps(result)
    return result


def error(result: dict[str, Any]) -> str | None:
    return None if result["ok"] else result["error"]


def event_of(store: SeatStore, theater: str, event: str) -> Any:
    return next(t for t in store.theaters() if t.id == theater).event(event)


def theater_of(store: SeatStore, theater: str) -> Any:
    return next(t for t in store.theaters() if t.id == theater)


# -- bootstrap ----------------------------------------------------------------


def test_bootstrap_seeds_once() -> None:
    store = SeatStore()
    assert store.catalog_version == 0 and store.theaters() == ()
    assert error(run(store, op("add_event", theater="AMC", event=MATINEE))) == "InvalidRequest"
    assert error(run(store, book("t1", "h1", ["A1"]))) == "UnknownTheater"
    first = run(store, op("bootstrap", theaters=TABLES))
    assert first == {"ok": True, "catalog": {"version": 1, "theaters": TABLES}}
    assert store.theaters() == CATALOG.theaters
    digest = store.digest()
    # Every replica submits the same bootstrap at start, and so does every restart.
    again = run(store, op("bootstrap", theaters=[FES]))
    assert again == first and store.digest() == digest
    assert store.catalog_version == 1


def test_bootstrap_refusals_leave_it_unseeded() -> None:
    store = SeatStore()
    for bad in (None, "AMC", {"id": "AMC"}, [{"id": "AMC"}], [TABLES[0], TABLES[0]], [FES, 3]):
        result = run(store, op("bootstrap", theaters=bad))
        assert error(result) == "InvalidRequest", bad
    assert error(run(store, op("bootstrap"))) == "InvalidRequest"
    assert store.catalog_version == 0 and store.theaters() == ()
    assert run(store, op("bootstrap", theaters=TABLES))["ok"]


def test_an_empty_bootstrap_is_a_new_empty_cluster() -> None:
    store = SeatStore()
    assert run(store, op("bootstrap", theaters=[]))["catalog"] == {"version": 1, "theaters": []}
    assert run(store, op("add_theater", theater=FES))["catalog"]["version"] == 2
    assert run(store, book("t1", "h1", ["A1"], theater="FES", event="gala"))["ok"]


def test_seeding_by_constructor_equals_seeding_by_bootstrap() -> None:
    assert SeatStore(CATALOG.theaters).digest() == seeded().digest()


# -- adding -----------------------------------------------------------------------


def test_add_theater_and_event_and_their_duplicates() -> None:
    store = seeded()
    added = run(store, op("add_theater", theater=FES))
    assert added["ok"] and added["catalog"]["version"] == 2
    assert added["catalog"]["theaters"][-1]["id"] == "FES"
    assert run(store, book("t1", "h1", ["C3"], theater="FES", event="gala"))["ok"]
    digest = store.digest()
    duplicate = run(store, op("add_theater", theater={**FES, "name": "Another"}))
    assert error(duplicate) == "InvalidRequest" and "FES" in duplicate["message"]
    assert store.digest() == digest and store.catalog_version == 2

    assert run(store, op("add_event", theater="AMC", event=MATINEE))["catalog"]["version"] == 3
    assert [e.id for e in theater_of(store, "AMC").events] == ["e1", "e2", "mat"]
    assert run(store, book("t2", "h2", ["A1"], event="mat"))["ok"]
    digest = store.digest()
    again = run(store, op("add_event", theater="AMC", event={**MATINEE, "title": "Other"}))
    assert error(again) == "InvalidRequest" and "mat" in again["message"]
    same_id_elsewhere = run(store, op("add_event", theater="REG", event=MATINEE))
    assert same_id_elsewhere["ok"]  # event ids are per theater
    assert error(run(store, op("add_event", theater="NOPE", event=MATINEE))) == "UnknownTheater"
    assert store.catalog_version == 4 and event_of(store, "AMC", "mat").title == "Matinee"
    assert digest != store.digest()


def test_nothing_arrives_cancelled() -> None:
    store = seeded()
    cancelled = {**MATINEE, "sales": "cancelled"}
    digest = store.digest()
    assert error(run(store, op("add_event", theater="AMC", event=cancelled))) == "InvalidRequest"
    theater = {**FES, "event": [{**FES["event"][0], "sales": "cancelled"}]}
    assert error(run(store, op("add_theater", theater=theater))) == "InvalidRequest"
    assert store.digest() == digest
    stopped = run(store, op("add_event", theater="AMC", event={**MATINEE, "sales": "stopped"}))
    assert stopped["ok"]  # announced before its sales open
    assert error(run(store, book("t1", "h1", ["A1"], event="mat"))) == "SalesClosed"


# -- changing events -----------------------------------------------------------------


def test_update_event_keeps_bookings() -> None:
    store = seeded()
    assert run(store, book("t1", "h1", ["A1", "A2"]))["ok"]
    states = store.seat_states("AMC", "e1")
    result = run(store, op("update_event", theater="AMC", event="e1", title="One (late)"))
    assert result["ok"] and result["catalog"]["version"] == 2
    moved = run(store, op("update_event", theater="AMC", event="e1", starts_at="2026-12-05T22:00"))
    assert moved["ok"]
    event = event_of(store, "AMC", "e1")
    assert (event.title, event.starts_at, event.sales) == ("One (late)", "2026-12-05T22:00", "open")
    assert [e.id for e in theater_of(store, "AMC").events] == ["e1", "e2"]  # keeps its place
    assert store.seat_states("AMC", "e1") == states
    assert store.ticket("AMC", "t1")["seats"] == ["A1", "A2"]
    digest = store.digest()
    for bad in ({"title": ""}, {"title": 5}, {"starts_at": "2026-12-05"}, {"starts_at": None}):
        result = run(store, op("update_event", theater="AMC", event="e1", **bad))
        assert error(result) == "InvalidRequest", bad
    assert error(run(store, op("update_event", theater="AMC", event="e9"))) == "UnknownEvent"
    assert store.digest() == digest


def test_set_sales_refuses_and_permits_bookings() -> None:
    store = seeded()
    assert run(store, book("t1", "h1", ["A1"]))["ok"]
    assert run(store, op("set_sales", theater="AMC", event="e1", sales="stopped"))["ok"]
    assert event_of(store, "AMC", "e1").sales == "stopped"
    refused = run(store, book("t2", "h2", ["A2"]))
    assert error(refused) == "SalesClosed" and "stopped" in refused["message"]
    # A booking decided before the stop, retried after it, still answers its ticket.
    retried = run(store, book("t1-again", "h1", ["A1"]))
    assert retried["ok"] and retried["ticket"]["ticket_no"] == "t1"
    assert run(store, book("t3", "h3", ["A2"], event="e2"))["ok"]  # the other event sells on
    assert run(store, cancel("t1"))["ok"]  # a holder may still cancel
    assert run(store, op("set_sales", theater="AMC", event="e1", sales="open"))["ok"]
    assert run(store, book("t2", "h2", ["A2"]))["ok"]
    digest = store.digest()
    for bad in ("cancelled", "OPEN", "closed", None, 1, ["open"]):
        result = run(store, op("set_sales", theater="AMC", event="e1", sales=bad))
        assert error(result) == "InvalidRequest", bad
    assert store.digest() == digest and event_of(store, "AMC", "e1").sales == "open"


def test_cancel_event_moves_exactly_its_live_tickets_to_refunds() -> None:
    store = seeded()
    run(store, book("t1", "h1", ["A1", "A2"]))
    run(store, book("t2", "h2", ["B7"]))
    run(store, book("t3", "h3", ["A3"]))
    run(store, cancel("t3"))  # cancelled by its holder: not a refund
    run(store, book("t4", "h4", ["A1"], event="e2"))
    run(store, book("t5", "h5", ["A1"], theater="REG"))
    others = (store.seat_states("AMC", "e2"), store.seat_states("REG", "e1"))
    result = run(store, op("cancel_event", theater="AMC", event="e1"))
    assert result["ok"] and result["catalog"]["version"] == 2
    assert [t["ticket_no"] for t in result["refunds"]] == ["t1", "t2"]
    assert result["refunds"][0] == {
        "ticket_no": "t1",
        "theater": "AMC",
        "event": "e1",
        "seats": ["A1", "A2"],
        "name": "Ada",
        "email": "ada@example.org",
    }
    assert event_of(store, "AMC", "e1").sales == "cancelled"
    assert [t["ticket_no"] for t in store.snapshot()["refunds"]] == ["t1", "t2"]
    assert sorted(t["ticket_no"] for t in store.snapshot()["tickets"]) == ["t4", "t5"]
    assert (store.seat_states("AMC", "e2"), store.seat_states("REG", "e1")) == others
    assert store.seat_states("AMC", "e1") == "0" * 14
    report = store.sales_report("AMC", "e1")
    assert report["sold"] == 0 and report["tickets"] == [] and len(report["refunds"]) == 2
    assert store.sales_report("AMC", "e2")["refunds"] == []

    for ticket_no in ("t1", "t2"):
        with pytest.raises(TicketNotFound, match=r"cancelled.*refund"):
            store.ticket("AMC", ticket_no)
        refused = run(store, cancel(ticket_no))
        assert error(refused) == "TicketNotFound" and "refund" in refused["message"]
    with pytest.raises(TicketNotFound, match="no ticket"):
        store.ticket("REG", "t1")  # another theater's number says nothing of a refund
    assert store.ticket("AMC", "t4")["event"] == "e2"
    assert store.ticket_for_hold("h1") is None and store.ticket_for_hold("h4") is not None
    closed = run(store, book("t6", "h1", ["A1"]))  # even the refunded booking's own hold
    assert error(closed) == "SalesClosed" and "cancelled" in closed["message"]


def test_a_cancelled_event_cannot_change() -> None:
    store = seeded()
    run(store, op("cancel_event", theater="AMC", event="e1"))
    digest = store.digest()
    changes = [
        op("update_event", theater="AMC", event="e1", title="Back"),
        op("set_sales", theater="AMC", event="e1", sales="open"),
        op("set_sales", theater="AMC", event="e1", sales="stopped"),
        op("cancel_event", theater="AMC", event="e1"),
    ]
    for change in changes:
        result = run(store, change)
        assert error(result) == "SalesClosed" and "cancelled" in result["message"], change
    assert error(run(store, op("add_event", theater="AMC", event={**MATINEE, "id": "e1"})))
    assert store.digest() == digest and store.catalog_version == 2
    assert error(run(store, book("t1", "h1", ["A1"]))) == "SalesClosed"


# -- resizing --------------------------------------------------------------------------


def test_resize_keeps_labels_and_bookings() -> None:
    store = seeded()
    run(store, book("t1", "h1", ["A7"], fence=3))
    run(store, book("t2", "h2", ["B2"], fence=4))
    run(store, book("t3", "h3", ["B7"], event="e2", fence=5))
    run(store, book("t4", "h4", ["B1"], fence=6))
    run(store, cancel("t4"))  # leaves a fence on B1
    grown = run(store, op("resize_theater", theater="AMC", rows=3, seats_per_row=9))
    assert grown["ok"] and grown["catalog"]["version"] == 2
    assert theater_of(store, "AMC").seat_map.rows == 3
    # Every index moved (B2 was 8, now 10); the labels stay booked.
    assert free_seats(store, "AMC", "e1") == [
        s for s in theater_of(store, "AMC").seat_map.labels() if s not in ("A7", "B2")
    ]
    states = store.seat_states("AMC", "e2")
    assert len(states) == 27 and states.index("1") == 9 + 6 and states.count("1") == 1
    assert store.ticket("AMC", "t2")["seats"] == ["B2"]
    # Fences moved with their seats: a hold older than the seat's last booking loses.
    assert error(run(store, book("t5", "h5", ["B1"], fence=5))) == "HoldExpired"
    assert run(store, book("t5", "h5", ["B1", "A9", "C9"], fence=6))["ok"]
    assert error(run(store, book("t6", "h6", ["B2"], fence=9))) == "SeatsUnavailable"
    assert run(store, cancel("t2"))["ok"]  # a cancel frees the seat under its new index
    assert "B2" in free_seats(store, "AMC", "e1")


def test_resize_refuses_shrinking_under_a_booked_seat() -> None:
    store = seeded()
    run(store, book("t1", "h1", ["A7"]))
    run(store, book("t2", "h2", ["B3"], event="e2"))
    digest, version = store.digest(), store.catalog_version
    narrower = run(store, op("resize_theater", theater="AMC", rows=2, seats_per_row=6))
    assert error(narrower) == "InvalidRequest" and "A7" in narrower["message"]
    shorter = run(store, op("resize_theater", theater="AMC", rows=1, seats_per_row=7))
    assert error(shorter) == "InvalidRequest" and "B3" in shorter["message"]
    assert store.digest() == digest and store.catalog_version == version
    assert theater_of(store, "AMC").seat_map.seats_per_row == 7
    # Once the ticket is cancelled, the shrink goes through.
    run(store, cancel("t1"))
    assert run(store, op("resize_theater", theater="AMC", rows=2, seats_per_row=6))["ok"]
    assert store.seat_states("AMC", "e2") == "000000" + "001000"


def test_resize_ignores_other_theaters_and_refunds() -> None:
    store = seeded()
    run(store, book("t1", "h1", ["A4"], theater="REG"))
    run(store, book("t2", "h2", ["A7"]))
    run(store, op("cancel_event", theater="AMC", event="e1"))
    assert run(store, op("resize_theater", theater="AMC", rows=1, seats_per_row=1))["ok"]
    assert store.seat_states("REG", "e1") == "0001"
    with pytest.raises(TicketNotFound, match="refund"):
        store.ticket("AMC", "t2")
    assert store.sales_report("AMC", "e1")["refunds"][0]["seats"] == ["A7"]


def test_resize_refusals() -> None:
    store = seeded()
    digest = store.digest()
    for rows, seats in ((0, 7), (2, -1), (True, 7), (2, 7.0), ("2", 7), (None, 7), (2000, 2000)):
        result = run(store, op("resize_theater", theater="AMC", rows=rows, seats_per_row=seats))
        assert error(result) == "InvalidRequest", (rows, seats)
    assert error(run(store, op("resize_theater", theater="AMC", rows=2))) == "InvalidRequest"
    unknown = run(store, op("resize_theater", theater="NOPE", rows=2, seats_per_row=2))
    assert error(unknown) == "UnknownTheater"
    assert store.digest() == digest and store.catalog_version == 1


# -- snapshots ----------------------------------------------------------------------------


def busy_store() -> SeatStore:
    """A catalog changed every way, with bookings, refunds and resized theaters."""
    store = seeded()
    steps = [
        book("t1", "h1", ["A7"], fence=2),
        book("t2", "h2", ["B1", "B2"], event="e2", fence=3),
        book("t3", "h3", ["A4"], theater="REG", fence=4),
        op("add_theater", theater=FES),
        book("t4", "h4", ["C3"], theater="FES", event="gala"),
        op("add_event", theater="AMC", event=MATINEE),
        book("t5", "h5", ["A2"], event="mat"),
        op("update_event", theater="AMC", event="e2", title="Two, later"),
        op("cancel_event", theater="REG", event="e1"),
        op("resize_theater", theater="REG", rows=1, seats_per_row=2),  # off the refund's A4
        op("resize_theater", theater="AMC", rows=4, seats_per_row=8),
        op("set_sales", theater="AMC", event="mat", sales="stopped"),
        book("t6", "h6", ["D8"], fence=7),
        cancel("t6"),
    ]
    for step in steps:
        assert run(store, step)["ok"], step
    return store


def test_snapshot_round_trip_with_catalog_refunds_and_resized_theaters() -> None:
    snap = busy_store().snapshot()
    assert serpent.loads(serpent.dumps(snap)) == snap
    for plain in (json.loads(json.dumps(snap)), serpent.loads(serpent.dumps(snap))):
        store = busy_store()
        copy = SeatStore()  # an unseeded replica catching up from a peer's snapshot
        copy.restore(plain)
        assert copy.digest() == store.digest() and copy.snapshot() == snap
        assert copy.catalog_version == store.catalog_version == 8
        assert copy.theaters() == store.theaters()
        for theater in store.theaters():
            for event in theater.events:
                states = copy.seat_states(theater.id, event.id)
                assert states == store.seat_states(theater.id, event.id)
        with pytest.raises(TicketNotFound, match="refund"):
            copy.ticket("REG", "t3")
        # The restored copy decides the next commands as the original does.
        for step in (
            book("t7", "h7", ["D8"], fence=6),  # older than t6's fence
            book("t8", "h8", ["A2"], event="mat"),
            op("set_sales", theater="AMC", event="mat", sales="open"),
            book("t8", "h8", ["A2"], event="mat"),
            op("resize_theater", theater="AMC", rows=1, seats_per_row=7),
        ):
            assert copy.apply(step, 0, 0.0) == store.apply(step, 0, 0.0), step
            assert copy.digest() == store.digest()


def test_restore_of_a_refund_beyond_a_shrunk_theater() -> None:
    """Regression: the shrink is allowed (the seat holds no live ticket), so its snapshot
    must restore too; it was refused, the refund's seat being off the new map."""
    store = seeded()
    run(store, book("t1", "h1", ["B7"]))
    run(store, op("cancel_event", theater="AMC", event="e1"))
    assert run(store, op("resize_theater", theater="AMC", rows=1, seats_per_row=3))["ok"]
    copy = SeatStore()
    copy.restore(json.loads(json.dumps(store.snapshot())))
    assert copy.digest() == store.digest()
    assert copy.sales_report("AMC", "e1")["refunds"][0]["seats"] == ["B7"]


def test_a_refused_restore_keeps_the_catalog() -> None:
    """A snapshot that does not fit is refused whole; the store keeps its catalog (its
    bookings are cleared, as before the catalog was replicated) and takes a good one."""
    store = busy_store()
    digest, snap, theaters = store.digest(), store.snapshot(), store.theaters()
    bad_catalog = {**snap, "catalog": {"version": 3, "theaters": [{"id": "X"}]}}
    bad_refund = {**snap, "refunds": [{**snap["refunds"][0], "theater": "NOPE"}]}
    for bad in (bad_catalog, bad_refund, {**snap, "catalog": None}):
        with pytest.raises(ValueError):
            store.restore(bad)
        assert store.theaters() == theaters and store.catalog_version == 8
    store.restore(snap)
    assert store.digest() == digest


# -- determinism -------------------------------------------------------------------------


def test_two_stores_fed_the_same_commands_agree() -> None:
    one, two = busy_store(), busy_store()
    assert one.digest() == two.digest() and one.snapshot() == two.snapshot()
    other = seeded()
    assert other.digest() != one.digest()


# -- malformed commands ----------------------------------------------------------------------

FEW = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))

BAD_TEXT = [None, 0, True, 1.5, "", [], {}, ["AMC"], "x" * 300]
BAD_COUNT = [None, 0, -1, True, 1.5, "3", [], {}, 10**12]
BAD_ID = [None, 0, True, "", "two words", "é", "x" * 300, ["AMC"]]
BAD_NAME = [None, 0, "", "   ", "x" * 300, {}]
BAD_STARTS = [None, 0, "", "2026-12-01", "tomorrow", "2026-13-01T19:00", [], {}]
BAD_SALES = ["cancelled", "OPEN", "closed", None, 1, [], {}]
BAD_TABLE = [None, 1, "AMC", [], [{}], {}, {"id": "X"}]
BAD_EVENT_VALUES = {
    "id": BAD_ID,
    "title": BAD_NAME,
    "starts_at": BAD_STARTS,
    "sales": ["OPEN", "closed", 1, None, [], "cancelled"],
}
BAD_THEATER_VALUES = {
    "id": BAD_ID,
    "name": BAD_NAME,
    "city": BAD_NAME,
    "rows": BAD_COUNT,
    "seats_per_row": BAD_COUNT,
    "cluster": BAD_ID,
    "lock_group": [0, -1, True, "1", None, 1.0],
    "event": ["gala", {}, [1], [{"id": "x"}], [MATINEE, MATINEE], [{**MATINEE, "sales": None}]],
}
MISSING = object()  # a key left out


def broken_table(
    good: dict[str, Any], bad_values: dict[str, list[Any]], required: list[str]
) -> st.SearchStrategy:
    """``good`` with one key given a bad value, a required key left out, a stray key, or
    something else than a table."""
    stray = st.builds(lambda v: {**good, "colour": v}, st.sampled_from([1, "red", None]))
    wrong = st.sampled_from(sorted(bad_values)).flatmap(
        lambda key: st.sampled_from(bad_values[key]).map(lambda v: {**good, key: v})
    )
    missing = st.sampled_from(required).map(lambda key: {k: v for k, v in good.items() if k != key})
    return st.one_of(wrong, missing, stray, st.sampled_from(BAD_TABLE))


def field(key: str, values: list[Any]) -> st.SearchStrategy:
    return st.sampled_from([*values, MISSING]).map(lambda v: (key, v))


def spoiled(command: dict[str, Any], bad: st.SearchStrategy) -> st.SearchStrategy:
    """``command`` with one of its fields bad (or missing)."""

    def put(pair: tuple[str, Any]) -> dict[str, Any]:
        key, value = pair
        out = {k: v for k, v in command.items() if k != key}
        if value is not MISSING:
            out[key] = value
        return out

    return bad.map(put)


THEATER_KEYS = ["id", "name", "city", "rows", "seats_per_row"]
EVENT_KEYS = ["id", "title", "starts_at"]
THEATER_EVENT = st.one_of(field("theater", BAD_TEXT), field("event", BAD_TEXT))
malformed = st.one_of(
    broken_table(FES, BAD_THEATER_VALUES, THEATER_KEYS).map(lambda t: op("add_theater", theater=t)),
    spoiled(op("add_theater", theater=FES), field("theater", BAD_TABLE)),
    broken_table(MATINEE, BAD_EVENT_VALUES, EVENT_KEYS).map(
        lambda e: op("add_event", theater="AMC", event=e)
    ),
    spoiled(op("add_event", theater="AMC", event=MATINEE), field("theater", BAD_TEXT)),
    spoiled(
        op("update_event", theater="AMC", event="e1", title="New", starts_at="2026-12-09T10:00"),
        st.one_of(
            field("theater", BAD_TEXT),
            field("event", BAD_TEXT),
            st.sampled_from(BAD_NAME).map(lambda v: ("title", v)),
            st.sampled_from(BAD_STARTS).map(lambda v: ("starts_at", v)),
        ),
    ),
    spoiled(
        op("set_sales", theater="AMC", event="e1", sales="stopped"),
        st.one_of(THEATER_EVENT, field("sales", BAD_SALES)),
    ),
    spoiled(op("cancel_event", theater="AMC", event="e1"), THEATER_EVENT),
    spoiled(
        op("resize_theater", theater="AMC", rows=3, seats_per_row=9),
        st.one_of(
            field("theater", BAD_TEXT), field("rows", BAD_COUNT), field("seats_per_row", BAD_COUNT)
        ),
    ),
    spoiled(op("bootstrap", theaters=[FES]), field("theaters", [t for t in BAD_TABLE if t != []])),
    broken_table(FES, BAD_THEATER_VALUES, THEATER_KEYS).map(
        lambda t: op("bootstrap", theaters=[TABLES[0], t])
    ),
)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(malformed)
def test_malformed_catalog_commands_are_refused_and_change_nothing(payload: dict[str, Any]) -> None:
    # A bootstrap is read only by a store not seeded yet (later ones change nothing).
    store = SeatStore() if payload["op"] == "bootstrap" else busy_store()
    digest, version, snap = store.digest(), store.catalog_version, store.snapshot()
    result = run(store, payload)
    assert error(result) == "InvalidRequest", (payload, result)
    assert isinstance(result["message"], str) and result["message"]
    assert store.digest() == digest and store.catalog_version == version
    assert store.snapshot() == snap


garbage = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=8,
)
catalog_keys = st.sampled_from(
    ["theater", "event", "theaters", "title", "starts_at", "sales", "rows", "seats_per_row"]
)
names = st.sampled_from(["AMC", "REG", "FES", "e1", "e2", "mat", "gala", "open", "stopped"])
any_catalog_command = st.builds(
    lambda name, fields: {**fields, "op": name},
    st.sampled_from(sorted(CATALOG_OPS)),
    st.dictionaries(catalog_keys, garbage | names, max_size=5),
)


@FEW
@given(st.lists(any_catalog_command, min_size=1, max_size=6))
def test_garbage_catalog_commands_never_raise_and_a_refusal_changes_nothing(
    payloads: list[dict[str, Any]],
) -> None:
    store = busy_store()
    for payload in payloads:
        digest, version = store.digest(), store.catalog_version
        result = run(store, payload)
        assert isinstance(result["ok"], bool)
        if not result["ok"]:
            assert store.digest() == digest and store.catalog_version == version
        else:
            assert result["catalog"]["version"] == store.catalog_version
    copy = SeatStore()
    copy.restore(json.loads(json.dumps(store.snapshot())))
    assert copy.digest() == store.digest()


# -- a model of bookings and catalog changes together --------------------------------------

THEATER_IDS = ["AMC", "REG", "NEW"]
EVENT_IDS = ["e1", "e2", "x"]
SEATS = [f"{row}{n}" for row in "ABC" for n in range(1, 10)]
SEAT = st.sampled_from(SEATS)


@dataclass
class Hall:
    rows: int
    seats_per_row: int
    events: dict[str, str]  # event id -> sales

    def holds(self, seat: str) -> bool:
        return "ABC".index(seat[0]) < self.rows and int(seat[1:]) <= self.seats_per_row


@dataclass(frozen=True)
class Sold:
    theater: str
    event: str
    seats: frozenset[str]
    hold_id: str


class CatalogAndBookings(RuleBasedStateMachine):
    """Random interleavings of bookings, cancels and catalog changes against a plain model;
    a twin store fed the same commands must agree at every step."""

    def __init__(self) -> None:
        super().__init__()
        self.store, self.twin = seeded(), seeded()
        self.halls = {
            "AMC": Hall(2, 7, {"e1": "open", "e2": "open"}),
            "REG": Hall(1, 4, {"e1": "open"}),
        }
        self.live: dict[str, Sold] = {}
        self.refunds: dict[str, Sold] = {}
        self.count = 0

    def apply(self, payload: dict[str, Any], expected: str | None) -> dict[str, Any]:
        result = run(self.store, payload)
        assert self.twin.apply(payload, 0, 0.0) == result
        assert error(result) == expected, (payload, result)
        if result["ok"] and payload["op"] in CATALOG_OPS:
            assert result["catalog"] == self.store.catalog_plain()
        return result

    def sales(self, theater: str, event: str) -> str | None:
        hall = self.halls.get(theater)
        return None if hall is None else hall.events.get(event)

    @rule(data=st.data())
    def book(self, data: st.DataObject) -> None:
        """Mostly an event in the catalog and seats of its theater as it is now; now and
        then any (an unknown theater, event or seat)."""
        known = sorted((t, e) for t, hall in self.halls.items() for e in hall.events)
        anything = st.tuples(st.sampled_from(THEATER_IDS), st.sampled_from(EVENT_IDS))
        if known and data.draw(st.integers(0, 4)):
            anything = st.sampled_from(known)
        theater, event = data.draw(anything)
        hall = self.halls.get(theater)
        on_map = [s for s in SEATS if hall is not None and hall.holds(s)]
        choice = st.sampled_from(on_map) if on_map and data.draw(st.integers(0, 4)) else SEAT
        seats = data.draw(st.lists(choice, min_size=1, max_size=3, unique=True))
        self.count += 1
        ticket_no, hold_id = f"t{self.count}", f"h{self.count}"
        hall, sales = self.halls.get(theater), self.sales(theater, event)
        taken = {
            s
            for t in self.live.values()
            if (t.theater, t.event) == (theater, event)
            for s in t.seats
        }
        if hall is None:
            expected = "UnknownTheater"
        elif sales is None:
            expected = "UnknownEvent"
        elif not all(hall.holds(seat) for seat in seats):
            expected = "UnknownSeat"
        elif sales != OPEN:
            expected = "SalesClosed"
        elif taken & set(seats):
            expected = "SeatsUnavailable"
        else:
            expected = None
        payload = book(ticket_no, hold_id, seats, theater=theater, event=event, fence=self.count)
        self.apply(payload, expected)
        if expected is None:
            self.live[ticket_no] = Sold(theater, event, frozenset(seats), hold_id)

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def book_again(self, data: st.DataObject) -> None:
        """A retried booking answers its ticket, whatever happened to the catalog since."""
        ticket_no = data.draw(st.sampled_from(sorted(self.live)))
        sold = self.live[ticket_no]
        payload = book("other", sold.hold_id, ["A1"], theater=sold.theater, event=sold.event)
        assert self.apply(payload, None)["ticket"]["ticket_no"] == ticket_no

    @precondition(lambda self: self.live or self.refunds)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        ticket_no = data.draw(st.sampled_from(sorted([*self.live, *self.refunds])))
        sold = self.live.pop(ticket_no, None) or self.refunds[ticket_no]
        self.apply(cancel(ticket_no, sold.theater), None if sold.hold_id else "TicketNotFound")

    @rule(theater=st.sampled_from(THEATER_IDS), event=st.sampled_from(EVENT_IDS))
    def add_event(self, theater: str, event: str) -> None:
        table = {"id": event, "title": "Added", "starts_at": "2026-12-30T20:00:00"}
        if theater not in self.halls:
            expected = "UnknownTheater"
        elif event in self.halls[theater].events:
            expected = "InvalidRequest"
        else:
            expected = None
            self.halls[theater].events[event] = OPEN
        self.apply(op("add_event", theater=theater, event=table), expected)

    @precondition(lambda self: "NEW" not in self.halls)  # a duplicate: a test above
    @rule(rows=st.integers(1, 3), seats_per_row=st.integers(1, 9))
    def add_theater(self, rows: int, seats_per_row: int) -> None:
        table = {**FES, "id": "NEW", "rows": rows, "seats_per_row": seats_per_row, "event": []}
        self.apply(op("add_theater", theater=table), None)
        self.halls["NEW"] = Hall(rows, seats_per_row, {})

    @rule(data=st.data(), change=st.sampled_from([OPEN, STOPPED, CANCELLED, "title"]))
    def change_event(self, data: st.DataObject, change: str) -> None:
        """Any theater and event, or half the time one with bookings."""
        booked = sorted({(t.theater, t.event) for t in self.live.values()})
        anything = st.tuples(st.sampled_from(THEATER_IDS), st.sampled_from(EVENT_IDS))
        if booked and data.draw(st.booleans()):
            anything = st.sampled_from(booked)
        theater, event = data.draw(anything)
        sales = self.sales(theater, event)
        if change == CANCELLED:
            payload = op("cancel_event", theater=theater, event=event)
        elif change == "title":
            payload = op("update_event", theater=theater, event=event, title="Retitled")
        else:
            payload = op("set_sales", theater=theater, event=event, sales=change)
        if theater not in self.halls:
            expected = "UnknownTheater"
        elif sales is None:
            expected = "UnknownEvent"
        elif sales == CANCELLED:
            expected = "SalesClosed"
        else:
            expected = None
        result = self.apply(payload, expected)
        if expected is None and change != "title":
            self.halls[theater].events[event] = change
        if expected is None and change == CANCELLED:
            gone = sorted(
                n for n, t in self.live.items() if (t.theater, t.event) == (theater, event)
            )
            assert [t["ticket_no"] for t in result["refunds"]] == gone
            for ticket_no in gone:
                self.refunds[ticket_no] = dataclasses.replace(self.live.pop(ticket_no), hold_id="")

    @rule(data=st.data(), rows=st.integers(1, 3), seats_per_row=st.integers(1, 9))
    def resize(self, data: st.DataObject, rows: int, seats_per_row: int) -> None:
        """Any size of any theater, or one that just cuts a booked seat off."""
        theater = data.draw(st.sampled_from(THEATER_IDS))
        cut = [(t.theater, s) for _, t in sorted(self.live.items()) for s in sorted(t.seats)]
        if cut and cut != [(t, s) for t, s in cut if s == "A1"] and data.draw(st.booleans()):
            theater, seat = data.draw(st.sampled_from([(t, s) for t, s in cut if s != "A1"]))
            hall, row, number = self.halls[theater], "ABC".index(seat[0]), int(seat[1:])
            rows, seats_per_row = (row, hall.seats_per_row) if row else (hall.rows, number - 1)
        payload = op("resize_theater", theater=theater, rows=rows, seats_per_row=seats_per_row)
        if theater not in self.halls:
            self.apply(payload, "UnknownTheater")
            return
        resized = dataclasses.replace(self.halls[theater], rows=rows, seats_per_row=seats_per_row)
        fits = all(
            resized.holds(s) for t in self.live.values() if t.theater == theater for s in t.seats
        )
        self.apply(payload, None if fits else "InvalidRequest")
        if fits:
            self.halls[theater] = resized

    @invariant()
    def agrees_with_the_model(self) -> None:
        snap = self.store.snapshot()
        live = {t["ticket_no"]: t for t in snap["tickets"]}
        assert sorted(live) == sorted(self.live)
        assert sorted(t["ticket_no"] for t in snap["refunds"]) == sorted(self.refunds)
        for ticket_no, sold in self.live.items():
            assert (live[ticket_no]["theater"], live[ticket_no]["event"]) == (
                sold.theater,
                sold.event,
            )
            assert set(live[ticket_no]["seats"]) == sold.seats
        seats = [(t["theater"], t["event"], s) for t in snap["tickets"] for s in t["seats"]]
        assert len(seats) == len(set(seats)), "a seat is in two live tickets"
        for theater in self.store.theaters():
            hall = self.halls[theater.id]
            assert (theater.rows, theater.seats_per_row) == (hall.rows, hall.seats_per_row)
            assert {e.id: e.sales for e in theater.events} == hall.events
            for event in theater.events:
                states = self.store.seat_states(theater.id, event.id)
                booked = {theater.seat_map.label(i) for i, c in enumerate(states) if c == "1"}
                assert booked == {s for t, e, s in seats if (t, e) == (theater.id, event.id)}
        assert self.twin.digest() == self.store.digest()
        copy = SeatStore()
        copy.restore(json.loads(json.dumps(snap)))
        assert copy.digest() == self.store.digest()


CatalogAndBookings.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
test_catalog_and_bookings_against_a_model = CatalogAndBookings.TestCase
