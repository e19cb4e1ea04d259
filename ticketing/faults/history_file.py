"""A fault run's history as a JSON file, so that the checker can judge it again later.

An anomaly is worth little if the run that showed it is gone: with the file,
``run/torture.py --check FILE`` replays the checker on exactly what was
recorded (after a fix to the checker, or to read the operations around an
anomaly). The records are plain dataclasses; tuple-keyed maps are written as
lists of pairs, and tuples come back as tuples.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from ticketing.faults.history import Fault, FinalState, History, Operation

FORMAT = 1  # bumped when the layout changes


def save(history: History, path: Path) -> None:
    final = history.final
    plain = {
        "format": FORMAT,
        "operations": [dataclasses.asdict(op) for op in history.operations],
        "faults": [dataclasses.asdict(fault) for fault in history.faults],
        "lock_labels": [[list(k), list(v)] for k, v in history.lock_labels.items()],
        "final": {
            "at": final.at,
            "live": final.live,
            "unknown_books": final.unknown_books,
            "booked": [[list(k), sorted(v)] for k, v in final.booked.items()],
            "digests": final.digests,
            "sales": [[list(k), v] for k, v in final.sales.items()],
            "refunds": final.refunds,
        },
    }
    path.write_text(json.dumps(plain))


def load(path: Path) -> History:
    """The history ``save`` wrote; ValueError if the file is not one."""
    plain = json.loads(path.read_text())
    if not isinstance(plain, dict) or plain.get("format") != FORMAT:
        raise ValueError(f"{path} is not a fault run's history (format {FORMAT})")
    final = plain["final"]
    return History(
        operations=tuple(Operation(**_tuples(op)) for op in plain["operations"]),
        faults=tuple(Fault(**fault) for fault in plain["faults"]),
        lock_labels={tuple(k): tuple(v) for k, v in plain["lock_labels"]},
        final=FinalState(
            at=final["at"],
            live={t: _ticket(v) for t, v in final["live"].items()},
            unknown_books=final["unknown_books"],
            booked={tuple(k): frozenset(v) for k, v in final["booked"]},
            digests={c: [tuple(d) for d in ds] for c, ds in final["digests"].items()},
            sales={tuple(k): v for k, v in final["sales"]},
            refunds={t: _ticket(v) for t, v in final["refunds"].items()},
        ),
    )


def _tuples(record: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in record.items()}


def _ticket(value: list) -> tuple[str, str, tuple[str, ...]]:
    theater, event, seats = value
    return theater, event, tuple(seats)
