"""``ticketing-cluster`` (``run/cluster.py``): the whole local cluster, run in the foreground.

It starts a name server, then every component of the plan (``plan``), waits
until each is registered and answers ``status()`` (and each coordinator
leads; each lock coordinator's standby is started once its main one leads,
so that the main one wins the first ballot), prints ``READY
<ns-host>:<ns-port>`` on stdout (its only line there, so scripts and tests
can wait for it) and stays in the foreground. SIGINT or SIGTERM stops every
process it started: SIGTERM first, SIGKILL after a grace period, the name
server last so the others can still remove their entries.

When a child dies during start-up, its label, exit code and the tail of its
``<data-dir>/logs/<label>.out`` are printed, everything is stopped and the
launcher exits non-zero. A child that dies after READY is reported (stderr
and ``<data-dir>/logs/cluster.log``) and started again with the same command
line after a backoff (``supervisor``). ``--no-restart`` leaves it down
instead, for callers that kill and restart components themselves (the fault
run, tests of recovery).
"""

from __future__ import annotations

import argparse
import logging
import signal
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from ticketing.catalog import CatalogError, load_catalog
from ticketing.cluster.plan import COMMANDS, data_clusters, plan, python_module
from ticketing.cluster.processes import ClusterFailed, port_in_use
from ticketing.cluster.spec import ClusterSpec
from ticketing.cluster.supervisor import STOP_GRACE, Supervisor
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.restart_backoff import FIRST_DELAY, MAX_DELAY, SETTLED_AFTER
from ticketing.security.cluster_key import write_public_key
from ticketing.security.secret import SecretError, ensure_secret, load_secret
from ticketing.server.cli import LockGroupsChanged, common_parser, pin_lock_groups, positive_int
from ticketing.server.logs import setup_logging

log = logging.getLogger(__name__)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = common_parser(
        "Start a name server and every component of a local cluster as separate processes; "
        "print 'READY <ns-host>:<ns-port>' once all answer, stop them all on SIGINT/SIGTERM.",
        catalog=True,
    )
    parser.add_argument(
        "--lock-replicas", type=positive_int, default=3, metavar="N", help="lock servers (3)"
    )
    parser.add_argument(
        "--data-replicas",
        type=positive_int,
        default=3,
        metavar="N",
        help="replicas of each data cluster (3)",
    )
    parser.add_argument(
        "--load-balancers", type=positive_int, default=2, metavar="N", help="load balancers (2)"
    )
    parser.add_argument(
        "--lock-groups",
        type=positive_int,
        default=1,
        metavar="K",
        help="independent lock stores, each event's holds in one of them (1)",
    )
    parser.add_argument(
        "--client",
        action="store_true",
        help="after READY, run the interactive client here; stop the cluster when it exits",
    )
    parser.add_argument(
        "--no-restart",
        dest="restart",
        action="store_false",
        help="leave a component that dies after READY down (reported only); for callers that "
        "kill and restart components themselves",
    )
    parser.add_argument(
        "--restart-delay",
        type=float,
        default=FIRST_DELAY,
        metavar="SECONDS",
        help=f"wait before restarting a component that died ({FIRST_DELAY:g}); doubled while it "
        f"keeps dying within {SETTLED_AFTER:g}s of each start, up to {MAX_DELAY:g}s",
    )
    options = parser.parse_args(argv)
    if not 0 < options.restart_delay <= MAX_DELAY:
        parser.error(f"--restart-delay must be above 0 and at most {MAX_DELAY:g} seconds")
    return options


def spec_of(options: argparse.Namespace) -> ClusterSpec:
    """The cluster the parsed flags ask for (``--client`` aside: it is no part of the cluster)."""
    return ClusterSpec(
        data_dir=Path(options.data_dir),
        catalog=Path(options.catalog) if options.catalog else None,
        ns_host=options.ns_host,
        ns_port=options.ns_port,
        host=options.host,
        lock_replicas=options.lock_replicas,
        data_replicas=options.data_replicas,
        load_balancers=options.load_balancers,
        lock_groups=options.lock_groups,
        restart=options.restart,
        restart_delay=options.restart_delay,
    )


def main(argv: Sequence[str] | None = None, commands: str = COMMANDS) -> int:
    """Run the cluster until SIGINT/SIGTERM (or the client exits); returns the exit code.

    ``commands``: the package of the components' modules (tests give stand-ins).
    """
    options = parse_args(argv)
    spec = spec_of(options).resolved()
    try:
        catalog = load_catalog(spec.catalog)
        LockPlacement(catalog, spec.lock_groups)
        pin_lock_groups(spec.data_dir, spec.lock_groups)
    except (CatalogError, PlacementError, LockGroupsChanged) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 2
    clusters = data_clusters(catalog, spec.data_dir)
    if port_in_use(spec.ns_host, spec.ns_port):
        print(
            f"cluster: {spec.ns_host}:{spec.ns_port} is already in use "
            "(another cluster or name server running?); stop it or pick another --ns-port",
            file=sys.stderr,
        )
        return 1

    # The cluster secret: children read it from the data directory (or from
    # TICKETING_SECRET, which they inherit), never from their command line.
    try:
        ensure_secret(spec.data_dir)
        secret = load_secret(spec.data_dir)
        # What clients check load balancers with; public, for any client host.
        write_public_key(spec.data_dir, secret)
    except (OSError, SecretError) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    setup_logging(spec.data_dir, "cluster")  # supervision reports: stderr and cluster.log
    # Its probes of components that are still starting fail by design; Pyro5
    # would log each as an error.
    logging.getLogger("Pyro5").setLevel(logging.CRITICAL)
    if options.client:
        _quiet_terminal()
    components = plan(spec, clusters, commands)
    supervisor = Supervisor(
        spec.data_dir, spec.ns_host, spec.ns_port, secret, restart_delay=spec.restart_delay
    )
    try:
        if not supervisor.wait_ready(components[:1], stop):
            return 0
        print(f"cluster: starting {len(components)} processes...", file=sys.stderr)
        if not supervisor.wait_ready(components[1:], stop):
            return 0
        print(f"READY {spec.ns_host}:{spec.ns_port}", flush=True)
        log.info("READY: %d processes", len(components))
        if options.client:
            run_client(f"{commands}.client", spec, stop, supervisor)
        else:
            supervisor.supervise(stop, spec.restart)
        return 0
    except ClusterFailed as exc:
        print(f"cluster: start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("cluster: stopping...", file=sys.stderr)
        supervisor.stop_all()
        print("cluster: stopped", file=sys.stderr)


def _quiet_terminal() -> None:
    """Keep the launcher's reports off the terminal the interactive client draws on.

    They still go to ``<data-dir>/logs/cluster.log``.
    """
    for handler in logging.getLogger().handlers:
        if getattr(handler, "stream", None) is sys.stderr:
            handler.setLevel(logging.CRITICAL + 1)


def run_client(
    module: str, spec: ClusterSpec, stop: threading.Event, supervisor: Supervisor
) -> None:
    """Run the interactive client on this terminal until it exits or ``stop`` is set,
    supervising the cluster meanwhile.

    While it runs, ^C belongs to the client (it may cancel a command with it),
    so SIGINT no longer stops the cluster; SIGTERM still does.
    """
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    client = subprocess.Popen(
        [
            *python_module(module),
            *("--ns-host", spec.ns_host, "--ns-port", str(spec.ns_port)),
            *("--data-dir", str(spec.data_dir)),
        ]
    )
    supervisor.supervise(stop, spec.restart, done=lambda: client.poll() is not None)
    if client.poll() is None:  # stopped by SIGTERM
        client.terminate()
        try:
            client.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()
