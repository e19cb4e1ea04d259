"""The history checker's rules about the operator's catalog changes (pure).

The operator adds events, retitles and reschedules them, stops and resumes
their sales and cancels them while the clients book (``faults.operator``).
What that may and may not do to the bookings:

* ``refund-missing``: an acknowledged cancel of an event answers every
  ticket of the event that lived when it was decided: each booking of the
  event that took effect (acknowledged, or an unknown one that made a
  ticket) and began before the cancel's answer is in its ``refunds``, unless
  the ticket's holder cancelled it (acknowledged or unknown) before then.
  ``refunded-but-live``: no ticket in those refunds is live at the end.
  ``phantom-refund``: every refunded ticket (an answer's or the end's list)
  was made by a client. (A refunded ticket is not a lost booking: see
  ``checker._acknowledged_survive``.)
* ``booked-after-cancel``: no booking of an event invoked after a cancel of
  it was acknowledged took effect (the data store decides both in one log).
* ``event-cancel-lost``: an event whose cancel was acknowledged ends cancelled.
* ``booked-while-stopped``: no booking of an event is acknowledged that was
  invoked after a stop of its sales was acknowledged and ended before the
  next resume was invoked. A stop concurrent with a resume, or after a
  resume whose outcome is unknown (it may still be decided later), has no
  such window: the resume may have come after it.
* ``closed-while-open``: a hold, book or read refused with ``SalesClosed`` is
  legitimate only if a stop or cancel of its event that may have happened
  (``may_have_happened``) began before the refusal ended. Whether a resume
  acknowledged since should have reopened it is not judged: a balancer or
  lock server that cannot reach the manager keeps its last catalog, by design.
* ``unknown-after-add``: an event whose add was acknowledged is known to
  every balancer and lock server: they ask the manager at once on a miss,
  and the manager learns its own changes at once. So a call on it invoked
  after the add's acknowledgement and refused with ``UnknownEvent`` is an
  anomaly, unless the manager or the name server (the way to it) was hurt
  during the refusal (from the fault's start to ``FAULT_SLACK`` after the
  component answered again): a balancer or lock server that cannot ask keeps
  its last catalog, and one restarted then begins with the catalog file's,
  until its next poll gets through.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from ticketing.catalog import CANCELLED
from ticketing.faults.anomaly import Anomaly
from ticketing.faults.history import (
    ADD_EVENT,
    BOOK,
    CANCEL,
    CANCEL_EVENT,
    HOLD,
    OK,
    READ,
    REFUSED,
    RESUME_SALES,
    STOP_SALES,
    UNKNOWN,
    History,
    Operation,
)

FAULT_SLACK = 5.0  # seconds after a hurt manager answered again that balancers may lag
# Fault targets on the way from a balancer or lock server to the manager.
MANAGER_PATH = ("datastore_manager", "nameserver")
CLIENT_KINDS = (HOLD, BOOK, READ)
RETRY_REFUSALS = ("SalesClosed", "HoldNotFound")

Where = tuple[str, str]


def may_have_happened(op: Operation) -> bool:
    """Whether ``op`` took effect or may have: acknowledged, or its outcome unknown (the
    operator never retries a call, so a refused one changed nothing)."""
    return op.outcome in (OK, UNKNOWN)


def retry_refused(op: Operation) -> bool:
    """Whether ``op`` is a book refused the way a client's retry of a booking that took
    effect is, once a cancel of the event came between its tries.

    The client sends a book whose reply was lost again (to another balancer);
    booking a hold twice answers the same ticket, but not once the event's
    cancel has refunded it: the retry is refused (``SalesClosed``, or
    ``HoldNotFound`` if the hold expired meanwhile), though the first try made
    a ticket. The end state resolves such a book against the refunds, as an
    unknown one (``run.final_state``).
    """
    return op.kind == BOOK and op.outcome == REFUSED and op.error in RETRY_REFUSALS


def event_cancels(history: History) -> dict[Where, list[Operation]]:
    """Each event's cancels that took effect or may have: acknowledged ones, and unknown
    ones unless the event is known not to have ended cancelled."""
    sales = history.final.sales
    found: dict[Where, list[Operation]] = defaultdict(list)
    for op in history.operations:
        if op.kind != CANCEL_EVENT or not may_have_happened(op):
            continue
        where = (op.theater, op.event)
        if op.outcome == OK or sales.get(where, CANCELLED) == CANCELLED:
            found[where].append(op)
    return found


def refunded(history: History) -> set[str]:
    """Every ticket listed for a refund: in an acknowledged cancel's answer, or at the end."""
    listed = set(history.final.refunds)
    for op in history.operations:
        if op.kind == CANCEL_EVENT and op.outcome == OK:
            listed.update(op.refunds)
    return listed


def check_catalog(history: History, books: dict[str, Operation]) -> list[Anomaly]:
    """Every anomaly of the rules above; ``books`` as ``checker._effective_books``."""
    anomalies: list[Anomaly] = []
    anomalies += _refunds(history, books)
    anomalies += _booked_after_cancel(history, books)
    anomalies += _cancel_kept(history)
    anomalies += _booked_while_stopped(history.operations)
    anomalies += _closed_refusals(history.operations)
    anomalies += _unknown_after_add(history)
    return anomalies


def _acked(operations: Iterable[Operation], kind: str) -> Iterable[Operation]:
    return (op for op in operations if op.kind == kind and op.outcome == OK)


