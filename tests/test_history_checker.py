"""The history checker on hand-made histories: silent on good ones, loud on each anomaly."""

from __future__ import annotations

from dataclasses import replace

from ticketing.faults.checker import SeatOp, check, linearizable
from ticketing.faults.figures import figures
from ticketing.faults.history import (
    BOOK,
    CANCEL,
    HOLD,
    OK,
    READ,
    REFUSED,
    RELEASE,
    UNKNOWN,
    Fault,
    FinalState,
    History,
    Operation,
)

T, E = "AMC", "dune"


def op(kind: str, start: float, end: float, outcome: str = OK, client: int = 1, **kw) -> Operation:
    return Operation(client, kind, T, E, start, end, outcome, **kw)


def final(live: dict | None = None, booked: set | None = None, **kw) -> FinalState:
    live = {t: (T, E, tuple(seats)) for t, seats in (live or {}).items()}
    return FinalState(100.0, live, booked={(T, E): frozenset(booked or ())}, **kw)


def kinds(history: History) -> set[str]:
    return {a.kind for a in check(history)}


def good_history() -> History:
    """Two clients: one books A1 then cancels it, the other books A1 afterwards."""
    ops = (
        op(HOLD, 0, 1, seats=("A1",), hold_id="h1", expires_at=10),
        op(BOOK, 1, 2, seats=("A1",), hold_id="h1", ticket_no="t1"),
        op(READ, 2.5, 3, seats=("A1",)),
        op(CANCEL, 3, 4, seats=("A1",), ticket_no="t1"),
        op(READ, 4.5, 5, seats=()),
        op(HOLD, 5, 6, client=2, seats=("A1",), hold_id="h2", expires_at=15),
        op(BOOK, 6, 7, client=2, seats=("A1",), hold_id="h2", ticket_no="t2"),
    )
    return History(ops, final({"t2": ["A1"]}, {"A1"}, digests={"east": [(3, "x"), (3, "x")]}))


def test_a_good_history_has_no_anomaly() -> None:
    assert check(good_history()) == []


def test_two_live_bookings_of_one_seat_are_caught() -> None:
    history = good_history()
    ops = tuple(o for o in history.operations if o.kind != CANCEL)  # t1 never cancelled
    both = History(ops, final({"t1": ["A1"], "t2": ["A1"]}, {"A1"}))
    assert {"double-booking", "not-linearizable"} <= kinds(both)


def test_overlapping_books_are_not_linearizable_even_if_one_is_later_lost() -> None:
    ops = (
        op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1"),
        op(BOOK, 2, 3, client=2, seats=("A1",), hold_id="h2", ticket_no="t2"),
    )
    assert {"lost-booking", "not-linearizable"} <= kinds(
        History(ops, final({"t2": ["A1"]}, {"A1"}))
    )


