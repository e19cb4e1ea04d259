"""The figures of a fault run, summed up from its history (pure).

What a reader of the report wants: how many operations and of which kind and
outcome, how many faults of each kind, how long bookings stopped after a
fault, and how long each hurt component took to answer again; the operator's
catalog changes by kind and outcome, and why the refused ones were refused.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from itertools import pairwise

from ticketing.faults.history import BOOK, CATALOG_KINDS, OK, REFUSED, History


@dataclass(frozen=True, slots=True)
class Figures:
    operations: int
    by_kind_outcome: dict[str, int]  # "hold-best/ok": best-available holds granted
    faults_by_kind: dict[str, int]
    longest_gap_after_fault: float  # seconds from a fault to the next acknowledged booking
    longest_gap: float  # seconds between two acknowledged bookings, anywhere in the run
    recovery_seconds: dict[str, float]  # kind -> longest heal-to-answer time
    catalog_refusals: dict[str, int]  # "cancel-event SalesClosed": catalog changes refused

    def catalog_lines(self) -> list[str]:
        """The catalog changes, by kind and outcome (none when the operator did not run)."""
        changes = {
            k: v for k, v in self.by_kind_outcome.items() if k.split("/")[0] in CATALOG_KINDS
        }
        if not changes:
            return []
        counts = ", ".join(f"{k} {v}" for k, v in sorted(changes.items()))
        refused = ", ".join(f"{k} {v}" for k, v in sorted(self.catalog_refusals.items()))
        return [
            f"catalog changes: {sum(changes.values())} ({counts}); refused: {refused or 'none'}"
        ]

    def lines(self) -> list[str]:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(self.by_kind_outcome.items()))
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults_by_kind.items()))
        recovery = ", ".join(f"{k} {v:.1f}s" for k, v in sorted(self.recovery_seconds.items()))
        return [
            f"operations: {self.operations} ({outcomes})",
            f"faults: {sum(self.faults_by_kind.values())} ({faults})",
            f"longest window without an acknowledged booking after a fault: "
            f"{self.longest_gap_after_fault:.1f}s (anywhere: {self.longest_gap:.1f}s)",
            f"longest recovery (heal to answering) by kind: {recovery or 'n/a'}",
            *self.catalog_lines(),
        ]


def figures(history: History) -> Figures:
    ops = history.operations
    by = Counter(f"{op.kind}{'-best' if op.count else ''}/{op.outcome}" for op in ops)
    booked_at = sorted(op.end for op in ops if op.kind == BOOK and op.outcome == OK)
    after_fault = 0.0
    for fault in history.faults:
        later = next((t for t in booked_at if t >= fault.start), None)
        if later is not None:  # the clients may have stopped before booking again
            after_fault = max(after_fault, later - fault.start)
    gaps = [b - a for a, b in pairwise(booked_at)]
    recovery: dict[str, float] = {}
    for fault in history.faults:
        if fault.recovered is not None:
            took = fault.recovered - fault.healed
            recovery[fault.kind] = max(recovery.get(fault.kind, 0.0), took)
    return Figures(
        operations=len(ops),
        by_kind_outcome=dict(by),
        faults_by_kind=dict(Counter(f.kind for f in history.faults)),
        longest_gap_after_fault=after_fault,
        longest_gap=max(gaps, default=0.0),
        recovery_seconds=recovery,
        catalog_refusals=dict(
            Counter(
                f"{op.kind} {op.error}"
                for op in ops
                if op.kind in CATALOG_KINDS and op.outcome == REFUSED
            )
        ),
    )
