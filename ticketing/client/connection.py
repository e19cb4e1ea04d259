"""Reaching the cluster: one load balancer at a time, another one when it stops answering.

Load balancers are stateless, so any of them can serve any call; the client keeps the one it
uses until it fails (a CommunicationError, or Unavailable from the balancer itself) and then
moves to another registered one, retrying the same call. What the user typed and the hold they
own live in the client, so nothing is lost on the way. The list of balancers is cached, so a
briefly absent name server does not stop a client that already found them. A balancer that
sheds load says when to come back (``Unavailable.retry_after``): the client waits that long,
with jitter (``backoff``), and asks it again, for up to ``shed_patience`` seconds in all.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import Pyro5.api
import Pyro5.errors

from ticketing import backoff
from ticketing.errors import Unavailable
from ticketing.names import LOAD_BALANCER_PREFIX, ROOT
from ticketing.security.membership import MemberProxy, is_internal
from ticketing.server.proxies import name_server_uri

MEMBERS_ONLY = "members only (give the cluster secret: --data-dir or $TICKETING_SECRET)"

log = logging.getLogger(__name__)


class Connection:
    """A `LoadBalancerApi` that fails over between the registered load balancers."""

    def __init__(
        self,
        ns_host: str,
        ns_port: int,
        *,
        call_timeout: float = 10.0,
        status_timeout: float = 3.0,
        rng: random.Random | None = None,
        secret: str | None = None,
        shed_patience: float = 10.0,
    ) -> None:
        """``secret`` (the cluster's, for operators) lets ``cluster_status`` reach the
        members-only components; without it they show as members only."""
        self.secret = secret
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.call_timeout = call_timeout
        self.status_timeout = status_timeout
        self.shed_patience = shed_patience
        self._rng = rng or random.Random()
        self._known: dict[str, str] = {}
        self._proxies: dict[str, Pyro5.api.Proxy] = {}
        self.current: str | None = None
        """Name of the load balancer in use, None before the first call."""

    # -- the contract's methods -------------------------------------------------------------

    def list_theaters(self) -> list[dict]:
        return self.call("list_theaters")

    def get_available_seats(self, theater: str, event: str) -> list[str]:
        return self.call("get_available_seats", theater, event)

    def get_seat_map(self, theater: str, event: str) -> dict:
        return self.call("get_seat_map", theater, event)

    def get_seat_states(self, theater: str, event: str) -> dict:
        return self.call("get_seat_states", theater, event)

    def block_seats(self, theater: str, event: str, seats: list[str]) -> dict:
        return self.call("block_seats", theater, event, seats)

    def block_best_available(self, theater: str, event: str, count: int) -> dict:
        return self.call("block_best_available", theater, event, count)

    def release_hold(self, hold_id: str) -> bool:
        return self.call("release_hold", hold_id)

    def book_ticket(self, hold_id: str, name: str, email: str) -> dict:
        return self.call("book_ticket", hold_id, name, email)

    def get_ticket_details(self, theater: str, ticket_no: str) -> dict:
        return self.call("get_ticket_details", theater, ticket_no)

    def delete_ticket(self, theater: str, ticket_no: str) -> bool:
        return self.call("delete_ticket", theater, ticket_no)

    # -- failover ---------------------------------------------------------------------------

    def call(self, method: str, *args: Any) -> Any:
        """Call `method` on the current balancer, or on each other one until one answers.

        Retrying is safe: Unavailable promises nothing was half-done, holds and bookings are
        all-or-nothing, and booking the same hold twice returns the same ticket.
        """
        tried: set[str] = set()
        last_unavailable: Unavailable | None = None
        patience = self.shed_patience
        while True:
            name = self._pick(tried)
            if name is None:
                break
            try:
                proxy = self._proxy(name)
                proxy._pyroClaimOwnership()
                result = getattr(proxy, method)(*args)
            except Unavailable as exc:
                last_unavailable = exc
                if exc.retry_after is not None:  # busy, not broken: ask again when it says
                    wait = backoff.pause(exc.retry_after, self._rng)
                    if wait <= patience:
                        patience -= wait
                        time.sleep(wait)
                        continue
            except Pyro5.errors.CommunicationError as exc:
                log.info("load balancer %s did not answer %s: %s", name, method, exc)
            else:
                self.current = name
                return result
            tried.add(name)
            self._forget(name)
        if last_unavailable is not None:
            raise last_unavailable
        raise Unavailable(
            f"no load balancer answers (name server {self.ns_host}:{self.ns_port}); "
            "check that the cluster runs, then retry"
        )

    def _pick(self, tried: set[str]) -> str | None:
        """The current balancer if it was not tried yet, else a random untried one."""
        if self.current is not None and self.current not in tried:
            return self.current
        if not self._known or tried:
            self._refresh()
        untried = sorted(set(self._known) - tried)
        if not untried:
            return None
        self.current = self._rng.choice(untried)
        return self.current

    def _refresh(self) -> None:
        """Re-read the balancers from the name server; keep the cache when it is away."""
        try:
            self._known = self._list_names(LOAD_BALANCER_PREFIX)
        except (Pyro5.errors.CommunicationError, Pyro5.errors.NamingError) as exc:
            log.info("name server away, %d balancers cached: %s", len(self._known), exc)

    def _proxy(self, name: str) -> Pyro5.api.Proxy:
        proxy = self._proxies.get(name)
        if proxy is None:
            proxy = Pyro5.api.Proxy(self._known[name])
            proxy._pyroTimeout = self.call_timeout
            self._proxies[name] = proxy
        return proxy

    def _forget(self, name: str) -> None:
        proxy = self._proxies.pop(name, None)
        if proxy is not None:
            proxy._pyroClaimOwnership()
            proxy._pyroRelease()
        if self.current == name:
            self.current = None

    def _list_names(self, prefix: str) -> dict[str, str]:
        # Not locate_ns: it connects before a timeout can be set (Pyro5's default: none).
        with Pyro5.api.Proxy(name_server_uri(self.ns_host, self.ns_port)) as ns:
            ns._pyroTimeout = self.status_timeout  # connecting included
            return {name: str(uri) for name, uri in ns.list(prefix=prefix).items()}

    # -- cluster status ---------------------------------------------------------------------

    def cluster_status(self) -> list[dict]:
        """`status()` of every component registered under "ticketing.", sorted by name.

        A component that does not answer still gets a row, with its error as the state, since
        that is exactly what an operator looks for.
        """
        try:
            names = self._list_names(ROOT)
        except (Pyro5.errors.CommunicationError, Pyro5.errors.NamingError) as exc:
            raise Unavailable(
                f"the name server at {self.ns_host}:{self.ns_port} does not answer ({exc}); "
                "start it or pass --ns-host/--ns-port"
            ) from exc
        rows = []
        for name, uri in sorted(names.items()):
            member = is_internal(name)
            if member and self.secret is None:
                rows.append({"name": name, "registered_as": name, "state": MEMBERS_ONLY})
                continue
            try:
                proxy = MemberProxy(uri, self.secret) if member else Pyro5.api.Proxy(uri)
                with proxy:
                    proxy._pyroTimeout = self.status_timeout
                    status = dict(proxy.status())
            except Exception as exc:  # one dead component must not hide the others
                status = {"state": f"unreachable: {type(exc).__name__}"}
            status.setdefault("name", name)
            status["registered_as"] = name
            rows.append(status)
        return rows

    def close(self) -> None:
        for name in list(self._proxies):
            self._forget(name)
