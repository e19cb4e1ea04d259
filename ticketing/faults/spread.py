"""A cluster spread over hosts (network namespaces), to hurt like ``LocalTarget`` and to cut.

Host 0 runs the name server, the lock store, the coordinators, the manager,
the load balancers and every cluster but one; each replica of that one
(``spread``, by default ``east``) runs on a host of its own (1..replicas).
Every process is started with the launcher's command line (``ClusterSpec``'s
plan), only its ``--host`` changed, so a replica can be cut from the others
(``cut``) while it runs on: a partition, not a crash. No launcher runs: this
process starts each one in its host's namespace with the launcher's own
``Supervisor``, and waits for the same READY (every component answering,
every coordinator leading).

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

import threading
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Self

from ticketing.cluster.plan import Component
from ticketing.cluster.supervisor import Supervisor
from ticketing.errors import TicketingError
from ticketing.faults.netns import Hosts
from ticketing.faults.target import LocalTarget
from ticketing.server.coordinator_identity import standby_name

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
        env: Mapping[str, str] | None = None,
        *,
        spread: str = SPREAD,
        replicas: int = 3,
        lock_groups: int = 1,
        coordinator_with: int = 0,
        standby: bool = False,
    ) -> None:
        if not 0 <= coordinator_with <= replicas:
            raise ValueError(f"coordinator_with is 0 or 1..{replicas}, not {coordinator_with}")
        self.hosts = hosts
        self.spread = spread
        self.coordinator_with = coordinator_with
        address = hosts.address(0)
        super().__init__(
            data_dir,
            catalog,
            ns_port,
            env,
            lock_groups=lock_groups,
            ns_host=address,
            data_replicas=replicas,
        )
        if spread not in self.clusters:
            raise ValueError(f"cluster {spread!r} is not in {catalog} ({self.clusters})")
        if standby:
            main = self.components[f"datastore_coordinator-{spread}"]
            self.components[f"{main.label}-standby"] = self._standby_of(main)
        self.host_of: dict[str, int] = {}
        for label, component in self.components.items():
            host = self._host_for(label)
            if host:
                args = _with_host(component.args, hosts.address(host))
                self.components[label] = replace(component, args=args)
            self.host_of[label] = host
        # Every process is this one's: started in its host's namespace.
        self.supervisor = Supervisor(
            self.data_dir, self.ns_host, self.ns_port, env=self.spec.env, command=self._command
        )

    def _host_for(self, label: str) -> int:
        """Host of ``datastore-<spread>-<i>`` is ``i``, of ``spread``'s coordinator
        ``coordinator_with``; everything else is on host 0."""
        prefix = f"datastore-{self.spread}-"
        if label == f"datastore_coordinator-{self.spread}":
            return self.coordinator_with
        return int(label.removeprefix(prefix)) if label.startswith(prefix) else 0

    @staticmethod
    def _standby_of(main: Component) -> Component:
        """A standby of ``main``, as ``run/datastore_coordinator.py --standby``; the
        supervisor starts it once ``main`` leads (``after``), as the launcher does."""
        assert main.name is not None
        return replace(
            main,
            label=f"{main.label}-standby",
            args=(*main.args, "--standby"),
            name=standby_name(main.name),
            after=main.label,
        )

    def leads(self, label: str) -> bool:
        """Whether coordinator ``label`` answers that it leads."""
        name = self.components[label].name
        try:
            return name is not None and self.pool.call(name, "status")["state"] == "leading"
        except TicketingError:
            return False

    def _command(self, component: Component) -> list[str]:
        # `ip netns exec` execs the command line: the pid is the component's own.
        return self.hosts.command(self.host_of[component.label], component.command_line())

    @property
    def cuttable(self) -> list[str]:
        """The labels that run on a host of their own, which ``cut`` may isolate."""
        return [label for label, host in self.host_of.items() if host]

    def start(self) -> Self:
        """Start every component on its host; return once all answer, as the launcher's READY."""
        components = list(self.components.values())
        never = threading.Event()
        try:
            # The name server first: the others register there.
            self.supervisor.wait_ready(components[:1], never)
            self.supervisor.wait_ready(components[1:], never)
        except BaseException:
            self.stop()
            raise
        return self

    # --- partitions ------------------------------------------------------------

    def cut(self, label: str) -> None:
        """Cut the host ``label`` runs on from every other host; ``label`` runs on."""
        self.hosts.cut(self._own_host(label))

    def heal(self, label: str) -> None:
        self.hosts.heal(self._own_host(label))

    def cut_off(self, label: str) -> bool:
        """Whether ``label`` runs on yet does not answer (as when its host is cut)."""
        return self.supervisor.running(label) is not None and not self.answers(label)

    def _own_host(self, label: str) -> int:
        host = self.host_of[label]
        if not host:
            raise ValueError(f"{label} shares host 0 with the rest; cut one of {self.cuttable}")
        return host
