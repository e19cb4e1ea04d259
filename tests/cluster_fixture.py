"""A real local cluster for system tests: run/cluster.py, plus handles to hurt it.

The cluster runs as the contract says (``run/cluster.py`` prints ``READY``);
tests reach it through the name server like any client, kill components by
the pid their ``status()`` reports, and start them again with the same
command line the launcher used (``ticketing.launcher.plan``). The launcher
restarts nothing (``--no-restart``) unless asked: a test that kills a
component restarts it itself, when it chooses.
"""

from __future__ import annotations

import argparse
import os
import queue
import signal
import subprocess
import sys
import threading
from pathlib import Path

from conftest import ROOT, pick_free_port, poll
from Pyro5.api import Proxy

from ticketing import catalog_files, names
from ticketing.catalog import load_catalog
from ticketing.faults.target import alive, name_server_pid
from ticketing.launcher import Component, data_clusters, plan
from ticketing.security.membership import MemberProxy, is_internal
from ticketing.security.secret import ENV_VAR
from ticketing.server.proxies import ProxyPool, name_server_uri

SMALL_CATALOG = catalog_files.SMALL  # also tests/catalogs/small.toml
READY_TIMEOUT = 120.0
RESTART_DELAY = 0.2  # seconds before a supervised cluster restarts a component


class LocalCluster:
    def __init__(
        self,
        data_dir: Path,
        catalog: Path | None = SMALL_CATALOG,
        lock_replicas: int = 3,
        data_replicas: int = 3,
        load_balancers: int = 2,
        lock_groups: int = 1,
        supervised: bool = False,
    ) -> None:
        """``supervised``: the launcher restarts what dies (its default), with its
        shortest backoff so that tests need not wait."""
        self.data_dir = data_dir
        self.supervised = supervised
        self.catalog = catalog
        self.ns_port = pick_free_port()
        self.options = argparse.Namespace(
            ns_host="127.0.0.1",
            ns_port=self.ns_port,
            host="127.0.0.1",
            data_dir=data_dir,
            catalog=catalog,
            lock_replicas=lock_replicas,
            data_replicas=data_replicas,
            load_balancers=load_balancers,
            lock_groups=lock_groups,
        )
        # The catalog file's data clusters and those started beside them earlier
        # on this data dir: run/cluster.py starts them all.
        self.clusters = data_clusters(load_catalog(catalog), data_dir)
        self.components = {c.label: c for c in plan(self.options, self.clusters)}
        self.pool = ProxyPool("127.0.0.1", self.ns_port)
        self._launcher: subprocess.Popen | None = None
        self._extra: dict[str, subprocess.Popen] = {}

    # --- the whole cluster ---------------------------------------------------------

    def start(self, env: dict[str, str] | None = None) -> LocalCluster:
        """Run ``run/cluster.py``; ``env`` adds to the environment every component inherits."""
        command = [
            sys.executable,
            str(ROOT / "run" / "cluster.py"),
            *("--ns-port", str(self.ns_port), "--data-dir", str(self.data_dir)),
            *("--lock-replicas", str(self.options.lock_replicas)),
            *("--data-replicas", str(self.options.data_replicas)),
            *("--load-balancers", str(self.options.load_balancers)),
            *("--lock-groups", str(self.options.lock_groups)),
            *(("--restart-delay", str(RESTART_DELAY)) if self.supervised else ("--no-restart",)),
        ]
        if self.catalog is not None:
            command += ["--catalog", str(self.catalog)]
        self._launcher = subprocess.Popen(
            command,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        threading.Thread(
            target=lambda: [lines.put(line) for line in self._launcher.stdout], daemon=True
        ).start()

        def ready() -> bool:
            if self._launcher.poll() is not None:
                raise RuntimeError(f"cluster.py exited: {self._launcher.stderr.read()}")
            if lines.empty():
                return False
            line = lines.get()
            assert line == f"READY 127.0.0.1:{self.ns_port}\n", line  # the contract's line
            return True

        poll(ready, timeout=READY_TIMEOUT, message="READY from run/cluster.py")
        return self

    def stop(self) -> int:
        """SIGTERM the launcher (it stops what it started) and what the test restarted."""
        for proc in self._extra.values():
            _terminate(proc)
        self._extra.clear()
        code = 0
        if self._launcher is not None:
            code = _terminate(self._launcher)
            self._launcher = None
        self.pool.close()
        return code

    def launcher_pid(self) -> int:
        """The pid of ``run/cluster.py`` itself (to pause its supervision)."""
        assert self._launcher is not None, "start() the cluster first"
        return self._launcher.pid

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

    def label(self, name: str) -> str:
        """The label of the component registered as ``name`` (``lock_server-2`` for ...server.2)."""
        return next(label for label, c in self.components.items() if c.name == name)

    def status(self, name: str) -> dict:
        return self.pool.call(name, "status")

    def name_server(self) -> Proxy:
        proxy = Proxy(name_server_uri("127.0.0.1", self.ns_port))
        proxy._pyroTimeout = 5.0
        return proxy

    # --- hurting it --------------------------------------------------------------

    def kill(self, label: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process of component ``label`` (e.g. ``datastore-east-2``)."""
        component = self.components[label]
        if label in self._extra:
            self._extra[label].send_signal(sig)
            self._extra[label].wait()
            del self._extra[label]
            return
        if component.name is None:
            raise ValueError("kill the name server with kill_name_server()")
        pid = self.status(component.name)["pid"]
        os.kill(pid, sig)
        poll(lambda: not alive(pid), timeout=10, message=f"{label} (pid {pid}) to exit")

    def kill_name_server(self) -> None:
        """SIGKILL the name server the launcher started (it has no status() to ask)."""
        pid = name_server_pid(self.ns_port)
        os.kill(pid, signal.SIGKILL)
        poll(lambda: not alive(pid), timeout=10, message="the name server to exit")

    def restart(self, label: str, *extra_args: str, as_label: str | None = None) -> None:
        """Start component ``label`` again with the launcher's command line.

        ``as_label`` starts another process from that command line (e.g. a
        standby coordinator) under its own label, for ``kill(as_label)``.
        """
        component: Component = self.components[label]
        if as_label is not None:
            component = Component(as_label, component.module, component.args, None)
            self.components[as_label] = component
            label = as_label
        log = self.data_dir / "logs" / f"{label}.restart.out"
        log.parent.mkdir(parents=True, exist_ok=True)
        with open(log, "ab") as sink:
            self._extra[label] = subprocess.Popen(
                [*component.command_line(), *extra_args],
                stdout=sink,
                stderr=subprocess.STDOUT,
            )
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
        for component in plan(self.options, [cluster]):
            if component.command in ("datastore", "datastore_coordinator"):
                self.components[component.label] = component
                self.restart(component.label)
                started.append(component.label)
        return started

    def pause(self, label: str) -> int:
        """SIGSTOP component ``label``; returns its pid for ``resume``."""
        pid = self.status(self.components[label].name)["pid"]
        os.kill(pid, signal.SIGSTOP)
        return pid

    @staticmethod
    def resume(pid: int) -> None:
        os.kill(pid, signal.SIGCONT)

    def replica_labels(self, cluster: str) -> list[str]:
        return [label for label in self.components if label.startswith(f"datastore-{cluster}-")]

    def digests(self, names_: list[str]) -> dict[str, tuple[int, str]]:
        return {
            n: (s["applied_index"], s["digest"]) for n, s in ((n, self.status(n)) for n in names_)
        }


def _terminate(proc: subprocess.Popen) -> int:
    if proc.poll() is None:
        proc.terminate()
        try:
            return proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
    return proc.wait()
