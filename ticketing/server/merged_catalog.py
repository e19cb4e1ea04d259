"""The whole catalog as the data store manager sees it: every data cluster's, merged.

Each data cluster's log holds its own theaters with a version (``SeatStore``).
The manager keeps the newest version it has seen of each (from polling the
clusters, and from the results of the changes it makes), and offers the
merge to the catalog followers under a token naming every cluster's version,
so a follower can ask "anything newer than what I have?" in one call.

Until a cluster has answered, its theaters are the catalog file's (version 0):
the manager can route to a cluster it cannot reach yet, as before.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ticketing.catalog import Catalog, CatalogError, Theater, theater_from_table

log = logging.getLogger(__name__)


class MergedCatalog:
    def __init__(self, limits: Catalog) -> None:
        """``limits``: the catalog file, for its settings and as the first guess of theaters."""
        self._limits = limits
        self._lock = threading.Lock()
        self._clusters: dict[str, tuple[int, tuple[Theater, ...]]] = {
            name: (0, theaters) for name, theaters in limits.clusters().items()
        }
        self._merged = self._merge()

    @property
    def catalog(self) -> Catalog:
        return self._merged[0]

    @property
    def token(self) -> str:
        """Every cluster's version, as ``"<cluster>:<version>,..."`` in name order."""
        return self._merged[1]

    def clusters(self) -> dict[str, int]:
        """Each known cluster's catalog version (0: not heard from yet)."""
        with self._lock:
            return {name: version for name, (version, _) in self._clusters.items()}

    def behind(self, token: str) -> bool:
        """Whether ``token`` (a follower's) names a newer version of some cluster than ours.

        A restarted manager holds the catalog file's theaters of a cluster until
        that cluster answers; a follower that has seen newer must keep it, or
        changes it has shown would be taken back (an added event gone, a
        cancelled one on sale again).
        """
        with self._lock:
            ours = {name: version for name, (version, _) in self._clusters.items()}
        for part in token.split(","):
            name, _, version = part.rpartition(":")
            if version.isdigit() and int(version) > ours.get(name, 0):
                return True
        return False

    def add_cluster(self, name: str) -> None:
        """A cluster found in the name server; it has no theaters until it answers."""
        with self._lock:
            if name not in self._clusters:
                self._clusters[name] = (0, ())
                self._merged = self._merge()

    def update(self, cluster: str, plain: Any) -> bool:
        """Take ``{"version", "theaters"}`` from ``cluster`` if newer; whether it was."""
        try:
            version = int(plain["version"])
            theaters = tuple(theater_from_table(t, f"cluster {cluster}") for t in plain["theaters"])
        except (TypeError, KeyError, ValueError, OverflowError, CatalogError) as exc:
            log.warning("ignoring the catalog cluster %s sent: %s", cluster, exc)
            return False
        with self._lock:
            known = self._clusters.get(cluster)
            if known is not None and known[0] >= version:
                return False
            self._clusters[cluster] = (version, theaters)
            self._merged = self._merge()
        return True

    def _merge(self) -> tuple[Catalog, str]:
        """The catalog over every cluster's theaters, and its token (under ``_lock``).

        Clusters come in the catalog file's order, then as they were found. A
        theater id two clusters claim (possible only if they were seeded so)
        is kept from the first, and logged.
        """
        theaters: dict[str, Theater] = {}
        for name, (_, hosted) in self._clusters.items():
            for theater in hosted:
                if theater.id in theaters:
                    first = theaters[theater.id].cluster
                    log.warning("theater %s is in clusters %s and %s", theater.id, first, name)
                    continue
                theaters[theater.id] = theater
        token = ",".join(f"{name}:{self._clusters[name][0]}" for name in sorted(self._clusters))
        return self._limits.with_theaters(tuple(theaters.values())), token

    def to_plain(self) -> dict[str, Any]:
        """What ``catalog_since`` answers: ``{"token", "theaters": [table, ...]}``."""
        catalog, token = self._merged
        return {"token": token, "theaters": [t.to_table() for t in catalog.theaters]}
