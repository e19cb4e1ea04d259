"""A fault run: concurrent clients on a hot set of seats, a seeded nemesis, then the checker.

This module starts the cluster and runs the operation loop; the parts are
where they belong: the clients' flows (``clients``), each call recorded
(``recorder``), the faults (``nemesis``, planned by ``schedule``).

Meanwhile an operator (``operator``) changes the catalog through the data
store manager: it adds events, which the clients then hold and book too,
retitles and reschedules, stops and resumes sales, and cancels some of the
events it added; its calls are recorded the same way.

After the last fault is healed the clients stop, holds are left to expire (so
no booking can still be decided), and the end state is read (``end_state``)
and checked against the history (``checker``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ticketing.catalog import load_catalog
from ticketing.faults.checker import Anomaly, check
from ticketing.faults.clients import CALL_TIMEOUT, HOLD_TTL, client_loop
from ticketing.faults.end_state import final_state
from ticketing.faults.evidence import evidence_lines
from ticketing.faults.figures import Figures, figures
from ticketing.faults.history import History
from ticketing.faults.hot_seats import hot_events
from ticketing.faults.nemesis import Nemesis
from ticketing.faults.netns import Hosts
from ticketing.faults.operator import Events, Hot, operator_loop
from ticketing.faults.recorder import Recorder
from ticketing.faults.schedule import NETNS_KINDS, PlannedFault, plan_faults
from ticketing.faults.spread import SpreadTarget
from ticketing.faults.target import LocalTarget
from ticketing.server.data_routes import DataRoutes
from ticketing.server.datastore import UNSAFE_IGNORE_SALES, UNSAFE_NO_SEAT_CHECK
from ticketing.server.lock_server import UNSAFE_FORGET_SOLD

SPREAD_REPLICAS = 3  # with netns: replicas per cluster, the spread cluster's each on a host
CATALOG_EVERY = 1.0  # mean seconds between the operator's catalog changes


@dataclass(frozen=True, slots=True)
class RunResult:
    history: History
    anomalies: list[Anomaly]
    figures: Figures
    plan: list[PlannedFault]

    def explained(self) -> str:
        """The anomalies with the operations and faults behind each (a failed test's message)."""
        return "\n".join(evidence_lines(self.history, self.anomalies))


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
