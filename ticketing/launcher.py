"""The whole local cluster as separate processes, supervised from the foreground.

``run/cluster.py`` starts a name server, then every component with the
contract's flags, waits until each is registered and answers ``status()`` (and
each coordinator leads), prints ``READY <ns-host>:<ns-port>`` on stdout (its
only line there, so scripts and tests can wait for it) and stays in the
foreground. SIGINT or SIGTERM stops every process it started: SIGTERM first,
SIGKILL after a grace period, the name server last so the others can still
remove their entries.

Each child's stdout and stderr go to ``<data-dir>/logs/<label>.out``; when a
child dies during start-up, its label, exit code and the tail of that file are
printed, everything is stopped and the launcher exits non-zero. A child that
dies after READY is reported and left down: the cluster is built to survive
it, and restarting it is the operator's choice.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from Pyro5.errors import CommunicationError

from ticketing import names
from ticketing.catalog import CatalogError, load_catalog
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.errors import TicketingError
from ticketing.security.cluster_key import write_public_key
from ticketing.security.secret import SecretError, ensure_secret, load_secret
from ticketing.server.cli import LockGroupsChanged, common_parser, pin_lock_groups, positive_int
from ticketing.server.logs import LOG_DIR
from ticketing.server.proxies import ProxyPool

RUN_DIR = Path(__file__).resolve().parent.parent / "run"
READY_TIMEOUT = 120.0  # seconds for every component to register and answer status()
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.2  # seconds between checks of the children while waiting
PROBE_TIMEOUT = 2.0  # seconds for one status() probe
TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class Component:
    """One process to start: its label (log file), script under ``run/``, flags and name."""

    label: str
    script: str
    args: tuple[str, ...]
    name: str | None  # the name it registers; None for the name server itself


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
    return parser.parse_args(argv)


def plan(options: argparse.Namespace, clusters: Iterable[str]) -> list[Component]:
    """Every process of the cluster, name server first, with the flags each script takes."""
    common = (
        *("--ns-host", options.ns_host, "--ns-port", str(options.ns_port)),
        *("--host", options.host, "--data-dir", str(options.data_dir)),
    )
    catalog = ("--catalog", str(options.catalog)) if options.catalog else ()
    nameserver_args = (
        *("--host", options.ns_host, "--ns-port", str(options.ns_port)),
        *("--data-dir", str(options.data_dir)),
    )
    components = [Component("nameserver", "nameserver.py", nameserver_args, None)]

    def add(label: str, script: str, args: tuple[str, ...], name: str) -> None:
        components.append(Component(label, script, args, name))

    # Every lock server and balancer must be told K (it places the events);
    # one group is every script's default.
    groups = ("--lock-groups", str(options.lock_groups)) if options.lock_groups > 1 else ()
    for number in range(1, options.lock_groups + 1):
        group = None if options.lock_groups == 1 else number
        # Replicas and their coordinator must agree on the group's size (its quorum).
        lock_group = (*common, *groups, "--replicas", str(options.lock_replicas))
        if group is not None:
            lock_group = (*lock_group, "--group", str(group))
        suffix = "" if group is None else f"-{group}"
        for i in range(1, options.lock_replicas + 1):
            server = names.lock_server(i, group)
            args = (*lock_group, *catalog, "--id", str(i))  # the catalog: to check seat labels
            add(f"lock_server{suffix}-{i}", "lock_server.py", args, server)
        coordinator = names.lock_coordinator(group)
        add(f"lock_coordinator{suffix}", "lock_coordinator.py", lock_group, coordinator)
    for cluster in clusters:
        group = (*common, *catalog, "--cluster", cluster, "--replicas", str(options.data_replicas))
        for i in range(1, options.data_replicas + 1):
            replica = names.datastore_replica(cluster, i)
            add(f"datastore-{cluster}-{i}", "datastore.py", (*group, "--id", str(i)), replica)
        coordinator = names.datastore_coordinator(cluster)
        add(f"datastore_coordinator-{cluster}", "datastore_coordinator.py", group, coordinator)
    add("datastore_manager", "datastore_manager.py", (*common, *catalog), names.DATASTORE_MANAGER)
    for i in range(1, options.load_balancers + 1):
        balancer = names.load_balancer(i)
        args = (*common, *catalog, *groups, "--id", str(i))
        add(f"load_balancer-{i}", "load_balancer.py", args, balancer)
    return components


class StartupFailed(Exception):
    """The cluster could not be brought up; the message says which part and why."""


class Supervisor:
    """Starts components as child processes, watches them, and stops them all."""

    def __init__(
        self, run_dir: Path, data_dir: Path, ns_host: str, ns_port: int, secret: str | None = None
    ) -> None:
        self.run_dir = run_dir
        self.secret = secret  # to probe the members-only components
        self.log_dir = data_dir / LOG_DIR
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.children: dict[str, subprocess.Popen] = {}
        self._outputs: dict[str, tuple[Path, int]] = {}  # label -> (file, offset of this run)
        self._reported: set[str] = set()

    def start(self, component: Component) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = self.log_dir / f"{component.label}.out"
        with open(out, "ab") as sink:
            self._outputs[component.label] = (out, sink.tell())
            self.children[component.label] = subprocess.Popen(
                [sys.executable, str(self.run_dir / component.script), *component.args],
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **_public_tls(component)},
                start_new_session=True,  # a terminal's ^C reaches the launcher only
            )

    def dead(self) -> list[str]:
        """Labels of children that exited and were not reported yet."""
        gone = [
            label
            for label, proc in self.children.items()
            if proc.poll() is not None and label not in self._reported
        ]
        self._reported.update(gone)
        return gone

    def describe_exit(self, label: str) -> str:
        code = self.children[label].returncode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        output = self._outputs[label][0]
        return f"{label} exited ({how}); last lines of {output}:\n{self.tail(label)}"

    def tail(self, label: str, lines: int = TAIL_LINES) -> str:
        path, offset = self._outputs[label]
        try:
            with open(path, "rb") as source:
                # A file smaller than where this run began was rotated (``logs``): all of it is new.
                source.seek(offset if offset <= os.fstat(source.fileno()).st_size else 0)
                text = source.read().decode(errors="replace")
        except OSError as exc:
            return f"    (cannot read it: {exc})"
        kept = text.splitlines()[-lines:] or ["(empty)"]
        return "\n".join(f"    {line}" for line in kept)

    def wait_ready(self, components: Sequence[Component], stop: threading.Event) -> bool:
        """Poll until every component answers ``status()`` (coordinators: as leaders).

        False if ``stop`` was set.

        Raises ``StartupFailed`` when a child exits or the deadline passes.
        """
        pool = ProxyPool(self.ns_host, self.ns_port, timeout=PROBE_TIMEOUT, secret=self.secret)
        waiting = {c.label: c for c in components}
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while waiting:
                for label in self.dead():
                    raise StartupFailed(f"{self.describe_exit(label)}")
                for label, component in list(waiting.items()):
                    if self._answers(pool, component):
                        del waiting[label]
                if not waiting:
                    break
                if time.monotonic() > deadline:
                    details = "\n".join(
                        f"{label}, last lines of its output:\n{self.tail(label)}"
                        for label in waiting
                    )
                    raise StartupFailed(
                        f"not ready after {READY_TIMEOUT:.0f}s: {', '.join(waiting)}\n{details}"
                    )
                if stop.wait(POLL_INTERVAL):
                    return False
        finally:
            pool.close()
        return True

    def _answers(self, pool: ProxyPool, component: Component) -> bool:
        """Whether ``component`` is up; a coordinator only once it leads.

        Until its coordinator leads a cluster can neither write nor give a
        read barrier, so seat views would answer ``Unavailable``.
        """
        try:
            if component.name is None:
                pool.list(names.ROOT, refresh=True)  # any name-server answer will do
                return True
            status = pool.call(component.name, "status")
        except (TicketingError, CommunicationError):
            return False
        coordinator = str(status.get("role", "")).endswith("coordinator")
        return not coordinator or status.get("state") == "leading"

    def stop_all(self) -> None:
        """SIGTERM every component, then the name server; SIGKILL what outlives the grace."""
        components = [label for label in self.children if label != "nameserver"]
        self._stop(components)
        self._stop([label for label in self.children if label == "nameserver"])

    def _stop(self, labels: list[str]) -> None:
        running = [self.children[label] for label in labels if self.children[label].poll() is None]
        for proc in running:
            proc.terminate()
        deadline = time.monotonic() + STOP_GRACE
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _public_tls(component: Component) -> dict[str, str]:
    """Over TLS (``PYRO_SSL``), the name server asks no client certificate: it is public.

    Load balancers, public too, say so themselves (``tls.serve_public``).
    """
    if component.name is None and os.environ.get("PYRO_SSL", "").lower() in ("1", "true", "yes"):
        return {"PYRO_SSL_REQUIRECLIENTCERT": "false"}
    return {}


def port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def main(argv: Sequence[str] | None = None, run_dir: Path = RUN_DIR) -> int:
    """Run the cluster until SIGINT/SIGTERM (or the client exits); returns the exit code."""
    options = parse_args(argv)
    options.data_dir = Path(options.data_dir).resolve()
    if options.catalog:
        options.catalog = Path(options.catalog).resolve()
    try:
        catalog = load_catalog(options.catalog)
        LockPlacement(catalog, options.lock_groups)
        pin_lock_groups(options.data_dir, options.lock_groups)
    except (CatalogError, PlacementError, LockGroupsChanged) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 2
    clusters = catalog.clusters()
    if port_in_use(options.ns_host, options.ns_port):
        print(
            f"cluster: {options.ns_host}:{options.ns_port} is already in use "
            "(another cluster or name server running?); stop it or pick another --ns-port",
            file=sys.stderr,
        )
        return 1

    # The cluster secret: children read it from the data directory (or from
    # TICKETING_SECRET, which they inherit), never from their command line.
    try:
        ensure_secret(options.data_dir)
        secret = load_secret(options.data_dir)
        # What clients check load balancers with; public, for any client host.
        write_public_key(options.data_dir, secret)
    except (OSError, SecretError) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 2

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    components = plan(options, clusters)
    supervisor = Supervisor(run_dir, options.data_dir, options.ns_host, options.ns_port, secret)
    try:
        supervisor.start(components[0])
        if not supervisor.wait_ready(components[:1], stop):
            return 0
        for component in components[1:]:
            supervisor.start(component)
        print(f"cluster: started {len(components)} processes, waiting for them...", file=sys.stderr)
        if not supervisor.wait_ready(components[1:], stop):
            return 0
        print(f"READY {options.ns_host}:{options.ns_port}", flush=True)
        if options.client:
            run_client(run_dir, options, stop)
        else:
            while not stop.wait(POLL_INTERVAL):
                for label in supervisor.dead():
                    print(f"cluster: {supervisor.describe_exit(label)}", file=sys.stderr)
        return 0
    except StartupFailed as exc:
        print(f"cluster: start-up failed: {exc}", file=sys.stderr)
        return 1
    finally:
        print("cluster: stopping...", file=sys.stderr)
        supervisor.stop_all()
        print("cluster: stopped", file=sys.stderr)


def run_client(run_dir: Path, options: argparse.Namespace, stop: threading.Event) -> None:
    """Run the interactive client on this terminal until it exits or ``stop`` is set.

    While it runs, ^C belongs to the client (it may cancel a command with it),
    so SIGINT no longer stops the cluster; SIGTERM still does.
    """
    signal.signal(signal.SIGINT, lambda signum, frame: None)
    client = subprocess.Popen(
        [
            sys.executable,
            str(run_dir / "client.py"),
            *("--ns-host", options.ns_host, "--ns-port", str(options.ns_port)),
            *("--data-dir", str(options.data_dir)),
        ]
    )
    while client.poll() is None:
        if stop.wait(POLL_INTERVAL):
            client.terminate()
            try:
                client.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                client.kill()
                client.wait()
