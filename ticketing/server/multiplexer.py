"""Many connected clients on a few threads: the load balancers' Pyro5 transport.

Pyro5's thread-pool server gives each connection a worker thread for as long
as it stays open, so a balancer with 128 workers serves 128 connected people
and refuses the 129th; its multiplex server runs every request on its one
selector thread, so a single call waiting on the lock store stalls everyone.
``Multiplexer`` splits the two jobs:

* one selector thread (the daemon's request loop) owns every connection that
  is not being served: it accepts, drives TLS handshakes without blocking, and
  reads whatever arrives into the connection's own buffer. An idle connection
  costs a socket and a buffer, not a thread.
* a connection whose buffer holds a whole Pyro5 message (its hello or a call)
  leaves the selector for a bounded pool of worker threads; a worker runs it
  through the daemon (``_handshake`` / ``handleRequest``, which read it from
  the buffer) and writes the answer as far as the socket takes it at once.
  The rest, if any, the selector sends when the socket has room, so a client
  that does not read holds no worker either. The connection then goes back to
  the selector, which a wake-up socket tells.

A worker only ever sees complete messages, so a client that connects and
says nothing, or sends one byte every 45 s (slowloris), holds a socket and no
thread, and only until its deadline. The bounds (``CrowdLimits``): open
connections in all and per IP address (loopback exempt: tests and benchmarks
open thousands from 127.0.0.1), seconds to connect and say hello, to finish a
started request and to take an answer, idle seconds before a connection is
closed (as Pyro5's ``COMMTIMEOUT`` did), the size of a hello (the connect
message, before any call) and of a request, both checked on the header, and calls
waiting for a worker. A call beyond the queue, or beyond what the ``Gate``
(the balancer's ``Admission``) would admit after those already waiting, is
answered ``Unavailable`` with a retry hint by the selector itself, unread:
it would only be refused after its wait for a worker, and a refusal at the
door is the cheapest answer there is.

It is swapped in as the daemon's ``transportServer`` by ``CrowdDaemon``:
Pyro5 makes and binds its own multiplex server (its listening socket, TLS
context and clean-up are reused as they are), then this one takes over the
listening socket and reuses Pyro5's per-request error handling.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import ipaddress
import logging
import queue
import resource
import selectors
import socket
import ssl
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from Pyro5 import config, protocol
from Pyro5.errors import ConnectionClosedError, ProtocolError
from Pyro5.server import Daemon
from Pyro5.socketutil import SocketConnection
from Pyro5.svr_multiplex import SocketServer_Multiplex

from ticketing import counters, settings
from ticketing.errors import InvalidRequest, Unavailable
from ticketing.security.fairness import RetryHint
from ticketing.server import pyro_config

log = logging.getLogger(__name__)

HEADER_SIZE = protocol._header_size  # a Pyro5 message's fixed header (not exported)
READ_CHUNK = 64 * 1024
ACCEPT_BATCH = 64  # connections accepted per wake-up, so a flood of them cannot starve calls
SWEEP_INTERVAL = 0.5  # seconds between checks of deadlines and idle connections
ACCEPT_PAUSE = 0.2  # seconds without accepting once the process is out of file descriptors
REPORT_INTERVAL = 10.0  # seconds between log lines about refused connections
FD_RESERVE = 256  # descriptors left for the rest of the process (peers, logs, files)
_OUT_OF_DESCRIPTORS = (errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM)
_LISTENER, _WAKER = "listener", "waker"  # selector tags of the two sockets that are not links


class Gate(Protocol):
    """What admits calls further in (``fairness.Admission``): the door asks it first."""

    def admits(self, flow: Hashable) -> bool:
        """Whether a call of ``flow`` (here: a connection) goes in now."""

    def ended(self, flow: Hashable) -> None:
        """``flow``'s connection closed."""

    def refusal(self) -> Unavailable:
        """The answer to a call refused now."""


