"""Pyro5 daemon and proxy that speak the members-only handshake (``handshake``).

``MembersDaemon`` serves internal components: a connection that does not
prove knowledge of the cluster secret is refused before any method can be
called, so the object cannot even be inspected, and what it can cost before
that is bounded (``members_server``). ``MemberProxy`` is what a
member uses to call them; it makes a fresh hello on every (re)connection.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from Pyro5.api import Daemon, Proxy
from Pyro5.errors import SecurityError

from ticketing import names
from ticketing.security.handshake import (
    HandshakeRefused,
    Verifier,
    check_server_proof,
    client_hello,
    target,
)
from ticketing.security.members_server import guard

log = logging.getLogger(__name__)

# Everything under these names serves members only: lock servers and their
# coordinators (of every lock group), data store replicas, coordinators and
# the manager.
INTERNAL_PREFIXES = (names.LOCK_PREFIX, names.DATASTORE_PREFIX)


def is_internal(name: str) -> bool:
    """Whether the component registered as ``name`` serves cluster members only."""
    return name.startswith(INTERNAL_PREFIXES)


class MembersDaemon(Daemon):
    """A Pyro5 daemon that serves only callers holding the cluster secret."""

    def __init__(self, secret: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        guard(self)  # bounded connections and hellos before anyone is authenticated
        # Wall time throughout: hellos are stamped on the caller's host (see handshake).
        self._verifier = Verifier(secret, self._is_mine, started=time.time())
        self._verifier_lock = threading.Lock()

    def _is_mine(self, aim: str) -> bool:
        """Whether a hello's target is an object of ours at an address we listen on."""
        obj, _, location = aim.rpartition("@")
        return obj in self.objectsById and location in (self.locationStr, self.natLocationStr)

    def validateHandshake(self, conn: Any, data: Any) -> Any:
        try:
            with self._verifier_lock:
                return self._verifier.check(data, time.time())
        except HandshakeRefused as exc:
            peer = getattr(conn, "sock", None)
            try:
                address = peer.getpeername() if peer is not None else "?"
            except OSError:
                address = "?"
            log.warning("refused a connection from %s: %s", address, exc)
            raise SecurityError(str(exc)) from None


class MemberProxy(Proxy):
    """A proxy that proves membership when it connects and checks the daemon does too."""

    def __init__(self, uri: Any, secret: str) -> None:
        object.__setattr__(self, "_member_secret", secret)
        object.__setattr__(self, "_member_hello", {})
        super().__init__(uri)
        self._pyroSerializer = "msgpack"  # the only serializer a members' daemon reads

    @property
    def _pyroHandshake(self) -> dict[str, Any]:
        """A fresh hello for the daemon of our URI (a resolved ``PYRO:`` one, as ProxyPool's)."""
        uri = self._pyroUri
        hello = client_hello(self._member_secret, time.time(), target(uri.object, uri.location))
        object.__setattr__(self, "_member_hello", hello)
        return hello

    @_pyroHandshake.setter
    def _pyroHandshake(self, value: Any) -> None:
        """Pyro5's own initial value is ignored: every connection makes a fresh hello."""

    def _pyroValidateHandshake(self, response: Any) -> None:
        try:
            check_server_proof(self._member_secret, self._member_hello, response)
        except HandshakeRefused as exc:
            raise SecurityError(f"{self._pyroUri}: {exc}") from None
