"""Checking a recorded history against the guarantees of the contract.

Pure: a ``History`` in, a list of ``Anomaly`` out, so every rule can be shown
to fire on a hand-made history. The rules:

* every book with an unknown outcome was resolved at the end, one way: the
  ticket it made is live (nobody else knows its number to cancel it) or was
  refunded with its event, or none. A refused book resolved to a refund (a
  retry, ``catalog_rules.retry_refused``) counts as one that made its ticket;
* every acknowledged booking is live at the end unless a cancel of it was
  acknowledged (or may have happened: its outcome is unknown), or its event
  was cancelled (acknowledged, or unknown and the event ends cancelled) and
  the ticket is listed for a refund; no ticket whose cancel was acknowledged
  is live;
* the end state is consistent: booked seats are exactly the seats of live
  tickets, no seat is in two live tickets, every live ticket was made by a
  client;
* no seat was held by two holds that were surely valid at the same time
  (best-available holds included, with the seats the system chose);
* a granted best-available hold has as many seats as it asked for, all
  different (one with an unknown outcome names no seats and is judged on
  nothing: it may hold any free seats, or none);
* no hold is granted on a seat that is surely booked: booked by an
  acknowledged booking before the hold was asked for, and no cancel of that
  ticket or of its event begun before the hold was granted. The lock store knows such a seat
  by the booked hold until it expires, then by the sold mark the load
  balancer sends after the booking (``settle``), which a hurt load balancer
  or lock store may deliver late or lose. So past the booked hold's expiry
  the rule covers only bookings whose mark surely arrived in time:
  acknowledged ``SETTLE_MARGIN`` before that expiry, with no fault on a load
  balancer, the lock store or the name server from the booking's start to
  the expiry (and ``FAULT_SLACK`` after the component answered again). With
  several lock groups only the booked event's own group counts
  (``History.lock_labels``): another group's trouble must not delay its mark;
* every cluster's replicas reached equal digests;
* per seat, the books, cancels and reads are linearizable against a register
  "free or booked by ticket T" (a Wing-Gong-Lowe search with memoisation), so
  no seat was ever in two live bookings and no read saw a state that never
  was. A cancel of the event is one more operation on each of its seats: it
  frees the seat for good (no booking may follow it);
* the operator's catalog changes (add, reschedule, stop and resume sales,
  cancel an event) obey the rules of ``catalog_rules``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from itertools import accumulate

from ticketing.faults.anomaly import Anomaly
from ticketing.faults.catalog_rules import (
    check_catalog,
    event_cancels,
    may_have_happened,
    refunded,
)
from ticketing.faults.history import (
    BOOK,
    CANCEL,
    CANCEL_EVENT,
    HOLD,
    OK,
    READ,
    RELEASE,
    UNKNOWN,
    History,
    Operation,
)

HOLD_MARGIN = 0.5  # seconds of a hold's life not counted as surely valid (clock, stamping)
# A booking acknowledged this long before its hold expires has its sold mark in
# place by then, unless a fault got in the way: the load balancer sends it within
# a fraction of a second (settle_queue.LINGER and one round through the lock log).
SETTLE_MARGIN = 2.0
FAULT_SLACK = 5.0  # seconds after a hurt component answered again that settles may still fail
# The components a sold mark passes through (fault targets by label prefix): the
# load balancer that booked, the lock store, and the name server that finds it.
SETTLE_PATH = ("load_balancer", "lock_", "nameserver")
SHARED_SETTLE_PATH = ("load_balancer", "nameserver")  # and the event's own lock group
SEARCH_LIMIT = 2_000_000  # states one seat's linearizability search may visit

Seat = tuple[str, str, str]  # theater, event, seat label


@dataclass(frozen=True, slots=True)
class SeatOp:
    """One operation projected on one seat: ``action`` is book, cancel, read, or
    ``CLOSE`` (its event cancelled)."""

    start: float
    end: float
    action: str
    ticket: str | None = None  # book, cancel: the ticket; read: None
    booked: bool = False  # read: whether the seat was seen booked
    index: int = 0  # position in the history, for messages


def check(history: History) -> list[Anomaly]:
    """Every anomaly found in ``history`` (empty when it honours the contract)."""
    books = _effective_books(history)
    anomalies: list[Anomaly] = []
    anomalies += _unknown_books(history)
    anomalies += _acknowledged_survive(history, books)
    anomalies += _end_state(history, books)
    anomalies += _holds(history.operations)
    anomalies += _best_available(history.operations)
    anomalies += _holds_on_booked(history)
    anomalies += _digests(history)
    anomalies += _linearizable(history, books)
    anomalies += check_catalog(history, books)
    return anomalies


def _effective_books(history: History) -> dict[str, Operation]:
    """Ticket number -> the book that made it: acknowledged ones and resolved unknown ones."""
    books: dict[str, Operation] = {}
    for op in history.operations:
        if op.kind != BOOK:
            continue
        if op.outcome == OK and op.ticket_no:
            books[op.ticket_no] = op
        elif op.outcome != OK and op.hold_id:  # unknown, or refused yet resolved to a refund
            made = history.final.unknown_books.get(op.hold_id)
            if made is not None:
                books[made] = op
    return books


def _unknown_books(history: History) -> Iterable[Anomaly]:
    final = history.final
    for op in history.operations:
        if op.kind != BOOK or op.outcome != UNKNOWN:
            continue
        if op.hold_id not in final.unknown_books:
            yield Anomaly("unresolved", f"book with hold {op.hold_id} was never resolved")
            continue
        made = final.unknown_books[op.hold_id]
        found = None if made is None else final.live.get(made, final.refunds.get(made))
        if made is not None and found is None:
            yield Anomaly(
                "unknown-inconsistent",
                f"hold {op.hold_id} resolved to ticket {made}, which is not live at the end",
            )
        elif found is not None and set(found[2]) != set(op.seats):
            yield Anomaly(
                "unknown-inconsistent",
                f"hold {op.hold_id} was for {op.seats}, its ticket {made} has {found[2]}",
            )


def _acknowledged_survive(history: History, books: dict[str, Operation]) -> Iterable[Anomaly]:
    cancels: dict[str, set[str]] = defaultdict(set)
    for op in history.operations:
        if op.kind == CANCEL and op.ticket_no:
            cancels[op.ticket_no].add(op.outcome)
    live = history.final.live
    # A refunded ticket of an event whose cancel took effect or may have is no lost booking.
    cancelled = set(event_cancels(history))
    refunds = refunded(history)
    for ticket, op in books.items():
        outcomes = cancels.get(ticket, set())
        if (op.theater, op.event) in cancelled and ticket in refunds:
            continue
        if ticket not in live and not outcomes & {OK, UNKNOWN}:
            acked = "acknowledged" if op.outcome == OK else "resolved"
            yield Anomaly("lost-booking", f"{acked} ticket {ticket} {op.seats} is gone")
        if ticket in live and OK in outcomes:
            yield Anomaly("cancel-lost", f"ticket {ticket} was cancelled (acknowledged) but lives")


def _end_state(history: History, books: dict[str, Operation]) -> Iterable[Anomaly]:
    final = history.final
    owners: dict[Seat, str] = {}
    for ticket, (theater, event, seats) in final.live.items():
        if ticket not in books:
            yield Anomaly("phantom-ticket", f"live ticket {ticket} {seats} was made by no client")
        for seat in seats:
            other = owners.setdefault((theater, event, seat), ticket)
            if other != ticket:
                yield Anomaly(
                    "double-booking",
                    f"{theater}/{event} seat {seat} is in live tickets {other} and {ticket}",
                )
    for (theater, event), booked in final.booked.items():
        covered = {seat for (t, e, seat) in owners if (t, e) == (theater, event)}
        for seat in sorted(booked - covered):
            yield Anomaly("phantom-seat", f"{theater}/{event} seat {seat} is booked by no ticket")
        for seat in sorted(covered - booked):
            yield Anomaly(
                "free-but-ticketed", f"{theater}/{event} seat {seat} is free yet ticketed"
            )


def _holds(operations: tuple[Operation, ...]) -> Iterable[Anomaly]:
    """Two holds of one seat both surely valid at one moment.

    A hold is surely valid from the end of its ``block_seats`` call until the
    earliest of: its expiry (less a margin), the start of any release or book
    of it. Two acknowledged holds whose sure intervals both cover
    ``max(ends)`` were both valid when the later of them was granted. No
    exception: a hold is a lease that nothing but its owner ends early (a late
    sold mark waits behind it, see ``lock_table``).
    """
    ends: dict[str, float] = {}
    for op in operations:
        if op.kind in (RELEASE, BOOK) and op.hold_id:
            ends[op.hold_id] = min(ends.get(op.hold_id, op.start), op.start)
    intervals: dict[Seat, list[tuple[float, float, str]]] = defaultdict(list)
    for op in operations:
        if op.kind != HOLD or op.outcome != OK or op.hold_id is None or op.expires_at is None:
            continue
        sure_end = min(op.expires_at - HOLD_MARGIN, ends.get(op.hold_id, float("inf")))
        for seat in op.seats:
            intervals[(op.theater, op.event, seat)].append((op.end, sure_end, op.hold_id))
    for seat, spans in intervals.items():
        spans.sort()
        for i, (_, end_a, hold_a) in enumerate(spans):
            for begin_b, end_b, hold_b in spans[i + 1 :]:
                if begin_b >= end_a:
                    break
                if begin_b < min(end_a, end_b):
                    yield Anomaly(
                        "double-hold",
                        f"{'/'.join(seat)} held by {hold_a} and {hold_b} at {begin_b:.3f}",
                    )


def _best_available(operations: tuple[Operation, ...]) -> Iterable[Anomaly]:
    for op in operations:
        if op.kind != HOLD or not op.count or op.outcome != OK:
            continue
        if len(op.seats) != op.count or len(set(op.seats)) != op.count:
            yield Anomaly(
                "best-available-count",
                f"best-available hold {op.hold_id} asked for {op.count} seats, got {op.seats}",
            )


def _holds_on_booked(history: History) -> Iterable[Anomaly]:
    """Holds granted on seats surely booked at the time (see the module's docstring).

    Each acknowledged booking made on a hold of the history gives its seats a
    span, from its acknowledgement to the start of the first cancel of its
    ticket or of its event (``_freed``), or only to its hold's sure end when
    the sold mark may have come late. A hold asked for after a span began
    and granted before it ended was granted on a booked seat.
    """
    operations = history.operations
    holds = {
        op.hold_id: op
        for op in operations
        if op.kind == HOLD and op.outcome == OK and op.hold_id and op.expires_at is not None
    }
    freed = _freed(operations)
    releases: dict[str, float] = {}
    for op in operations:
        if op.kind == RELEASE and op.hold_id:
            releases[op.hold_id] = min(releases.get(op.hold_id, op.start), op.start)
    spans: dict[Seat, list[tuple[float, float, str]]] = defaultdict(list)
    for op in operations:
        held = holds.get(op.hold_id) if op.kind == BOOK and op.outcome == OK else None
        if held is None or held.expires_at is None or not op.ticket_no:
            continue  # not surely booked, or booked on no hold (the lock store never heard)
        end = freed(op.ticket_no, op)
        if not _settled_in_time(op, held.expires_at, history):
            end = min(end, held.expires_at - HOLD_MARGIN, releases.get(held.hold_id, end))
        for seat in op.seats:
            spans[(op.theater, op.event, seat)].append((op.end, end, op.ticket_no))
    for booked in spans.values():
        booked.sort()
    begins = {seat: [span[0] for span in booked] for seat, booked in spans.items()}
    latest = {seat: list(accumulate((s[1] for s in b), max)) for seat, b in spans.items()}
    for op in operations:
        if op.kind != HOLD or op.outcome != OK:
            continue
        for label in op.seats:
            seat = (op.theater, op.event, label)
            if seat not in spans:
                continue
            # Spans begun before the hold was asked for; the latest of their ends first.
            before = bisect_left(begins[seat], op.start)
            if not before or latest[seat][before - 1] <= op.end:
                continue
            ticket = next(t for _, end, t in reversed(spans[seat][:before]) if end > op.end)
            what = f"best-available hold of {op.count}" if op.count else "hold"
            yield Anomaly(
                "hold-on-booked",
                f"{what} {op.hold_id} was granted {'/'.join(seat)} at "
                f"{op.start:.3f}-{op.end:.3f}, booked by ticket {ticket}",
            )


def _freed(operations: tuple[Operation, ...]) -> Callable[[str, Operation], float]:
    """When the seats of a ticket, made by a book, may first be free again: the first start
    of a cancel of the ticket, or of a cancel of its event that may have happened (which
    refunds it).

    Any cancel of the ticket, even a refused one: a client cancels each ticket
    once, so a refusal (no such ticket) is the retry of a cancel whose reply was lost.
    """
    tickets: dict[str, float] = {}
    events: dict[tuple[str, str], float] = {}
    for op in operations:
        if op.kind == CANCEL and op.ticket_no:
            tickets[op.ticket_no] = min(tickets.get(op.ticket_no, op.start), op.start)
        elif op.kind == CANCEL_EVENT and may_have_happened(op):
            where = (op.theater, op.event)
            events[where] = min(events.get(where, op.start), op.start)
    never = float("inf")
    return lambda ticket, book: min(
        tickets.get(ticket, never), events.get((book.theater, book.event), never)
    )


def _settled_in_time(book: Operation, expires_at: float, history: History) -> bool:
    """Whether ``book``'s sold mark surely reached the lock store before its hold expired."""
    if book.end > expires_at - SETTLE_MARGIN:
        return False
    own = history.lock_labels.get((book.theater, book.event))
    for fault in history.faults:
        if not _on_settle_path(fault.target, own):
            continue
        answered = float("inf") if fault.recovered is None else fault.recovered
        if fault.start < expires_at and book.start < answered + FAULT_SLACK:
            return False
    return True


def _on_settle_path(target: str, own_lock: tuple[str, ...] | None) -> bool:
    """Whether a fault on ``target`` may delay a sold mark decided by ``own_lock``'s labels."""
    if own_lock is None:
        return target.startswith(SETTLE_PATH)
    return target.startswith(SHARED_SETTLE_PATH) or target in own_lock


def _digests(history: History) -> Iterable[Anomaly]:
    for cluster, states in history.final.digests.items():
        if len(set(states)) > 1:
            yield Anomaly("digests-differ", f"cluster {cluster} replicas differ: {states}")


# --- linearizability, one seat at a time ---------------------------------------------------


def seat_operations(history: History, books: dict[str, Operation]) -> dict[Seat, list[SeatOp]]:
    """Each seat's book, cancel and read operations, with unknown outcomes resolved."""
    final = history.final
    tracked: dict[tuple[str, str], set[str]] = defaultdict(set)
    for op in history.operations:
        if op.kind in (BOOK, HOLD):
            tracked[(op.theater, op.event)].update(op.seats)
    cancelled_ok = {
        op.ticket_no for op in history.operations if op.kind == CANCEL and op.outcome == OK
    }
    refunds = refunded(history)  # a refunded ticket was live until its event's cancel
    per_seat: dict[Seat, list[SeatOp]] = defaultdict(list)

    def add(theater: str, event: str, seat: str, seat_op: SeatOp) -> None:
        per_seat[(theater, event, seat)].append(seat_op)

    made_by = {id(op): ticket for ticket, op in books.items()}
    for index, op in enumerate(history.operations):
        if op.kind == BOOK and id(op) in made_by:
            end = op.end if op.outcome == OK else final.at
            for seat in op.seats:
                seat_op = SeatOp(op.start, end, BOOK, made_by[id(op)], False, index)
                add(op.theater, op.event, seat, seat_op)
        elif op.kind == CANCEL and op.ticket_no in books:
            took_effect = op.outcome == OK or (
                op.outcome == UNKNOWN
                and op.ticket_no not in final.live
                and op.ticket_no not in cancelled_ok
                and op.ticket_no not in refunds
            )
            if not took_effect:
                continue
            end = op.end if op.outcome == OK else final.at
            made = books[op.ticket_no]
            for seat in made.seats:
                seat_op = SeatOp(op.start, end, CANCEL, op.ticket_no, False, index)
                add(made.theater, made.event, seat, seat_op)
        elif op.kind == READ and op.outcome == OK:
            seen = set(op.seats)
            for seat in tracked.get((op.theater, op.event), ()):
                seat_op = SeatOp(op.start, op.end, READ, None, seat in seen, index)
                add(op.theater, op.event, seat, seat_op)
    closing = {id(op) for ops in event_cancels(history).values() for op in ops}
    for index, op in enumerate(history.operations):
        if id(op) in closing:
            end = op.end if op.outcome == OK else final.at
            for seat in tracked.get((op.theater, op.event), ()):
                add(op.theater, op.event, seat, SeatOp(op.start, end, CLOSE, None, False, index))
    for (theater, event), booked in final.booked.items():
        for seat in tracked.get((theater, event), ()):
            add(theater, event, seat, SeatOp(final.at, final.at, READ, None, seat in booked, -1))
    return per_seat


def linearizable(ops: list[SeatOp], limit: int = SEARCH_LIMIT) -> bool | None:
    """Whether some order of ``ops`` inside their intervals fits a free/booked register.

    True, False, or None when the search visited ``limit`` states without an
    answer. Depth-first over "which operation takes effect next": only an
    operation that started before every pending one ended may; states
    ``(done set, register)`` already explored are skipped.
    """
    ops = sorted(ops, key=lambda o: (o.start, o.end))
    count = len(ops)
    full = (1 << count) - 1
    seen: set[tuple[int, str | None]] = set()
    stack: list[tuple[int, int, str | None]] = [(0, 0, None)]  # done bits, lowest undone, owner
    while stack:
        done, low, owner = stack.pop()
        while low < count and done >> low & 1:
            low += 1
        if done == full:
            return True
        if (done, owner) in seen:
            continue
        seen.add((done, owner))
        if len(seen) > limit:
            return None
        bound = float("inf")
        for i in range(low, count):
            op = ops[i]
            if op.start > bound:
                break
            if done >> i & 1:
                continue
            bound = min(bound, op.end)
            after = _step(owner, op)
            if after is not _REFUSED:
                stack.append((done | 1 << i, low, after))
    return False


_REFUSED = object()
CLOSE = "close"  # a seat operation: the seat's event is cancelled, every ticket refunded
_CLOSED = "\0closed"  # the register after ``CLOSE``: free for good (no ticket has this number)


def _step(owner: str | None, op: SeatOp) -> object:
    if op.action == CLOSE:
        return _CLOSED
    if op.action == BOOK:
        return op.ticket if owner is None else _REFUSED
    if op.action == CANCEL:
        return None if owner == op.ticket else _REFUSED
    booked = owner is not None and owner != _CLOSED
    return owner if booked == op.booked else _REFUSED


def _linearizable(history: History, books: dict[str, Operation]) -> Iterable[Anomaly]:
    for seat, ops in sorted(seat_operations(history, books).items()):
        verdict = linearizable(ops)
        if verdict is False:
            yield Anomaly(
                "not-linearizable",
                f"{'/'.join(seat)}: no order of its {len(ops)} books, cancels and reads "
                "fits one seat (double booking or a read of a state that never was)",
            )
        elif verdict is None:
            yield Anomaly("search-limit", f"{'/'.join(seat)}: linearizability search too large")
