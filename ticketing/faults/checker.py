"""Checking a recorded history against the guarantees of the contract.

Pure: a ``History`` in, a list of ``Anomaly`` out, so every rule can be shown
to fire on a hand-made history. The rules:

* every book with an unknown outcome was resolved at the end, one way: the
  ticket it made is live (nobody else knows its number to cancel it), or none;
* every acknowledged booking is live at the end unless a cancel of it was
  acknowledged (or may have happened: its outcome is unknown), and no ticket
  whose cancel was acknowledged is live;
* the end state is consistent: booked seats are exactly the seats of live
  tickets, no seat is in two live tickets, every live ticket was made by a
  client;
* no seat was held by two holds that were surely valid at the same time;
* every cluster's replicas reached equal digests;
* per seat, the books, cancels and reads are linearizable against a register
  "free or booked by ticket T" (a Wing-Gong-Lowe search with memoisation), so
  no seat was ever in two live bookings and no read saw a state that never
  was.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ticketing.faults.history import (
    BOOK,
    CANCEL,
    HOLD,
    OK,
    READ,
    RELEASE,
    UNKNOWN,
    History,
    Operation,
)

HOLD_MARGIN = 0.5  # seconds of a hold's life not counted as surely valid (clock, stamping)
SEARCH_LIMIT = 2_000_000  # states one seat's linearizability search may visit

Seat = tuple[str, str, str]  # theater, event, seat label


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    detail: str


@dataclass(frozen=True, slots=True)
class SeatOp:
    """One operation projected on one seat: ``action`` is book, cancel or read."""

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
    anomalies += _digests(history)
    anomalies += _linearizable(history, books)
    return anomalies


def _effective_books(history: History) -> dict[str, Operation]:
    """Ticket number -> the book that made it: acknowledged ones and resolved unknown ones."""
    books: dict[str, Operation] = {}
    for op in history.operations:
        if op.kind != BOOK:
            continue
        if op.outcome == OK and op.ticket_no:
            books[op.ticket_no] = op
        elif op.outcome == UNKNOWN and op.hold_id:
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
        if made is not None and made not in final.live:
            yield Anomaly(
                "unknown-inconsistent",
                f"hold {op.hold_id} resolved to ticket {made}, which is not live at the end",
            )
        elif made is not None and set(final.live[made][2]) != set(op.seats):
            yield Anomaly(
                "unknown-inconsistent",
                f"hold {op.hold_id} was for {op.seats}, its ticket {made} has "
                f"{final.live[made][2]}",
            )


def _acknowledged_survive(history: History, books: dict[str, Operation]) -> Iterable[Anomaly]:
    cancels: dict[str, set[str]] = defaultdict(set)
    for op in history.operations:
        if op.kind == CANCEL and op.ticket_no:
            cancels[op.ticket_no].add(op.outcome)
    live = history.final.live
    for ticket, op in books.items():
        outcomes = cancels.get(ticket, set())
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
    ``max(ends)`` were both valid when the later of them was granted.
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


def _step(owner: str | None, op: SeatOp) -> object:
    if op.action == BOOK:
        return op.ticket if owner is None else _REFUSED
    if op.action == CANCEL:
        return None if owner == op.ticket else _REFUSED
    return owner if (owner is not None) == op.booked else _REFUSED


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
