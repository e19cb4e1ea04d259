"""A coordinator's highest round (``ProposerStorage``) in SQLite.

Unlike the replica's store there is nothing to group: the coordinator saves a
round only when it starts a new ballot, and must not use it before it is on
disk, so every save is its own synced transaction.
"""

from __future__ import annotations

import os
import threading

from ticketing.storage.connection import open_database, transaction

_SAVE = """
    INSERT INTO proposer_round (id, round) VALUES (0, ?)
    ON CONFLICT (id) DO UPDATE SET round = excluded.round
    WHERE excluded.round > proposer_round.round
"""


class SqliteProposerStorage:
    """Durable ``ProposerStorage`` at ``path``; safe to call from several threads."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)
        self._db = open_database(path)
        self._lock = threading.Lock()

    def load_round(self) -> int:
        """The highest round saved, 0 on a fresh file."""
        with self._lock:
            row = self._db.execute("SELECT round FROM proposer_round").fetchone()
        return 0 if row is None else row[0]

    def save_round(self, round_: int) -> None:
        """Durable on return; a round below the stored one changes nothing."""
        with self._lock, transaction(self._db, self._path):
            self._db.execute(_SAVE, (round_,))

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> SqliteProposerStorage:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