@dataclass(frozen=True, slots=True)
class CrowdLimits:
    """What one multiplexed daemon allows (defaults: a load balancer's, from ``settings``)."""

    workers: int = settings.LB_WORKERS
    max_queued: int = settings.LB_MAX_QUEUED_REQUESTS
    max_connections: int = settings.LB_MAX_CONNECTIONS
    per_address: int = settings.LB_MAX_CONNECTIONS_PER_ADDRESS  # 0: no cap
    exempt_loopback: bool = True
    deadline: float = settings.LB_MESSAGE_DEADLINE
    idle_timeout: float = pyro_config.IDLE_CONNECTION_TIMEOUT
    max_request_bytes: int = settings.LB_MAX_REQUEST_BYTES
    max_hello_bytes: int = settings.MAX_HELLO_BYTES  # the connect message, read before any call


class CrowdDaemon(Daemon):
    """A Pyro5 daemon served by a ``Multiplexer``: many connections, a bounded pool of workers."""

    def __init__(
        self, limits: CrowdLimits | None = None, gate: Gate | None = None, **address: Any
    ) -> None:
        with _server_type("multiplex"):
            super().__init__(**address)
        listener = self.transportServer
        if not isinstance(listener, SocketServer_Multiplex):
            raise TypeError(f"expected Pyro5's multiplex server to take over, got {listener!r}")
        self.transportServer = Multiplexer(self, listener, limits or CrowdLimits(), gate)


@contextlib.contextmanager
def _server_type(kind: str) -> Iterator[None]:
    """Pyro5 picks a daemon's server by a process-wide setting; set it for one daemon."""
    saved = config.SERVERTYPE
    config.SERVERTYPE = kind
    try:
        yield
    finally:
        config.SERVERTYPE = saved


class Link(SocketConnection):
    """One client connection: what has arrived of its next message, and what is left to send.

    The daemon reads a message with ``recv`` and answers with ``send`` as from
    any Pyro5 connection; ``recv`` only ever finds whole messages here, and
    ``send`` never waits for the peer to read.
    """

    def __init__(self, sock: socket.socket, address: str, tls: bool) -> None:
        super().__init__(sock)
        self.address = address
        self.inbox = bytearray()
        self.outbox = bytearray()
        self.tls_pending = tls  # the TLS handshake is not done yet
        self.greeted = False  # the Pyro5 hello is done
        self.closing = False  # close once the outbox is sent
        self.events = 0  # what the selector watches for (0: not in the selector)
        self.skip = 0  # bytes of an oversized request still to drop unread
        self.oversized: protocol.ReceivingMessage | None = None  # its header, to answer

    def recv(self, size: int) -> bytes:
        if len(self.inbox) < size:
            raise ConnectionClosedError("receiving: the message ended early")
        data = bytes(self.inbox[:size])
        del self.inbox[:size]
        return data

    def send(self, data: bytes) -> None:
        self.outbox += data
        self.flush()

    def flush(self) -> bool:
        """Send what the socket takes now; True once the outbox is empty."""
        while self.outbox:
            try:
                sent = self.sock.send(self.outbox)
            except (BlockingIOError, ssl.SSLWantWriteError, ssl.SSLWantReadError):
                return False
            except OSError as exc:
                raise ConnectionClosedError(f"sending: connection lost: {exc}") from None
            del self.outbox[:sent]
        return True

    def fill(self, enough: int) -> bool:
        """Read what has arrived (up to about ``enough`` bytes); False once the peer has gone."""
        while len(self.inbox) < enough:
            try:
                chunk = self.sock.recv(READ_CHUNK)
            except (BlockingIOError, ssl.SSLWantReadError, ssl.SSLWantWriteError):
                return True
            except OSError:
                return False
            if not chunk:
                return False
            if self.skip:
                dropped = min(self.skip, len(chunk))
                self.skip -= dropped
                chunk = chunk[dropped:]
            self.inbox += chunk
            # A short read drained the socket, unless TLS holds decrypted bytes back.
            if len(chunk) < READ_CHUNK and not (self.tls_capable and self.sock.pending()):
                return True
        return True

    @property
    def tls_capable(self) -> bool:
        return isinstance(self.sock, ssl.SSLSocket)

    def head(self) -> tuple[protocol.ReceivingMessage, int] | None:
        """The header and full size of the first message in the inbox, once its header is in.

        Raises ``ProtocolError`` as soon as the first bytes are not Pyro5's.
        """
        if len(self.inbox) < HEADER_SIZE:
            if len(self.inbox) >= 6:
                protocol.ReceivingMessage.validate(bytes(self.inbox[:6]))
            return None
        header = protocol.ReceivingMessage(bytes(self.inbox[:HEADER_SIZE]))
        return header, HEADER_SIZE + header.annotations_size + header.data_size


