"""Reaching the cluster: one load balancer at a time, another one when it stops answering.

Load balancers are stateless, so any of them can serve any call; the client keeps the one it
uses until it fails (any Pyro5 error, or Unavailable from the balancer itself) and then moves to
another registered one, retrying the same call.

Only balancers that prove they are the cluster's are used (``balancer_proof``): the name-server
entries not signed with the cluster's key (``cluster.pub``) are skipped unseen, and a balancer
must sign the client's nonce when it connects, so an impostor that registered a name, or took
over a real one, never sees a call. A new balancer is found by dialling the verified ones
overlapped (``dialer``), so names that lead nowhere cost a fraction of a second each.

What the user typed and the hold they own live in the client, so nothing is lost on the way.
The list of balancers is cached, so a briefly absent name server does not stop a client that
already found them. A balancer that sheds load says when to come back
(``Unavailable.retry_after``): the client waits that long, with jitter (``backoff``), and asks
it again, for up to ``shed_patience`` seconds in all.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import Pyro5.api
import Pyro5.errors

from ticketing import backoff
from ticketing.client import dialer
from ticketing.errors import Unavailable
from ticketing.names import LOAD_BALANCER_PREFIX, ROOT
from ticketing.security.balancer_proof import BalancerProxy, verified
from ticketing.security.cluster_key import ClusterKey, SigningKey, find_cluster_key
from ticketing.security.membership import MemberProxy, is_internal
from ticketing.server.proxies import name_server_uri

MEMBERS_ONLY = "members only (give the cluster secret: --data-dir or $TICKETING_SECRET)"
UNVERIFIED = "not signed with the cluster's key: an impostor or a stale entry; not used"
NO_KEY_STATE = "not verified (no cluster key: --cluster-key FILE); not used"
NO_KEY = (
    "no cluster key to check load balancers with: pass --cluster-key FILE "
    "(cluster.pub from the cluster's data directory) or --data-dir of the cluster"
)

log = logging.getLogger(__name__)

MAX_RETRY_PAUSE = 2.0  # seconds: the longest pause between two rounds of retries


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
        cluster_key: ClusterKey | None = None,
        connect_timeout: float = dialer.CONNECT_TIMEOUT,
        retry_patience: float = 0.0,
    ) -> None:
        """``cluster_key`` checks the load balancers (see ``find_cluster_key``); without one it
        is derived from ``secret`` or ``$TICKETING_SECRET`` if given, and with none at all no
        balancer is used. ``secret`` (the cluster's, for operators) also lets
        ``cluster_status`` reach the members-only components; without it they show as members
        only. ``connect_timeout`` bounds connecting to one balancer, ``call_timeout`` a call.
        ``retry_patience``: seconds a call refused with ``Unavailable`` by every balancer (no
        quorum, none reachable) is tried again, with growing jittered pauses; 0 (the
        interactive client's choice: a person decides) gives up at once."""
        self.secret = secret
        if cluster_key is None:
            # $TICKETING_SECRET is read as every member reads it (load_secret strips it).
            cluster_key = (
                SigningKey.from_secret(secret).public() if secret else find_cluster_key(None, None)
            )
        self.cluster_key = cluster_key
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.call_timeout = call_timeout
        self.connect_timeout = connect_timeout
        self.status_timeout = status_timeout
        self.shed_patience = shed_patience
        self.retry_patience = retry_patience
        self._rng = rng or random.Random()
        self._known: dict[str, str] = {}
        self._skipped: set[str] = set()
        self._proxies: dict[str, Pyro5.api.Proxy] = {}
        self.current: str | None = None
        """Name of the load balancer in use, None before the first call."""

    # -- the contract's methods -------------------------------------------------------------

    def list_theaters(self) -> list[dict]:
        return self.call("list_theaters")

    def list_catalog(self) -> list[dict]:
        """Our balancers' extension; AttributeError from one without it (see ``catalog_of``)."""
        return self.call("list_catalog")

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
        """Call `method` on the current balancer, or on each other one until one answers;
        when none could, again after a pause, for up to ``retry_patience`` seconds.

        Retrying is safe: Unavailable promises nothing was half-done, holds and bookings are
        all-or-nothing, and booking the same hold twice returns the same ticket.
        """
        deadline = time.monotonic() + self.retry_patience
        pause = backoff.DEFAULT_RETRY_AFTER
        while True:
            try:
                return self._call_each(method, *args)
            except Unavailable as exc:
                wait = backoff.pause(exc.retry_after or pause, self._rng)
                if time.monotonic() + wait > deadline:
                    raise
                time.sleep(wait)
                pause = min(pause * 2, MAX_RETRY_PAUSE)

    def _call_each(self, method: str, *args: Any) -> Any:
        """One round of ``call``: the balancers in turn until one answers."""
        tried: set[str] = set()
        last_unavailable: Unavailable | None = None
        patience = self.shed_patience
        while True:
            name, proxy = self._connected(tried)
            if name is None or proxy is None:
                break
            try:
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
            except Pyro5.errors.PyroError as exc:  # any: the next balancer may do better
                log.info("load balancer %s did not answer %s: %s", name, method, exc)
            else:
                self.current = name
                return result
            tried.add(name)
            self._forget(name)
        if last_unavailable is not None:
            raise last_unavailable
        if self.cluster_key is None:
            raise Unavailable(NO_KEY)
        raise Unavailable(
            f"no load balancer answers (name server {self.ns_host}:{self.ns_port}); "
            "check that the cluster runs, then retry"
        )

    def _connected(self, tried: set[str]) -> tuple[str | None, Pyro5.api.Proxy | None]:
        """The balancer in use if not tried yet, else the first untried one to answer.

        Names that fail to connect are added to ``tried``.
        """
        if self.current is not None and self.current not in tried:
            proxy = self._proxies.get(self.current)
            if proxy is not None:
                return self.current, proxy
        if not self._known or tried:
            self._refresh()
        untried = sorted(set(self._known) - tried)
        self._rng.shuffle(untried)
        if self.current in untried:  # keep the one in use first
            untried.remove(self.current)
            untried.insert(0, self.current)
        found = dialer.dial(untried, self._connect, timeout=self.connect_timeout)
        for name, why in found.failed.items():
            log.info("load balancer %s did not connect: %s", name, why)
            tried.add(name)
            self._forget(name)
        if found.name is None or found.proxy is None:
            return None, None
        self._proxies[found.name] = found.proxy
        self.current = found.name
        return found.name, found.proxy

    def _connect(self, name: str) -> Pyro5.api.Proxy:
        """A proxy connected to ``name`` that proved itself; short timeout until then."""
        proxy = BalancerProxy(self._known[name], self.cluster_key)
        proxy._pyroTimeout = self.connect_timeout
        try:
            proxy._pyroBind()
        except BaseException:
            proxy._pyroRelease()
            raise
        proxy._pyroTimeout = self.call_timeout
        return proxy

    def _refresh(self) -> None:
        """Re-read the balancers from the name server, keeping the verified ones only; keep
        the cache when the name server is away."""
        try:
            listing = self._list_names(LOAD_BALANCER_PREFIX)
        except (Pyro5.errors.CommunicationError, Pyro5.errors.NamingError) as exc:
            log.info("name server away, %d balancers cached: %s", len(self._known), exc)
            return
        self._known, skipped = verified(self.cluster_key, listing)
        for name in set(skipped) - self._skipped:
            log.warning("skipped %s: its entry is not signed with the cluster's key", name)
        self._skipped = set(skipped)

    def _forget(self, name: str) -> None:
        proxy = self._proxies.pop(name, None)
        if proxy is not None:
            proxy._pyroClaimOwnership()
            proxy._pyroRelease()
        if self.current == name:
            self.current = None

    def _list_names(self, prefix: str) -> dict[str, tuple[str, Any]]:
        """The entries under ``prefix``: name -> (URI, metadata)."""
        # A direct URI and a timeout set before connecting: a name server that accepts and
        # never answers costs status_timeout, not Pyro5's 60 s.
        with Pyro5.api.Proxy(name_server_uri(self.ns_host, self.ns_port)) as ns:
            ns._pyroTimeout = self.status_timeout
            found = ns.list(prefix=prefix, return_metadata=True)
        return {name: (str(uri), meta) for name, (uri, meta) in found.items()}

    # -- cluster status ---------------------------------------------------------------------

    def cluster_status(self) -> list[dict]:
        """`status()` of every component registered under "ticketing.", sorted by name.

        A component that does not answer still gets a row, with its error as the state, since
        that is exactly what an operator looks for.
        """
        try:
            listing = self._list_names(ROOT)
        except (Pyro5.errors.CommunicationError, Pyro5.errors.NamingError) as exc:
            raise Unavailable(
                f"the name server at {self.ns_host}:{self.ns_port} does not answer ({exc}); "
                "start it or pass --ns-host/--ns-port"
            ) from exc
        balancers = {n: entry for n, entry in listing.items() if n.startswith(LOAD_BALANCER_PREFIX)}
        signed, _ = verified(self.cluster_key, balancers)
        rows = []
        for name, (uri, _meta) in sorted(listing.items()):
            member = is_internal(name)
            if member and self.secret is None:
                rows.append({"name": name, "registered_as": name, "state": MEMBERS_ONLY})
                continue
            if name in balancers and name not in signed:
                state = UNVERIFIED if self.cluster_key is not None else NO_KEY_STATE
                rows.append({"name": name, "registered_as": name, "state": state})
                continue
            try:
                if member:
                    proxy = MemberProxy(uri, self.secret)
                elif name in signed:
                    proxy = BalancerProxy(uri, self.cluster_key)
                else:
                    proxy = Pyro5.api.Proxy(uri)
                with proxy:
                    proxy._pyroTimeout = self.status_timeout
                    status = dict(proxy.status())
            except Exception as exc:  # one dead component must not hide the others
                status = {"state": f"unreachable: {type(exc).__name__}"}
            status.setdefault("name", name)
            status["registered_as"] = name
            rows.append(status)
        return rows

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        for name in list(self._proxies):
            self._forget(name)
