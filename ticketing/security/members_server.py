"""The members' transport: Pyro5's thread pool, with a guarded door.

Internal components keep a thread per connection: their callers are few and
known, and their calls wait on each other (a coordinator on its replicas, a
replica on its peers), which a bounded queue in front of workers could turn
into a deadlock. What an outsider can do to them before proving membership is
bounded here instead:

* a connection is accepted without reading a byte in the accept thread (TLS
  included: its handshake runs on the connection's worker), and one refused
  (too many from its address still saying hello, or no free worker) is closed
  unread, where Pyro5 would read its hello to answer it;
* connections from one address that are still saying hello are capped, so
  an address can hold at most that many threads, each for at most
  ``settings.HELLO_DEADLINE`` seconds from connecting, TLS and hello together;
* the hello is read by its header first: a connect message of more than
  ``settings.MAX_HELLO_BYTES``, or in another serializer than msgpack, is
  dropped before its body is read (a 1.9 MB serpent list once grew a
  coordinator to 961 MB);
* every later message is read the same way: msgpack only, at most
  ``MAX_MESSAGE_SIZE``; msgpack bounds each string and list by the message's
  length; an idle connection is closed after ``COMMTIMEOUT``.

``MembersServer`` takes over the thread-pool server Pyro5 made for the daemon
(its listening socket, pool and housekeeper), as ``Multiplexer`` does for the
load balancers.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections import Counter

from Pyro5 import config, protocol, serializers
from Pyro5.errors import ConnectionClosedError, ProtocolError
from Pyro5.server import Daemon
from Pyro5.socketutil import SocketConnection
from Pyro5.svr_threads import ClientConnectionJob, NoFreeWorkersError, SocketServer_Threadpool

from ticketing import settings

log = logging.getLogger(__name__)

HEADER_SIZE = protocol._header_size  # a Pyro5 message's fixed header (not exported)
MSGPACK = serializers.serializers["msgpack"]
MSGPACK_ID = MSGPACK.serializer_id
REPORT_INTERVAL = 10.0  # seconds between log lines about refused connections


class Refused(Exception):
    """A message broke the door's rules; the connection is closed unanswered."""


class WrongSerializer(Refused):
    """A message of an accepted size in another serializer: read, and a hello answered."""

    def __init__(self, why: str, seq: int) -> None:
        super().__init__(why)
        self.seq = seq


class MemberConnection(SocketConnection):
    """A connection whose next message the door has already read and checked.

    The daemon reads it with ``recv`` as from any Pyro5 connection; one object
    lives as long as the connection, so session-bound state stays on it.
    """

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(sock)
        self.message = b""

    def recv(self, size: int) -> bytes:
        if len(self.message) < size:
            raise ConnectionClosedError("receiving: the message ended early")
        data, self.message = self.message[:size], self.message[size:]
        return data


def read_message(
    sock: socket.socket, max_bytes: int, deadline: float | None, first_wait: float | None
) -> bytes:
    """One whole Pyro5 message in msgpack of at most ``max_bytes``, read from ``sock``.

    ``first_wait`` bounds the wait for its first byte (None: no bound), and
    ``deadline`` (a ``time.monotonic()`` instant; None: ``COMMTIMEOUT`` per
    read) the whole read. The size and serializer are checked on the header,
    before the body is read. Raises ``Refused``, ``ConnectionClosedError``
    or ``TimeoutError`` (``socket.timeout``).
    """
    header = _read(sock, HEADER_SIZE, deadline, first_wait)
    try:
        protocol.ReceivingMessage.validate(header[:6])
        head = protocol.ReceivingMessage(header)
    except ProtocolError as exc:
        raise Refused(f"not a Pyro5 message: {exc}") from None
    size = HEADER_SIZE + head.annotations_size + head.data_size
    if size > max_bytes:
        raise Refused(f"a message of {size} bytes (at most {max_bytes})")
    message = header + _read(sock, size - HEADER_SIZE, deadline, None)
    if head.serializer_id != MSGPACK_ID:
        raise WrongSerializer(
            "members only: this object serves cluster members, who speak msgpack",
            head.seq,
        )
    return message


def _read(sock: socket.socket, size: int, deadline: float | None, first: float | None) -> bytes:
    data = bytearray()
    while len(data) < size:
        wait = config.COMMTIMEOUT or None
        if not data and first is not None:
            wait = first
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("too slow")
            wait = left if wait is None else min(wait, left)
        sock.settimeout(wait)
        chunk = sock.recv(min(size - len(data), 64 * 1024))
        if not chunk:
            raise ConnectionClosedError("the peer hung up")
        data += chunk
    return bytes(data)


