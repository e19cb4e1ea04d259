"""What the history checker reports: one broken guarantee, by kind, with its evidence."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Anomaly:
    kind: str
    detail: str
