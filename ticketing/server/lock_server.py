"""A lock server: one replica of the lock store (holds as leases with fencing tokens).

Holds are granted only through the log. Refusals, the common answer in an
on-sale rush, are answered from this replica's own applied state whenever it
heard from its coordinator within ``FRESH`` seconds: no remote call and no
consensus round. Such a refusal may be that much out of date (a seat freed a
moment ago may still be refused once); it never grants anything, so the lock
table's guarantees do not depend on it. A replica that heard nothing for
longer confirms a refusal behind a read barrier first.

With several lock groups (``lock_placement``), a server refuses any event
placed in another group, and any hold id drawn for another group when it is
acquired, looked up or released: two groups granting holds on one seat would
break mutual exclusion, so a load balancer started with another
``--lock-groups`` gets a clear error instead. Settles and frees are sent to
the event's group and take any hold id: a booking made without a hold of ours
(by a rogue member) still needs its sold mark where holds on its seats are
decided.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.catalog import Catalog, Theater
from ticketing.domain.lock_commands import Acquire, AcquireBest, Free, Release, Settle
from ticketing.domain.lock_placement import LockPlacement
from ticketing.domain.lock_table import LockTable, seats_taken, too_few_free
from ticketing.errors import InvalidRequest, SeatsUnavailable
from ticketing.security.secret import require_secret
from ticketing.server import validation
from ticketing.server.boundary import contract_errors
from ticketing.server.catalog_follower import CatalogFollower
from ticketing.server.cli import (
    load_placement,
    lock_data_dir,
    lock_group_of,
    lock_groups_flag,
    replica_parser,
)
from ticketing.server.hosting import serve
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_host import ReplicaHost
from ticketing.server.replica_server import ReplicaServer

T = TypeVar("T")

log = logging.getLogger(__name__)

# Set to "1" in a lock server's environment to run the deliberately broken
# variant that forgets sold marks (settles are dropped): booked seats look free
# once their hold ends. Only for showing the fault checker at work.
UNSAFE_FORGET_SOLD = "TICKETING_UNSAFE_FORGET_SOLD"


@expose
class LockServer(ReplicaServer):
    """Every argument is checked against the catalog before anything is proposed.

    The lock table trusts its commands to name real seats; callers are members
    of the cluster, but a bug or a stale peer must not put garbage in the log.
    """

    role = "lock server"

    # A hold ending this soon is left to the log to judge: the coordinator's
    # stamped time, not this replica's clock, says when a hold has expired.
    # Local reads of expiry therefore use the wall clock (``time.time()``), the
    # clock the stamps are on, trusting member hosts to agree within this margin.
    CLOCK_MARGIN = 1.0
    # How recently this replica must have heard from its coordinator to refuse
    # from its own state (see the module's docstring).
    FRESH = 1.0

    def __init__(
        self,
        *args: Any,
        follower: CatalogFollower,
        group: int = 1,
        forget_sold: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._follower = follower
        self._group = group
        self._forget_sold = forget_sold  # the broken variant (UNSAFE_FORGET_SOLD)
        self._refused_locally = counters.Counter()  # holds refused without a log round

    @contract_errors
    def acquire(
        self, hold_id: str, theater: str, event: str, seats: list[str], ttl: float
    ) -> dict[str, Any]:
        """All-or-nothing hold of ``seats`` for ``ttl`` seconds; SeatsUnavailable if taken."""
        hold_id = self._own_hold(hold_id)
        found = self._own_event(theater, event, on_sale=True)
        seats = validation.seat_list(found, seats, self._catalog.max_seats_per_booking)
        ttl = self._ttl(ttl)
        taken = self._refusal(
            lambda table: table.held_among(
                found.id, event, seats, hold_id, time.time() + self.CLOCK_MARGIN
            )
        )
        if taken:
            raise self._with_alternative(seats_taken(taken), found, event, len(seats))
        try:
            return self._grant(Acquire(hold_id, found.id, event, tuple(seats), ttl))
        except SeatsUnavailable as exc:
            raise self._with_alternative(exc, found, event, len(seats)) from None

    @contract_errors
    def acquire_best(
        self, hold_id: str, theater: str, event: str, count: int, ttl: float
    ) -> dict[str, Any]:
        """Hold the ``count`` best free seats, chosen by the log; SeatsUnavailable if too few."""
        hold_id = self._own_hold(hold_id)
        found = self._own_event(theater, event, on_sale=True)
        count = validation.seat_count(count, self._catalog.max_seats_per_booking)
        ttl = self._ttl(ttl)
        seat_map = found.seat_map

        def too_few(table: LockTable) -> SeatsUnavailable | None:
            if table.hold(hold_id, time.time()) is not None:
                return None  # a retry: the log answers it with the hold granted
            free = table.free_count(found.id, event, seat_map)
            return too_few_free(free, count) if free < count else None

        refusal = self._refusal(too_few)
        if refusal is not None:
            raise refusal
        command = AcquireBest(
            hold_id, found.id, event, count, seat_map.rows, seat_map.seats_per_row, ttl
        )
        return self._grant(command)

    def _grant(self, command: Acquire | AcquireBest) -> dict[str, Any]:
        """The hold the log grants for ``command``, as plain data."""
        result = self._write(f"acquire:{command.hold_id}", command.to_plain())
        return {k: v for k, v in result.items() if k != "ok"}

    @property
    def _catalog(self) -> Catalog:
        return self._follower.catalog

    @property
    def _placement(self) -> LockPlacement:
        return self._follower.placement

    def _own_event(self, theater: Any, event: Any, on_sale: bool = False) -> Theater:
        """The checked theater of ``event`` (on sale, with ``on_sale``), which must be placed
        in this server's group; a theater or event unknown here is looked for in a fresh
        catalog first (``CatalogFollower``)."""
        check = validation.theater_on_sale if on_sale else validation.theater_event
        found = self._follower.checked(lambda catalog: check(catalog, theater, event))
        group = self._placement.event_group(found.id, event)
        if group != self._group:
            raise self._elsewhere(f"event {event} at {found.id}", group)
        return found

    def _own_hold(self, hold_id: Any) -> str:
        """The checked ``hold_id``, which must belong to this server's group."""
        hold_id = validation.hold_id(hold_id)
        group = self._placement.hold_group(hold_id)
        if group != self._group:
            raise self._elsewhere(f"hold {hold_id}", group)
        return hold_id

    def _elsewhere(self, what: str, group: int) -> InvalidRequest:
        return InvalidRequest(
            f"{what} is kept by lock group {group}, not by this server's group {self._group}; "
            f"are the load balancers and lock servers started with the same --lock-groups "
            f"({self._placement.groups} here) and catalog?"
        )

    def _ttl(self, ttl: Any) -> float:
        ttl = validation.seconds(ttl, "ttl", positive=True)
        if ttl > self._catalog.hold_ttl:
            raise InvalidRequest(f"ttl {ttl}s is longer than the catalog's hold_ttl")
        return ttl

    def _refusal(self, query: Callable[[LockTable], T]) -> T:
        """``query``'s answer when it is a refusal (truthy) this replica may give on its own.

        A falsy answer (nothing stands in the way) is returned as it is: the
        log decides. A truthy one is trusted if this replica heard from its
        coordinator within ``FRESH`` seconds, else confirmed behind a read
        barrier.
        """
        answer = self._host.read(query)
        if answer and not self._host.heard_within(self.FRESH):
            self._sync()
            answer = self._host.read(query)
        if answer:
            self._refused_locally.add()
        return answer

    def _with_alternative(
        self, refusal: SeatsUnavailable, theater: Theater, event: str, count: int
    ) -> SeatsUnavailable:
        """``refusal`` offering the seats a best-available hold of ``count`` would get now."""
        offer = self._host.read(
            lambda table: table.best_free(theater.id, event, theater.seat_map, count)
        )
        return SeatsUnavailable(str(refusal), refusal.seats, offer)

    @contract_errors
    def status(self) -> dict[str, Any]:
        return {
            **super().status(),
            "lock_group": self._group,
            "holds_refused_locally": self._refused_locally.value,
        }

    @contract_errors
    def release(self, hold_id: str) -> bool:
        return self.release_all([hold_id])

    @contract_errors
    def release_all(self, hold_ids: list[str]) -> bool:
        """Release many holds in one round through the log (idempotent)."""
        hold_ids = [self._own_hold(h) for h in validation.hold_ids(hold_ids)]
        commands = [(f"release:{h}", Release(h).to_plain()) for h in hold_ids]
        if commands:
            self._write_many(commands)
        return True

    @contract_errors
    def settle_all(self, settlements: list[list[Any]]) -> bool:
        """Booked holds become sold marks, many in one round.

        Each settlement is ``[hold_id, theater, event, seats]``.
        """
        if not isinstance(settlements, list | tuple) or len(settlements) > validation.MAX_HOLD_IDS:
            raise InvalidRequest("settlements must be a list of [hold_id, theater, event, seats]")
        commands = []
        for item in settlements:
            if not isinstance(item, list | tuple) or len(item) != 4:
                raise InvalidRequest(f"not a settlement [hold_id, theater, event, seats]: {item!r}")
            # The hold id is not checked against the group: a booking made
            # without a hold of ours (a rogue member's) still needs its mark here.
            hold_id = validation.hold_id(item[0])
            found = self._own_event(item[1], item[2])
            seats = validation.seat_list(found, item[3], self._catalog.max_seats_per_booking)
            settle = Settle(hold_id, found.id, item[2], tuple(seats))
            commands.append((f"settle:{hold_id}", settle.to_plain()))
        if commands and not self._forget_sold:
            self._write_many(commands)
        return True

    @contract_errors
    def free_all(self, hold_ids: list[str]) -> bool:
        """The tickets booked with ``hold_ids`` were cancelled: their seats can be held again."""
        hold_ids = validation.hold_ids(hold_ids)  # sent to the event's group: any id may be here
        commands = [(f"free:{h}", Free(h).to_plain()) for h in hold_ids]
        if commands:
            self._write_many(commands)
        return True

    @contract_errors
    def get_hold(self, hold_id: str) -> dict[str, Any] | None:
        hold_id = self._own_hold(hold_id)
        return self._read(lambda table: table.hold(hold_id, time.time()), lambda h: h is None)

    @contract_errors
    def held_seats(self, theater: str, event: str) -> list[str]:
        """Seats on hold now; read locally (the lock table is the guard, not this view)."""
        theater = self._own_event(theater, event).id
        return sorted(self._host.read(lambda table: table.held_seats(theater, event, time.time())))


