"""Fair use of a load balancer: bounded work at once, bounded seats per client.

* ``Admission``: a load balancer serves at most ``limit`` *flows* at once: a
  flow is a connection let in for ``FLOW_SECONDS`` (or until it closes),
  long enough for a person's look, hold and booking, so that nobody is turned
  away between holding seats and booking them (a hold left waiting keeps its
  seats from everyone). A connection beyond that is refused at once with
  ``Unavailable`` (safe to retry) carrying a retry hint (``RetryHint``), so a
  burst costs the balancer one cheap refusal per excess flow instead of a
  queue in which every call waits longer than the last, and the refused come
  back spread out, when there is room for them, instead of all at once. A
  flow ends after ``FLOW_SECONDS`` however busy it is, so the admitted cannot
  keep their places for good. Calls that come without a connection to tell
  (not through the multiplexer) are bounded by ``limit`` calls at once.
* ``HoldQuota``: one client keeps at most ``limit`` seats of one event on
  hold at once (catalog ``max_held_seats_per_client``, 10). ``BookingQuota``:
  one client books at most ``limit`` seats of one event within ``window``
  seconds (``max_booked_seats_per_client``, 20, and
  ``booking_quota_window``, an hour). Both *reserve* the seats under a lock
  before the lock store or data store is asked and give them back if it
  refuses, so concurrent calls from one client cannot together pass the
  cap. A client is identified by the IP address its connection comes from
  (Pyro5's ``current_context.client_sock_addr``; ``client_key``): ports
  change with each connection, addresses do not; an IPv6 address counts as
  its /64, which one household or host gets whole. Clients behind one NAT
  share a quota, and a client that spreads its calls over several balancers
  gets one quota per balancer; the lock store's expiry frees everything in
  the end regardless. Addresses in the catalog's ``quota_exempt`` (a front
  end booking for many people, the benchmark's users on loopback) have no
  quota. The quotas are what this balancer granted: holds released or
  booked through another balancer are noticed when a client reaches its
  limit (``still_live`` asks the lock store); bookings cancelled through
  another balancer when they leave the window.
"""

from __future__ import annotations

import functools
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from Pyro5.api import current_context

from ticketing.errors import InvalidRequest, Unavailable

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

RETRY_AFTER_MIN = 0.05  # seconds: the shortest retry hint (never "at once")
RETRY_AFTER_MAX = 5.0  # seconds: the longest (a person should not give up)
USUAL_WEIGHT = 0.05  # of each completed call in the moving average of how long calls take
FLOW_SECONDS = 1.0  # how long a connection let in keeps its place (unless it closes first)


class Admission:
    """At most ``limit`` flows (and calls) at once; the others are refused at once, with a hint."""

    def __init__(
        self, limit: int, hint: RetryHint | None = None, flow_seconds: float = FLOW_SECONDS
    ) -> None:
        self.limit = limit
        self.flow_seconds = flow_seconds
        self._hint = hint or RetryHint()  # paced by calls completed
        # Paced by flows ended; a flow lasts flow_seconds at most, known before any ends.
        self._flow_hint = RetryHint(clock=self._hint.now, usual=flow_seconds)
        self._lock = threading.Lock()
        self._in_flight = 0
        # Each flow under way and when it was let in, oldest first.
        self._flows: OrderedDict[Hashable, float] = OrderedDict()

    @contextmanager
    def admitted(self) -> Iterator[None]:
        with self._lock:
            full = self._in_flight >= self.limit
            if not full:
                self._in_flight += 1
        if full:
            raise self._refusal("requests", self._hint.refused(self.limit))
        started = self._hint.now()
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1
            self._hint.completed(started)

    def admits(self, flow: Hashable) -> bool:
        """Whether a call of ``flow`` (a connection) goes in: its flow is on, or starts now."""
        with self._lock:
            now = self._hint.now()
            while self._flows:
                oldest, began = next(iter(self._flows.items()))
                if began + self.flow_seconds > now:
                    break
                del self._flows[oldest]
                self._flow_hint.completed(began)
            if flow in self._flows:
                return True
            if len(self._flows) >= self.limit:
                return False
            self._flows[flow] = now
            return True

    def ended(self, flow: Hashable) -> None:
        """``flow``'s connection closed: its place is free at once."""
        with self._lock:
            began = self._flows.pop(flow, None)
        if began is not None:
            self._flow_hint.completed(began)

    def refusal(self) -> Unavailable:
        """The answer to a flow refused now, counted in the retry hint of the next ones.

        The multiplexer gives it at the door, before the call is read.
        """
        with self._lock:
            serving = len(self._flows)
        return self._refusal("people", self._flow_hint.refused(serving))

    def _refusal(self, what: str, wait: float) -> Unavailable:
        return Unavailable(
            f"this load balancer is serving {self.limit} {what} already; "
            f"retry in {wait:.2f} s or use another one",
            retry_after=wait,
        )


