"""What cluster to start: one record the launcher's plan and its callers share.

The command line (``ticketing-cluster``) parses its flags into a
``ClusterSpec``; the tests, the fault run and the bench build one directly.
``launcher_args`` gives the flags that make ``ticketing-cluster`` start that
very spec, so a program that runs the launcher and then restarts one of its
processes by hand uses the same command lines the launcher did.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from ticketing.restart_backoff import FIRST_DELAY
from ticketing.server.cli import DEFAULT_DATA_DIR, DEFAULT_HOST, DEFAULT_NS_HOST, DEFAULT_NS_PORT


@dataclass(frozen=True)
class ClusterSpec:
    """A local cluster: where it keeps its state, what it serves, how many of each process.

    ``env`` is added to the environment of every process of the cluster (the
    launcher's children inherit it from the launcher): how the fault run
    starts a planted-bug variant (``TICKETING_UNSAFE_...=1``) or the tests a
    small log cap, flags the contract's command lines do not carry.
    """

    data_dir: Path = Path(DEFAULT_DATA_DIR)
    catalog: Path | None = None  # None: the catalog shipped in the package
    ns_host: str = DEFAULT_NS_HOST
    ns_port: int = DEFAULT_NS_PORT
    host: str = DEFAULT_HOST  # the address every component binds
    lock_replicas: int = 3
    data_replicas: int = 3  # of each data cluster
    load_balancers: int = 2
    lock_groups: int = 1
    restart: bool = True  # restart a component that dies after READY (else leave it down)
    restart_delay: float = FIRST_DELAY  # the first restart's delay; see RestartBackoff
    env: Mapping[str, str] = field(default_factory=dict)

    def resolved(self) -> ClusterSpec:
        """The same spec with absolute paths, as the launcher uses them in command lines."""
        catalog = None if self.catalog is None else Path(self.catalog).resolve()
        return replace(self, data_dir=Path(self.data_dir).resolve(), catalog=catalog)

    def launcher_args(self) -> list[str]:
        """The flags of ``ticketing-cluster`` that start this spec (``env`` aside)."""
        args = [
            *("--ns-host", self.ns_host, "--ns-port", str(self.ns_port)),
            *("--host", self.host, "--data-dir", str(self.data_dir)),
            *("--lock-replicas", str(self.lock_replicas)),
            *("--data-replicas", str(self.data_replicas)),
            *("--load-balancers", str(self.load_balancers)),
            *("--lock-groups", str(self.lock_groups)),
        ]
        if self.catalog is not None:
            args += ["--catalog", str(self.catalog)]
        args += ["--restart-delay", str(self.restart_delay)] if self.restart else ["--no-restart"]
        return args
