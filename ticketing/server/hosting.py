"""Serving one component: a Pyro5 daemon, its name-server entry, a clean stop.

Every component process is the same shape: one exposed object on a daemon
bound to a free port, registered under its contract name. The name server may
restart (and, restored from its SQLite file, hold a stale address) or lose the
entry, so a background thread looks the name up every second and registers
again when the entry is missing or points elsewhere. It takes a name back from
whatever cannot prove it belongs to the cluster (a dead address, or a live
impostor: anyone may write to the name server), and never from another live
process that can, which would be a second replica started with the same id.
Members prove it with the members-only handshake; load balancers with a
signed entry and a signed handshake (``balancer_proof``).

Internal components pass the cluster secret: their daemon then refuses every
connection that does not prove knowledge of it (``MembersDaemon``) and runs
on Pyro5's thread pool (see ``pyro_config``). Public ones (load balancers)
pass the cluster's signing key instead: their daemon signs the nonce of every
caller that asks (``BalancerDaemon``), and is a ``CrowdDaemon``, whose
connections wait in one selector and whose requests run on a bounded pool of
workers (``multiplexer``), so thousands of people can stay connected to one
of them.

SIGINT and SIGTERM end the request loop; the entry is then removed (only if it
is still ours) and the daemon closed, and ``serve`` returns so the caller can
close its own resources.
"""

from __future__ import annotations

import logging
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

from Pyro5.api import Daemon, Proxy
from Pyro5.errors import CommunicationError, NamingError, PyroError
from Pyro5.socketutil import get_ip_address

from ticketing import counters
from ticketing.errors import InvalidRequest, TicketingError
from ticketing.security.balancer_proof import (
    BalancerDaemon,
    BalancerProxy,
    entry_metadata,
    entry_verifies,
)
from ticketing.security.cluster_key import SigningKey
from ticketing.security.membership import MemberProxy, MembersDaemon
from ticketing.server import pyro_config
from ticketing.server.logs import setup_logging
from ticketing.server.multiplexer import CrowdDaemon, CrowdLimits
from ticketing.server.proxies import name_server_uri

log = logging.getLogger(__name__)

WATCH_INTERVAL = 1.0  # seconds between checks of our name-server entry
NS_TIMEOUT = 2.0  # seconds for each call to the name server or a liveness probe


def serve(
    obj: object,
    name: str,
    host: str,
    ns_host: str,
    ns_port: int,
    data_dir: str | Path,
    component_id: str | None = None,
    secret: str | None = None,
    crowd: CrowdLimits | None = None,
    balancer_key: SigningKey | None = None,
) -> None:
    """Serve ``obj`` as ``name`` until SIGINT or SIGTERM, then return.

    ``component_id`` labels the log file and log lines (default: ``name``).
    With ``secret`` only members of the cluster are served; without, anyone,
    within ``crowd`` (default: a load balancer's limits), and when ``obj``
    admits its calls (an ``admission``, see ``fairness.admitted``) the calls
    it would refuse are refused at the door, before they wait for a worker.
    With ``balancer_key`` (a load balancer) the entry is signed and the daemon
    proves it holds the key to callers that ask.
    Must run on the main thread (it owns the signal handlers). Exits the
    process with a message when another live process already serves ``name``.
    """
    setup_logging(data_dir, component_id or name)
    pyro_config.configure()
    stopping = threading.Event()
    stop_on_signals(stopping)
    try:
        nathost, natport = _advertised_address(host)
        address = {"host": host, "port": 0, "nathost": nathost, "natport": natport}
        metadata: set[str] = set()
        proven: Callable[[str, object], bool] = _answers
        if secret:
            daemon: Daemon = CountingMembersDaemon(secret, **address)
            proven = _member_check(secret)
        else:
            daemon = CountingCrowdDaemon(crowd, getattr(obj, "admission", None), **address)
            if balancer_key is not None:
                daemon.prove_as(balancer_key, name)
                proven = _balancer_check(balancer_key, name)
        with daemon:
            uri = str(daemon.register(obj, objectId=name))
            if balancer_key is not None:
                metadata = entry_metadata(balancer_key, name, uri)
            entry = Registration(name, uri, ns_host, ns_port, metadata, proven)
            if entry.sync() == Registration.TAKEN:
                raise SystemExit(
                    f"{name} is already served by a running process at {entry.holder}; "
                    "stop it or start this one with another --id"
                )
            watcher = threading.Thread(
                target=entry.watch, args=(stopping,), name="ns-watch", daemon=True
            )
            watcher.start()
            log.info("serving %s at %s (name server %s:%s)", name, uri, ns_host, ns_port)
            try:
                daemon.requestLoop(loopCondition=lambda: not stopping.is_set())
            finally:
                stopping.set()
                watcher.join(timeout=NS_TIMEOUT * 2)
                entry.remove()
    except KeyboardInterrupt:
        pass  # a signal arrived before the request loop started
    log.info("stopped %s", name)


