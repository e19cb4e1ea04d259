"""Calling "any one" of a group of replicas, with a sticky favourite and failover.

The load balancer talks to the lock servers and the data store manager talks
to the replicas of each data cluster the same way: any live replica can serve
the call, so one is preferred (sticky, so a read goes where the last write
went and connections stay warm) and, when it answers ``Unavailable`` (down,
unreachable, or without a quorum), the next one is tried. Replica names come
from the name server once and are kept; they are listed again only when every
known replica failed, so a request costs no name-server look-up and the group
keeps working while the name server is down.

Only ``Unavailable`` moves on to the next replica: any other contract error is
the replica's answer and passes through unchanged. Every call made through a
group must therefore be safe to repeat on another replica (the replicated
operations are idempotent per hold id or ticket number).
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from ticketing.errors import Unavailable
from ticketing.server.proxies import ProxyPool

log = logging.getLogger(__name__)


class ReplicaGroup:
    """The replicas registered under ``prefix``; ``what`` names one of them in messages.

    Every caller prefers the lowest id at first: one replica then applies
    every write first, so reads on it see every acknowledged write even while
    decisions to the others linger (``peer_link``), whichever balancer or
    manager made the write.
    """

    def __init__(self, pool: ProxyPool, prefix: str, what: str) -> None:
        self.pool = pool
        self.prefix = prefix
        self.what = what
        self._lock = threading.Lock()
        self._preferred: str | None = None
        self._names: list[str] = []

    def call(self, method: str, *args: Any) -> Any:
        """``method(*args)`` on the preferred replica, failing over on ``Unavailable``."""
        failures: dict[str, Unavailable] = {}
        for refresh in (False, True):
            for name in self._candidates(refresh):
                if name in failures:
                    continue
                try:
                    result = self.pool.call(name, method, *args)
                except Unavailable as exc:
                    log.info("%s.%s: %s; trying another %s", name, method, exc, self.what)
                    failures[name] = exc
                    continue
                self._prefer(name)
                return result
        if not failures:
            raise Unavailable(
                f"no {self.what} is registered in the name server "
                f"({self.pool.ns_host}:{self.pool.ns_port}); is the cluster running?"
            )
        tried = "; ".join(f"{name}: {exc}" for name, exc in failures.items())
        raise Unavailable(f"no {self.what} can serve this right now, retry later ({tried})")

    def known(self) -> list[str]:
        """The replicas found by the last listing, in id order (no name-server call)."""
        with self._lock:
            return list(self._names)

    @property
    def preferred(self) -> str | None:
        with self._lock:
            return self._preferred

    def _candidates(self, refresh: bool) -> list[str]:
        """Replica names, the preferred one first, then the others in id order after it.

        The names are listed once and kept; ``refresh`` lists them again.
        """
        with self._lock:
            names = self._names
        if refresh or not names:
            names = sorted(self.pool.list(self.prefix, refresh=refresh), key=_id_order)
            with self._lock:
                self._names = names
        with self._lock:
            preferred = self._preferred
        if not names:
            return []
        start = names.index(preferred) if preferred in names else 0
        return names[start:] + names[:start]

    def _prefer(self, name: str) -> None:
        with self._lock:
            changed, self._preferred = self._preferred != name, name
        if changed:
            log.info("now preferring %s", name)


def _id_order(name: str) -> tuple[int, int | str]:
    """Sort key of a replica name: numeric ids in numeric order, then any others."""
    suffix = name.rsplit(".", 1)[-1]
    return (0, int(suffix)) if suffix.isdigit() else (1, suffix)
