"""A cluster spread over hosts (network namespaces), to hurt like ``LocalTarget`` and to cut.

Host 0 runs the name server, the lock store, the coordinators, the manager,
the load balancers and every cluster but one; each replica of that one
(``spread``, by default ``east``) runs on a host of its own (1..replicas).
Every process is started with the launcher's command line
(``ticketing.launcher.plan``), only its ``--host`` changed, so a replica can be
cut from the others (``cut``) while it runs on: a partition, not a crash.

``spread``'s coordinator may run beside one of its replicas instead
(``coordinator_with``), with a standby coordinator on host 0 (``standby``):
cutting that host then leaves a leader that still hears one replica, behind
the cut, and a standby that takes the majority over: a deposed leader that
believes it leads.

It offers what ``LocalTarget`` offers to the fault run (kill, pause, restart,
answers, digests: the same code, as it only needs pids and the pool), plus
``cut`` and ``heal`` of the host a replica runs on.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import signal
import subprocess
import time
from dataclasses import replace
from pathlib import Path

from ticketing.catalog import load_catalog
from ticketing.domain.lock_placement import LockPlacement
from ticketing.errors import TicketingError
from ticketing.faults.netns import Hosts
from ticketing.faults.target import ClusterFailed, LocalTarget
from ticketing.launcher import Component, plan
from ticketing.security.secret import ENV_VAR
from ticketing.server.coordinator import standby_name
from ticketing.server.proxies import ProxyPool

READY_TIMEOUT = 120.0
STOP_GRACE = 10.0
SPREAD = "east"  # the small catalog's cluster whose replicas get hosts of their own


def _with_host(args: tuple[str, ...], address: str) -> tuple[str, ...]:
    """The launcher's arguments with ``--host`` set to ``address``."""
    out = list(args)
    out[out.index("--host") + 1] = address
    return tuple(out)


