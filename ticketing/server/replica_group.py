"""Calling "any one" of a group of replicas, with a sticky favourite and failover.

The load balancer talks to the lock servers and the data store manager talks
to the replicas of each data cluster the same way: any live replica can serve
the call, so one is preferred (sticky, so a read goes where the last write
went and connections stay warm) and, when it answers ``Unavailable`` (down,
unreachable, or without a quorum), the next one is tried. Replica names come
from the name server once and are kept; they are listed again only when every
known replica failed, so a request costs no name-server look-up and the group
keeps working while the name server is down.

Reads that pass a read barrier on the replica (``DataStore.seat_states``,
``ticket``, ...) are linearizable on any replica, so ``read`` spreads them:
each goes to the next replica in turn, and the sticky favourite serves only
the writes and the reads that need it. A replica that failed a read is passed
over by reads for ``READ_REST`` seconds, so a dead one does not cost every
third read a failed connection.

Only ``Unavailable`` moves on to the next replica: any other contract error is
the replica's answer and passes through unchanged. Every call made through a
group must therefore be safe to repeat on another replica (the replicated
operations are idempotent per hold id or ticket number).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from ticketing.errors import Unavailable
from ticketing.server.proxies import ProxyPool

log = logging.getLogger(__name__)

READ_REST = 2.0  # seconds a replica that failed a read is passed over by later reads


class ReplicaGroup:
    """The replicas registered under ``prefix``; ``what`` names one of them in messages.

    Every caller prefers the lowest id at first: one replica then applies
    every write first, so reads on it see every acknowledged write even while
    decisions to the others linger (``peer_link``), whichever balancer or
    manager made the write. The lock store's held seats rely on that; reads
    behind a read barrier do not, and are spread with ``read``.
    """

    def __init__(self, pool: ProxyPool, prefix: str, what: str) -> None:
        self.pool = pool
        self.prefix = prefix
        self.what = what
        self._lock = threading.Lock()
        self._preferred: str | None = None
        self._names: list[str] = []
        self._turn = 0  # reads taken so far: the next read starts at this one's replica
        self._resting: dict[str, float] = {}  # replica -> until when reads pass it over

    def call(self, method: str, *args: Any) -> Any:
        """``method(*args)`` on the preferred replica, failing over on ``Unavailable``.

        For writes, and for reads that are only fresh where the writes went.
        """
        return self._first_answer(method, args, self._preferred_first, self._prefer, None)

    def read(self, method: str, *args: Any) -> Any:
        """``method(*args)`` on the next replica in turn, failing over on ``Unavailable``.

        Only for reads that any replica answers as fresh as the preferred one
        (behind a read barrier): they then load every replica, not the
        favourite alone. The favourite is left as it is.
        """
        return self._first_answer(method, args, self._in_turn, None, self._rest)

    def _first_answer(
        self,
        method: str,
        args: tuple[Any, ...],
        order: Callable[[bool], list[str]],
        answered: Callable[[str], None] | None,
        failed: Callable[[str], None] | None,
    ) -> Any:
        """Try the replicas in ``order``; list them again once all the known ones failed."""
        failures: dict[str, Unavailable] = {}
        for refresh in (False, True):
            for name in order(refresh):
                if name in failures:
                    continue
                try:
                    result = self.pool.call(name, method, *args)
                except Unavailable as exc:
                    log.info("%s.%s: %s; trying another %s", name, method, exc, self.what)
                    failures[name] = exc
                    if failed is not None:
                        failed(name)
                    continue
                if answered is not None:
                    answered(name)
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

    def relisted(self, names: list[str]) -> None:
        """Take ``names`` as the replicas, listed afresh by the caller."""
        with self._lock:
            self._names = sorted(names, key=_id_order)

    @property
    def preferred(self) -> str | None:
        with self._lock:
            return self._preferred

    def _listed(self, refresh: bool) -> list[str]:
        """Replica names in id order, listed once and kept; ``refresh`` lists them again."""
        with self._lock:
            names = self._names
        if refresh or not names:
            names = sorted(self.pool.list(self.prefix, refresh=refresh), key=_id_order)
            with self._lock:
                self._names = names
        return names

    def _preferred_first(self, refresh: bool) -> list[str]:
        """The preferred replica first, then the others in id order after it."""
        names = self._listed(refresh)
        with self._lock:
            preferred = self._preferred
        start = names.index(preferred) if preferred in names else 0
        return names[start:] + names[:start]

    def _in_turn(self, refresh: bool) -> list[str]:
        """The next replica in turn first, then the others; resting ones last.

        Turns go round the replicas not resting, so the load of a resting one
        is shared among all the others, not passed to the one after it.
        """
        names = self._listed(refresh)
        now = time.monotonic()
        with self._lock:
            turn = self._turn
            self._turn += 1
            resting = [name for name in names if self._resting.get(name, 0.0) > now]
        live = [name for name in names if name not in resting]
        if not live:
            return names
        start = turn % len(live)
        return live[start:] + live[:start] + resting

    def _rest(self, name: str) -> None:
        with self._lock:
            self._resting[name] = time.monotonic() + READ_REST

    def _prefer(self, name: str) -> None:
        with self._lock:
            changed, self._preferred = self._preferred != name, name
        if changed:
            log.info("now preferring %s", name)


def _id_order(name: str) -> tuple[int, int | str]:
    """Sort key of a replica name: numeric ids in numeric order, then any others."""
    suffix = name.rsplit(".", 1)[-1]
    return (0, int(suffix)) if suffix.isdigit() else (1, suffix)