class Multiplexer:
    """The transport server of a ``CrowdDaemon`` (see the module's docstring)."""

    def __init__(
        self,
        daemon: Daemon,
        listener: SocketServer_Multiplex,
        limits: CrowdLimits,
        gate: Gate | None = None,
    ) -> None:
        self.daemon = daemon
        self.limits = limits
        self._gate = gate
        self._listener = listener  # Pyro5's: its socket, its request error handling, its close()
        self.sock = listener.sock
        self.locationStr = listener.locationStr
        self.sock.setblocking(False)
        self._tls = isinstance(self.sock, ssl.SSLSocket)
        wanted = limits.max_connections + FD_RESERVE
        self._max_connections = min(
            limits.max_connections, raise_open_files_limit(wanted) - FD_RESERVE
        )
        if self._max_connections < limits.max_connections:
            log.warning(
                "at most %d connections (the open-file limit is lower than %d + %d)",
                self._max_connections,
                limits.max_connections,
                FD_RESERVE,
            )
        self._selector = selectors.DefaultSelector()
        self._selector.register(self.sock, selectors.EVENT_READ, _LISTENER)
        self._wake_in, self._wake_out = socket.socketpair()
        self._wake_in.setblocking(False)
        self._wake_out.setblocking(False)
        self._selector.register(self._wake_in, selectors.EVENT_READ, _WAKER)
        self._links: set[Link] = set()
        self._per_address: Counter[str] = Counter()
        self._idle: OrderedDict[Link, float] = OrderedDict()  # link -> idle since
        self._due: OrderedDict[Link, float] = OrderedDict()  # link -> deadline
        self._work: queue.SimpleQueue[Link | None] = queue.SimpleQueue()
        self._returned: deque[tuple[Link, bool]] = deque()
        self._returned_lock = threading.Lock()
        self._wake_pending = False
        self._hint = RetryHint()
        self._refused: Counter[str] = Counter()  # since the last report
        self._reported_at = time.monotonic()
        self._accept_paused_until: float | None = None
        self._shutting_down = False
        self._closed = False
        self._workers = [
            threading.Thread(target=self._serve, name=f"crowd-worker-{n}", daemon=True)
            for n in range(limits.workers)
        ]
        for worker in self._workers:
            worker.start()
        log.info(
            "multiplexing connections on %s: %d workers, up to %d connections (%s per address)",
            self.locationStr,
            limits.workers,
            self._max_connections,
            limits.per_address or "no cap",
        )

    def __repr__(self) -> str:
        return (
            f"<{type(self).__name__} on {self.locationStr}; {len(self._links)} connections, "
            f"{len(self._workers)} workers>"
        )

    # -- what Pyro5's daemon expects of a transport server ------------------------------

    @property
    def sockets(self) -> list[socket.socket]:
        return [self.sock]

    @property
    def selector(self) -> selectors.BaseSelector:
        raise TypeError("the multiplexer keeps its selector to itself (no external event loop)")

    def events(self, eventsockets: object) -> None:
        raise TypeError("the multiplexer runs its own loop (use requestLoop)")

    def combine_loop(self, server: object) -> None:
        raise TypeError("the multiplexer cannot combine other daemons' loops")

    def wakeup(self) -> None:
        with contextlib.suppress(OSError):
            self._wake_out.send(b"\0")

    def loop(self, loopCondition: Callable[[], bool] = lambda: True) -> None:
        next_sweep = 0.0
        try:
            while not self._shutting_down and loopCondition():
                try:
                    ready = self._selector.select(SWEEP_INTERVAL)
                except (OSError, ValueError):
                    if self._shutting_down:  # closed under us by Daemon.shutdown()
                        break
                    raise
                now = time.monotonic()
                try:
                    for key, mask in ready:
                        if key.data is _LISTENER:
                            self._accept(now)
                        elif key.data is _WAKER:
                            self._take_back(now)
                        elif key.data.events:  # not taken out earlier in this round
                            self._on_ready(key.data, mask, now)
                    if now >= next_sweep:
                        self._sweep(now)
                        next_sweep = now + SWEEP_INTERVAL
                except Exception:  # the loop must outlive any surprise
                    log.exception("error in the connection loop; going on")
        except KeyboardInterrupt:
            log.debug("stopping on break signal")

    def shutdown(self) -> None:
        self._shutting_down = True
        self.wakeup()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._shutting_down = True
        for _ in self._workers:
            self._work.put(None)
        for link in list(self._links):
            self._close(link, "the server is stopping")
        self._selector.close()
        self._wake_in.close()
        self._wake_out.close()
        self._listener.close()

    # -- the selector thread -------------------------------------------------------------

    def _accept(self, now: float) -> None:
        for _ in range(ACCEPT_BATCH):
            try:
                # The plain socket's accept: TLS's would run the handshake here, blocking.
                sock, peer = socket.socket.accept(self.sock)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                if exc.errno in _OUT_OF_DESCRIPTORS:
                    log.warning("cannot accept connections for now: %s", exc)
                    self._selector.unregister(self.sock)
                    self._accept_paused_until = now + ACCEPT_PAUSE
                else:
                    log.info("accepting a connection failed: %s", exc)
                return
            address = str(peer[0]) if isinstance(peer, tuple) else "local"
            refusal = self._refusal(address)
            if refusal is not None:
                self._refused[refusal] += 1
                sock.close()
                continue
            try:
                sock.setblocking(False)
                if self._tls:
                    sock = self.sock.context.wrap_socket(
                        sock, server_side=True, do_handshake_on_connect=False
                    )
            except OSError as exc:  # gone already
                log.debug("dropped a connection from %s: %s", address, exc)
                sock.close()
                continue
            link = Link(sock, address, tls=self._tls)
            self._links.add(link)
            self._per_address[address] += 1
            self._watch(link, selectors.EVENT_READ)
            self._due[link] = now + self.limits.deadline

    def _refusal(self, address: str) -> str | None:
        """Why a new connection from ``address`` is refused, or None."""
        if len(self._links) >= self._max_connections:
            return f"{self._max_connections} connections open"
        cap = self.limits.per_address
        crowded = cap and self._per_address[address] >= cap
        if crowded and not (self.limits.exempt_loopback and _is_loopback(address)):
            return f"{cap} connections from one address"
        return None

    def _on_ready(self, link: Link, mask: int, now: float) -> None:
        try:
            if link.tls_pending:
                self._tls_handshake(link, now)
            elif link.outbox:
                self._send_rest(link, now)
            elif link.fill(self._cap(link) + HEADER_SIZE):
                self._advance(link, now)
            else:
                self._close(link, "the client hung up")
        except Exception:  # one broken connection must not stop the others
            log.exception("dropping the connection from %s", link.address)
            self._close(link, "internal error")

    def _tls_handshake(self, link: Link, now: float) -> None:
        try:
            link.sock.do_handshake()  # type: ignore[attr-defined]
        except ssl.SSLWantReadError:
            self._watch(link, selectors.EVENT_READ)
            return
        except ssl.SSLWantWriteError:
            self._watch(link, selectors.EVENT_WRITE)
            return
        except OSError as exc:  # ssl.SSLError included
            self._close(link, f"TLS handshake failed: {exc}")
            return
        link.tls_pending = False
        self._watch(link, selectors.EVENT_READ)
        if link.fill(self._cap(link) + HEADER_SIZE):  # the hello may be in
            self._advance(link, now)
        else:
            self._close(link, "the client hung up")

    def _send_rest(self, link: Link, now: float) -> None:
        try:
            done = link.flush()
        except ConnectionClosedError as exc:
            self._close(link, str(exc))
            return
        if not done:
            return
        if link.closing:
            self._close(link, "closed after its last answer")
            return
        self._due.pop(link, None)
        self._watch(link, selectors.EVENT_READ)
        self._advance(link, now)

    def _advance(self, link: Link, now: float) -> None:
        """Hand a complete message to the workers, answer it at once, or wait for more."""
        while True:
            if link.oversized is not None:
                if link.skip:
                    self._wait(link, now)
                    return
                self._refuse_oversized(link)
                if link not in self._links:
                    return
                if link.outbox:
                    self._wait_to_send(link, now)
                    return
                continue
            try:
                head = link.head()
            except ProtocolError as exc:
                self._close(link, f"not a Pyro5 message: {exc}")
                return
            if head is not None and head[1] > self._cap(link):
                self._refused["too large"] += 1
                if not link.greeted or head[0].type != protocol.MSG_INVOKE:
                    self._close(link, f"a message of {head[1]} bytes")
                    return
                # A call too large: dropped unread as it arrives, then answered.
                link.oversized = head[0]
                link.skip = head[1] - min(head[1], len(link.inbox))
                del link.inbox[: head[1]]
                continue
            if head is None or len(link.inbox) < head[1]:
                self._wait(link, now)
                return
            if not self._worth_queueing(link, head[0]):
                self._shed(link, *head)
                if link.outbox:
                    self._wait_to_send(link, now)
                    return
                continue
            self._idle.pop(link, None)
            self._due.pop(link, None)
            self._watch(link, 0)
            self._work.put(link)
            return

    def _cap(self, link: Link) -> int:
        """The largest message ``link`` may send next: a hello is small, a request less so.

        Checked on the header, before a byte of the body is kept: serpent takes
        ~500 bytes of memory per byte it parses, so the cap is what bounds the
        memory an unauthenticated peer can make this process spend.
        """
        return self.limits.max_request_bytes if link.greeted else self.limits.max_hello_bytes

    def _wait(self, link: Link, now: float) -> None:
        """Wait for the rest of a message (a deadline runs) or for the next one (idle)."""
        if link.inbox or link.skip or not link.greeted:
            self._idle.pop(link, None)
            self._due.setdefault(link, now + self.limits.deadline)
        elif link not in self._idle:
            self._due.pop(link, None)
            self._idle[link] = now

    def _wait_to_send(self, link: Link, now: float) -> None:
        self._idle.pop(link, None)
        self._due.setdefault(link, now + self.limits.deadline)
        self._watch(link, selectors.EVENT_WRITE)

    def _worth_queueing(self, link: Link, header: protocol.ReceivingMessage) -> bool:
        """Hellos, pings and one-way calls always wait for a worker; calls only while the
        queue is short and, with a gate, when the gate lets the connection's flow in."""
        if not link.greeted or header.type != protocol.MSG_INVOKE:
            return True
        if header.flags & protocol.FLAGS_ONEWAY:
            return True
        waiting = self._work.qsize()
        if waiting >= self.limits.max_queued:
            return False
        return self._gate is None or self._gate.admits(link)

    def _shed(self, link: Link, header: protocol.ReceivingMessage, size: int) -> None:
        """Answer a call ``Unavailable`` unread, rather than after a wait for a worker."""
        del link.inbox[:size]
        if self._gate is not None:
            refusal = self._gate.refusal()
        else:
            wait = self._hint.refused(len(self._workers), self._work.qsize())
            refusal = Unavailable(
                f"this load balancer is overloaded; retry in {wait:.2f} s or use another one",
                retry_after=wait,
            )
        if self._answer(link, header, refusal):
            counters.CALLS_SERVED.add()

    def _refuse_oversized(self, link: Link) -> None:
        """Answer a call over the size cap ``InvalidRequest`` (its bytes were dropped)."""
        header, link.oversized = link.oversized, None
        refusal = InvalidRequest(
            f"a request of {HEADER_SIZE + header.annotations_size + header.data_size} bytes "
            f"is over this server's cap of {self.limits.max_request_bytes}; "
            "no call of the API needs that much: check its arguments"
        )
        self._answer(link, header, refusal)

    def _answer(self, link: Link, header: protocol.ReceivingMessage, refusal: Exception) -> bool:
        """Send ``refusal`` as the answer to ``header``'s call; False if ``link`` was closed."""
        try:
            self.daemon._sendExceptionResponse(
                link, header.seq, header.serializer_id, refusal, None
            )
        except (KeyError, ConnectionClosedError) as exc:  # an unknown serializer, a lost peer
            self._close(link, f"could not refuse a call: {exc!r}")
            return False
        return True

    def _take_back(self, now: float) -> None:
        with contextlib.suppress(OSError):
            self._wake_in.recv(4096)
        with self._returned_lock:
            returned = list(self._returned)
            self._returned.clear()
            self._wake_pending = False
        for link, keep in returned:
            if link.outbox:
                link.closing = not keep
                self._wait_to_send(link, now)
            elif not keep:
                self._close(link, "closed after a request")
            else:
                self._watch(link, selectors.EVENT_READ)
                self._advance(link, now)

    def _sweep(self, now: float) -> None:
        """Close what overstayed, resume accepting after a pause, report refusals."""
        while self._due:
            link, deadline = next(iter(self._due.items()))
            if deadline > now:
                break
            self._close(link, f"too slow (over {self.limits.deadline:g} s)")
            self._refused["too slow"] += 1
        idle_since = now - self.limits.idle_timeout
        while self._idle:
            link, since = next(iter(self._idle.items()))
            if since > idle_since:
                break
            self._close(link, "idle")
        if self._accept_paused_until is not None and now >= self._accept_paused_until:
            self._accept_paused_until = None
            self._selector.register(self.sock, selectors.EVENT_READ, _LISTENER)
        elapsed = now - self._reported_at
        if self._refused and elapsed >= REPORT_INTERVAL:
            reasons = ", ".join(f"{count} ({why})" for why, count in self._refused.items())
            log.warning("closed connections in the last %.0f s: %s", elapsed, reasons)
            self._refused.clear()
            self._reported_at = now
        self.daemon._housekeeping()

    def _watch(self, link: Link, events: int) -> None:
        if link.events == events:
            return
        if link.events == 0:
            self._selector.register(link.sock, events, link)
        elif events == 0:
            self._selector.unregister(link.sock)
        else:
            self._selector.modify(link.sock, events, link)
        link.events = events

    def _close(self, link: Link, why: str) -> None:
        if link not in self._links:
            return
        self._links.discard(link)
        if self._gate is not None:
            self._gate.ended(link)
        self._idle.pop(link, None)
        self._due.pop(link, None)
        if link.events:
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._selector.unregister(link.sock)
            link.events = 0
        self._per_address[link.address] -= 1
        if self._per_address[link.address] <= 0:
            del self._per_address[link.address]
        if link.greeted:
            try:
                self.daemon._clientDisconnect(link)
            except Exception as exc:
                log.warning("error in clientDisconnect: %s", exc)
        link.close()
        log.debug("closed the connection from %s: %s", link.address, why)

    # -- the workers ---------------------------------------------------------------------

    def _serve(self) -> None:
        while True:
            link = self._work.get()
            if link is None:
                return
            started = self._hint.now()
            try:
                keep = self._run(link)
            except Exception:
                log.exception("serving a request from %s failed", link.address)
                keep = False
            self._hint.completed(started)
            self._give_back(link, keep)

    def _run(self, link: Link) -> bool:
        """One message through the daemon; False when the connection is to be closed."""
        if not link.greeted:
            link.greeted = bool(self.daemon._handshake(link))
            return link.greeted
        return bool(self._listener.handleRequest(link))

    def _give_back(self, link: Link, keep: bool) -> None:
        if self._closed:
            link.close()
            return
        with self._returned_lock:
            self._returned.append((link, keep))
            wake = not self._wake_pending
            self._wake_pending = True
        if wake:
            self.wakeup()


@functools.lru_cache(maxsize=4096)
def _is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return address == "local"  # a Unix socket


def raise_open_files_limit(wanted: int) -> int:
    """Raise this process's soft limit of open files towards ``wanted``; the limit now.

    A thousand connected clients are a thousand descriptors, above the common
    default soft limit of 1024; the hard limit, set by the administrator, stays.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return wanted if soft == resource.RLIM_INFINITY else soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    except (ValueError, OSError) as exc:
        log.warning("could not raise the open-file limit to %d: %s", target, exc)
        return soft
    return target
