"""The cluster under test: started here or attached to, and what it has done so far.

A snapshot reads every component's ``status()`` (its ``calls_served`` and
``disk_syncs`` counters and its pid) and the CPU time of each process from
``/proc``; the difference of two snapshots is the work done between them.
Counting per component, not per process tree, lets ``--attach`` measure a
cluster this process did not start, as long as it runs on this machine (CPU
and memory come from ``/proc``; without it they are reported as unknown).
"""

from __future__ import annotations

import os
import secrets
import sys
import time
from dataclasses import dataclass, field, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

from ticketing import names
from ticketing.cluster.handle import ClusterHandle
from ticketing.cluster.processes import free_port
from ticketing.cluster.spec import ClusterSpec
from ticketing.security.balancer_proof import verified
from ticketing.security.cluster_key import SigningKey, find_cluster_key
from ticketing.security.secret import ENV_VAR, SecretError, load_secret
from ticketing.server.proxies import ProxyPool

_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Counters summed over the components, CPU seconds over their processes."""

    taken_at: float
    components: dict[str, int]  # component kind -> how many run
    calls_served: int | None  # None when a component does not report the counter
    disk_syncs: int | None
    cpu_seconds: float | None  # None when /proc does not show every process
    rss_mb: dict[str, float] = field(default_factory=dict)  # replica name -> resident MB
    cpu_by_kind: dict[str, float] = field(default_factory=dict)  # component kind -> CPU s
    calls_by_kind: dict[str, int] = field(default_factory=dict)  # component kind -> calls
    cpu_by_process: dict[str, float] = field(default_factory=dict)  # process name -> CPU s
    # component name -> its status() counters: what a hot process spends its CPU on
    calls_by_process: dict[str, int] = field(default_factory=dict)
    syncs_by_process: dict[str, int] = field(default_factory=dict)

    def minus(self, earlier: Snapshot) -> dict[str, Any]:
        """Work between ``earlier`` and this one; the status() calls of ``earlier`` excluded."""

        def delta(now: float | None, then: float | None, own: int = 0) -> float | None:
            return None if now is None or then is None else now - then - own

        # each component served one status() of ours between the two readings
        own = self.components
        return {
            "seconds": self.taken_at - earlier.taken_at,
            "calls_served": delta(self.calls_served, earlier.calls_served, sum(own.values())),
            "disk_syncs": delta(self.disk_syncs, earlier.disk_syncs),
            "cpu_seconds": delta(self.cpu_seconds, earlier.cpu_seconds),
            "cpu_by_kind": {
                kind: seconds - earlier.cpu_by_kind.get(kind, 0.0)
                for kind, seconds in self.cpu_by_kind.items()
            },
            "calls_by_kind": {
                kind: calls - earlier.calls_by_kind.get(kind, 0) - own.get(kind, 0)
                for kind, calls in self.calls_by_kind.items()
            },
            # only processes seen both times: one restarted in between is a different process
            "cpu_by_process": {
                name: seconds - earlier.cpu_by_process[name]
                for name, seconds in self.cpu_by_process.items()
                if name in earlier.cpu_by_process
            },
            "calls_by_process": {  # less the status() call of ours
                name: calls - earlier.calls_by_process[name] - 1
                for name, calls in self.calls_by_process.items()
                if name in earlier.calls_by_process
            },
            "syncs_by_process": {
                name: syncs - earlier.syncs_by_process[name]
                for name, syncs in self.syncs_by_process.items()
                if name in earlier.syncs_by_process
            },
        }


def attached(address: str, data_dir: Path | None) -> System:
    """The running cluster whose name server is at ``address`` (``HOST:PORT``), as a member.

    The secret is read as every member reads it: ``$TICKETING_SECRET``, else
    ``<data_dir>/cluster.secret``. Raises ``SecretError`` saying where it looked.
    """
    host, _, port = address.rpartition(":")
    try:
        secret = load_secret(data_dir)
    except SecretError as exc:
        raise SecretError(
            f"attaching needs the cluster's secret (it reads every component's status()): "
            f"give --data-dir of the cluster or set ${ENV_VAR}; {exc}"
        ) from None
    return System(host.strip("[]"), int(port), secret=secret)


class System:
    """A running cluster reached through its name server."""

    def __init__(
        self,
        ns_host: str,
        ns_port: int,
        extra_pids: tuple[int, ...] = (),
        secret: str | None = None,
    ) -> None:
        """``secret``: the cluster's (a member reads every component's status()); None
        takes ``$TICKETING_SECRET``, as every member does."""
        self.ns_host = ns_host
        self.ns_port = ns_port
        self.pool = ProxyPool(ns_host, ns_port, timeout=30.0, secret=secret)
        self._secret = secret
        self._extra_pids = extra_pids  # e.g. the name server, which has no status()

    def load_balancers(self) -> list[str]:
        """The URIs of the registered load balancers signed by the cluster, in name order."""
        key = (
            SigningKey.from_secret(self._secret).public()
            if self._secret
            else find_cluster_key(None, None)  # from $TICKETING_SECRET, read as members read it
        )
        found, skipped = verified(key, self.pool.entries(names.LOAD_BALANCER_PREFIX))
        if skipped:
            print(f"bench: skipped unsigned load balancer entries {skipped}", file=sys.stderr)
        if not found:
            raise RuntimeError(
                f"no load balancer signed by the cluster in the name server at "
                f"{self.ns_host}:{self.ns_port} (is ${ENV_VAR} the cluster's secret?)"
            )
        return [found[name] for name in sorted(found)]

    def statuses(self) -> dict[str, dict]:
        components = self.pool.list(names.ROOT, refresh=True)
        return {name: self.pool.call(name, "status") for name in sorted(components)}

    def snapshot(self) -> Snapshot:
        statuses = self.statuses()
        pids = {s["pid"] for s in statuses.values()} | set(self._extra_pids)
        cpu = {pid: cpu_seconds(pid) for pid in pids}
        count: dict[str, int] = {}
        cpu_by_kind: dict[str, float] = {}
        calls_by_kind: dict[str, int] = {}
        for name, status in statuses.items():
            kind = component_kind(name)
            count[kind] = count.get(kind, 0) + 1
            calls_by_kind[kind] = calls_by_kind.get(kind, 0) + status.get("calls_served", 0)
            cpu_by_kind[kind] = cpu_by_kind.get(kind, 0.0) + (cpu[status["pid"]] or 0.0)
        by_pid = {status["pid"]: name for name, status in statuses.items()}
        for pid in self._extra_pids:
            by_pid.setdefault(pid, process_name(pid))
        cpu_by_process = {
            by_pid[pid]: seconds
            for pid, seconds in cpu.items()
            if seconds is not None and pid in by_pid
        }
        rss = {
            name: rss_mb(s["pid"])
            for name, s in statuses.items()
            if name.startswith(names.DATASTORE_PREFIX) and ".replica." in name
        }
        return Snapshot(
            taken_at=time.monotonic(),
            components=count,
            calls_served=_sum(s.get("calls_served") for s in statuses.values()),
            disk_syncs=_sum(s.get("disk_syncs") for s in statuses.values()),
            cpu_seconds=None if None in cpu.values() else sum(cpu.values()),
            rss_mb={name: mb for name, mb in rss.items() if mb is not None},
            cpu_by_kind=cpu_by_kind,
            calls_by_kind=calls_by_kind,
            cpu_by_process=cpu_by_process,
            calls_by_process={
                name: s["calls_served"] for name, s in statuses.items() if "calls_served" in s
            },
            syncs_by_process={
                name: s["disk_syncs"] for name, s in statuses.items() if "disk_syncs" in s
            },
        )

    def close(self) -> None:
        self.pool.close()


def component_kind(name: str) -> str:
    """``ticketing.datastore.east.replica.2`` -> ``datastore.replica``: names without ids."""
    parts = name.removeprefix(names.ROOT).split(".")
    if parts[0] == "datastore" and len(parts) >= 3:
        return "datastore." + ".".join(p for p in parts[2:] if not p.isdigit())
    return ".".join(p for p in parts if not p.isdigit())


def _sum(values: object) -> int | None:
    values = list(values)
    return None if any(v is None for v in values) else sum(values)


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of ``pid`` so far, from /proc (None if not visible)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime (fields 14, 15)


def process_name(pid: int) -> str:
    """A process that is no component, by its module or script: ``nameserver (pid 41)``."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline:
            args = cmdline.read().decode(errors="replace").split("\0")[1:]
    except OSError:
        args = []
    modules = [module.rsplit(".", 1)[-1] for flag, module in pairwise(args) if flag == "-m"]
    scripts = modules or [Path(a).stem for a in args if a.endswith(".py")]
    return f"{scripts[0] if scripts else 'process'} (pid {pid})"