def main(argv: list[str] | None = None) -> None:
    parser = replica_parser(
        "A lock server: one replica of the replicated lock table.", catalog=True
    )
    parser.add_argument("--replicas", type=int, default=3, help="lock servers in all (3)")
    lock_groups_flag(parser, group=True)
    args = parser.parse_args(argv)
    group = lock_group_of(parser, args)
    catalog, _ = load_placement(args)
    name = names.lock_server(args.id, group)
    peers = [names.lock_server(i, group) for i in range(1, args.replicas + 1)]
    coordinator = names.lock_coordinator(group)
    data_dir = lock_data_dir(Path(args.data_dir), group)
    data_dir.mkdir(parents=True, exist_ok=True)
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, secret=secret)
    host = ReplicaHost(
        name, peers, LockTable(), data_dir / f"server-{args.id}.sqlite", pool, args.recover_from
    )
    follower = CatalogFollower(pool, catalog, args.lock_groups)
    forget_sold = os.environ.get(UNSAFE_FORGET_SOLD) == "1"
    if forget_sold:
        log.warning("%s=1: sold marks are dropped (a broken variant for tests)", UNSAFE_FORGET_SOLD)
    server = LockServer(
        name,
        host,
        coordinator,
        pool,
        follower=follower,
        group=group or 1,
        forget_sold=forget_sold,
    )
    host.start(also_resolve=[coordinator])
    follower.start()
    try:
        serve(server, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)
    finally:
        follower.stop()
        host.stop()
        pool.close()