class SpreadTarget(LocalTarget):
    """A cluster on ``hosts``: ``spread``'s replicas on hosts 1..replicas, the rest on host 0.

    Every lock group (``lock_groups``) runs on host 0: partitions cut data replicas only,
    and ``spread``'s coordinator when ``coordinator_with`` names the replica it runs beside
    (1..replicas; 0, the default, is host 0). With ``standby`` a standby of that coordinator
    (``--standby``) runs on host 0, started once the main one leads.

    ``hosts`` must hold ``1 + replicas`` hosts; it stays the caller's to tear down.
    """

    def __init__(
        self,
        hosts: Hosts,
        data_dir: Path,
        catalog: Path,
        ns_port: int,
        env: dict[str, str] | None = None,
        *,
        spread: str = SPREAD,
        replicas: int = 3,
        lock_groups: int = 1,
        coordinator_with: int = 0,
        standby: bool = False,
    ) -> None:
        # Not LocalTarget.__init__: that one places everything on 127.0.0.1.
        if not 0 <= coordinator_with <= replicas:
            raise ValueError(f"coordinator_with is 0 or 1..{replicas}, not {coordinator_with}")
        self.hosts = hosts
        self.coordinator_with = coordinator_with
        self.data_dir = data_dir
        self.catalog = catalog
        self.ns_port = ns_port
        self.ns_host = hosts.address(0)
        self.spread = spread
        self.lock_groups = lock_groups
        loaded = load_catalog(catalog)
        self.placement = LockPlacement(loaded, lock_groups)
        self.clusters = list(loaded.clusters())
        if spread not in self.clusters:
            raise ValueError(f"cluster {spread!r} is not in {catalog} ({self.clusters})")
        options = argparse.Namespace(
            ns_host=self.ns_host,
            ns_port=ns_port,
            host=self.ns_host,
            data_dir=data_dir,
            catalog=catalog,
            lock_replicas=3,
            data_replicas=replicas,
            load_balancers=2,
            lock_groups=lock_groups,
        )
        os.environ.setdefault(ENV_VAR, secrets.token_hex(24))
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.host_of: dict[str, int] = {}
        self.components: dict[str, Component] = {}
        planned = plan(options, self.clusters)
        if standby:
            planned.append(self._standby_of(planned))
        for component in planned:
            host = self._host_for(component.label)
            if host:
                args = _with_host(component.args, hosts.address(host))
                component = replace(component, args=args)
            self.host_of[component.label] = host
            self.components[component.label] = component
        self.pool = ProxyPool(self.ns_host, ns_port, timeout=3.0)
        self._launcher = None
        self._extra: dict[str, subprocess.Popen] = {}  # every process, by label

    def _host_for(self, label: str) -> int:
        """Host of ``datastore-<spread>-<i>`` is ``i``, of ``spread``'s coordinator
        ``coordinator_with``; everything else is on host 0."""
        prefix = f"datastore-{self.spread}-"
        if label == f"datastore_coordinator-{self.spread}":
            return self.coordinator_with
        return int(label.removeprefix(prefix)) if label.startswith(prefix) else 0

    def _standby_of(self, planned: list[Component]) -> Component:
        """A standby of ``spread``'s coordinator, as ``run/datastore_coordinator.py --standby``."""
        main = next(c for c in planned if c.label == f"datastore_coordinator-{self.spread}")
        assert main.name is not None
        return replace(
            main,
            label=f"{main.label}-standby",
            args=(*main.args, "--standby"),
            name=standby_name(main.name),
            after=main.label,
        )

    @property
    def cuttable(self) -> list[str]:
        """The labels that run on a host of their own, which ``cut`` may isolate."""
        return [label for label, host in self.host_of.items() if host]

    def start(self) -> None:
        """Start every component on its host; return once each answers ``status()``.

        A standby (a component with ``after``) starts once the coordinator it
        stands by leads, as the launcher starts it, so that one wins the first ballot.
        """
        (self.data_dir / "logs").mkdir(parents=True, exist_ok=True)
        labels = [label for label, c in self.components.items() if c.after is None]
        standbys = [label for label, c in self.components.items() if c.after is not None]
        try:
            for i, label in enumerate(labels):
                self._spawn(label, f"{label}.out")
                if i == 0:  # the name server first: the others register there
                    self._await(label)
            for label in labels[1:]:
                self._await(label)
            for label in standbys:
                self._await(self.components[label].after or label, leading=True)
                self._spawn(label, f"{label}.out")
                self._await(label)
        except BaseException:
            self.stop()
            raise

    def leads(self, label: str) -> bool:
        """Whether coordinator ``label`` answers that it leads."""
        name = self.components[label].name
        try:
            return name is not None and self.pool.call(name, "status")["state"] == "leading"
        except TicketingError:
            return False

    def _await(self, label: str, leading: bool = False) -> None:
        deadline = time.monotonic() + READY_TIMEOUT
        while not (self.leads(label) if leading else self.answers(label)):
            for name, proc in self._extra.items():
                if proc.poll() is not None:
                    raise ClusterFailed(
                        f"{name} exited with {proc.returncode}; see {self.data_dir}/logs"
                    )
            if time.monotonic() > deadline:
                raise ClusterFailed(f"{label} did not answer; see {self.data_dir}/logs")
            time.sleep(0.1)

    def _spawn(self, label: str, log_name: str) -> None:
        component = self.components[label]
        argv = component.command_line()
        with open(self.data_dir / "logs" / log_name, "ab") as sink:
            # `ip netns exec` execs argv: the pid is the component's own.
            self._extra[label] = subprocess.Popen(
                self.hosts.command(self.host_of[label], argv),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env=self.env,
            )

    def restart(self, label: str) -> None:
        self._spawn(label, f"{label}.restart.out")

    def stop(self) -> None:
        """SIGTERM everything at once, then SIGKILL what is left (also if interrupted)."""
        procs = list(self._extra.values())
        try:
            for proc in procs:
                if proc.poll() is None:
                    with contextlib.suppress(OSError):
                        proc.send_signal(signal.SIGCONT)  # a paused process cannot handle SIGTERM
                    proc.terminate()
            for proc in procs:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(STOP_GRACE)
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
            self._extra.clear()
            self.pool.close()

    # --- partitions ------------------------------------------------------------

    def cut(self, label: str) -> None:
        """Cut the host ``label`` runs on from every other host; ``label`` runs on."""
        self.hosts.cut(self._own_host(label))

    def heal(self, label: str) -> None:
        self.hosts.heal(self._own_host(label))

    def cut_off(self, label: str) -> bool:
        """Whether ``label`` runs on yet does not answer (as when its host is cut)."""
        proc = self._extra[label]
        return proc.poll() is None and not self.answers(label)

    def _own_host(self, label: str) -> int:
        host = self.host_of[label]
        if not host:
            raise ValueError(f"{label} shares host 0 with the rest; cut one of {self.cuttable}")
        return host
