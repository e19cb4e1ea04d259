"""The SQLite schema of a replica's durable state, as numbered migrations.

As in sqlite-utils, the file's ``user_version`` pragma counts the migrations
already applied; opening a file applies the missing ones in one transaction,
so a file is never left half-migrated. A new schema change is a new entry at
the end of ``MIGRATIONS``; entries that shipped are never edited.
"""

from __future__ import annotations

import sqlite3

from ticketing.storage.errors import StorageError

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: acceptor, learner and coordinator state. Single-row tables hold their
    # row at id 0; values are JSON text of the consensus codec's plain data.
    (
        """CREATE TABLE promised (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            round INTEGER NOT NULL,
            proposer TEXT NOT NULL
        )""",
        """CREATE TABLE accepted (
            slot INTEGER PRIMARY KEY,
            round INTEGER NOT NULL,
            proposer TEXT NOT NULL,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE decided (
            slot INTEGER PRIMARY KEY,
            value TEXT NOT NULL
        )""",
        """CREATE TABLE snapshot (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            idx INTEGER NOT NULL,
            body TEXT NOT NULL
        )""",
        """CREATE TABLE proposer_round (
            id INTEGER PRIMARY KEY CHECK (id = 0),
            round INTEGER NOT NULL
        )""",
    ),
)


def migrate(db: sqlite3.Connection, path: str) -> None:
    """Bring the schema of ``db`` up to date.

    ``BEGIN IMMEDIATE`` takes the write lock before reading the version, so two
    processes opening the same new file do not both run migration 1.
    """
    db.execute("BEGIN IMMEDIATE")
    try:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StorageError(
                f"{path} has schema version {version}, newer than the {len(MIGRATIONS)} this "
                "program knows: run a newer ticketing on it, or use another data directory"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        if version < len(MIGRATIONS):
            db.execute(f"PRAGMA user_version = {len(MIGRATIONS)}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