def rss_mb(pid: int) -> float | None:
    """Resident memory of ``pid`` in MB, from /proc (None if not visible)."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (the launcher's components and name server)."""
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            parents.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class LocalCluster:
    """``ticketing-cluster`` on a free port and a given data directory, measured as a ``System``."""

    def __init__(
        self,
        data_dir: Path,
        catalog: Path | None,
        lock_groups: int = 1,
        load_balancers: int | None = None,
    ) -> None:
        """``load_balancers`` None: ``ticketing-cluster``'s default."""
        self.spec = ClusterSpec(data_dir, catalog, ns_port=free_port(), lock_groups=lock_groups)
        if load_balancers is not None:
            self.spec = replace(self.spec, load_balancers=load_balancers)
        self._cluster: ClusterHandle | None = None

    def start(self) -> System:
        """Start the cluster; this process becomes a member (it reads internal status()).

        A fresh cluster secret is handed to the launcher and set in this
        process's environment, where every ``ProxyPool`` finds it.
        """
        os.environ[ENV_VAR] = secrets.token_urlsafe(32)
        self._cluster = ClusterHandle(self.spec).start()
        pids = children(self._cluster.launcher_pid())  # the name server's too
        return System(self._cluster.ns_host, self._cluster.ns_port, tuple(pids))

    def stop(self) -> None:
        if self._cluster is not None:
            self._cluster.stop()
            self._cluster = None
