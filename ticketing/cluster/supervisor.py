"""Starts a cluster's processes, waits until they answer, restarts what dies, stops them all.

Each child's stdout and stderr go to ``<data-dir>/logs/<label>.out``. At
start-up a child that exits fails the start (``ClusterFailed``, with its exit
code and the tail of that file). After READY, ``supervise`` reports each
death and, if asked, starts the child again with the same command line after
a backoff (``restart_backoff``): a replica recovers from its own data
directory, a coordinator from its round on disk, the name server from its
entries on disk.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from Pyro5.errors import CommunicationError

from ticketing import names
from ticketing.cluster.plan import NAME_SERVER, Component
from ticketing.cluster.processes import ClusterFailed
from ticketing.errors import TicketingError
from ticketing.restart_backoff import FIRST_DELAY, RestartBackoff
from ticketing.server.logs import LOG_DIR
from ticketing.server.proxies import ProxyPool

log = logging.getLogger(__name__)

READY_TIMEOUT = 120.0  # seconds for every component to register and answer status()
STOP_GRACE = 10.0  # seconds between SIGTERM and SIGKILL
POLL_INTERVAL = 0.2  # seconds between checks of the children while waiting
PROBE_TIMEOUT = 2.0  # seconds for one status() probe
TAIL_LINES = 20


class Supervisor:
    """Starts components as child processes, watches them, restarts them, and stops them all."""

    def __init__(
        self,
        data_dir: Path,
        ns_host: str,
        ns_port: int,
        secret: str | None = None,
        restart_delay: float = FIRST_DELAY,
        env: Mapping[str, str] | None = None,
        command: Callable[[Component], list[str]] = Component.command_line,
    ) -> None:
        """``env`` is added to what every child inherits; ``command`` is how a component's
        command line is run (a caller that places processes on other hosts wraps it)."""
        self.secret = secret  # to probe the members-only components
        self.log_dir = data_dir / LOG_DIR
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.restart_delay = restart_delay
        self.env = dict(env or {})
        self.command = command
        self.children: dict[str, subprocess.Popen] = {}
        self._components: dict[str, Component] = {}
        self._started_at: dict[str, float] = {}  # label -> monotonic time of its last start
        self._outputs: dict[str, tuple[Path, int]] = {}  # label -> (file, offset of this run)
        self._reported: set[str] = set()
        self._backoff: dict[str, RestartBackoff] = {}
        self._due: dict[str, float] = {}  # label -> monotonic time of its planned restart
        self._returning: set[str] = set()  # restarted, not answering yet

    def start(self, component: Component, output: str | None = None) -> None:
        """Start ``component``, its output appended to ``<log dir>/<output>``
        (``<label>.out`` by default)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        out = self.log_dir / (output or f"{component.label}.out")
        self._components[component.label] = component
        self._reported.discard(component.label)
        self._started_at[component.label] = time.monotonic()
        with open(out, "ab") as sink:
            self._outputs[component.label] = (out, sink.tell())
            self.children[component.label] = subprocess.Popen(
                self.command(component),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={
                    **os.environ,
                    "PYTHONUNBUFFERED": "1",
                    **self.env,
                    **_public_tls(component),
                },
                start_new_session=True,  # a terminal's ^C reaches the launcher only
            )

    def running(self, label: str) -> subprocess.Popen | None:
        """The child process of ``label`` if this supervisor started it and it runs."""
        child = self.children.get(label)
        return child if child is not None and child.poll() is None else None

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

        Raises ``ClusterFailed`` when a child exits or the deadline passes.
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
                    raise ClusterFailed(f"{self.describe_exit(label)}")
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
                    raise ClusterFailed(
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
            stop_gently(proc)
        deadline = time.monotonic() + STOP_GRACE
        for proc in running:
            try:
                proc.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def stop_gently(proc: subprocess.Popen) -> None:
    """SIGTERM ``proc``, continuing it first: a paused process (SIGSTOP) cannot handle SIGTERM."""
    try:
        proc.send_signal(signal.SIGCONT)
        proc.terminate()
    except ProcessLookupError:
        pass  # it exited meanwhile


def _public_tls(component: Component) -> dict[str, str]:
    """Over TLS (``PYRO_SSL``), the name server asks no client certificate: it is public.

    Load balancers, public too, say so themselves (``tls.serve_public``).
    """
    public = component.module == NAME_SERVER
    if public and os.environ.get("PYRO_SSL", "").lower() in ("1", "true", "yes"):
        return {"PYRO_SSL_REQUIRECLIENTCERT": "false"}
    return {}