class CountingDaemon(Daemon):
    """A daemon that counts the requests it answered (``counters.CALLS_SERVED``).

    ``handleRequest`` is entered by a worker waiting for the next request on a
    connection and raises when the peer hangs up, so only requests that
    returned normally (answered, or oneway and run) are counted.
    """

    def handleRequest(self, conn: object) -> None:
        super().handleRequest(conn)
        counters.CALLS_SERVED.add()

    def _sendExceptionResponse(
        self, connection: Any, seq: int, serializer_id: int, exc_value: Any, *args: Any, **kw: Any
    ) -> None:
        """Only contract errors leave: a request Pyro5 itself could not read or route
        (unknown method, unreadable or too deeply nested arguments, a foreign
        serializer) is answered as ``InvalidRequest``, never as a Pyro5 or builtin
        exception the caller cannot rebuild."""
        if not isinstance(exc_value, TicketingError):
            reason = " ".join(str(exc_value).split())[:200]
            exc_value = InvalidRequest(
                f"request refused ({type(exc_value).__name__}: {reason}); see the API"
            )
        super()._sendExceptionResponse(connection, seq, serializer_id, exc_value, *args, **kw)


class CountingMembersDaemon(CountingDaemon, MembersDaemon):
    """A counting daemon that serves members of the cluster only."""


class CountingCrowdDaemon(CountingDaemon, BalancerDaemon, CrowdDaemon):
    """A counting daemon for the public: many connections, a bounded pool of workers.

    It proves it belongs to the cluster to callers that ask, once given the key (``prove_as``).
    """


def _advertised_address(host: str) -> tuple[str | None, int | None]:
    """The address peers should use, when ``host`` is a wildcard such as 0.0.0.0.

    A daemon bound to all interfaces would otherwise register the unusable
    ``0.0.0.0`` in its URI; it advertises this machine's outward address (on
    the same port) instead.
    """
    if host not in ("0.0.0.0", "::", ""):
        return None, None
    return str(get_ip_address("", workaround127=True)), 0


def stop_on_signals(stopping: threading.Event) -> None:
    """Turn the first SIGINT/SIGTERM into a KeyboardInterrupt that ends the loop.

    Pyro5's request loop leaves on KeyboardInterrupt at once (an event alone
    would only be seen at its next poll). Further signals are ignored so the
    clean-up that follows is not cut short; a stuck process is the launcher's
    to SIGKILL.
    """

    def handler(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        log.info("received %s, stopping", signal.Signals(signum).name)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, handler)
    signal.signal(signal.SIGTERM, handler)


