"""Reaching peers by name: cached URIs, pooled proxies, one retry, clear failures.

Components find each other only through the name server, yet must keep working
while it is briefly down, so a name is looked up once and its URI kept for the
life of the process; it is looked up again only when the peer stops answering
(it may have restarted on another port), and kept as is when the name server
cannot be reached.

A Pyro5 proxy belongs to one thread. ``call`` borrows a connected proxy from a
per-name pool and claims it for the calling thread, so a process holds as many
connections to a peer as it runs calls at once (not one per thread that ever
called), which keeps the peers' worker pools small. ``get`` gives a thread its
own proxy for code that wants one to keep.

Every proxy has a timeout, and every failure to reach a peer becomes
``ticketing.errors.Unavailable`` naming the peer.

With the cluster secret (given, or from ``TICKETING_SECRET``) every proxy to a
peer proves membership when it connects (``ticketing.security.membership``);
the name server, which is public, gets a plain one.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from Pyro5 import config
from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError, NamingError
from Pyro5.errors import TimeoutError as PyroTimeoutError

from ticketing import settings
from ticketing.errors import Unavailable
from ticketing.security.membership import MemberProxy, is_internal
from ticketing.security.secret import ENV_VAR
from ticketing.server import pyro_config

log = logging.getLogger(__name__)

NAME_SERVER_OBJECT = "Pyro.NameServer"
_SWEEP_INTERVAL = 1.0  # seconds between sweeps of idle pooled proxies


def name_server_uri(ns_host: str, ns_port: int) -> str:
    """The direct URI of the name server, so no broadcast lookup is ever tried."""
    host = f"[{ns_host}]" if ":" in ns_host else ns_host
    return f"PYRO:{NAME_SERVER_OBJECT}@{host}:{ns_port}"


class ProxyPool:
    """Proxies to the components registered in one name server.

    Thread-safe; one per process is enough. ``timeout`` bounds every call
    (seconds), to the name server and to peers alike.
    """

    def __init__(
        self,
        ns_host: str,
        ns_port: int,
        timeout: float = settings.PROXY_TIMEOUT,
        secret: str | None = None,
    ) -> None:
        pyro_config.configure()
        self._secret = secret if secret is not None else os.environ.get(ENV_VAR)
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.timeout = timeout
        # Pooled proxies idle longer than this are closed by us before the
        # peer's server closes them (after COMMTIMEOUT) and logs a warning.
        self._max_idle = config.COMMTIMEOUT / 2 if config.COMMTIMEOUT else 30.0
        self._lock = threading.Lock()
        self._uris: dict[str, str] = {}
        self._lists: dict[str, dict[str, str]] = {}
        self._idle: dict[str, list[tuple[Proxy, float]]] = {}
        self._last_sweep = time.monotonic()
        self._ns_lock = threading.Lock()
        self._ns_proxy: Proxy | None = None
        self._local = threading.local()

    # -- peers -------------------------------------------------------------

    def call(self, name: str, method: str, *args: Any, **kwargs: Any) -> Any:
        """Call ``method`` on the component registered as ``name``.

        When the peer cannot be reached, the proxy is dropped, the name looked
        up again (if the name server answers) and the call tried once more, so
        a peer that restarted on a new port is found again. A peer that took
        the call and did not answer in time (paused, hung, overloaded) is tried
        again only at a new address: at the same one, a second try would cost
        the caller a second full timeout and every caller behind it would wait
        as long, where ``Unavailable`` lets a replica group move on to the
        next replica at once. A second failure raises ``Unavailable``.
        Exceptions the peer raises itself pass through unchanged.
        """
        try:
            return self._call_once(name, method, args, kwargs)
        except PyroTimeoutError as exc:
            log.info("call %s.%s timed out (%s); looking it up again", name, method, exc)
            tried = self.resolve(name)  # the cached address the call went to
            uri = self.resolve(name, refresh=True)
            if uri == tried:
                raise _not_answering(name, uri, exc) from exc
        except CommunicationError as exc:
            log.info("call %s.%s failed (%s); looking it up again", name, method, exc)
            uri = self.resolve(name, refresh=True)
        try:
            return self._call_once(name, method, args, kwargs)
        except CommunicationError as exc:
            raise _not_answering(name, uri, exc) from exc

    def _call_once(self, name: str, method: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        proxy = self._checkout(name)
        try:
            result = getattr(proxy, method)(*args, **kwargs)
        except CommunicationError:
            self._close(proxy)
            raise
        except BaseException:
            self._checkin(name, proxy)  # the peer raised: the connection is fine
            raise
        self._checkin(name, proxy)
        return result

    def get(self, name: str) -> Proxy:
        """This thread's own proxy to ``name``, made on first use and kept.

        It follows the pool's URI cache: after ``call`` or ``resolve`` learned
        a new address for ``name``, the next ``get`` returns a fresh proxy.
        Pyro5 reconnects it by itself after a broken connection, but does not
        retry; use ``call`` for that.
        """
        uri = self.resolve(name)
        proxies: dict[str, Proxy] = self._local.__dict__.setdefault("proxies", {})
        proxy = proxies.get(name)
        if proxy is None or proxy._pool_uri != uri:
            if proxy is not None:
                proxy._pyroRelease()
            proxy = self._new_proxy(uri, name)
            proxies[name] = proxy
        return proxy

    # -- the name server ---------------------------------------------------

    def resolve(self, name: str, refresh: bool = False) -> str:
        """The URI of ``name``: cached, or looked up in the name server.

        With ``refresh`` it is looked up again, but the cached URI is kept
        (and returned) when the name server is unreachable.
        """
        with self._lock:
            cached = self._uris.get(name)
        if cached is not None and not refresh:
            return cached
        try:
            uri = str(self._ns_call("lookup", name))
        except NamingError:
            with self._lock:
                self._uris.pop(name, None)
            raise Unavailable(
                f"{name} is not registered in the name server at "
                f"{self.ns_host}:{self.ns_port}; is it running?"
            ) from None
        except Unavailable:
            if cached is not None:
                return cached
            raise
        with self._lock:
            self._uris[name] = uri
        return uri

    def list(self, prefix: str, refresh: bool = False) -> dict[str, str]:
        """The registered names starting with ``prefix`` and their URIs.

        Cached per prefix; ``refresh`` asks the name server again, falling
        back to the cached answer when it is unreachable.
        """
        with self._lock:
            cached = self._lists.get(prefix)
        if cached is not None and not refresh:
            return dict(cached)
        try:
            found = {str(k): str(v) for k, v in self._ns_call("list", prefix=prefix).items()}
        except Unavailable:
            if cached is not None:
                return dict(cached)
            raise
        with self._lock:
            self._lists[prefix] = found
            self._uris.update(found)
        return dict(found)

    def entries(self, prefix: str) -> dict[str, tuple[str, Any]]:
        """The registered names starting with ``prefix``, each with its URI and metadata,
        fresh from the name server (to check signed entries, ``balancer_proof.verified``)."""
        found = self._ns_call("list", prefix=prefix, return_metadata=True)
        return {str(k): (str(uri), metadata) for k, (uri, metadata) in found.items()}

    def _ns_call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """One call to the name server through the shared, lock-guarded proxy.

        The name server closes connections idle for a while, so a first
        communication failure is retried once on a new connection.
        """
        with self._ns_lock:
            try:
                return self._ns_call_once(method, args, kwargs)
            except CommunicationError:
                pass
            try:
                return self._ns_call_once(method, args, kwargs)
            except CommunicationError as exc:
                raise Unavailable(
                    f"the name server at {self.ns_host}:{self.ns_port} is unreachable "
                    f"({exc}); is the name server (ticketing-nameserver or run/nameserver.py) "
                    "running?"
                ) from exc

    def _ns_call_once(self, method: str, args: tuple, kwargs: dict[str, Any]) -> Any:
        if self._ns_proxy is None:
            self._ns_proxy = Proxy(name_server_uri(self.ns_host, self.ns_port))
            self._ns_proxy._pyroTimeout = self.timeout
        self._ns_proxy._pyroClaimOwnership()
        return getattr(self._ns_proxy, method)(*args, **kwargs)

    # -- pooled proxies ----------------------------------------------------

    def _new_proxy(self, uri: str, name: str) -> Proxy:
        """A member's proxy to an internal component; a plain one to a public one."""
        member = self._secret and is_internal(name)
        proxy = MemberProxy(uri, self._secret) if member else Proxy(uri)
        if member:
            proxy._pyroSerializer = pyro_config.INTERNAL_SERIALIZER
        proxy._pyroTimeout = self.timeout
        # The URI as text, kept: rebuilding it from the proxy on every call costs.
        object.__setattr__(proxy, "_pool_uri", uri)
        return proxy

    def _checkout(self, name: str) -> Proxy:
        uri = self.resolve(name)
        stale: list[Proxy] = []
        found: Proxy | None = None
        now = time.monotonic()
        with self._lock:
            stack = self._idle.get(name, [])
            while stack and found is None:
                proxy, since = stack.pop()
                if now - since < self._max_idle and proxy._pool_uri == uri:
                    found = proxy
                else:
                    stale.append(proxy)
        for proxy in stale:
            self._close(proxy)
        if found is None:
            return self._new_proxy(uri, name)
        found._pyroClaimOwnership()
        return found

    def _checkin(self, name: str, proxy: Proxy) -> None:
        now = time.monotonic()
        stale: list[Proxy] = []
        with self._lock:
            self._idle.setdefault(name, []).append((proxy, now))
            if now - self._last_sweep >= _SWEEP_INTERVAL:
                self._last_sweep = now
                for stack in self._idle.values():
                    keep = [(p, t) for p, t in stack if now - t < self._max_idle]
                    stale.extend(p for p, t in stack if now - t >= self._max_idle)
                    stack[:] = keep
        for old in stale:
            self._close(old)

    def close(self) -> None:
        """Close the pooled connections and the name-server connection."""
        with self._lock:
            idle = [proxy for stack in self._idle.values() for proxy, _ in stack]
            self._idle.clear()
        for proxy in idle:
            self._close(proxy)
        with self._ns_lock:
            if self._ns_proxy is not None:
                self._close(self._ns_proxy)
                self._ns_proxy = None

    @staticmethod
    def _close(proxy: Proxy) -> None:
        proxy._pyroClaimOwnership()
        proxy._pyroRelease()


def _not_answering(name: str, uri: str, exc: CommunicationError) -> Unavailable:
    return Unavailable(
        f"{name} is not answering at {uri} ({exc}); it may be down or overloaded, retry later"
    )
