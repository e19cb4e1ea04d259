"""A cluster started from another program: reach its processes by label, hurt them, stop it.

``start`` runs ``ticketing-cluster`` with the spec's flags and waits for its
READY line, as any script would: the launcher, not this process, starts the
cluster (and, unless the spec says ``restart=False``, restarts what dies).
The handle makes the launcher's plan from the same spec, so it knows every
process by label: it finds one (the pid its ``status()`` reports; the name
server's by its command line), signals it, and starts it again with the very
command line the launcher used. What the handle starts itself, its own
``Supervisor`` keeps (never restarting anything on its own) and ``stop`` ends.

The tests' ``LocalCluster``, the fault run's targets and the bench's cluster
are this class, with what is their own added.
"""

from __future__ import annotations

import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Self

from ticketing import names, settings
from ticketing.catalog import load_catalog
from ticketing.cluster.plan import COMMANDS, NAME_SERVER, data_clusters, plan, python_module
from ticketing.cluster.processes import ClusterFailed, alive, name_server_pid
from ticketing.cluster.spec import ClusterSpec
from ticketing.cluster.supervisor import POLL_INTERVAL, Supervisor, stop_gently
from ticketing.errors import TicketingError
from ticketing.security.secret import ENV_VAR
from ticketing.server.proxies import ProxyPool

READY_TIMEOUT = 180.0  # seconds for the launcher's READY line, on two busy cores
STOP_TIMEOUT = 60.0  # seconds for the launcher to stop every process after SIGTERM
EXIT_TIMEOUT = 10.0  # seconds for a signalled process to be gone
LAUNCHER_ERRORS = "cluster.err"  # the launcher's stderr, in the data directory
TAIL_LINES = 30


