"""The one failure of the SQLite layer, for the operator rather than a client."""

from __future__ import annotations


class StorageError(Exception):
    """A replica's database cannot be opened, migrated or written.

    The message names the file and what to do; a replica that gets one on
    ``flush`` must stop, since it cannot keep the promise "on disk before the
    reply".
    """
