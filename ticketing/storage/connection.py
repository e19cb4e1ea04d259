"""Opening a replica's SQLite file with the settings durability relies on.

WAL mode with ``synchronous=FULL`` syncs the write-ahead log on every commit:
a committed transaction survives a crash of the process or of the machine,
and one commit costs one sync whatever it holds (group commit).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from ticketing.storage.errors import StorageError
from ticketing.storage.schema import migrate


def open_database(path: str | os.PathLike[str]) -> sqlite3.Connection:
    """Open (creating if needed) and migrate the database at ``path``.

    The connection runs in autocommit mode (``isolation_level=None``) so that
    transactions are exactly the ``transaction()`` blocks, and it may be used
    from any thread: the stores that own it serialize calls with their lock.
    """
    name = os.fspath(path)
    try:
        db = sqlite3.connect(name, isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        raise StorageError(
            f"cannot open database {name}: {exc}; check that its directory exists and is writable"
        ) from exc
    try:
        (mode,) = db.execute("PRAGMA journal_mode = WAL").fetchone()
        if mode != "wal":
            raise StorageError(f"{name}: SQLite refused WAL mode (got {mode!r}); use a local disk")
        db.execute("PRAGMA synchronous = FULL")
        migrate(db, name)
    except sqlite3.DatabaseError as exc:
        db.close()
        raise StorageError(f"{name} is not a usable ticketing database: {exc}") from exc
    except BaseException:
        db.close()
        raise
    return db


@contextmanager
def transaction(db: sqlite3.Connection, path: str) -> Iterator[None]:
    """One write transaction: committed (and synced) on exit, rolled back on error."""
    try:
        db.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise StorageError(f"cannot write {path}: {exc}") from exc
    try:
        yield
        db.execute("COMMIT")
    except BaseException as exc:
        if db.in_transaction:
            db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"write to {path} failed and was rolled back: {exc}") from exc
        raise
