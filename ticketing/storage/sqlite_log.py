"""A replica's consensus state (``Storage``) in one SQLite file.

Saves are kept in memory, in order, until ``flush`` writes them all in one
transaction: one sync per flush however many saves it holds, and after a
crash either every save of a flush is on disk or none is. Values are encoded
to JSON when saved, so a value that JSON cannot give back unchanged is refused
at once (see ``json_plain``) and a caller mutating it later changes nothing.

Thread safety: one object may be called from several threads (a Pyro5 driver
runs calls in a pool); a lock serializes them. Only one ``SqliteStorage``
should own a file at a time: two would not see each other's pending saves.
"""

from __future__ import annotations

import os
import threading
from itertools import groupby
from operator import itemgetter

from ticketing import counters
from ticketing.consensus.ballot import ZERO, Ballot
from ticketing.consensus.codec import snapshot_from_plain, snapshot_to_plain
from ticketing.consensus.messages import Snapshot
from ticketing.consensus.storage import DurableState
from ticketing.consensus.values import Batch
from ticketing.storage.connection import open_database, transaction
from ticketing.storage.json_plain import from_json, to_json

_PROMISED = """
    INSERT INTO promised (id, round, proposer) VALUES (0, ?, ?)
    ON CONFLICT (id) DO UPDATE SET round = excluded.round, proposer = excluded.proposer
    WHERE (excluded.round, excluded.proposer) > (promised.round, promised.proposer)
"""
_ACCEPTED = "INSERT OR REPLACE INTO accepted (slot, round, proposer, value) VALUES (?, ?, ?, ?)"
_DECIDED = "INSERT OR REPLACE INTO decided (slot, value) VALUES (?, ?)"
_SNAPSHOT = """
    INSERT INTO snapshot (id, idx, body) VALUES (0, ?, ?)
    ON CONFLICT (id) DO UPDATE SET idx = excluded.idx, body = excluded.body
    WHERE excluded.idx > snapshot.idx
"""


class SqliteStorage:
    """Durable ``Storage`` of one replica (acceptor + learner) at ``path``.

    Pending saves are applied in the order they were made, with the same
    meaning as ``MemoryStorage``: the promised ballot only grows, and a
    snapshot replaces the stored one only when its index is higher, deleting
    accepted and decided rows at or below that index.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)
        self._db = open_database(path)
        self._lock = threading.Lock()
        self._pending: list[tuple[str, tuple]] = []

    def load(self) -> DurableState:
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                row = db.execute("SELECT round, proposer FROM promised").fetchone()
                accepted = {
                    slot: (Ballot(round_, proposer), Batch.from_plain(from_json(value)))
                    for slot, round_, proposer, value in db.execute(
                        "SELECT slot, round, proposer, value FROM accepted"
                    )
                }
                decided = {
                    slot: Batch.from_plain(from_json(value))
                    for slot, value in db.execute("SELECT slot, value FROM decided")
                }
                snap = db.execute("SELECT body FROM snapshot").fetchone()
            finally:
                db.execute("COMMIT")
        promised = ZERO if row is None else Ballot(*row)
        snapshot = None if snap is None else snapshot_from_plain(from_json(snap[0]))
        return DurableState(promised, accepted, decided, snapshot)

    def save_promised(self, ballot: Ballot) -> None:
        with self._lock:
            self._pending.append((_PROMISED, (ballot.round, ballot.proposer)))

    def save_accepted(self, slot: int, ballot: Ballot, value: Batch) -> None:
        text = to_json(value.to_plain(), f"value of slot {slot}")
        with self._lock:
            self._pending.append((_ACCEPTED, (slot, ballot.round, ballot.proposer, text)))

    def save_decided(self, slot: int, value: Batch) -> None:
        text = to_json(value.to_plain(), f"value of slot {slot}")
        with self._lock:
            self._pending.append((_DECIDED, (slot, text)))

    def save_snapshot(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot`` and drop accepted and decided entries at or below its index."""
        text = to_json(snapshot_to_plain(snapshot), f"snapshot at slot {snapshot.index}")
        with self._lock:
            self._pending.append((_SNAPSHOT, (snapshot.index, text)))

    def flush(self) -> None:
        """Write every pending save in one transaction, synced before returning.

        On failure (StorageError) nothing of this flush is on disk and the
        saves stay pending.
        """
        with self._lock:
            if not self._pending:
                return
            db = self._db
            with transaction(db, self._path):
                for sql, group in groupby(self._pending, key=itemgetter(0)):
                    rows = [params for _, params in group]
                    if sql is _SNAPSHOT:
                        for index, text in rows:
                            if db.execute(_SNAPSHOT, (index, text)).rowcount:
                                db.execute("DELETE FROM accepted WHERE slot <= ?", (index,))
                                db.execute("DELETE FROM decided WHERE slot <= ?", (index,))
                    else:
                        db.executemany(sql, rows)
            self._pending.clear()
            counters.DISK_SYNCS.add()

    def close(self) -> None:
        """Close the file; saves not flushed are lost, as in a crash."""
        with self._lock:
            self._pending.clear()
            self._db.close()

    def __enter__(self) -> SqliteStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