class ClusterHandle:
    """One cluster of ``spec``: started with ``start``, stopped with ``stop``."""

    def __init__(self, spec: ClusterSpec, *, probe_timeout: float = settings.PROXY_TIMEOUT) -> None:
        """``probe_timeout`` bounds each call of ``pool`` (``status``, ``answers``)."""
        # Internal components serve cluster members only: the launcher, its
        # children and this process share the secret through the environment.
        os.environ.setdefault(ENV_VAR, secrets.token_urlsafe(32))
        self.spec = spec.resolved()
        # What the launcher starts: the catalog file's data clusters and those
        # started beside them earlier on this data directory.
        self.clusters = data_clusters(load_catalog(self.spec.catalog), self.spec.data_dir)
        self.components = {c.label: c for c in plan(self.spec, self.clusters)}
        self.pool = ProxyPool(self.ns_host, self.ns_port, timeout=probe_timeout)
        self.supervisor = Supervisor(
            self.spec.data_dir, self.ns_host, self.ns_port, env=self.spec.env
        )
        self._launcher: subprocess.Popen | None = None

    @property
    def data_dir(self) -> Path:
        return self.spec.data_dir

    @property
    def catalog(self) -> Path | None:
        return self.spec.catalog

    @property
    def ns_host(self) -> str:
        return self.spec.ns_host

    @property
    def ns_port(self) -> int:
        return self.spec.ns_port

    @property
    def env(self) -> dict[str, str]:
        """The environment the cluster's processes get: this process's plus the spec's."""
        return {**os.environ, **self.spec.env}

    # --- the whole cluster -------------------------------------------------------

    def start(self) -> Self:
        """Run ``ticketing-cluster`` for the spec; return once it prints the contract's READY.

        Raises ``ClusterFailed`` (after stopping it) if it exits first, prints
        anything else, or is not ready within ``READY_TIMEOUT``.
        """
        self.data_dir.mkdir(parents=True, exist_ok=True)
        errors = self.data_dir / LAUNCHER_ERRORS
        with open(errors, "w") as sink:  # a file: an unread pipe could fill and block it
            self._launcher = subprocess.Popen(
                [*python_module(f"{COMMANDS}.cluster"), *self.spec.launcher_args()],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=sink,
                text=True,
                env=self.env,
            )
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        stdout = self._launcher.stdout
        threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
        expected = f"READY {self.ns_host}:{self.ns_port}\n"
        deadline = time.monotonic() + READY_TIMEOUT
        while True:
            try:
                line: str | None = lines.get(timeout=POLL_INTERVAL)
            except queue.Empty:
                line = None
            if line == expected:
                return self
            if line is not None:
                problem = f"printed {line!r} where the contract says {expected!r}"
            elif self._launcher.poll() is not None:
                problem = f"exited (code {self._launcher.returncode}) before READY"
            elif time.monotonic() > deadline:
                problem = f"was not READY after {READY_TIMEOUT:.0f}s"
            else:
                continue
            self.stop()
            tail = "\n".join(errors.read_text(errors="replace").splitlines()[-TAIL_LINES:])
            raise ClusterFailed(
                f"ticketing-cluster {problem}; see {self.data_dir}/logs; its stderr ({errors}):\n"
                f"{tail}"
            )

    def stop(self) -> int:
        """Stop what this handle started, then the launcher (it stops the rest).

        Returns the launcher's exit code (0 when it was not running).
        """
        self.supervisor.stop_all()
        code = 0
        if self._launcher is not None:
            if self._launcher.poll() is None:
                stop_gently(self._launcher)
                try:
                    self._launcher.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    self._launcher.kill()
            code = self._launcher.wait()
            self._launcher = None
        self.pool.close()
        return code

    def launcher_pid(self) -> int:
        """The pid of ``ticketing-cluster`` itself (to pause its supervision)."""
        if self._launcher is None:
            raise ClusterFailed("the cluster's launcher is not running: start() it first")
        return self._launcher.pid

    # --- its processes, by label ---------------------------------------------------

    def label(self, name: str) -> str:
        """The label of the component registered as ``name`` (``lock_server-2`` for ...server.2)."""
        return next(label for label, c in self.components.items() if c.name == name)

    def status(self, name: str) -> dict:
        return self.pool.call(name, "status")

    def pid(self, label: str) -> int:
        """The pid of ``label``: of the process this handle started, else the one its
        ``status()`` reports (the name server's: found by its command line)."""
        own = self.supervisor.running(label)
        if own is not None:
            return own.pid
        component = self.components[label]
        if component.module == NAME_SERVER:
            return name_server_pid(self.ns_port)
        if component.name is None:
            raise ClusterFailed(f"{label} is not running (it was started by this handle)")
        return int(self.status(component.name)["pid"])

    def answers(self, label: str) -> bool:
        """Whether ``label`` answers ``status()`` (the name server: a listing)."""
        component = self.components[label]
        try:
            if component.name is None:
                self.pool.list(names.ROOT, refresh=True)
            else:
                self.pool.call(component.name, "status")
        except TicketingError:
            return False
        return True

    def kill(self, label: str, sig: int = signal.SIGKILL) -> None:
        """Signal ``label``'s process and return once it is gone."""
        pid = self.pid(label)
        own = self.supervisor.running(label)
        os.kill(pid, sig)
        deadline = time.monotonic() + EXIT_TIMEOUT
        try:
            if own is not None:
                own.wait(EXIT_TIMEOUT)  # reaped: no zombie of ours left behind
            while alive(pid):
                if time.monotonic() > deadline:
                    raise subprocess.TimeoutExpired(label, EXIT_TIMEOUT)
                time.sleep(POLL_INTERVAL / 4)
        except subprocess.TimeoutExpired:
            raise ClusterFailed(
                f"{label} (pid {pid}) still runs {EXIT_TIMEOUT:.0f}s after "
                f"{signal.Signals(sig).name}"
            ) from None

    def pause(self, label: str) -> int:
        """SIGSTOP ``label``'s process; returns its pid for ``resume``."""
        pid = self.pid(label)
        os.kill(pid, signal.SIGSTOP)
        return pid

    @staticmethod
    def resume(pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

    def restart(self, label: str, *extra_args: str, as_label: str | None = None) -> None:
        """Start ``label`` again with the launcher's command line (plus ``extra_args``);
        its output goes to ``<data-dir>/logs/<label>.restart.out``.

        ``as_label`` starts another process from that command line (e.g. a
        standby coordinator) under its own label, for ``kill(as_label)``.
        Returns at once: whether and when it answers is the caller's to see.
        """
        component = self.components[label]
        if extra_args:
            component = replace(component, args=(*component.args, *extra_args))
        if as_label is not None:
            component = replace(component, label=as_label, name=None, after=None)
            self.components[as_label] = component
        self.supervisor.start(component, output=f"{component.label}.restart.out")