class MembersJob(ClientConnectionJob):
    """One connection: its hello within the deadline, then its members' requests."""

    def __init__(self, sock: socket.socket, address: str, server: MembersServer) -> None:
        # Not ClientConnectionJob.__init__: its connection would close the socket when dropped.
        self.csock = MemberConnection(sock)
        self.caddr = address
        self.daemon = server.daemon
        self.address = address
        self.server = server
        self.deadline = time.monotonic() + settings.HELLO_DEADLINE

    def __call__(self) -> None:
        try:
            greeted = self.handleConnection()
        finally:
            self.server.greeted(self.address)
        if not greeted:
            return
        try:
            while True:
                self.csock.message = read_message(
                    self.csock.sock, config.MAX_MESSAGE_SIZE, None, config.COMMTIMEOUT or None
                )
                self.daemon.handleRequest(self.csock)
        except Refused as exc:
            self.server.refused(str(exc))
        except (OSError, ConnectionClosedError):
            log.debug("disconnected %s", self.address)  # hung up, or idle past COMMTIMEOUT
        except Exception as exc:  # one connection's surprise must not take the worker down
            log.warning("closing the connection from %s: %r", self.address, exc)
        finally:
            with contextlib.suppress(Exception):
                self.daemon._clientDisconnect(self.csock)
            self.csock.close()

    def handleConnection(self) -> bool:
        sock = self.csock.sock
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(max(0.0, self.deadline - time.monotonic()))
                sock.do_handshake()
            self.csock.message = read_message(sock, settings.MAX_HELLO_BYTES, self.deadline, None)
            return bool(self.daemon._handshake(self.csock))
        except WrongSerializer as exc:  # e.g. a plain Pyro5 proxy: tell its user why
            self.server.refused("a hello in another serializer than msgpack")
            answer = protocol.SendingMessage(
                protocol.MSG_CONNECTFAIL, 0, exc.seq, MSGPACK_ID, MSGPACK.dumps(str(exc))
            )
            with contextlib.suppress(OSError, ConnectionClosedError):
                self.csock.send(answer.data)
        except Refused as exc:
            self.server.refused(str(exc))
        except TimeoutError:
            self.server.refused("too slow to say hello")
        except (OSError, ConnectionClosedError) as exc:
            log.debug("connection from %s lost during its hello: %s", self.address, exc)
        self.csock.close()
        return False


class MembersServer(SocketServer_Threadpool):
    """The transport of a ``MembersDaemon`` (see the module's docstring)."""

    def __init__(self, pyros: SocketServer_Threadpool) -> None:
        super().__init__()
        self._selector.close()
        self.__dict__.update(pyros.__dict__)  # its socket, pool, housekeeper and selector
        pyros.sock = pyros.pool = pyros.housekeeper = None  # now ours to close
        self._tls_context = self.sock.context if isinstance(self.sock, ssl.SSLSocket) else None
        self._lock = threading.Lock()
        self._hello: Counter[str] = Counter()  # address -> connections still saying hello
        self._refused: Counter[str] = Counter()  # why -> count, since the last report
        self._reported_at = time.monotonic()

    def events(self, eventsockets: object) -> None:
        with contextlib.suppress(TimeoutError):
            if not self._selector.select(config.POLLTIMEOUT):
                self._report()
                return
            # The plain socket's accept: TLS's would run its handshake here, in this thread.
            sock, peer = socket.socket.accept(self.sock)
            if self.shutting_down:
                sock.close()
                return
            address = str(peer[0]) if isinstance(peer, tuple) else "local"
            with self._lock:
                crowded = self._hello[address] >= settings.MEMBERS_HELLO_PER_ADDRESS
                if not crowded:
                    self._hello[address] += 1
            if crowded:
                self.refused("too many connections saying hello from one address")
                sock.close()
                return
            try:
                if self._tls_context is not None:
                    sock = self._tls_context.wrap_socket(
                        sock, server_side=True, do_handshake_on_connect=False
                    )
                self.pool.process(MembersJob(sock, address, self))
            except (NoFreeWorkersError, OSError) as exc:
                self.greeted(address)
                self.refused(f"no worker for it ({exc})")
                sock.close()
        self._report()

    def greeted(self, address: str) -> None:
        """``address``'s connection is past its hello (or gone)."""
        with self._lock:
            self._hello[address] -= 1
            if self._hello[address] <= 0:
                del self._hello[address]

    def refused(self, why: str) -> None:
        with self._lock:
            self._refused[why] += 1

    def _report(self) -> None:
        now = time.monotonic()
        with self._lock:
            if not self._refused or now - self._reported_at < REPORT_INTERVAL:
                return
            reasons = ", ".join(f"{count} ({why})" for why, count in self._refused.items())
            self._refused.clear()
            elapsed, self._reported_at = now - self._reported_at, now
        log.warning("refused connections in the last %.0f s: %s", elapsed, reasons)


def guard(daemon: Daemon) -> None:
    """Serve ``daemon`` (made on Pyro5's thread-pool server) through a ``MembersServer``."""
    pyros = daemon.transportServer
    if not isinstance(pyros, SocketServer_Threadpool):
        raise TypeError(f"expected Pyro5's thread-pool server, got {pyros!r}")
    daemon.transportServer = MembersServer(pyros)