class Registration:
    """Our entry in the name server, kept pointing at us."""

    OK = "ok"
    TAKEN = "taken"  # another live process of the cluster serves the name
    NO_NAME_SERVER = "no-name-server"

    def __init__(
        self,
        name: str,
        uri: str,
        ns_host: str,
        ns_port: int,
        metadata: set[str] | None = None,
        proven: Callable[[str, object], bool] | None = None,
    ) -> None:
        """``proven(uri, metadata)`` tells whether another entry for our name is one of
        the cluster's live processes (default: anything that answers)."""
        self.name = name
        self.uri = uri
        self.metadata = set(metadata or ())
        self.proven = proven or _answers
        self.holder: str | None = None
        self._ns_address = f"{ns_host}:{ns_port}"
        self._ns_uri = name_server_uri(ns_host, ns_port)
        self._ns: Proxy | None = None
        self._last_state: str | None = None

    def sync(self) -> str:
        """Check the entry once and register if needed; returns the outcome."""
        try:
            current, metadata = self._lookup()
            if current == self.uri and set(metadata) >= self.metadata:
                state = self.OK
            elif current not in (None, self.uri) and self.proven(current, metadata):
                self.holder = current
                state = self.TAKEN
            else:
                if current not in (None, self.uri):
                    log.warning(
                        "%s pointed at %s, which does not prove it belongs to the cluster "
                        "(dead or an impostor); taking the name back",
                        self.name,
                        current,
                    )
                self._ns_call("register", self.name, self.uri, False, self.metadata or None)
                log.info("registered %s as %s in the name server", self.name, self.uri)
                state = self.OK
        except CommunicationError as exc:
            state = self.NO_NAME_SERVER
            if self._last_state != state:
                log.warning(
                    "name server at %s unreachable (%s); will register when it is back",
                    self._ns_address,
                    exc,
                )
        if state == self.TAKEN and self._last_state != state:
            log.error("%s is served by another live process at %s", self.name, self.holder)
        self._last_state = state
        return state

    def watch(self, stopping: threading.Event) -> None:
        """Re-sync every ``WATCH_INTERVAL`` seconds until ``stopping`` is set."""
        while not stopping.wait(WATCH_INTERVAL):
            try:
                self.sync()
            except Exception:  # the watcher must outlive any surprise
                log.exception("checking the name-server entry of %s failed", self.name)

    def remove(self) -> None:
        """Remove the entry if it still names us (best effort)."""
        try:
            if self._lookup()[0] == self.uri:
                self._ns_call("remove", self.name)
                log.info("removed %s from the name server", self.name)
        except CommunicationError as exc:
            log.info("could not remove %s from the name server: %s", self.name, exc)

    def _lookup(self) -> tuple[str | None, set[object]]:
        """The URI our name points at (None: no entry) and the entry's metadata."""
        try:
            uri, metadata = self._ns_call("lookup", self.name, True)
        except NamingError:
            return None, set()
        return str(uri), set(metadata or ())

    def _ns_call(self, method: str, *args: object) -> object:
        if self._ns is None:
            self._ns = Proxy(self._ns_uri)
            self._ns._pyroTimeout = NS_TIMEOUT
        self._ns._pyroClaimOwnership()  # used by the main thread, then the watcher
        return getattr(self._ns, method)(*args)


def _answers(uri: str, metadata: object = None, probe: Proxy | None = None) -> bool:
    """Whether a live daemon serves the object of ``uri`` (a stale entry does not) and
    passes ``probe``'s handshake (a plain proxy's, by default)."""
    probe = probe if probe is not None else Proxy(uri)
    probe._pyroTimeout = NS_TIMEOUT
    try:
        probe._pyroBind()
    except PyroError:  # unreachable, or its handshake failed: not one of ours
        return False
    finally:
        probe._pyroRelease()
    return True


def _member_check(secret: str) -> Callable[[str, object], bool]:
    """A live member proves it knows the cluster secret in the members-only handshake."""
    return lambda uri, metadata: _answers(uri, probe=MemberProxy(uri, secret))


def _balancer_check(key: SigningKey, name: str) -> Callable[[str, object], bool]:
    """A live balancer has an entry signed by the cluster and signs our nonce."""
    public = key.public()

    def check(uri: str, metadata: object) -> bool:
        signed = entry_verifies(public, name, uri, metadata)  # type: ignore[arg-type]
        return signed and _answers(uri, probe=BalancerProxy(uri, public))

    return check