class RetryHint:
    """How long a refused caller should wait: the time to serve everyone asking now.

    Everyone asking now is the calls being served and waiting plus the callers
    refused within the last ``window`` seconds (they will come back); the pace
    is the calls completed within that window, or, when that says less (a
    burst that has just begun on an idle server), the calls served at once
    over the usual time a call takes (Little's law). Telling each refused caller that long (its own
    jitter added) spreads their return over the time the server needs for
    them, instead of bringing them back together to be refused again. The
    hint carries no jitter itself and is clamped to
    [``RETRY_AFTER_MIN``, ``RETRY_AFTER_MAX``]: never "at once", never so long
    that a person gives up; before any call has completed it is the longest.
    """

    def __init__(
        self,
        window: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        usual: float | None = None,
    ) -> None:
        self.now = clock
        self._lock = threading.Lock()
        self._completed = _Recent(window)
        self._refused = _Recent(window)
        self._usual = usual  # seconds a call takes, a moving average (None: not known yet)

    def completed(self, started: float) -> None:
        """A call that began at ``started`` (by ``now()``) has completed."""
        with self._lock:
            now = self.now()
            self._completed.add(now)
            took = now - started
            usual = self._usual
            self._usual = took if usual is None else usual + USUAL_WEIGHT * (took - usual)

    def refused(self, serving: int, waiting: int = 0) -> float:
        """Count one refusal and return the seconds to tell that caller.

        ``serving`` calls run at once, ``waiting`` more are queued for them.
        """
        with self._lock:
            now = self.now()
            self._refused.add(now)
            pace = self._completed.per_second(now)
            if self._usual:
                pace = max(pace, serving / self._usual)
            asking = serving + waiting + self._refused.count(now)
        if pace <= 0:
            return RETRY_AFTER_MAX
        return min(max(asking / pace, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


class _Recent:
    """Events within the last ``window`` seconds, in O(1) memory.

    Two fixed buckets, the previous window's count weighted by how much of it
    still overlaps the sliding window.
    """

    __slots__ = ("_current", "_previous", "_start", "window")

    def __init__(self, window: float) -> None:
        self.window = window
        self._start = 0.0
        self._current = 0
        self._previous = 0

    def add(self, now: float) -> None:
        self._roll(now)
        self._current += 1

    def count(self, now: float) -> float:
        self._roll(now)
        overlap = 1.0 - (now - self._start) / self.window
        return self._previous * overlap + self._current

    def per_second(self, now: float) -> float:
        return self.count(now) / self.window

    def _roll(self, now: float) -> None:
        passed = now - self._start
        if passed >= 2 * self.window:
            self._start, self._current, self._previous = now, 0, 0
        elif passed >= self.window:
            self._start += self.window
            self._previous, self._current = self._current, 0


_PENDING = math.inf


@dataclass(slots=True)
class _Grant:
    hold_id: str  # a placeholder while the hold is being acquired
    seats: int
    expires_at: float  # infinity while being acquired: it counts until settled


class Grant:
    """A reservation in a ``HoldQuota``: ``hold`` it once the lock store granted the hold."""

    __slots__ = ("_grant", "_quota")

    def __init__(self, quota: HoldQuota, grant: _Grant) -> None:
        self._quota = quota
        self._grant = grant

    def hold(self, hold_id: str, expires_at: float) -> None:
        """The hold was granted: its seats count until it expires, is booked or released."""
        with self._quota._lock:
            self._grant.hold_id = hold_id
            self._grant.expires_at = expires_at


class HoldQuota:
    """Seats on hold per (client, theater, event), as granted by this balancer.

    The seats are *reserved* before the lock store is asked (``reserving``),
    under one lock with the check, so concurrent holds from one client can
    never together pass the limit; a hold that fails gives its reservation
    back, one that succeeds keeps it.

    ``now`` is wall time (epoch seconds): it is compared with the ``expires_at``
    the lock store stamped, on its coordinator's clock (bounded skew assumed).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._grants: dict[tuple[str, str, str], list[_Grant]] = {}

    @contextmanager
    def reserving(
        self,
        client: str,
        theater: str,
        event: str,
        wanted: int,
        now: float,
        still_live: Callable[[str], bool],
    ) -> Iterator[Grant]:
        """Reserve ``wanted`` seats for the block; ``InvalidRequest`` beyond the limit.

        The block acquires the hold and calls ``Grant.hold``; if it raises (or
        never calls it) the reservation is given back.
        """
        key = (client, theater, event)
        grant = self._reserve(key, wanted, now)
        if grant is None:
            # Holds booked or released through another balancer still count here:
            # ask the lock store about ours (outside the lock), then try once more.
            with self._lock:
                granted = [g.hold_id for g in self._grants.get(key, []) if g.expires_at != _PENDING]
            gone = {hold_id for hold_id in granted if not still_live(hold_id)}
            with self._lock:
                kept = [g for g in self._grants.get(key, []) if g.hold_id not in gone]
                self._grants[key] = kept
            grant = self._reserve(key, wanted, now)
        if grant is None:
            raise InvalidRequest(
                f"you already hold {self._held(key, now)} seats of {event} at {theater} "
                f"(at most {self.limit} at once from one address): book or release a hold first, "
                "or wait for it to expire"
            )
        try:
            yield Grant(self, grant)
        finally:
            with self._lock:
                if grant.expires_at == _PENDING:
                    self._drop(key, grant)

    def ended(self, hold_id: str) -> None:
        """The hold was booked or released through this balancer."""
        with self._lock:
            for key, grants in list(self._grants.items()):
                kept = [g for g in grants if g.hold_id != hold_id]
                if kept:
                    self._grants[key] = kept
                else:
                    del self._grants[key]

    def _reserve(self, key: tuple[str, str, str], wanted: int, now: float) -> _Grant | None:
        with self._lock:
            if self._held_locked(key, now) + wanted > self.limit:
                return None
            grant = _Grant("", wanted, _PENDING)
            self._grants.setdefault(key, []).append(grant)
            return grant

    def _drop(self, key: tuple[str, str, str], grant: _Grant) -> None:
        kept = [g for g in self._grants.get(key, []) if g is not grant]
        if kept:
            self._grants[key] = kept
        else:
            self._grants.pop(key, None)

    def _held(self, key: tuple[str, str, str], now: float) -> int:
        with self._lock:
            return self._held_locked(key, now)

    def _held_locked(self, key: tuple[str, str, str], now: float) -> int:
        live = [g for g in self._grants.get(key, []) if g.expires_at > now]
        if live:
            self._grants[key] = live
        else:
            self._grants.pop(key, None)
        return sum(g.seats for g in live)


@dataclass(frozen=True, slots=True)
class _Booking:
    hold_id: str
    seats: int
    at: float  # when it was counted (``now`` of ``reserving``)


class BookingQuota:
    """Seats of one event booked per client through this balancer within ``window`` seconds.

    Like the hold quota, the seats are reserved before the data store is
    asked, under one lock with the check, and given back if the booking
    fails. A hold booked again (a retry) is counted once. A cancellation
    through this balancer gives its seats back at once; one through another
    balancer, when the booking leaves the window.

    ``now`` is this process's ``time.monotonic()``: the window is a duration,
    measured here only.
    """

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._lock = threading.Lock()
        self._booked: dict[tuple[str, str, str], list[_Booking]] = {}
        self._key_of: dict[str, tuple[str, str, str]] = {}  # hold id -> its key

    def booked(self, client: str, theater: str, event: str, now: float) -> int:
        """Seats of ``event`` booked by ``client`` within the window."""
        with self._lock:
            return sum(b.seats for b in self._recent((client, theater, event), now))

    def refuse_hold(self, client: str, theater: str, event: str, wanted: int, now: float) -> None:
        """``InvalidRequest`` for a hold its client could not book: it would only block seats."""
        with self._lock:
            refusal = self._refusal((client, theater, event), wanted, now)
        if refusal is not None:
            raise refusal

    @contextmanager
    def reserving(
        self, client: str, theater: str, event: str, hold_id: str, seats: int, now: float
    ) -> Iterator[None]:
        """Count ``seats`` for the block (booking hold ``hold_id``); given back if it raises."""
        key = (client, theater, event)
        with self._lock:
            if hold_id in self._key_of:  # a retry: counted already (or being booked)
                booking = None
            else:
                refusal = self._refusal(key, seats, now)
                if refusal is not None:
                    raise refusal
                booking = _Booking(hold_id, seats, now)
                self._booked.setdefault(key, []).append(booking)
                self._key_of[hold_id] = key
        try:
            yield
        except BaseException:
            if booking is not None:
                self.cancelled(hold_id)
            raise

    def cancelled(self, hold_id: str) -> None:
        """The booking of ``hold_id`` was cancelled (or failed): its seats are free again."""
        with self._lock:
            key = self._key_of.pop(hold_id, None)
            if key is None:
                return
            kept = [b for b in self._booked.get(key, []) if b.hold_id != hold_id]
            if kept:
                self._booked[key] = kept
            else:
                self._booked.pop(key, None)

    def _refusal(self, key: tuple[str, str, str], wanted: int, now: float) -> InvalidRequest | None:
        recent = self._recent(key, now)
        booked = sum(b.seats for b in recent)
        if booked + wanted <= self.limit:
            return None
        # The seats free up as the oldest bookings leave the window.
        freed, wait = booked, 0.0
        for booking in recent:
            freed -= booking.seats
            wait = booking.at + self.window - now
            if freed + wanted <= self.limit:
                break
        _, theater, event = key
        return InvalidRequest(
            f"{booked} seats of {event} at {theater} were booked from your address already "
            f"(at most {self.limit} within {self.window / 60:.0f} min from one address): "
            f"cancel a ticket, or try again in {math.ceil(wait / 60)} min"
        )

    def _recent(self, key: tuple[str, str, str], now: float) -> list[_Booking]:
        """The bookings of ``key`` within the window, oldest first; older ones are forgotten."""
        bookings = self._booked.get(key, [])
        recent = [b for b in bookings if b.at > now - self.window]
        if len(recent) < len(bookings):
            for booking in bookings:
                if booking.at <= now - self.window:
                    self._key_of.pop(booking.hold_id, None)
            if recent:
                self._booked[key] = recent
            else:
                self._booked.pop(key, None)
        return recent


def client_key(address: str, exempt: Iterable[IPNetwork] = ()) -> str | None:
    """Who a per-address quota counts a caller as; ``None`` for an exempt address.

    An IPv4 address is one client; an IPv6 address counts as its /64, which
    one household or host is given whole (counting each of its addresses
    apart would hand it 2**64 quotas). A caller outside a Pyro5 call
    (``"local"``) is itself.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if any(ip in network for network in exempt):
        return None
    if ip.version == 6:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


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
