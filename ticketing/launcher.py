"""The whole local cluster as separate processes, supervised from the foreground.

``run/cluster.py`` (``ticketing-cluster``) starts a name server, then every
component with the contract's flags, each as ``python -m`` of its command
module (``ticketing.commands.<component>``, the name server's ``nameserver``):
what runs is the installed package (or a checkout on the path), never a path
under ``run/``, which an installed package has not. It waits until each is
registered and answers ``status()`` (and each coordinator leads; each lock
coordinator's standby is started once its main one leads, so that the main
one wins the first ballot), prints
``READY <ns-host>:<ns-port>`` on stdout (its only line there, so scripts and
tests can wait for it) and stays in the foreground. SIGINT or SIGTERM stops
every process it started: SIGTERM first, SIGKILL after a grace period, the
name server last so the others can still remove their entries.

Each child's stdout and stderr go to ``<data-dir>/logs/<label>.out``; when a
child dies during start-up, its label, exit code and the tail of that file are
printed, everything is stopped and the launcher exits non-zero. A child that
dies after READY is reported (stderr and ``<data-dir>/logs/cluster.log``) and
started again with the same command line after a backoff
(``restart_backoff``): a replica recovers from its own data directory, a
coordinator from its round on disk, the name server from its entries on disk.
``--no-restart`` leaves it down instead, for callers that kill and restart
components themselves (the fault run, tests of recovery).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from Pyro5.errors import CommunicationError

from ticketing import names
from ticketing.catalog import Catalog, CatalogError, load_catalog
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.errors import TicketingError
from ticketing.restart_backoff import FIRST_DELAY, MAX_DELAY, SETTLED_AFTER, RestartBackoff
from ticketing.security.cluster_key import write_public_key
from ticketing.security.secret import SecretError, ensure_secret, load_secret
from ticketing.server.cli import LockGroupsChanged, common_parser, pin_lock_groups, positive_int
from ticketing.server.coordinator import standby_name
from ticketing.server.logs import LOG_DIR, setup_logging
from ticketing.server.proxies import ProxyPool

log = logging.getLogger(__name__)

COMMANDS = "ticketing.commands"  # the package of the components' command modules
NAME_SERVER = "nameserver"  # the name server's module: the top-level package
READY_TIMEOUT = 120.0  # seconds for every component to register and answer status()
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.2  # seconds between checks of the children while waiting
PROBE_TIMEOUT = 2.0  # seconds for one status() probe
TAIL_LINES = 20


@dataclass(frozen=True, slots=True)
class Component:
    """One process to start: its label (log file), module (``python -m``), flags and name."""

    label: str
    module: str
    args: tuple[str, ...]
    name: str | None  # the name it registers; None for the name server itself
    after: str | None = None  # at start-up, started once this label answers (a standby)

    @property
    def command(self) -> str:
        """Its command, named as its entry script under ``run/`` (``datastore``)."""
        return self.module.rsplit(".", 1)[-1]

    def command_line(self) -> list[str]:
        return [*python_module(self.module), *self.args]


def python_module(module: str) -> list[str]:
    """The command line running ``module`` with this interpreter, as ``python -m`` does.

    With ``-P`` the directory it starts in is not on its path: the package is
    the one this interpreter has (installed, editable, or on PYTHONPATH), not
    a ``ticketing/`` directory that happens to be where the cluster started.
    """
    return [sys.executable, "-P", "-m", module]


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


def plan(
    options: argparse.Namespace, clusters: Iterable[str], commands: str = COMMANDS
) -> list[Component]:
    """Every process of the cluster, name server first, with the flags each command takes.

    ``commands`` is the package of their modules (tests give stand-ins).
    """
    common = (
        *("--ns-host", options.ns_host, "--ns-port", str(options.ns_port)),
        *("--host", options.host, "--data-dir", str(options.data_dir)),
    )
    catalog = ("--catalog", str(options.catalog)) if options.catalog else ()
    nameserver_args = (
        *("--host", options.ns_host, "--ns-port", str(options.ns_port)),
        *("--data-dir", str(options.data_dir)),
    )
    components = [Component("nameserver", NAME_SERVER, nameserver_args, None)]

    def add(label: str, command: str, args: tuple[str, ...], name: str) -> None:
        components.append(Component(label, f"{commands}.{command}", args, name))

    # Every lock server and balancer must be told K (it places the events);
    # one group is every command's default.
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
            add(f"lock_server{suffix}-{i}", "lock_server", args, server)
        coordinator = names.lock_coordinator(group)
        add(f"lock_coordinator{suffix}", "lock_coordinator", lock_group, coordinator)
        # Every booking's holds go through its group's lock coordinator: a
        # standby takes over through ballots when it dies (replicas try
        # "<name>.standby" next). Data coordinators have none: see the README.
        components.append(
            Component(
                f"lock_coordinator{suffix}-standby",
                f"{commands}.lock_coordinator",
                (*lock_group, "--standby"),
                standby_name(coordinator),
                after=f"lock_coordinator{suffix}",
            )
        )
    for cluster in clusters:
        group = (*common, "--cluster", cluster, "--replicas", str(options.data_replicas))
        for i in range(1, options.data_replicas + 1):
            replica = names.datastore_replica(cluster, i)
            args = (*group, *catalog, "--id", str(i))  # the catalog: to seed a new cluster
            add(f"datastore-{cluster}-{i}", "datastore", args, replica)
        coordinator = names.datastore_coordinator(cluster)
        add(f"datastore_coordinator-{cluster}", "datastore_coordinator", group, coordinator)
    # The manager reports held seats of an event to the operator: it must place events too.
    manager_args = (*common, *catalog, *groups)
    add("datastore_manager", "datastore_manager", manager_args, names.DATASTORE_MANAGER)
    for i in range(1, options.load_balancers + 1):
        balancer = names.load_balancer(i)
        args = (*common, *catalog, *groups, "--id", str(i))
        add(f"load_balancer-{i}", "load_balancer", args, balancer)
    return components


def data_clusters(catalog: Catalog, data_dir: Path) -> list[str]:
    """The catalog file's data clusters, then those started later beside them, by name.

    A cluster an operator started while the system ran (``run/datastore.py
    --cluster NAME``) left its directory under ``<data-dir>/datastore``; it
    holds theaters added to it since, so a restart must start it too.
    """
    named = list(catalog.clusters())
    found = data_dir / "datastore"
    later = sorted(p.name for p in found.iterdir() if p.is_dir()) if found.is_dir() else []
    return [*named, *(name for name in later if name not in named)]


class StartupFailed(Exception):
    """The cluster could not be brought up; the message says which part and why."""


class Supervisor:
    """Starts components as child processes, watches them, restarts them, and stops them all."""

    def __init__(
        self,
        data_dir: Path,
        ns_host: str,
        ns_port: int,
        secret: str | None = None,
        restart_delay: float = FIRST_DELAY,
    ) -> None:
        self.secret = secret  # to probe the members-only components
        self.log_dir = data_dir / LOG_DIR
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.restart_delay = restart_delay
        self.children: dict[str, subprocess.Popen] = {}
        self._components: dict[str, Component] = {}
        self._started_at: dict[str, float] = {}  # label -> monotonic time of its last start
        self._outputs: dict[str, tuple[Path, int]] = {}  # label -> (file, offset of this run)
        self._reported: set[str] = set()
        self._backoff: dict[str, RestartBackoff] = {}
        self._due: dict[str, float] = {}  # label -> monotonic time of its planned restart
        self._returning: set[str] = set()  # restarted, not answering yet

    def start(self, component: Component) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = self.log_dir / f"{component.label}.out"
        self._components[component.label] = component
        self._reported.discard(component.label)
        self._started_at[component.label] = time.monotonic()
        with open(out, "ab") as sink:
            self._outputs[component.label] = (out, sink.tell())
            self.children[component.label] = subprocess.Popen(
                component.command_line(),
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

    def describe_exit(self, label: str, then: str = "") -> str:
        """``label`` exited (how), ``then`` (what happens now), and its last lines of output."""
        code = self.children[label].returncode
        how = f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit code {code}"
        output = self._outputs[label][0]
        return f"{label} exited ({how}){then}; last lines of {output}:\n{self.tail(label)}"

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
        """Start ``components`` and poll until each answers ``status()`` (coordinators: as
        leaders); one with ``after`` is started once that one answers.

        False if ``stop`` was set.

        Raises ``StartupFailed`` when a child exits or the deadline passes.
        """
        pool = ProxyPool(self.ns_host, self.ns_port, timeout=PROBE_TIMEOUT, secret=self.secret)
        waiting = {c.label: c for c in components}
        deadline = time.monotonic() + READY_TIMEOUT
        try:
            while waiting:
                for component in components:
                    held = component.after is not None and component.after in waiting
                    if component.label not in self.children and not held:
                        self.start(component)
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

    def _answers(self, pool: ProxyPool, component: Component, leading: bool = True) -> bool:
        """Whether ``component`` is up; a coordinator only once it leads (with ``leading``).

        Until its coordinator leads a cluster can neither write nor give a
        read barrier, so seat views would answer ``Unavailable``. A standby
        (role "... (standby)") need only answer: the main one leads.
        """
        try:
            if component.name is None:
                pool.list(names.ROOT, refresh=True)  # any name-server answer will do
                return True
            status = pool.call(component.name, "status")
        except (TicketingError, CommunicationError):
            return False
        coordinator = str(status.get("role", "")).endswith("coordinator")
        if status.get("catalog_version") == 0:
            return False  # a data replica whose cluster has not seeded its catalog yet
        return not (leading and coordinator) or status.get("state") == "leading"

    def supervise(
        self, stop: threading.Event, restart: bool, done: Callable[[], bool] = lambda: False
    ) -> None:
        """After READY: report every death and (with ``restart``) restart after a backoff,
        until ``stop`` is set or ``done()``; nothing is restarted once ``stop`` is set."""
        pool = ProxyPool(self.ns_host, self.ns_port, timeout=PROBE_TIMEOUT, secret=self.secret)
        try:
            while not stop.wait(POLL_INTERVAL) and not done():
                self._note_deaths(restart)
                self._restart_due(stop)
                self._note_returns(pool)
        finally:
            pool.close()

    def _note_deaths(self, restart: bool) -> None:
        now = time.monotonic()
        for label in self.dead():
            self._returning.discard(label)
            if not restart:
                log.warning("%s", self.describe_exit(label, "; left down (--no-restart)"))
                continue
            ran_for = now - self._started_at[label]
            backoff = self._backoff.setdefault(label, RestartBackoff(first=self.restart_delay))
            delay = backoff.after_exit(ran_for)
            self._due[label] = now + delay
            then = f" after running {ran_for:.1f}s; restarting it in {delay:.1f}s"
            log.warning("%s", self.describe_exit(label, then))
            if backoff.keeps_dying:
                log.error(
                    "%s keeps dying: %d deaths in a row, each within %.0fs of its start; "
                    "restarting it in %.1fs (the delay doubles, up to %.0fs); see %s",
                    label,
                    backoff.deaths_in_a_row,
                    backoff.settled_after,
                    delay,
                    backoff.ceiling,
                    self._outputs[label][0],
                )

    def _restart_due(self, stop: threading.Event) -> None:
        for label, at in list(self._due.items()):
            if stop.is_set():
                return  # stopping: nothing comes back
            if time.monotonic() < at:
                continue
            del self._due[label]
            self.start(self._components[label])
            self._returning.add(label)
            log.warning("restarted %s (pid %d)", label, self.children[label].pid)

    def _note_returns(self, pool: ProxyPool) -> None:
        for label in list(self._returning):
            if self._answers(pool, self._components[label], leading=False):
                self._returning.discard(label)
                log.warning("%s answers again (pid %d)", label, self.children[label].pid)

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


def main(argv: Sequence[str] | None = None, commands: str = COMMANDS) -> int:
    """Run the cluster until SIGINT/SIGTERM (or the client exits); returns the exit code.

    ``commands``: the package of the components' modules (tests give stand-ins).
    """
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
    clusters = data_clusters(catalog, options.data_dir)
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

    setup_logging(options.data_dir, "cluster")  # supervision reports: stderr and cluster.log
    # Its probes of components that are still starting fail by design; Pyro5
    # would log each as an error.
    logging.getLogger("Pyro5").setLevel(logging.CRITICAL)
    if options.client:
        _quiet_terminal()
    components = plan(options, clusters, commands)
    supervisor = Supervisor(
        options.data_dir,
        options.ns_host,
        options.ns_port,
        secret,
        restart_delay=options.restart_delay,
    )
    try:
        if not supervisor.wait_ready(components[:1], stop):
            return 0
        print(f"cluster: starting {len(components)} processes...", file=sys.stderr)
        if not supervisor.wait_ready(components[1:], stop):
            return 0
        print(f"READY {options.ns_host}:{options.ns_port}", flush=True)
        log.info("READY: %d processes", len(components))
        if options.client:
            run_client(f"{commands}.client", options, stop, supervisor)
        else:
            supervisor.supervise(stop, options.restart)
        return 0
    except StartupFailed as exc:
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
    module: str, options: argparse.Namespace, stop: threading.Event, supervisor: Supervisor
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
            *("--ns-host", options.ns_host, "--ns-port", str(options.ns_port)),
            *("--data-dir", str(options.data_dir)),
        ]
    )
    supervisor.supervise(stop, options.restart, done=lambda: client.poll() is not None)
    if client.poll() is None:  # stopped by SIGTERM
        client.terminate()
        try:
            client.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            client.kill()
            client.wait()
