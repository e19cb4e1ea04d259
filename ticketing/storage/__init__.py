"""SQLite persistence: the durable versions of the consensus core's storage interfaces."""

from ticketing.storage.errors import StorageError
from ticketing.storage.sqlite_log import SqliteStorage
from ticketing.storage.sqlite_round import SqliteProposerStorage

__all__ = ["SqliteProposerStorage", "SqliteStorage", "StorageError"]
