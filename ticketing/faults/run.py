"""A fault run: concurrent clients on a hot set of seats, a seeded nemesis, then the checker.

Clients use the real client connection (``ticketing.client.connection``,
failing over between load balancers) and run random user flows: view the
seat map, hold one or two seats (hot seats they name, or half the time the
best available ones, which the system picks; an explicit hold refused with
an alternative takes it now and then), then book, release or abandon the
hold, and cancel their own tickets now and then so the seats come back
(each client's first ticket, and a few others, only after their hold would
have expired: the lock store then knows their seats by sold marks alone).
Every call is recorded with its start, end and outcome: ok, refused (a
contract error other than ``Unavailable``: nothing happened) or unknown
(``Unavailable``, a lost reply, a timeout: it may or may not have happened).

Meanwhile an operator (``operator``) changes the catalog through the data
store manager: it adds events, which the clients then hold and book too,
retitles and reschedules, stops and resumes sales, and cancels some of the
events it added; its calls are recorded the same way.

After the last fault is healed the clients stop, holds are left to expire (so
no booking can still be decided), and the end state is read: which tickets
live, what the unknown books made, the seat maps, the replicas' digests, each
event's sales and the refunds of the cancelled ones.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from ticketing import names
from ticketing.catalog import CANCELLED, Catalog, load_catalog
from ticketing.client.connection import Connection
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.domain.seat_commands import Booking
from ticketing.errors import TicketingError, TicketNotFound, Unavailable
from ticketing.faults.catalog_rules import retry_refused
from ticketing.faults.checker import Anomaly, check
from ticketing.faults.figures import Figures, figures
from ticketing.faults.history import (
    BOOK,
    CANCEL,
    CANCEL_EVENT,
    HOLD,
    OK,
    READ,
    REFUSED,
    RELEASE,
    UNKNOWN,
    Fault,
    FinalState,
    History,
    Operation,
)
from ticketing.faults.netns import Hosts
from ticketing.faults.operator import Events, Hot, operator_loop
from ticketing.faults.schedule import NETNS_KINDS, PARTITION, PAUSE, PlannedFault, plan_faults
from ticketing.faults.spread import SpreadTarget
from ticketing.faults.target import LocalTarget
from ticketing.server.data_routes import DataRoutes
from ticketing.server.datastore import UNSAFE_IGNORE_SALES, UNSAFE_NO_SEAT_CHECK
from ticketing.server.lock_server import UNSAFE_FORGET_SOLD

log = logging.getLogger(__name__)

# The seats everybody fights over, of each event a catalog may have: the small
# catalog has the first two; ticketing/catalog_files/groups.toml all four, which
# gives every lock group some of them with 2, 3 or 4 groups.
HOT = {
    ("AMC", "alien"): ("A1", "A2", "A3", "B1", "B2", "B3"),
    ("REG", "arrival"): ("A1", "A2", "A3", "A4"),
    ("AMC", "gravity"): ("A1", "A2", "A3", "B1", "B2", "B3"),
    ("REG", "casablanca"): ("A1", "A2", "A3", "A4"),
}
HOLD_TTL = 4.0  # the small catalog's hold_ttl
CALL_TIMEOUT = 8.0  # seconds a client waits for one load balancer's answer
RECOVERY_TIMEOUT = 60.0  # seconds a healed component gets to answer again
CONVERGE_TIMEOUT = 90.0  # seconds the replicas get to reach equal digests at the end
SPREAD_REPLICAS = 3  # with netns: replicas per cluster, the spread cluster's each on a host
KEEP_SHARE = 0.05  # of later tickets kept past their hold's expiry before they may be cancelled
KEEP_FOR = HOLD_TTL + 2.0  # seconds such a ticket is kept
CATALOG_EVERY = 1.0  # mean seconds between the operator's catalog changes
ROGUE_EMAIL = "rogue@example.com"


def hot_events(catalog: Catalog, lock_groups: int = 1) -> Hot:
    """The ``HOT`` events ``catalog`` has, checked to reach every one of ``lock_groups``.

    A lock group that decides none of them would see no client and no fault
    that matters to one, and the run would vouch for it untested: such a
    catalog is refused (``PlacementError``, naming the groups left out).
    """
    placement = LockPlacement(catalog, lock_groups)
    hot = {}
    for (theater, event), seats in HOT.items():
        try:
            catalog.theater(theater).event(event)
        except TicketingError:
            continue
        hot[(theater, event)] = seats
    reached = {placement.event_group(theater, event) for theater, event in hot}
    missing = [str(n) for n in placement.numbers() if n not in reached]
    if missing:
        raise PlacementError(
            f"with --lock-groups {lock_groups}, lock group(s) {', '.join(missing)} decide none "
            f"of the fault run's hot events ({', '.join('/'.join(w) for w in HOT)}) in this "
            f"catalog; leave out --catalog (the fault run then takes its groups.toml, made for 2 "
            f"to 4 groups) or use another --lock-groups"
        )
    return hot


@dataclass(frozen=True, slots=True)
class RunResult:
    history: History
    anomalies: list[Anomaly]
    figures: Figures
    plan: list[PlannedFault]


class Recorder:
    """The shared, append-only list of operations (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.operations: list[Operation] = []

    def call(
        self,
        client: int,
        kind: str,
        where: tuple[str, str],
        action: Callable[[], Any],
        **fields: Any,
    ) -> tuple[str, Any]:
        """Run ``action``, record it; returns ``(outcome, result or exception)``."""
        start = time.time()  # the history's clock: wall time, as holds' expires_at (history)
        try:
            result = action()
            outcome = OK
        except Unavailable as exc:
            result, outcome = exc, UNKNOWN
        except TicketingError as exc:
            result, outcome = exc, REFUSED
        except Exception as exc:  # a lost reply, a timeout, anything else: it may have happened
            result, outcome = exc, UNKNOWN
        end = time.time()
        if outcome == OK:
            fields = {**_fields_of(kind, result), **fields}  # what the caller named stays
        else:
            fields["error"] = type(result).__name__
        with self._lock:
            self.operations.append(
                Operation(client, kind, where[0], where[1], start, end, outcome, **fields)
            )
        return outcome, result


def _fields_of(kind: str, result: Any) -> dict[str, Any]:
    if kind == HOLD:
        return {
            "hold_id": result["hold_id"],
            "expires_at": float(result["expires_at"]),
            "seats": tuple(result["seats"]),
        }
    if kind == BOOK:
        return {"ticket_no": result["ticket_no"]}
    if kind == READ:
        booked = [s["seat"] for row in result["rows"] for s in row if s["state"] == "booked"]
        return {"seats": tuple(booked)}
    if kind == CANCEL_EVENT:
        return {"refunds": tuple(t["ticket_no"] for t in result["refunds"])}
    return {}


def client_loop(
    client: int,
    ns_host: str,
    ns_port: int,
    recorder: Recorder,
    stop: threading.Event,
    seed: int,
    events: Events,
    rogue: DataRoutes | None = None,
) -> None:
    """One user's random flows on the hot seats of the ``events`` until ``stop`` is set.

    With ``rogue`` (a member's routes to the data replicas) the user also
    books now and then straight at the data store with no hold at all, as a
    misbehaving load balancer would: the data store alone must then keep
    seats from being sold twice.
    """
    rng = random.Random(seed)
    conn = Connection(ns_host, ns_port, call_timeout=CALL_TIMEOUT, rng=rng)
    tickets: list[tuple[tuple[str, str], str, float]] = []  # where, number, kept until
    who = (f"client {client}", _email(client))
    booked = 0

    def keep(where: tuple[str, str], ticket: str) -> None:
        """A client's first ticket, and one in ``1 / KEEP_SHARE`` later, lives on for a while."""
        nonlocal booked
        kept = KEEP_FOR if booked == 0 or rng.random() < KEEP_SHARE else 0.0
        tickets.append((where, ticket, time.monotonic() + kept))
        booked += 1

    try:
        while not stop.is_set():
            where, hot_seats = events.pick(rng)
            ready = [n for n, (_, _, kept) in enumerate(tickets) if kept <= time.monotonic()]
            if ready and rng.random() < 0.35:
                place, ticket, _ = tickets.pop(rng.choice(ready))
                cancel = partial(conn.delete_ticket, place[0], ticket)
                recorder.call(client, CANCEL, place, cancel, ticket_no=ticket)
                continue
            recorder.call(client, READ, where, partial(conn.get_seat_map, *where))
            seats = tuple(rng.sample(hot_seats, rng.choice((1, 1, 2))))
            if rogue is not None and rng.random() < 0.3:
                forged = secrets.token_urlsafe(16)
                book = partial(_rogue_book, rogue, where, seats, forged)
                outcome, made = recorder.call(
                    client, BOOK, where, book, seats=seats, hold_id=forged
                )
                if outcome == OK:
                    keep(where, made["ticket_no"])
                continue
            outcome, hold = _hold(conn, recorder, client, where, seats, rng)
            if outcome != OK:
                continue
            hold_id, seats = hold["hold_id"], tuple(hold["seats"])
            choice = rng.random()
            if choice < 0.7:
                book = partial(conn.book_ticket, hold_id, *who)
                outcome, made = recorder.call(
                    client, BOOK, where, book, seats=seats, hold_id=hold_id
                )
                if outcome == OK:
                    keep(where, made["ticket_no"])
            elif choice < 0.9:
                release = partial(conn.release_hold, hold_id)
                recorder.call(client, RELEASE, where, release, hold_id=hold_id)
    finally:
        conn.close()


def _hold(
    conn: Connection,
    recorder: Recorder,
    client: int,
    where: tuple[str, str],
    seats: tuple[str, ...],
    rng: random.Random,
) -> tuple[str, Any]:
    """Half the time the ``len(seats)`` best available seats, else ``seats`` themselves.

    An explicit hold refused with an alternative (the best free seats of the
    same count) takes it half the time, as a buyer offered it would.
    """
    if rng.random() < 0.5:
        best = partial(conn.call, "block_best_available", *where, len(seats))
        return recorder.call(client, HOLD, where, best, count=len(seats))
    block = partial(conn.block_seats, *where, list(seats))
    outcome, hold = recorder.call(client, HOLD, where, block, seats=seats)
    offered = tuple(getattr(hold, "alternative", ()))
    if outcome == REFUSED and offered and rng.random() < 0.5:
        block = partial(conn.block_seats, *where, list(offered))
        outcome, hold = recorder.call(client, HOLD, where, block, seats=offered)
    return outcome, hold


def _email(client: int) -> str:
    return f"c{client}@example.com"


def _rogue_book(
    routes: DataRoutes, where: tuple[str, str], seats: tuple[str, ...], forged: str
) -> Any:
    """A booking with a made-up hold id: the newest fence, far from expiry."""
    booking = Booking(
        ticket_no=secrets.token_urlsafe(16),
        hold_id=forged,
        theater=where[0],
        event=where[1],
        seats=seats,
        name="Rogue",
        email=ROGUE_EMAIL,
        fence=2**40,
        expires_at=time.time() + 3600,  # on the log's wall clock
    )
    return routes.call(booking.theater, "book", booking.to_plain())


class Nemesis:
    """Carries out a fault plan against a target and records what it did."""

    def __init__(
        self, target: LocalTarget | SpreadTarget, plan: list[PlannedFault], t0: float
    ) -> None:
        """``t0`` is ``time.monotonic()`` at the start of the run; ``plan`` is timed from it."""
        self.target = target
        self.plan = plan
        self.t0 = t0
        self.faults: list[Fault] = []
        self.stop = threading.Event()

    def run(self) -> None:
        for planned in self.plan:
            if self.stop.wait(max(0.0, self.t0 + planned.at - time.monotonic())):
                return
            try:
                self.faults.append(self._inject(planned))
            except Exception:  # one fault that cannot be injected must not end the run
                log.exception("could not inject %s", planned)

    def _inject(self, planned: PlannedFault) -> Fault:
        label = planned.target
        start = time.time()  # wall time, the history's clock; deadlines are monotonic
        log.info("fault: %s %s for %.1fs", planned.kind, label, planned.hold)
        if planned.kind == PAUSE:
            pid = self.target.pause(label)
            time.sleep(planned.hold)
            self.target.resume(pid)
        elif planned.kind == PARTITION:
            self.target.cut(label)
            time.sleep(planned.hold)
            self.target.heal(label)
        else:
            self.target.kill(label)
            time.sleep(planned.hold)
            self.target.restart(label)
        healed = time.time()
        deadline = time.monotonic() + RECOVERY_TIMEOUT
        recovered = None
        while time.monotonic() < deadline:
            if self.target.answers(label):
                recovered = time.time()
                break
            time.sleep(0.1)
        return Fault(planned.kind, label, start, healed, recovered)


def final_state(
    target: LocalTarget | SpreadTarget, operations: list[Operation], hot: Hot
) -> FinalState:
    """The end state, once holds expired and the replicas agree (or the bound passed).

    ``hot`` holds every event the clients used. A book with an unknown outcome
    whose ticket was refunded with its event is no longer found by its hold
    (``ticket_for_hold`` knows live tickets only): it is matched to a refund
    of its event with its seats and its client's e-mail instead; so is a book
    refused in a way a retry of a booking refunded meanwhile can be
    (``catalog_rules.retry_refused``), when its event ends cancelled.
    """
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    digests: dict[str, list[tuple[int, str]]] = {}
    while time.monotonic() < deadline:
        try:
            digests = target.digests()
        except TicketingError:
            time.sleep(0.2)
            continue
        if all(len(set(states)) == 1 for states in digests.values()):
            break
        time.sleep(0.2)
    known = {op.ticket_no: op for op in operations if op.kind == BOOK and op.outcome == OK}
    sales: dict[tuple[str, str], str] = {}
    refunded: list[dict[str, Any]] = []
    for where in hot:
        report = _settled(target, names.DATASTORE_MANAGER, "admin_sales_report", *where)
        sales[where] = report["sales"]
        refunded += report["refunds"]
    unclaimed = [t for t in refunded if t["ticket_no"] not in known]
    unknown_books: dict[str, str | None] = {}
    for op in operations:
        if op.kind == BOOK and op.outcome == UNKNOWN and op.hold_id:
            found = _settled(target, names.DATASTORE_MANAGER, "ticket_for_hold", op.hold_id)
            if found is None:
                found = _claim_refund(unclaimed, op)
            unknown_books[op.hold_id] = None if found is None else found["ticket_no"]
            if found is not None:
                known[found["ticket_no"]] = op
        elif retry_refused(op) and sales[(op.theater, op.event)] == CANCELLED:
            found = _claim_refund(unclaimed, op)
            if found is not None:
                unknown_books[op.hold_id] = found["ticket_no"]
    balancer = names.load_balancer(1)
    live = {}
    for ticket_no, op in known.items():
        try:
            ticket = _settled(target, balancer, "get_ticket_details", op.theater, ticket_no)
        except TicketNotFound:
            continue
        live[ticket_no] = (ticket["theater"], ticket["event"], tuple(ticket["seats"]))
    booked = {}
    for theater, event in hot:
        rows = _settled(target, balancer, "get_seat_map", theater, event)["rows"]
        seats = {s["seat"] for row in rows for s in row if s["state"] == "booked"}
        booked[(theater, event)] = frozenset(seats)
    refunds = {t["ticket_no"]: (t["theater"], t["event"], tuple(t["seats"])) for t in refunded}
    return FinalState(time.time(), live, unknown_books, booked, digests, sales, refunds)


def _claim_refund(unclaimed: list[dict[str, Any]], book: Operation) -> dict[str, Any] | None:
    """The first refund ``book`` may have made (its event, seats and e-mail), taken out."""
    for ticket in unclaimed:
        if (
            (ticket["theater"], ticket["event"]) == (book.theater, book.event)
            and set(ticket["seats"]) == set(book.seats)
            and ticket["email"] in (_email(book.client), ROGUE_EMAIL)
        ):
            unclaimed.remove(ticket)
            return ticket
    return None


def _settled(target: LocalTarget | SpreadTarget, name: str, method: str, *args: Any) -> Any:
    """``method`` on ``name``, retried while ``Unavailable`` (the cluster is healing)."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        try:
            return target.pool.call(name, method, *args)
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(
    data_dir: Path,
    catalog: Path,
    ns_port: int,
    *,
    seconds: float,
    clients: int = 8,
    seed: int = 1,
    broken: bool = False,
    forget_sold: bool = False,
    ignore_sales: bool = False,
    rogue: bool = False,
    faults: bool = True,
    netns: bool = False,
    lock_groups: int = 1,
    catalog_every: float | None = CATALOG_EVERY,
    progress: Callable[[str], None] = lambda line: None,
) -> RunResult:
    """Start a cluster, run clients and the nemesis for ``seconds``, check the history.

    ``broken`` runs the data store without its free-seat check, a variant the
    checker must catch; a rogue load balancer (bookings with no hold) then
    makes the double sale certain rather than a matter of timing. ``rogue``
    alone runs that rogue against the real data store. ``forget_sold`` runs
    the lock store without sold marks, another broken variant: booked seats
    look free to it once their hold ends, and best-available holds get them.
    ``ignore_sales`` runs the data store booking events whatever their sales
    (stopped or cancelled), a third: with a rogue, bookings of closed events
    are then certain (the balancers and the lock store refuse their holds).

    ``catalog_every`` is the mean number of seconds between the operator's
    catalog changes (``operator``); None: no changes.

    ``netns`` spreads the cluster over hosts (network namespaces,
    ``SpreadTarget``; needs root and iproute2, else ``HostsUnavailable``) and
    adds partitions to the faults: one replica's host cut, then healed.

    ``lock_groups`` runs the lock store as that many groups; the clients'
    events (``hot_events``) must reach each of them.
    """
    hot = hot_events(load_catalog(catalog), lock_groups)
    env = {UNSAFE_NO_SEAT_CHECK: "1"} if broken else {}
    if forget_sold:
        env[UNSAFE_FORGET_SOLD] = "1"
    if ignore_sales:
        env[UNSAFE_IGNORE_SALES] = "1"
    hosts = Hosts(1 + SPREAD_REPLICAS) if netns else None
    try:
        target: LocalTarget | SpreadTarget
        if hosts is not None:
            target = SpreadTarget(
                hosts,
                data_dir,
                catalog,
                ns_port,
                env,
                replicas=SPREAD_REPLICAS,
                lock_groups=lock_groups,
            )
        else:
            target = LocalTarget(data_dir, catalog, ns_port, env, lock_groups=lock_groups)
        target.start()
        try:
            rogues = broken or ignore_sales or rogue
            return _run_against(
                target, hot, seconds, clients, seed, rogues, faults, catalog_every, progress
            )
        finally:
            target.stop()
    finally:
        if hosts is not None:
            hosts.teardown()


def _run_against(
    target: LocalTarget | SpreadTarget,
    hot: Hot,
    seconds: float,
    clients: int,
    seed: int,
    rogue: bool,
    faults: bool,
    catalog_every: float | None,
    progress: Callable[[str], None],
) -> RunResult:
    """The clients and the nemesis against a started ``target``, then the checker."""
    plan: list[PlannedFault] = []
    labels = list(target.components)
    if faults and isinstance(target, SpreadTarget):
        plan = plan_faults(seed, seconds, labels, kinds=NETNS_KINDS, cuttable=target.cuttable)
    elif faults:
        plan = plan_faults(seed, seconds, labels)
    progress(f"cluster ready; {len(plan)} faults planned over {seconds:.0f}s (seed {seed})")
    recorder = Recorder()
    stop = threading.Event()
    rogues = DataRoutes(target.pool) if rogue else None
    events = Events(hot)
    where = (target.ns_host, target.ns_port)
    threads = [
        threading.Thread(
            target=client_loop,
            args=(n, *where, recorder, stop, seed * 1000 + n, events, rogues),
            daemon=True,
        )
        for n in range(clients)
    ]
    if catalog_every is not None:
        changes = (catalog_every, CALL_TIMEOUT)
        operator = (*where, recorder.call, events, stop, seed * 1000 - 1, *changes)
        threads.append(threading.Thread(target=operator_loop, args=operator, daemon=True))
    t0 = time.monotonic()
    nemesis = Nemesis(target, plan, t0)
    nemesis_thread = threading.Thread(target=nemesis.run, daemon=True)
    for thread in threads:
        thread.start()
    nemesis_thread.start()
    while time.monotonic() < t0 + seconds:
        time.sleep(1.0)
        progress(f"{time.monotonic() - t0:5.0f}s {len(recorder.operations)} operations, "
                 f"{len(nemesis.faults)} faults")  # fmt: skip
    nemesis_thread.join()
    stop.set()
    for thread in threads:
        thread.join(timeout=4 * CALL_TIMEOUT)
    time.sleep(HOLD_TTL + 1.0)  # no hold left that could still book
    operations = list(recorder.operations)
    final = final_state(target, operations, events.used)
    placement = target.placement
    lock_labels = {w: target.lock_labels(placement.event_group(*w)) for w in hot}
    history = History(tuple(operations), final, tuple(nemesis.faults), lock_labels)
    return RunResult(history, check(history), figures(history), plan)
