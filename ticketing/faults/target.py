"""A real local cluster to hurt: ``ticketing-cluster``, plus signals to its processes.

A ``ClusterHandle`` with what the fault run needs besides: where each event's
holds live (``placement``, ``lock_labels``) and the digests replicas of one
group must end with. The launcher runs with ``--no-restart``: each fault's
downtime and restart are the nemesis's, and a restart of the launcher's own
would race with it (two processes on one replica's files).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from ticketing import names
from ticketing.catalog import load_catalog
from ticketing.cluster.handle import ClusterHandle
from ticketing.cluster.spec import ClusterSpec
from ticketing.domain.lock_placement import LockPlacement

PROBE_TIMEOUT = 3.0  # seconds for one status() of the nemesis and the final reads


class LocalTarget(ClusterHandle):
    def __init__(
        self,
        data_dir: Path,
        catalog: Path,
        ns_port: int,
        env: Mapping[str, str] | None = None,
        *,
        lock_groups: int = 1,
        ns_host: str = "127.0.0.1",
        data_replicas: int = 3,
    ) -> None:
        """``env`` is added to the environment of every process of the cluster (the
        planted-bug variants' flags).

        ``lock_groups`` independent lock stores run (``run/cluster.py --lock-groups``).
        """
        # Refuses a catalog the lock groups cannot place before anything starts.
        self.placement = LockPlacement(load_catalog(catalog), lock_groups)
        spec = ClusterSpec(
            data_dir=data_dir,
            catalog=catalog,
            ns_host=ns_host,
            ns_port=ns_port,
            host=ns_host,
            data_replicas=data_replicas,
            lock_groups=lock_groups,
            restart=False,
            env=dict(env or {}),
        )
        super().__init__(spec, probe_timeout=PROBE_TIMEOUT)

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
