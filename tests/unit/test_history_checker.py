"""The history checker on hand-made histories: silent on good ones, loud on each anomaly."""

from __future__ import annotations

from dataclasses import replace

from ticketing.faults.catalog_rules import FAULT_SLACK as LAG_SLACK
from ticketing.faults.checker import FAULT_SLACK, SETTLE_MARGIN, SeatOp, check, linearizable
from ticketing.faults.figures import figures
from ticketing.faults.history import (
    ADD_EVENT,
    BOOK,
    CANCEL,
    CANCEL_EVENT,
    HOLD,
    OK,
    OPERATOR,
    READ,
    REFUSED,
    RELEASE,
    RESUME_SALES,
    STOP_SALES,
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


def test_best_available_holds_are_checked_like_explicit_ones() -> None:
    """The seats the system chose count as held: no explicit hold may share them."""
    best = op(HOLD, 0, 1, seats=("A3", "A4"), hold_id="h1", expires_at=10, count=2)
    mine = op(HOLD, 2, 3, client=2, seats=("A4",), hold_id="h2", expires_at=12)
    assert kinds(History((best, mine), final())) == {"double-hold"}
    booked = op(BOOK, 1, 2, seats=("A3", "A4"), hold_id="h1", ticket_no="t1")
    cancelled = op(CANCEL, 2, 2.5, ticket_no="t1")
    later = op(HOLD, 2.6, 3, client=2, seats=("A4",), hold_id="h2", expires_at=12)
    assert check(History((best, booked, cancelled, later), final())) == []


def test_a_best_available_hold_has_the_seats_it_asked_for() -> None:
    def granted(seats: tuple[str, ...]) -> History:
        hold = op(HOLD, 0, 1, seats=seats, hold_id="h1", expires_at=10, count=2)
        return History((hold,), final())

    assert check(granted(("A3", "A4"))) == []
    assert kinds(granted(("A3",))) == {"best-available-count"}
    assert "best-available-count" in kinds(granted(("A3", "A3")))


def test_an_unknown_best_available_hold_names_no_seats() -> None:
    """It may hold any free seats or none: others holding and booking them is no anomaly."""
    lost = op(HOLD, 0, 1, UNKNOWN, seats=(), count=2, error="CommunicationError")
    other = op(HOLD, 1, 2, client=2, seats=("A3", "A4"), hold_id="h2", expires_at=10)
    booked = op(BOOK, 2, 3, client=2, seats=("A3", "A4"), hold_id="h2", ticket_no="t2")
    assert check(History((lost, other, booked), final({"t2": ["A3", "A4"]}, {"A3", "A4"}))) == []


def booked_a1() -> tuple[Operation, ...]:
    """A1 held (it expires at 5) and booked as ticket t1 at 1.5, never cancelled."""
    return (
        op(HOLD, 0, 1, seats=("A1",), hold_id="h1", expires_at=5),
        op(BOOK, 1, 1.5, seats=("A1",), hold_id="h1", ticket_no="t1"),
    )


def hold_a1(start: float, count: int = 0) -> Operation:
    return op(HOLD, start, start + 0.5, client=2, seats=("A1",), hold_id="h2",
              expires_at=start + 4.5, count=count)  # fmt: skip


def test_a_hold_granted_on_a_booked_seat_is_caught() -> None:
    """While the booked hold lives, and after it (the seat's sold mark), until a cancel."""
    live = final({"t1": ["A1"]}, {"A1"})
    for start in (2.0, 6.0, 60.0):
        for count in (0, 1):
            history = History((*booked_a1(), hold_a1(start, count)), live)
            assert kinds(history) == {"hold-on-booked"}, (start, count)
    best = check(History((*booked_a1(), hold_a1(6.0, count=1)), live))
    assert "best-available hold of 1 h2" in best[0].detail
    # Granted after a cancel began, acknowledged or not: the seat may be free.
    for outcome in (OK, UNKNOWN):
        cancel = op(CANCEL, 7, 8, outcome, ticket_no="t1")
        history = History((*booked_a1(), cancel, hold_a1(7.6)), final())
        assert check(history) == [], outcome
    # Even a refused one: the client retried on another load balancer a cancel
    # that took effect on the first (the other rules see a lost booking if not).
    refused = op(CANCEL, 7, 8, REFUSED, ticket_no="t1", error="TicketNotFound")
    assert "hold-on-booked" not in kinds(History((*booked_a1(), refused, hold_a1(8.5)), final()))


def test_a_sold_mark_late_or_lost_in_a_fault_is_not_blamed() -> None:
    """The mark may never come when a load balancer or the lock store was hurt meanwhile.

    The booked hold itself still covers the seat until it expires.
    """
    live = final({"t1": ["A1"]}, {"A1"})
    for target in ("load_balancer-1", "lock_coordinator", "lock_server-2", "nameserver"):
        fault = Fault("kill", target, 1.2, 2.0, 2.5)
        after = History((*booked_a1(), hold_a1(6.0)), live, (fault,))
        assert check(after) == [], target
        during = History((*booked_a1(), hold_a1(2.0)), live, (fault,))
        assert kinds(during) == {"hold-on-booked"}, target
    elsewhere = Fault("kill", "datastore-east-1", 1.2, 2.0, 2.5)
    assert kinds(History((*booked_a1(), hold_a1(6.0)), live, (elsewhere,))) == {"hold-on-booked"}
    never = Fault("kill", "load_balancer-1", -30, -29, None)  # never answered again
    assert check(History((*booked_a1(), hold_a1(6.0)), live, (never,))) == []
    # Long healed before the booking, or begun after its hold expired: the mark came.
    for fault in (
        Fault("kill", "lock_coordinator", -30, -29, 1.0 - FAULT_SLACK - 0.1),
        Fault("kill", "lock_coordinator", 5.1, 6.0, 6.5),
    ):
        history = History((*booked_a1(), hold_a1(7.0)), live, (fault,))
        assert kinds(history) == {"hold-on-booked"}, fault
    # Booked too near the hold's expiry for the mark to be there by then.
    hold, book = booked_a1()
    late = replace(book, start=4.9 - SETTLE_MARGIN, end=5.1 - SETTLE_MARGIN)
    assert check(History((hold, late, hold_a1(6.0)), live)) == []


def test_with_lock_groups_only_the_events_own_group_excuses_a_late_sold_mark() -> None:
    """Another group's trouble must not delay a sold mark: it excuses nothing."""
    live = final({"t1": ["A1"]}, {"A1"})
    group_2 = ("lock_server-2-1", "lock_server-2-2", "lock_server-2-3", "lock_coordinator-2")
    for target, excused in (
        ("lock_server-2-3", True),
        ("lock_coordinator-2", True),
        ("load_balancer-1", True),
        ("nameserver", True),
        ("lock_server-1-2", False),
        ("lock_coordinator-3", False),
    ):
        fault = Fault("kill", target, 1.2, 2.0, 2.5)
        history = History((*booked_a1(), hold_a1(6.0)), live, (fault,), {(T, E): group_2})
        assert kinds(history) == (set() if excused else {"hold-on-booked"}), target


def test_a_late_sold_mark_excuses_no_double_hold() -> None:
    """Holds are leases: a late sold mark waits behind a hold, never takes it back.

    The first history is the one a CI fault run reported (REG/arrival/A2 and
    A3): t1's mark came after its cancel began and after h2 was granted, and
    the lock store of the time took h2 back, so h3 got A1 while h2's client
    still counted h2 valid. The second is a 45 s run's (REG/extra-1/A1): h1's
    book decided late took h2 back whole, A1 too. Both are double holds.
    """
    fault = Fault("kill", "load_balancer-1", 1.2, 2.0, 2.5)
    cancel = op(CANCEL, 6.5, 7, ticket_no="t1")
    granted = hold_a1(6.0)  # while t1 still held A1: h2 sure until 10.5
    later = op(HOLD, 7.5, 8, client=3, seats=("A1",), hold_id="h3", expires_at=12)
    history = History((*booked_a1(), granted, cancel, later), final(), (fault,))
    assert kinds(history) == {"double-hold"}

    held = op(HOLD, 0, 1, seats=("A3", "B2"), hold_id="h1", expires_at=5)
    lost = op(BOOK, 1, 1.3, UNKNOWN, seats=("A3", "B2"), hold_id="h1", error="Unavailable")
    h2 = op(HOLD, 5.5, 5.6, client=2, seats=("A1", "A3"), hold_id="h2", expires_at=9.6)
    h3 = op(HOLD, 5.8, 5.9, client=3, seats=("A1",), hold_id="h3", expires_at=9.9)
    made = final({"t1": ["A3", "B2"]}, {"A3", "B2"}, unknown_books={"h1": "t1"})
    assert kinds(History((held, lost, h2, h3), made)) == {"double-hold"}


def test_a_booking_on_no_hold_of_ours_marks_no_seat_sold() -> None:
    """A rogue's booking skips the lock store, which then rightly grants holds on its seats."""
    rogue = op(BOOK, 0, 1, seats=("A1",), hold_id="forged", ticket_no="t1")
    assert check(History((rogue, hold_a1(2.0)), final({"t1": ["A1"]}, {"A1"}))) == []


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
    assert summary.catalog_lines() == []


def test_figures_count_catalog_changes_and_why_they_were_refused() -> None:
    changes = (
        admin(ADD_EVENT, 0, 1),
        admin(STOP_SALES, 1, 2, UNKNOWN),
        admin(CANCEL_EVENT, 2, 3, REFUSED, error="SalesClosed"),
    )
    history = replace(good_history(), operations=good_history().operations + changes)
    assert figures(history).catalog_lines() == [
        "catalog changes: 3 (add-event/ok 1, cancel-event/refused 1, stop-sales/unknown 1); "
        "refused: cancel-event SalesClosed 1"
    ]


# --- the operator's catalog changes ---------------------------------------------------------


def admin(kind: str, start: float, end: float, outcome: str = OK, **kw) -> Operation:
    return Operation(OPERATOR, kind, T, E, start, end, outcome, **kw)


def refunded(tickets: dict[str, list[str]], sales: str = "cancelled", **kw) -> FinalState:
    """The end state after E was cancelled: ``tickets`` listed for refunds, no seat booked."""
    refunds = {t: (T, E, tuple(seats)) for t, seats in tickets.items()}
    return final(sales={(T, E): sales}, refunds=refunds, **kw)


def test_a_refunded_ticket_of_a_cancelled_event_is_no_lost_booking() -> None:
    """The cancel frees the seat for good: a read after it sees A1 free."""
    booked = op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1")
    read = op(READ, 4, 5, seats=())
    acked = admin(CANCEL_EVENT, 2, 3, refunds=("t1",))
    assert check(History((booked, acked, read), refunded({"t1": ["A1"]}))) == []
    # Its holder's cancel, begun after and unanswered, cannot have taken effect.
    own = op(CANCEL, 4, 4.5, UNKNOWN, ticket_no="t1")
    assert check(History((booked, acked, own), refunded({"t1": ["A1"]}))) == []
    # A cancel whose reply was lost; not one that was refused (it changed nothing).
    maybe = admin(CANCEL_EVENT, 2, 3, UNKNOWN, error="CommunicationError")
    assert check(History((booked, maybe, read), refunded({"t1": ["A1"]}))) == []
    refused = admin(CANCEL_EVENT, 2, 3, REFUSED, error="SalesClosed")
    assert "lost-booking" in kinds(History((booked, refused), refunded({"t1": ["A1"]})))
    # With no cancel of its event, the refunded ticket is lost, and the read stale.
    lost = kinds(History((booked, read), refunded({"t1": ["A1"]})))
    assert lost == {"lost-booking", "not-linearizable"}
    # An unknown cancel that did not take effect (the event ends open) excuses nothing.
    maybe = admin(CANCEL_EVENT, 2, 3, UNKNOWN)
    assert "lost-booking" in kinds(History((booked, maybe), refunded({}, sales="open")))


def test_an_unknown_book_refunded_with_its_event_is_resolved_to_its_refund() -> None:
    book = op(BOOK, 0, 1, UNKNOWN, seats=("A1",), hold_id="h1")
    cancel = admin(CANCEL_EVENT, 2, 3, refunds=("t9",))
    end = refunded({"t9": ["A1"]}, unknown_books={"h1": "t9"})
    assert check(History((book, cancel), end)) == []
    other = refunded({"t9": ["A2"]}, unknown_books={"h1": "t9"})
    assert kinds(History((book, cancel), other)) == {"unknown-inconsistent"}


def test_a_ticket_missing_from_its_events_refunds_is_caught() -> None:
    booked = op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1")
    silent = admin(CANCEL_EVENT, 2, 3, refunds=())
    assert kinds(History((booked, silent), refunded({"t1": ["A1"]}))) == {"refund-missing"}
    # Unless its holder cancelled it first (or may have).
    for outcome in (OK, UNKNOWN):
        own = op(CANCEL, 1.5, 2.5, outcome, ticket_no="t1")
        assert check(History((booked, own, silent), refunded({}))) == [], outcome


def test_a_refunded_ticket_must_be_dead_and_made_by_a_client() -> None:
    booked = op(BOOK, 0, 1, seats=("A1",), hold_id="h1", ticket_no="t1")
    cancel = admin(CANCEL_EVENT, 2, 3, refunds=("t1",))
    alive = refunded({"t1": ["A1"]}, live={"t1": ["A1"]}, booked={"A1"})
    assert "refunded-but-live" in kinds(History((booked, cancel), alive))
    invented = admin(CANCEL_EVENT, 2, 3, refunds=("t1", "t9"))
    end = refunded({"t1": ["A1"], "t9": ["A2"]})
    assert kinds(History((booked, invented), end)) == {"phantom-refund"}


def test_a_booking_after_an_acknowledged_cancel_is_caught() -> None:
    cancel = admin(CANCEL_EVENT, 0, 1)
    hold = op(HOLD, 0.5, 0.8, seats=("A1",), hold_id="h1", expires_at=10)
    late = op(BOOK, 1.5, 2, seats=("A1",), hold_id="h1", ticket_no="t1")
    end = refunded({}, live={"t1": ["A1"]}, booked={"A1"})
    assert "booked-after-cancel" in kinds(History((cancel, hold, late), end))
    # Invoked before the cancel was acknowledged: it may have come first, and was refunded.
    racing = replace(late, start=0.9)
    refund = replace(cancel, refunds=("t1",))
    assert check(History((refund, hold, racing), refunded({"t1": ["A1"]}))) == []


def test_an_acknowledged_cancel_must_last() -> None:
    reopened = refunded({}, sales="open")
    assert kinds(History((admin(CANCEL_EVENT, 0, 1),), reopened)) == {"event-cancel-lost"}


def stopped_book(start: float, end: float) -> Operation:
    return op(BOOK, start, end, seats=("A1",), hold_id="h1", ticket_no="t1")


def test_a_booking_while_sales_are_stopped_is_caught() -> None:
    stop, resume = admin(STOP_SALES, 0, 1), admin(RESUME_SALES, 4, 5)
    live = final({"t1": ["A1"]}, {"A1"})
    assert kinds(History((stop, stopped_book(2, 3), resume), live)) == {"booked-while-stopped"}
    # Invoked before the stop was acknowledged, or done after the resume was invoked.
    for book in (stopped_book(0.5, 2), stopped_book(3.5, 4.5)):
        assert check(History((stop, book, resume), live)) == [], book
    # A resume concurrent with the stop, or an earlier one whose outcome is unknown,
    # may come after it: the sales may be open.
    for other in (admin(RESUME_SALES, 0.5, 1.5), admin(RESUME_SALES, -2, -1, UNKNOWN)):
        assert check(History((other, stop, stopped_book(2, 3)), live)) == [], other
    refused = admin(RESUME_SALES, 0.5, 1.5, REFUSED, error="SalesClosed")
    history = History((refused, stop, stopped_book(2, 3)), live)
    assert kinds(history) == {"booked-while-stopped"}


def closed(start: float, kind: str = HOLD) -> Operation:
    return op(kind, start, start + 0.5, REFUSED, seats=("A1",), error="SalesClosed")


def test_sales_closed_needs_a_stop_or_cancel() -> None:
    assert kinds(History((closed(2),), final())) == {"closed-while-open"}
    assert kinds(History((closed(2, BOOK),), final())) == {"closed-while-open"}
    for kind, sales in ((STOP_SALES, "stopped"), (CANCEL_EVENT, "cancelled")):
        for outcome in (OK, UNKNOWN):
            closing = admin(kind, 1, 2.2, outcome)
            assert check(History((closing, closed(2)), final(sales={(T, E): sales}))) == []
        later = admin(kind, 3, 4)
        assert "closed-while-open" in kinds(History((later, closed(2)), final()))
    refused = admin(STOP_SALES, 1, 1.5, REFUSED, error="UnknownEvent")
    assert kinds(History((refused, closed(2)), final())) == {"closed-while-open"}


def unknown_event(start: float) -> Operation:
    return op(HOLD, start, start + 0.5, REFUSED, seats=("A1",), error="UnknownEvent")


def test_an_added_event_is_known_at_once() -> None:
    add = admin(ADD_EVENT, 0, 1)
    assert kinds(History((add, unknown_event(2)), final())) == {"unknown-after-add"}
    read = replace(unknown_event(2), kind=READ, seats=())
    assert kinds(History((add, read), final())) == {"unknown-after-add"}
    # Invoked before the add was acknowledged; or the add's outcome unknown.
    assert check(History((add, unknown_event(0.5)), final())) == []
    assert check(History((replace(add, outcome=UNKNOWN), unknown_event(2)), final())) == []


def test_an_unknown_event_is_excused_while_the_manager_is_out_of_reach() -> None:
    """A balancer that cannot ask the manager keeps its last catalog."""
    add = admin(ADD_EVENT, 0, 1)
    for target in ("datastore_manager", "nameserver"):
        fault = Fault("kill", target, 0.5, 2.0, 2.5)
        for start in (2.2, 2.5 + LAG_SLACK - 1):
            assert check(History((add, unknown_event(start)), final(), (fault,))) == [], target
        after = unknown_event(2.5 + LAG_SLACK + 0.1)
        assert kinds(History((add, after), final(), (fault,))) == {"unknown-after-add"}
        before = Fault("kill", target, -10, -9, -1 - LAG_SLACK)
        assert kinds(History((add, unknown_event(2)), final(), (before,))) == {"unknown-after-add"}
    elsewhere = Fault("kill", "load_balancer-1", 0.5, 2.0, 2.5)
    history = History((add, unknown_event(2.2)), final(), (elsewhere,))
    assert kinds(history) == {"unknown-after-add"}


def test_a_refused_retry_of_a_booking_its_events_cancel_refunded_made_the_ticket() -> None:
    """The first try booked t9 (a read saw A1 booked), its reply was lost; the cancel
    refunded t9; the retry was refused. Resolved at the end to t9, nothing is amiss."""
    retried = op(BOOK, 0, 3, REFUSED, seats=("A1",), hold_id="h1", error="SalesClosed")
    read = op(READ, 0.5, 0.8, client=2, seats=("A1",))
    cancel = admin(CANCEL_EVENT, 1, 2, refunds=("t9",))
    history = History((retried, read, cancel), refunded({"t9": ["A1"]}, unknown_books={"h1": "t9"}))
    assert check(history) == []
    unresolved = replace(history, final=refunded({"t9": ["A1"]}))
    assert kinds(unresolved) == {"phantom-refund", "not-linearizable"}


def test_a_hold_after_its_events_cancel_began_is_not_on_a_booked_seat() -> None:
    """The cancel refunds t1 and frees A1; a balancer that has not heard of the cancel yet
    may grant a hold on it (the data store refuses to book it)."""
    cancel = admin(CANCEL_EVENT, 3, 3.5, refunds=("t1",))
    history = History((*booked_a1(), cancel, hold_a1(3.2)), refunded({"t1": ["A1"]}))
    assert check(history) == []
    before = History((*booked_a1(), cancel, hold_a1(2.0)), refunded({"t1": ["A1"]}))
    assert kinds(before) == {"hold-on-booked"}
