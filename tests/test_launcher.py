"""The launcher's supervision, with fake components standing in for the real scripts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, pick_free_port, poll

from ticketing import launcher
from ticketing.server.cli import LockGroupsChanged, pin_lock_groups
from ticketing.server.proxies import ProxyPool

SCRIPTS = [
    "lock_server",
    "lock_coordinator",
    "datastore",
    "datastore_coordinator",
    "datastore_manager",
    "load_balancer",
]
CATALOG = """
[[theater]]
id = "T1"
name = "Test One"
city = "Here"
rows = 2
seats_per_row = 3

[[theater.event]]
id = "e1"
title = "A Film"
starts_at = "2026-12-01T19:00:00"

[[theater]]
id = "T2"
name = "Test Two"
city = "There"
rows = 2
seats_per_row = 3
cluster = "T1"

[[theater.event]]
id = "e2"
title = "Another Film"
starts_at = "2026-12-01T20:00:00"
"""
EXPECTED = [
    "ticketing.datastore.T1.coordinator",
    "ticketing.datastore.T1.replica.1",
    "ticketing.datastore.T1.replica.2",
    "ticketing.datastore.manager",
    "ticketing.loadbalancer.1",
    "ticketing.lock.coordinator",
    "ticketing.lock.server.1",
    "ticketing.lock.server.2",
]


@pytest.fixture
def fake_run_dir(tmp_path: Path) -> Path:
    """A run/ directory where every component script is the fake component."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "nameserver.py").symlink_to(ROOT / "run" / "nameserver.py")
    for script in SCRIPTS:
        (run_dir / f"{script}.py").symlink_to(ROOT / "tests" / "fake_component.py")
    return run_dir


class Cluster:
    def __init__(
        self, tmp_path: Path, run_dir: Path, env: dict[str, str] | None = None, *more: str
    ) -> None:
        self.port = pick_free_port()
        self.data_dir = tmp_path / "data"
        catalog = tmp_path / "catalog.toml"
        catalog.write_text(CATALOG)
        self.stdout = tmp_path / "cluster.out"
        self.stderr = tmp_path / "cluster.err"
        args = [
            *("--ns-port", str(self.port), "--data-dir", str(self.data_dir)),
            *("--catalog", str(catalog), "--lock-replicas", "2", "--data-replicas", "2"),
            *("--load-balancers", "1", *more),
        ]
        code = (
            "import sys; from pathlib import Path; from ticketing.launcher import main; "
            f"sys.exit(main(sys.argv[1:], run_dir=Path({str(run_dir)!r})))"
        )
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, *args],
                cwd=ROOT,
                stdout=out,
                stderr=err,
                env={**os.environ, **(env or {})},
            )

    def output(self) -> str:
        return self.stdout.read_text()

    def errors(self) -> str:
        return self.stderr.read_text()

    def fake_pids(self) -> list[int]:
        return [int(p.read_text()) for p in (self.data_dir / "fake-pids").iterdir()]

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        for pid in self.fake_pids() if (self.data_dir / "fake-pids").exists() else []:
            if alive(pid):
                os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_plan_follows_the_contract_defaults() -> None:
    options = launcher.parse_args([])
    components = launcher.plan(options, ["AMC", "REG", "CIN"])
    assert components[0].label == "nameserver"
    named = [c.name for c in components[1:]]
    assert len(named) == 3 + 1 + 3 * (3 + 1) + 1 + 2
    assert "ticketing.datastore.CIN.replica.3" in named
    assert "ticketing.loadbalancer.2" in named
    replica = next(c for c in components if c.name == "ticketing.datastore.AMC.replica.2")
    assert replica.script == "datastore.py"
    assert ("--cluster", "AMC") in zip(replica.args, replica.args[1:], strict=False)
    assert ("--id", "2") in zip(replica.args, replica.args[1:], strict=False)
    assert ("--replicas", "3") in zip(replica.args, replica.args[1:], strict=False)
    assert "--catalog" not in replica.args  # components read the built-in catalog themselves


