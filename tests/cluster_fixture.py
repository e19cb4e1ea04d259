"""A real local cluster for system tests: ``ticketing-cluster``, plus handles to hurt it.

The cluster runs as the contract says (the launcher prints ``READY``); tests
reach it through the name server like any client, kill components by the pid
their ``status()`` reports, and start them again with the same command line
the launcher used (``ClusterHandle``). The launcher restarts nothing
(``--no-restart``) unless asked: a test that kills a component restarts it
itself, when it chooses.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Mapping
from pathlib import Path

from conftest import pick_free_port, poll
from Pyro5.api import Proxy

from ticketing import catalog_files, names
from ticketing.cluster.handle import ClusterHandle
from ticketing.cluster.plan import plan
from ticketing.cluster.spec import ClusterSpec
from ticketing.security.membership import MemberProxy, is_internal
from ticketing.security.secret import ENV_VAR
from ticketing.server.proxies import name_server_uri

SMALL_CATALOG = catalog_files.SMALL  # also tests/catalogs/small.toml
RESTART_DELAY = 0.2  # seconds before a supervised cluster restarts a component


class LocalCluster(ClusterHandle):
    def __init__(
        self,
        data_dir: Path,
        catalog: Path | None = SMALL_CATALOG,
        lock_replicas: int = 3,
        data_replicas: int = 3,
        load_balancers: int = 2,
        lock_groups: int = 1,
        supervised: bool = False,
        env: Mapping[str, str] | None = None,
    ) -> None:
        """``supervised``: the launcher restarts what dies (its default), with its
        shortest backoff so that tests need not wait. ``env`` is added to the
        environment of every process of the cluster."""
        spec = ClusterSpec(
            data_dir=data_dir,
            catalog=catalog,
            ns_port=pick_free_port(),
            lock_replicas=lock_replicas,
            data_replicas=data_replicas,
            load_balancers=load_balancers,
            lock_groups=lock_groups,
            restart=supervised,
            restart_delay=RESTART_DELAY,
            env=dict(env or {}),
        )
        super().__init__(spec)

    # --- reaching it -------------------------------------------------------------

    def proxy(self, name: str, timeout: float = 10.0) -> Proxy:
        uri = self.pool.resolve(name, refresh=True)
        secret = os.environ.get(ENV_VAR)  # set for the test session by conftest
        member = secret and is_internal(name)  # internal objects serve members only
        proxy = MemberProxy(uri, secret) if member else Proxy(uri)
        proxy._pyroTimeout = timeout
        return proxy

    def load_balancer(self, balancer_id: int = 1) -> Proxy:
        return self.proxy(names.load_balancer(balancer_id))

    def name_server(self) -> Proxy:
        proxy = Proxy(name_server_uri("127.0.0.1", self.ns_port))
        proxy._pyroTimeout = 5.0
        return proxy

    # --- hurting it --------------------------------------------------------------

    def kill(self, label: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process of component ``label`` (e.g. ``datastore-east-2``)."""
        if label == "nameserver":
            raise ValueError("kill the name server with kill_name_server()")
        super().kill(label, sig)

    def kill_name_server(self) -> None:
        """SIGKILL the name server the launcher started (it has no status() to ask)."""
        super().kill("nameserver")

    def restart(self, label: str, *extra_args: str, as_label: str | None = None) -> None:
        """Start component ``label`` again with the launcher's command line, and wait
        until it answers (see ``ClusterHandle.restart``)."""
        super().restart(label, *extra_args, as_label=as_label)
        component = self.components[as_label or label]
        if component.name is not None:
            poll(lambda: self.status(component.name), timeout=30, message=f"{label} to answer")
        else:
            poll(lambda: self.name_server().ping() or True, timeout=30, message="name server")

    def start_data_cluster(self, cluster: str) -> list[str]:
        """Start data cluster ``cluster`` beside the running system, as an operator would:
        ``run/datastore.py --cluster NAME --id N`` for each replica, then
        ``run/datastore_coordinator.py --cluster NAME``, with the launcher's flags.
        Their labels (for ``kill``); ``stop`` ends them with the rest."""
        started = []
        for component in plan(self.spec, [cluster]):
            if component.command in ("datastore", "datastore_coordinator"):
                self.components[component.label] = component
                self.restart(component.label)
                started.append(component.label)
        return started

    def replica_labels(self, cluster: str) -> list[str]:
        return [label for label in self.components if label.startswith(f"datastore-{cluster}-")]

    def digests(self, names_: list[str]) -> dict[str, tuple[int, str]]:
        return {
            n: (s["applied_index"], s["digest"]) for n, s in ((n, self.status(n)) for n in names_)
        }
