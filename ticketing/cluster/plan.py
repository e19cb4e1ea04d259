"""The processes of a cluster and their command lines, as the contract fixes them.

Each component runs as ``python -P -m`` of its command module
(``ticketing.commands.<component>``, the name server's ``nameserver``): what
runs is the installed package (or a checkout on the path), never a path under
``run/``, which an installed package has not.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from ticketing import names
from ticketing.catalog import Catalog
from ticketing.cluster.spec import ClusterSpec
from ticketing.server.coordinator_identity import standby_name

COMMANDS = "ticketing.commands"  # the package of the components' command modules
NAME_SERVER = "nameserver"  # the name server's module: the top-level package


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


def plan(spec: ClusterSpec, clusters: Iterable[str], commands: str = COMMANDS) -> list[Component]:
    """Every process of the cluster, name server first, with the flags each command takes.

    ``commands`` is the package of their modules (tests give stand-ins).
    """
    common = (
        *("--ns-host", spec.ns_host, "--ns-port", str(spec.ns_port)),
        *("--host", spec.host, "--data-dir", str(spec.data_dir)),
    )
    catalog = ("--catalog", str(spec.catalog)) if spec.catalog else ()
    nameserver_args = (
        *("--host", spec.ns_host, "--ns-port", str(spec.ns_port)),
        *("--data-dir", str(spec.data_dir)),
    )
    components = [Component("nameserver", NAME_SERVER, nameserver_args, None)]

    def add(label: str, command: str, args: tuple[str, ...], name: str) -> None:
        components.append(Component(label, f"{commands}.{command}", args, name))

    # Every lock server and balancer must be told K (it places the events);
    # one group is every command's default.
    groups = ("--lock-groups", str(spec.lock_groups)) if spec.lock_groups > 1 else ()
    for number in range(1, spec.lock_groups + 1):
        group = None if spec.lock_groups == 1 else number
        # Replicas and their coordinator must agree on the group's size (its quorum).
        lock_group = (*common, *groups, "--replicas", str(spec.lock_replicas))
        if group is not None:
            lock_group = (*lock_group, "--group", str(group))
        suffix = "" if group is None else f"-{group}"
        for i in range(1, spec.lock_replicas + 1):
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
        group = (*common, "--cluster", cluster, "--replicas", str(spec.data_replicas))
        for i in range(1, spec.data_replicas + 1):
            replica = names.datastore_replica(cluster, i)
            args = (*group, *catalog, "--id", str(i))  # the catalog: to seed a new cluster
            add(f"datastore-{cluster}-{i}", "datastore", args, replica)
        coordinator = names.datastore_coordinator(cluster)
        add(f"datastore_coordinator-{cluster}", "datastore_coordinator", group, coordinator)
    # The manager reports held seats of an event to the operator: it must place events too.
    manager_args = (*common, *catalog, *groups)
    add("datastore_manager", "datastore_manager", manager_args, names.DATASTORE_MANAGER)
    for i in range(1, spec.load_balancers + 1):
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
