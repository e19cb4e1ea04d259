"""Child process of test_storage_crash: flushes to a SqliteStorage until killed.

Usage: ``python storage_crash_child.py DB_PATH``. Flush ``n`` holds the saves
``saves_of_flush(n)``, the first of which promises ballot ``(n, "p")``, so the
promised round on disk tells which flush was the last one to land. The child
resumes after the last flush it finds on disk, prints ``FLUSHED n`` once
``flush()`` has returned for flush ``n``, and goes on until it is killed.
"""

from __future__ import annotations

import random
import sys

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import Snapshot
from ticketing.consensus.storage import Storage
from ticketing.consensus.values import Batch, Command
from ticketing.storage import SqliteStorage


def saves_of_flush(n: int) -> list[tuple[str, tuple]]:
    """The saves of flush ``n``, always the same for the same ``n``."""
    rng = random.Random(n)
    saves: list[tuple[str, tuple]] = [("promised", (Ballot(n, "p"),))]
    for _ in range(rng.randint(1, 6)):
        slot = 3 * n + rng.randint(-6, 6)
        size = rng.choice((0, 10, 1_000, 30_000))
        value = Batch(n + rng.random(), (Command(f"req-{n}-{slot}", "x" * size),))
        kind = rng.choice(("accepted", "decided"))
        if kind == "accepted":
            saves.append(("accepted", (slot, Ballot(n, "p"), value)))
        else:
            saves.append(("decided", (slot, value)))
    if n % 5 == 0:
        snapshot = Snapshot(3 * n - 12, {"flush": n, "pad": "s" * rng.randint(0, 20_000)}, {}, n)
        saves.append(("snapshot", (snapshot,)))
    return saves


def apply_flush(storage: Storage, n: int) -> None:
    for kind, args in saves_of_flush(n):
        getattr(storage, f"save_{kind}")(*args)
    storage.flush()


def main(path: str) -> None:
    storage = SqliteStorage(path)
    n = storage.load().promised.round
    while True:
        n += 1
        apply_flush(storage, n)
        sys.stdout.write(f"FLUSHED {n}\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main(sys.argv[1])
