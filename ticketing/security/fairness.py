"""Fair use of a load balancer: bounded work at once, bounded seats on hold per client.

* ``Admission``: a load balancer serves at most ``limit`` calls at once. A
  call beyond that waits ``patience`` seconds at most, then is refused with
  ``Unavailable`` (safe to retry), so a burst costs the balancer a refusal per
  excess call instead of an unbounded queue of threads and sockets.
* ``HoldQuota``: one client keeps at most ``limit`` seats of one event on
  hold at once. A client is identified by the IP address its connection comes
  from (Pyro5's ``current_context.client_sock_addr``): ports change with each
  connection, addresses do not. Clients behind one NAT share a quota, and a
  client that spreads its calls over several balancers gets one quota per
  balancer; the lock store's expiry frees everything in the end regardless.
  The quota is what this balancer granted; holds released or booked through
  another balancer are noticed when a client reaches its limit (``still_live``
  asks the lock store).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from Pyro5.api import current_context

from ticketing.errors import InvalidRequest, Unavailable


class Admission:
    """At most ``limit`` calls at once; the others are refused after ``patience`` seconds."""

    def __init__(self, limit: int, patience: float) -> None:
        self._slots = threading.BoundedSemaphore(limit)
        self.limit = limit
        self._patience = patience

    @contextmanager
    def admitted(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._patience):
            raise Unavailable(
                f"this load balancer is serving {self.limit} requests already; "
                "retry in a moment or use another one"
            )
        try:
            yield
        finally:
            self._slots.release()


@dataclass(frozen=True, slots=True)
class _Grant:
    hold_id: str
    seats: int
    expires_at: float


class HoldQuota:
    """Seats on hold per (client, theater, event), as granted by this balancer."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._grants: dict[tuple[str, str, str], list[_Grant]] = {}

    def check(
        self,
        client: str,
        theater: str,
        event: str,
        wanted: int,
        now: float,
        still_live: Callable[[str], bool],
    ) -> None:
        """Refuse (``InvalidRequest``) a hold of ``wanted`` more seats beyond the limit."""
        key = (client, theater, event)
        if self._held(key, now) + wanted <= self.limit:
            return
        with self._lock:
            grants = list(self._grants.get(key, []))
        gone = {g.hold_id for g in grants if not still_live(g.hold_id)}
        with self._lock:
            kept = [g for g in self._grants.get(key, []) if g.hold_id not in gone]
            self._grants[key] = kept
        held = self._held(key, now)
        if held + wanted > self.limit:
            raise InvalidRequest(
                f"you already hold {held} seats of {event} at {theater}; at most "
                f"{self.limit} at once: book or release a hold first"
            )

    def granted(
        self, client: str, theater: str, event: str, hold_id: str, seats: int, expires_at: float
    ) -> None:
        with self._lock:
            self._grants.setdefault((client, theater, event), []).append(
                _Grant(hold_id, seats, expires_at)
            )

    def ended(self, hold_id: str) -> None:
        """The hold was booked or released through this balancer."""
        with self._lock:
            for key, grants in list(self._grants.items()):
                kept = [g for g in grants if g.hold_id != hold_id]
                if kept:
                    self._grants[key] = kept
                else:
                    del self._grants[key]

    def _held(self, key: tuple[str, str, str], now: float) -> int:
        with self._lock:
            live = [g for g in self._grants.get(key, []) if g.expires_at > now]
            if live:
                self._grants[key] = live
            else:
                self._grants.pop(key, None)
            return sum(g.seats for g in live)


F = TypeVar("F", bound=Callable[..., Any])


def admitted(method: F) -> F:
    """Run ``method`` of an object with an ``admission`` inside that admission."""

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        with self.admission.admitted():
            return method(self, *args, **kwargs)

    return guarded  # type: ignore[return-value]


def client_address() -> str:
    """The calling client's IP address, or ``"local"`` outside a Pyro5 call."""
    address = getattr(current_context, "client_sock_addr", None)
    if isinstance(address, tuple | list) and address:
        return str(address[0])
    return "local"
