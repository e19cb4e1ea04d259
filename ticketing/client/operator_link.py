"""The operator's line to the data store manager, which serves the operator API (``admin_*``).

The manager serves members only, so every call proves the cluster secret (``MemberProxy``);
a client without it refuses ``admin`` commands before sending anything. A change is never
re-sent by this link: after a lost answer the change may have been made, so the person is told
to look (``theaters``, ``admin report``) rather than have it applied twice.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

import Pyro5.api
import Pyro5.errors

from ticketing.errors import InvalidRequest, Unavailable
from ticketing.names import DATASTORE_MANAGER
from ticketing.security.membership import MemberProxy
from ticketing.server.proxies import name_server_uri

NEEDS_SECRET = (
    "admin commands need the cluster secret: run the client with --data-dir of the cluster "
    "(its cluster.secret, readable by you only) or set $TICKETING_SECRET; nothing was changed"
)
CALL_TIMEOUT = 30.0
"""Seconds for one operator call: adding a theater first asks every data cluster."""

log = logging.getLogger(__name__)


class OperatorApi(Protocol):
    """The manager's operator API as the client calls it (see ``DataStoreManager``)."""

    def call(self, method: str, *args: Any) -> Any: ...


class OperatorLink:
    """Calls ``admin_*`` on the data store manager with the cluster secret."""

    def __init__(
        self,
        ns_host: str,
        ns_port: int,
        secret: str | None,
        *,
        timeout: float = CALL_TIMEOUT,
        ns_timeout: float = 3.0,
    ) -> None:
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.secret = secret
        self.timeout = timeout
        self.ns_timeout = ns_timeout
        self._proxy: MemberProxy | None = None

    def call(self, method: str, *args: Any) -> Any:
        """``method`` of the manager; its refusals pass through as themselves."""
        if self.secret is None:
            raise InvalidRequest(NEEDS_SECRET)
        proxy = self._connected()
        try:
            proxy._pyroClaimOwnership()  # completion may have connected it in another thread
            return getattr(proxy, method)(*args)
        except AttributeError:
            raise InvalidRequest(
                f"the data store manager has no {method}; it predates the operator API, "
                "upgrade and restart it"
            ) from None
        except Pyro5.errors.PyroError as exc:
            self.close()
            log.info("the data store manager did not answer %s: %s", method, exc)
            raise Unavailable(
                f"the data store manager did not answer ({exc}); a change may or may not "
                "have been made: look with theaters or admin report before trying again"
            ) from None

    def _connected(self) -> MemberProxy:
        """A proxy to the manager, looked up in the name server on first use."""
        if self._proxy is not None:
            return self._proxy
        try:
            with Pyro5.api.Proxy(name_server_uri(self.ns_host, self.ns_port)) as ns:
                ns._pyroTimeout = self.ns_timeout
                uri = ns.lookup(DATASTORE_MANAGER)
        except Pyro5.errors.NamingError:
            raise Unavailable(
                f"no data store manager is registered in the name server at "
                f"{self.ns_host}:{self.ns_port}; start the cluster, then retry"
            ) from None
        except Pyro5.errors.PyroError as exc:
            raise Unavailable(
                f"the name server at {self.ns_host}:{self.ns_port} does not answer ({exc}); "
                "start it or pass --ns-host/--ns-port"
            ) from None
        proxy = MemberProxy(uri, self.secret or "")
        proxy._pyroTimeout = self.timeout
        try:
            proxy._pyroBind()  # connect first: a refusal now means nothing was sent
        except Pyro5.errors.PyroError as exc:
            proxy._pyroRelease()
            if isinstance(exc, Pyro5.errors.SecurityError) or "rejected" in str(exc):
                raise InvalidRequest(
                    f"the data store manager refused this cluster secret ({exc}); use the "
                    "cluster's own (--data-dir or $TICKETING_SECRET); nothing was changed"
                ) from None
            raise Unavailable(
                f"cannot reach the data store manager ({exc}); nothing was changed, retry later"
            ) from None
        self._proxy = proxy
        return proxy

    def close(self) -> None:
        if self._proxy is not None:
            self._proxy._pyroRelease()
            self._proxy = None