def test_plan_with_lock_groups_names_every_group_and_tells_every_balancer() -> None:
    options = launcher.parse_args(["--lock-groups", "3"])
    components = launcher.plan(options, ["AMC"])
    named = {c.name: c for c in components[1:]}
    for group in (1, 2, 3):
        assert f"ticketing.lock.{group}.coordinator" in named
        server = named[f"ticketing.lock.{group}.server.2"]
        pairs = set(zip(server.args, server.args[1:], strict=False))
        assert {("--group", str(group)), ("--lock-groups", "3"), ("--id", "2")} <= pairs
    assert not [n for n in named if n.startswith("ticketing.lock.server.")]
    balancer = named["ticketing.loadbalancer.1"]
    assert ("--lock-groups", "3") in zip(balancer.args, balancer.args[1:], strict=False)


def test_a_data_dir_keeps_the_lock_groups_it_first_ran_with(tmp_path: Path) -> None:
    pin_lock_groups(tmp_path, 3)
    pin_lock_groups(tmp_path, 3)  # the same K again is fine
    with pytest.raises(LockGroupsChanged, match="--lock-groups 3 again"):
        pin_lock_groups(tmp_path, 1)
    code = subprocess.run(
        [sys.executable, str(ROOT / "run" / "cluster.py"), "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert code.returncode == 2
    assert "first started with --lock-groups 3" in code.stderr


def test_ready_then_sigterm_stops_everything(tmp_path: Path, fake_run_dir: Path) -> None:
    cluster = Cluster(tmp_path, fake_run_dir)
    try:
        poll(
            lambda: "READY" in cluster.output() or cluster.process.poll() is not None,
            timeout=60,
            message="READY",
        )
        assert cluster.output() == f"READY 127.0.0.1:{cluster.port}\n", cluster.errors()

        pool = ProxyPool("127.0.0.1", cluster.port, timeout=2.0)
        assert sorted(pool.list("ticketing.")) == EXPECTED
        pids = [pool.call(name, "status")["pid"] for name in EXPECTED]
        pool.close()

        cluster.process.send_signal(signal.SIGTERM)
        assert cluster.process.wait(30) == 0
        assert not [pid for pid in pids if alive(pid)]
        assert launcher.port_in_use("127.0.0.1", cluster.port) is False
        assert cluster.output().count("\n") == 1
    finally:
        cluster.stop()


def test_a_component_dying_at_start_is_named_and_everything_stops(
    tmp_path: Path, fake_run_dir: Path
) -> None:
    crash = {"FAKE_COMPONENT_CRASH": "ticketing.lock.coordinator"}
    cluster = Cluster(tmp_path, fake_run_dir, crash)
    try:
        assert cluster.process.wait(60) != 0
        errors = cluster.errors()
        assert "lock_coordinator exited (exit code 1)" in errors
        assert "crashing at start as asked" in errors
        assert "READY" not in cluster.output()
        assert not [pid for pid in cluster.fake_pids() if alive(pid)]
        assert launcher.port_in_use("127.0.0.1", cluster.port) is False
    finally:
        cluster.stop()


def test_with_client_the_cluster_stops_when_the_client_exits(
    tmp_path: Path, fake_run_dir: Path
) -> None:
    (fake_run_dir / "client.py").write_text("import sys\nprint('client ran with', *sys.argv[1:])\n")
    cluster = Cluster(tmp_path, fake_run_dir, None, "--client")
    try:
        assert cluster.process.wait(60) == 0, cluster.errors()
        lines = cluster.output().splitlines()
        assert lines[0] == f"READY 127.0.0.1:{cluster.port}"
        assert lines[1] == (
            f"client ran with --ns-host 127.0.0.1 --ns-port {cluster.port} "
            f"--data-dir {cluster.data_dir}"
        )
        assert not [pid for pid in cluster.fake_pids() if alive(pid)]
    finally:
        cluster.stop()
