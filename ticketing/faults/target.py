"""A real local cluster to hurt: ``run/cluster.py``, plus signals to its processes.

Processes are found by the pid their ``status()`` reports (the name server
by its command line), killed with SIGKILL or paused with SIGSTOP, and started
again with the command line the launcher used (``ticketing.launcher.plan``),
on the same data directory. The launcher runs with ``--no-restart``: each
fault's downtime and restart are the nemesis's, and a restart of the
launcher's own would race with it (two processes on one replica's files).
"""

from __future__ import annotations

import argparse
import os
import queue
import secrets
import signal
import subprocess
import threading
import time
from itertools import pairwise
from pathlib import Path

from ticketing import names
from ticketing.catalog import load_catalog
from ticketing.domain.lock_placement import LockPlacement
from ticketing.errors import TicketingError
from ticketing.launcher import COMMANDS, Component, plan, python_module
from ticketing.security.secret import ENV_VAR
from ticketing.server.proxies import ProxyPool

READY_TIMEOUT = 180.0
STOP_GRACE = 15.0


class ClusterFailed(Exception):
    """The cluster did not come up, or a component did not come back."""


class LocalTarget:
    def __init__(
        self,
        data_dir: Path,
        catalog: Path,
        ns_port: int,
        env: dict[str, str] | None = None,
        *,
        lock_groups: int = 1,
    ) -> None:
        """``env`` is added to the environment of every process of the cluster.

        ``lock_groups`` independent lock stores run (``run/cluster.py --lock-groups``).
        """
        self.data_dir = data_dir
        self.ns_host = "127.0.0.1"
        self.ns_port = ns_port
        self.catalog = catalog
        self.lock_groups = lock_groups
        options = argparse.Namespace(
            ns_host=self.ns_host,
            ns_port=ns_port,
            host=self.ns_host,
            data_dir=data_dir,
            catalog=catalog,
            lock_replicas=3,
            data_replicas=3,
            load_balancers=2,
            lock_groups=lock_groups,
        )
        loaded = load_catalog(catalog)
        self.placement = LockPlacement(loaded, lock_groups)  # refuses a catalog K cannot place
        self.clusters = list(loaded.clusters())
        # Internal components serve cluster members only: the launcher, its
        # children and this process share the secret through the environment.
        os.environ.setdefault(ENV_VAR, secrets.token_hex(24))
        self.env = {**os.environ, **(env or {})}
        self.components: dict[str, Component] = {c.label: c for c in plan(options, self.clusters)}
        self.pool = ProxyPool(self.ns_host, ns_port, timeout=3.0)
        self._launcher: subprocess.Popen | None = None
        self._extra: dict[str, subprocess.Popen] = {}

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._launcher = subprocess.Popen(
            [
                *python_module(f"{COMMANDS}.cluster"),
                *("--ns-port", str(self.ns_port), "--data-dir", str(self.data_dir)),
                *("--catalog", str(self.catalog)),
                *("--lock-groups", str(self.lock_groups)),
                "--no-restart",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=self.env,
        )
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        stdout = self._launcher.stdout
        threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True).start()
        try:
            line = lines.get(timeout=READY_TIMEOUT)
        except queue.Empty:
            line = ""
        if not line.startswith("READY "):
            self.stop()
            raise ClusterFailed(f"run/cluster.py did not print READY; see {self.data_dir}/logs")

    def stop(self) -> None:
        for proc in self._extra.values():
            _terminate(proc)
        self._extra.clear()
        if self._launcher is not None:
            _terminate(self._launcher)
            self._launcher = None
        self.pool.close()

    # --- finding and hurting processes ---------------------------------------------

    def pid(self, label: str) -> int:
        component = self.components[label]
        if component.name is None:
            return self._name_server_pid()
        return int(self.pool.call(component.name, "status")["pid"])

    def kill(self, label: str) -> None:
        pid = self.pid(label)
        os.kill(pid, signal.SIGKILL)
        proc = self._extra.pop(label, None)
        if proc is not None:
            proc.wait()
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)

    def pause(self, label: str) -> int:
        pid = self.pid(label)
        os.kill(pid, signal.SIGSTOP)
        return pid

    @staticmethod
    def resume(pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

    def restart(self, label: str) -> None:
        component = self.components[label]
        log = self.data_dir / "logs" / f"{label}.restart.out"
        with open(log, "ab") as sink:
            self._extra[label] = subprocess.Popen(
                component.command_line(),
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

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

    def digests(self) -> dict[str, list[tuple[int, str]]]:
        """Every replica group's ``(applied_index, digest)``, by ``replica_groups``."""
        out = {}
        for group, members in self.replica_groups().items():
            states = []
            for name in members:
                status = self.pool.call(name, "status")
                states.append((int(status["applied_index"]), str(status["digest"])))
            out[group] = states
        return out

    def replica_groups(self) -> dict[str, list[str]]:
        """The names of each group of replicas that must end with equal digests.

        Each lock group is one (``lock`` with one group, else ``lock-<g>``):
        lock groups keep different logs, so their digests never compare.
        Each data cluster is one, by its name.
        """
        groups = {}
        for number in self.placement.numbers():
            group = self.placement.label(number)
            prefix = names.lock_server_prefix(group)
            key = "lock" if group is None else f"lock-{group}"
            groups[key] = [n for n in self._names() if n.startswith(prefix)]
        for cluster in self.clusters:
            prefix = names.datastore_replica_prefix(cluster)
            groups[cluster] = [n for n in self._names() if n.startswith(prefix)]
        return groups

    def lock_labels(self, group: int) -> tuple[str, ...]:
        """The labels of lock group ``group``'s servers and coordinator (every lock label
        when there is one group)."""
        prefix = names.lock_group_prefix(self.placement.label(group))
        return tuple(
            c.label for c in self.components.values() if c.name and c.name.startswith(prefix)
        )

    def _names(self) -> list[str]:
        return [c.name for c in self.components.values() if c.name is not None]

    def _name_server_pid(self) -> int:
        return name_server_pid(self.ns_port)


def name_server_pid(ns_port: int) -> int:
    """The pid of the live name server started for port ``ns_port`` (it has no status())."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        pairs = set(pairwise(args))
        started = ("-m", "nameserver") in pairs or any(
            Path(arg).name in ("nameserver.py", "ticketing-nameserver") for arg in args
        )
        if started and ("--ns-port", str(ns_port)) in pairs and alive(int(entry.name)):
            return int(entry.name)
    raise ClusterFailed(f"no name server process on port {ns_port}")


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def _terminate(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
        proc.terminate()
        try:
            proc.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