def test_a_lost_acknowledged_booking_is_caught() -> None:
    ops = (op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1"),)
    assert "lost-booking" in kinds(History(ops, final()))


def test_an_acknowledged_cancel_that_did_not_free_is_caught() -> None:
    ops = (
        op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1"),
        op(CANCEL, 2, 3, ticket_no="t1"),
    )
    assert "cancel-lost" in kinds(History(ops, final({"t1": ["A1"]}, {"A1"})))
    # The ticket is gone but its seat stayed booked.
    assert "phantom-seat" in kinds(History(ops, final({}, {"A1"})))


def test_a_stale_read_is_not_linearizable() -> None:
    ops = (
        op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1"),
        op(READ, 2, 3, seats=()),  # reads A1 free after the booking was acknowledged
    )
    assert kinds(History(ops, final({"t1": ["A1"]}, {"A1"}))) == {"not-linearizable"}


def test_a_read_concurrent_with_a_book_may_see_either() -> None:
    for seen in ((), ("A1",)):
        ops = (
            op(BOOK, 0, 2, seats=("A1",), hold_id="h1", ticket_no="t1"),
            op(READ, 1, 1.5, seats=seen),
        )
        assert check(History(ops, final({"t1": ["A1"]}, {"A1"}))) == []


def test_unknown_outcomes_are_resolved_consistently() -> None:
    book = op(BOOK, 0, 1, UNKNOWN, seats=("A1",), hold_id="h1")
    took = final({"t9": ["A1"]}, {"A1"}, unknown_books={"h1": "t9"})
    assert check(History((book,), took)) == []
    nothing = final(unknown_books={"h1": None})
    assert check(History((book,), nothing)) == []
    assert "unresolved" in kinds(History((book,), final()))
    vanished = final(unknown_books={"h1": "t9"})  # said booked, but the ticket is not live
    assert "unknown-inconsistent" in kinds(History((book,), vanished))
    # Resolved to nothing, yet a ticket nobody made holds the seat.
    assert "phantom-ticket" in kinds(
        History((book,), final({"t9": ["A1"]}, {"A1"}, unknown_books={"h1": None}))
    )


def test_an_unknown_cancel_may_have_happened() -> None:
    ops = (
        op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1"),
        op(CANCEL, 2, 3, UNKNOWN, ticket_no="t1"),
    )
    assert check(History(ops, final())) == []
    assert check(History(ops, final({"t1": ["A1"]}, {"A1"}))) == []


def test_two_surely_valid_holds_of_one_seat_are_caught() -> None:
    first = op(HOLD, 0, 1, seats=("A1", "A2"), hold_id="h1", expires_at=10)
    second = op(HOLD, 2, 3, client=2, seats=("A2",), hold_id="h2", expires_at=12)
    assert "double-hold" in kinds(History((first, second), final()))
    released = op(RELEASE, 1.5, 1.8, hold_id="h1")
    assert check(History((first, released, second), final())) == []
    expired = replace(second, start=11, end=12, expires_at=20)
    assert check(History((first, expired), final())) == []


def test_refused_operations_change_nothing() -> None:
    ops = (
        op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1"),
        op(BOOK, 2, 3, REFUSED, client=2, seats=("A1",), hold_id="h2", error="SeatsUnavailable"),
    )
    assert check(History(ops, final({"t1": ["A1"]}, {"A1"}))) == []


def test_differing_digests_are_caught() -> None:
    history = replace(good_history(), final=final(digests={"east": [(3, "x"), (3, "y")]}))
    assert "digests-differ" in kinds(history)


def test_the_search_handles_many_concurrent_operations() -> None:
    """Eight clients at once, 400 ops on one seat: the memoised search stays small."""
    ops, t = [], 0.0
    for n in range(50):
        ticket = f"t{n}"
        ops.append(SeatOp(t, t + 2, BOOK, ticket))
        ops += [SeatOp(t + 0.1 * i, t + 3, READ, None, booked=i % 2 == 0) for i in range(3)]
        ops += [SeatOp(t + 2.5, t + 4, READ, None, booked=True)]
        ops.append(SeatOp(t + 3, t + 5, CANCEL, ticket))
        ops += [SeatOp(t + 5.5, t + 5.6, READ, None, booked=False)]
        ops.append(SeatOp(t + 5.5, t + 5.6, READ, None, booked=False))
        t += 6
    assert linearizable(ops) is True
    ops.append(SeatOp(t, t + 1, CANCEL, "t0"))  # cancelling a ticket long gone
    assert linearizable(ops) is False


def test_figures_sum_the_run_up() -> None:
    history = replace(good_history(), faults=(Fault("kill-replica", "east-2", 0.5, 1.5, 2.0),))
    summary = figures(history)
    assert summary.operations == 7
    assert summary.by_kind_outcome["book/ok"] == 2
    assert summary.faults_by_kind == {"kill-replica": 1}
    assert summary.longest_gap_after_fault == 1.5  # fault at 0.5, first booking done at 2
    assert summary.recovery_seconds == {"kill-replica": 0.5}
    assert summary.lines()