def _refunds(history: History, books: dict[str, Operation]) -> Iterable[Anomaly]:
    own_cancel: dict[str, float] = {}  # ticket -> first start of its holder's OK/unknown cancel
    for op in history.operations:
        if op.kind == CANCEL and op.ticket_no and op.outcome in (OK, UNKNOWN):
            own_cancel[op.ticket_no] = min(own_cancel.get(op.ticket_no, op.start), op.start)
    for cancel in _acked(history.operations, CANCEL_EVENT):
        where = (cancel.theater, cancel.event)
        for ticket, book in books.items():
            if (book.theater, book.event) != where or book.start >= cancel.end:
                continue
            if ticket in cancel.refunds or own_cancel.get(ticket, cancel.end) < cancel.end:
                continue
            yield Anomaly(
                "refund-missing",
                f"ticket {ticket} {book.seats} of {'/'.join(where)} is not among the refunds "
                f"of its event's cancel acknowledged at {cancel.end:.3f}",
            )
        for ticket in cancel.refunds:
            if ticket in history.final.live:
                yield Anomaly("refunded-but-live", f"refunded ticket {ticket} lives at the end")
    for ticket in sorted(refunded(history) - set(books)):
        yield Anomaly("phantom-refund", f"refunded ticket {ticket} was made by no client")


def _booked_after_cancel(history: History, books: dict[str, Operation]) -> Iterable[Anomaly]:
    acked: dict[Where, float] = {}
    for cancel in _acked(history.operations, CANCEL_EVENT):
        where = (cancel.theater, cancel.event)
        acked[where] = min(acked.get(where, cancel.end), cancel.end)
    for ticket, book in books.items():
        cancelled_at = acked.get((book.theater, book.event))
        if cancelled_at is not None and book.start > cancelled_at:
            yield Anomaly(
                "booked-after-cancel",
                f"ticket {ticket} {book.seats} of {book.theater}/{book.event} was booked at "
                f"{book.start:.3f}-{book.end:.3f}, after its event's cancel was acknowledged "
                f"at {cancelled_at:.3f}",
            )


def _cancel_kept(history: History) -> Iterable[Anomaly]:
    sales = history.final.sales
    for cancel in _acked(history.operations, CANCEL_EVENT):
        where = (cancel.theater, cancel.event)
        if sales.get(where, CANCELLED) != CANCELLED:
            yield Anomaly(
                "event-cancel-lost",
                f"{'/'.join(where)} was cancelled (acknowledged) but ends {sales[where]}",
            )


def _booked_while_stopped(operations: tuple[Operation, ...]) -> Iterable[Anomaly]:
    resumes: dict[Where, list[Operation]] = defaultdict(list)
    for op in operations:
        if op.kind == RESUME_SALES:
            resumes[(op.theater, op.event)].append(op)
    books: dict[Where, list[Operation]] = defaultdict(list)
    for op in _acked(operations, BOOK):
        books[(op.theater, op.event)].append(op)
    for stop in _acked(operations, STOP_SALES):
        where = (stop.theater, stop.event)
        mine = resumes.get(where, [])
        may_follow = any(
            r.outcome != REFUSED
            and r.start < stop.end
            and (r.end > stop.start or r.outcome == UNKNOWN)
            for r in mine
        )
        if may_follow:
            continue
        until = min((r.start for r in mine if r.start >= stop.end), default=float("inf"))
        for book in books.get(where, ()):
            if book.start > stop.end and book.end < until:
                yield Anomaly(
                    "booked-while-stopped",
                    f"ticket {book.ticket_no} {book.seats} of {'/'.join(where)} was booked at "
                    f"{book.start:.3f}-{book.end:.3f}, while its sales were stopped "
                    f"(acknowledged at {stop.end:.3f}, resumed from {until:.3f})",
                )


def _closed_refusals(operations: tuple[Operation, ...]) -> Iterable[Anomaly]:
    closing: dict[Where, float] = {}  # event -> the first start of a stop or cancel of it
    for op in operations:
        if op.kind in (STOP_SALES, CANCEL_EVENT) and may_have_happened(op):
            where = (op.theater, op.event)
            closing[where] = min(closing.get(where, op.start), op.start)
    for op in operations:
        if op.kind not in CLIENT_KINDS or op.outcome != REFUSED or op.error != "SalesClosed":
            continue
        if closing.get((op.theater, op.event), float("inf")) < op.end:
            continue
        yield Anomaly(
            "closed-while-open",
            f"{op.kind} of {op.theater}/{op.event} at {op.start:.3f}-{op.end:.3f} was refused "
            "with SalesClosed, yet no stop or cancel of the event had begun",
        )


def _unknown_after_add(history: History) -> Iterable[Anomaly]:
    added: dict[Where, Operation] = {}
    for op in _acked(history.operations, ADD_EVENT):
        added.setdefault((op.theater, op.event), op)
    hurt = [
        (f.start, (float("inf") if f.recovered is None else f.recovered) + FAULT_SLACK)
        for f in history.faults
        if f.target.startswith(MANAGER_PATH)
    ]
    for op in history.operations:
        if op.kind not in CLIENT_KINDS or op.outcome != REFUSED or op.error != "UnknownEvent":
            continue
        add = added.get((op.theater, op.event))
        if add is None or op.start <= add.end:
            continue
        if any(start < op.end and until > op.start for start, until in hurt):
            continue
        yield Anomaly(
            "unknown-after-add",
            f"{op.kind} of {op.theater}/{op.event} at {op.start:.3f}-{op.end:.3f} was refused "
            f"with UnknownEvent, though the event's add was acknowledged at {add.end:.3f}",
        )
