"""The operations and faults behind each anomaly, as lines a person can read.

A fault run's history is saved in its data dir, but a failed run in CI leaves
only its output: these lines put the evidence there. An anomaly's detail names
hold ids, ticket numbers and seats (``REG/arrival/A2``, ``AMC/dune seat B3``);
the evidence is every operation naming one of those ids, the operations on
those seats from a few seconds before the first of them to a few after the
last, and the faults under way meanwhile, with times relative to the run's
first operation.
"""

from __future__ import annotations

import string

from ticketing.faults.anomaly import Anomaly
from ticketing.faults.history import OK, READ, History, Operation

AROUND = 5.0  # seconds of operations on the named seats before and after the named ids'
MOST = 40  # operations shown per anomaly (more when it names more)
EXPLAINED = 5  # anomalies shown with their evidence; the rest by their line alone

Seat = tuple[str, str, str]
# Trimmed off a detail's words; not "/" (seats), "-" and "_" (in hold ids and tickets).
_TRIMMED = "".join(c for c in string.punctuation if c not in "/-_")


def evidence_lines(history: History, anomalies: list[Anomaly]) -> list[str]:
    """Each anomaly's line; under each of the first ``EXPLAINED``, its operations and
    faults, indented (a broken variant finds dozens, alike)."""
    origin = min((op.start for op in history.operations), default=0.0)
    lines = []
    for number, anomaly in enumerate(anomalies):
        lines.append(f"{anomaly.kind}: {anomaly.detail}")
        if number < EXPLAINED:
            lines += [f"  {line}" for line in _evidence(history, anomaly.detail, origin)]
    return lines


def _evidence(history: History, detail: str, origin: float) -> list[str]:
    words = [word.strip(_TRIMMED) for word in detail.split()]
    names = set(words)
    seats = _seats(words)
    named = [op for op in history.operations if {op.hold_id, op.ticket_no} & names]
    named_set = set(named)
    if named:
        begin = min(op.start for op in named) - AROUND
        end = max(op.end for op in named) + AROUND
    else:
        begin, end = float("-inf"), float("inf")
    nearby = [
        op
        for op in history.operations
        if op not in named_set and op.end >= begin and op.start <= end and _touches(op, seats)
    ]
    # The named operations always; then the seats' granted writes before refused
    # ones and reads (every client looks and tries again and again: they are many
    # and say less), the nearest in time to a named one first.
    moments = [op.start for op in named]
    nearby.sort(
        key=lambda op: (
            op.kind == READ,
            op.outcome != OK,
            min((abs(op.start - moment) for moment in moments), default=0.0),
        )
    )
    shown = sorted(named + nearby[: max(0, MOST - len(named))], key=lambda op: op.start)
    lines = [_operation(op, origin) for op in shown]
    if len(nearby) > MOST - len(named):
        lines.append(f"... and {len(nearby) - max(0, MOST - len(named))} more on those seats")
    if shown:
        first, last = shown[0].start, max(op.end for op in shown)
        lines += [
            f"fault {f.kind} {f.target} {f.start - origin:.3f}-{f.healed - origin:.3f}"
            for f in history.faults
            if f.start <= last and f.healed >= first
        ]
    return lines or ["(no operation names it)"]


def _seats(words: list[str]) -> set[Seat]:
    """``T/E/S``, and ``T/E seat S``, as (theater, event, seat)."""
    seats: set[Seat] = set()
    for i, word in enumerate(words):
        parts = word.split("/")
        if len(parts) == 3:
            seats.add((parts[0], parts[1], parts[2]))
        elif len(parts) == 2 and words[i + 1 : i + 2] == ["seat"] and i + 2 < len(words):
            seats.add((parts[0], parts[1], words[i + 2]))
    return seats


def _touches(op: Operation, seats: set[Seat]) -> bool:
    return any((op.theater, op.event, seat) in seats for seat in op.seats)


def _operation(op: Operation, origin: float) -> str:
    ids = " ".join(
        f"{label}={value}"
        for label, value in (("hold", op.hold_id), ("ticket", op.ticket_no))
        if value
    )
    expires = "" if op.expires_at is None else f" expires {op.expires_at - origin:.3f}"
    error = f" ({op.error})" if op.error else ""
    return (
        f"{op.start - origin:9.3f}-{op.end - origin:9.3f} client {op.client} {op.kind} "
        f"{op.outcome}{error} {op.theater}/{op.event} {list(op.seats)} {ids}{expires}"
    )
