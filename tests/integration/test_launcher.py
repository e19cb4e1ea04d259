"""The launcher's supervision, with fake components standing in for the real commands."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import CATALOGS, ROOT, pick_free_port, poll

from ticketing.catalog import load_catalog
from ticketing.cluster.cli import parse_args, spec_of
from ticketing.cluster.handle import ClusterHandle
from ticketing.cluster.plan import data_clusters, plan
from ticketing.cluster.processes import ClusterFailed, name_server_pid, port_in_use
from ticketing.cluster.spec import ClusterSpec
from ticketing.restart_backoff import RestartBackoff
from ticketing.server.cli import LockGroupsChanged, pin_lock_groups
from ticketing.server.proxies import ProxyPool

FAKES = "fake_commands"  # the package of stand-in command modules the tests give the launcher
COMMANDS = [
    "lock_server",
    "lock_coordinator",
    "datastore",
    "datastore_coordinator",
    "datastore_manager",
    "load_balancer",
]
EXPECTED = [
    "ticketing.datastore.T1.coordinator",
    "ticketing.datastore.T1.replica.1",
    "ticketing.datastore.T1.replica.2",
    "ticketing.datastore.manager",
    "ticketing.loadbalancer.1",
    "ticketing.lock.coordinator",
    "ticketing.lock.coordinator.standby",
    "ticketing.lock.server.1",
    "ticketing.lock.server.2",
]


@pytest.fixture
def fake_commands(tmp_path: Path) -> Path:
    """A package ``fake_commands`` whose every component module is the fake component.

    Returns the directory to put on the launcher's PYTHONPATH; the name server
    stays the real one (``python -m nameserver``).
    """
    package = tmp_path / "path" / FAKES
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for command in COMMANDS:
        (package / f"{command}.py").symlink_to(ROOT / "tests" / "fake_component.py")
    return package.parent


class Cluster:
    def __init__(
        self, tmp_path: Path, fakes: Path, env: dict[str, str] | None = None, *more: str
    ) -> None:
        self.port = pick_free_port()
        self.data_dir = tmp_path / "data"
        catalog = CATALOGS / "launcher.toml"
        self.stdout = tmp_path / "cluster.out"
        self.stderr = tmp_path / "cluster.err"
        args = [
            *("--ns-port", str(self.port), "--data-dir", str(self.data_dir)),
            *("--catalog", str(catalog), "--lock-replicas", "2", "--data-replicas", "2"),
            *("--load-balancers", "1", *more),
        ]
        code = (
            "import sys; from ticketing.cluster.cli import main; "
            f"sys.exit(main(sys.argv[1:], commands={FAKES!r}))"
        )
        # Children import the fakes (and this checkout) from PYTHONPATH: they start with -P.
        path = os.pathsep.join(p for p in (str(fakes), os.environ.get("PYTHONPATH")) if p)
        with open(self.stdout, "wb") as out, open(self.stderr, "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-c", code, *args],
                cwd=ROOT,
                stdout=out,
                stderr=err,
                env={**os.environ, "PYTHONPATH": path, **(env or {})},
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


def cli_spec(*argv: str) -> ClusterSpec:
    """The spec ``ticketing-cluster`` makes of these flags."""
    return spec_of(parse_args(list(argv)))


def test_the_spec_defaults_are_the_command_lines() -> None:
    assert ClusterSpec() == cli_spec()


def test_a_spec_run_through_its_launcher_flags_comes_back_the_same(tmp_path: Path) -> None:
    """What the tests, the fault run and the bench start is the spec they built."""
    specs = [
        ClusterSpec(),
        ClusterSpec(
            data_dir=tmp_path / "data",
            catalog=CATALOGS / "launcher.toml",
            ns_host="10.0.0.2",
            ns_port=9999,
            host="10.0.0.3",
            lock_replicas=5,
            data_replicas=2,
            load_balancers=4,
            lock_groups=3,
            restart_delay=0.25,
        ),
        ClusterSpec(tmp_path, restart=False),
    ]
    for spec in specs:
        assert cli_spec(*spec.launcher_args()) == spec, spec.launcher_args()


def test_plan_follows_the_contract_defaults() -> None:
    components = plan(cli_spec(), ["AMC", "REG", "CIN"])
    assert components[0].label == "nameserver"
    named = [c.name for c in components[1:]]
    # The contract's processes, and the standby lock coordinator (issue 14).
    assert len(named) == 3 + 1 + 1 + 3 * (3 + 1) + 1 + 2
    standby = next(c for c in components if c.name == "ticketing.lock.coordinator.standby")
    assert standby.args[-1] == "--standby"
    assert standby.module == "ticketing.commands.lock_coordinator"
    assert standby.after == "lock_coordinator"  # started once the main one leads
    assert not [n for n in named if n.startswith("ticketing.datastore.") and "standby" in n]
    assert "ticketing.datastore.CIN.replica.3" in named
    assert "ticketing.loadbalancer.2" in named
    replica = next(c for c in components if c.name == "ticketing.datastore.AMC.replica.2")
    assert replica.module == "ticketing.commands.datastore"
    assert replica.command_line()[1:4] == ["-P", "-m", "ticketing.commands.datastore"]
    assert components[0].module == "nameserver"  # python -m nameserver
    assert ("--cluster", "AMC") in zip(replica.args, replica.args[1:], strict=False)
    assert ("--id", "2") in zip(replica.args, replica.args[1:], strict=False)
    assert ("--replicas", "3") in zip(replica.args, replica.args[1:], strict=False)
    assert "--catalog" not in replica.args  # components read the built-in catalog themselves


def test_plan_with_lock_groups_names_every_group_and_tells_every_balancer() -> None:
    components = plan(cli_spec("--lock-groups", "3"), ["AMC"])
    named = {c.name: c for c in components[1:]}
    for group in (1, 2, 3):
        assert f"ticketing.lock.{group}.coordinator" in named
        standby = named[f"ticketing.lock.{group}.coordinator.standby"]
        pairs = set(zip(standby.args, standby.args[1:], strict=False))
        assert ("--group", str(group)) in pairs and "--standby" in standby.args
        assert standby.after == f"lock_coordinator-{group}"
        server = named[f"ticketing.lock.{group}.server.2"]
        pairs = set(zip(server.args, server.args[1:], strict=False))
        assert {("--group", str(group)), ("--lock-groups", "3"), ("--id", "2")} <= pairs
    assert not [n for n in named if n.startswith("ticketing.lock.server.")]
    balancer = named["ticketing.loadbalancer.1"]
    assert ("--lock-groups", "3") in zip(balancer.args, balancer.args[1:], strict=False)


def test_the_plan_also_starts_clusters_added_beside_the_catalog_files(tmp_path: Path) -> None:
    catalog = load_catalog(None)
    assert data_clusters(catalog, tmp_path) == ["AMC", "REG", "CIN"]
    for later in ("north", "AMC", "east"):  # AMC's own directory is not a second AMC
        (tmp_path / "datastore" / later).mkdir(parents=True)
    (tmp_path / "datastore" / "stray-file").write_text("")
    clusters = data_clusters(catalog, tmp_path)
    assert clusters == ["AMC", "REG", "CIN", "east", "north"]
    named = {c.name: c for c in plan(cli_spec(), clusters)[1:]}
    assert "ticketing.datastore.north.replica.3" in named
    assert "ticketing.datastore.north.coordinator" in named
    # The manager places events over the lock groups too (its sales report asks for holds).
    spec = cli_spec("--lock-groups", "2")
    manager = next(c for c in plan(spec, clusters) if c.label == "datastore_manager")
    assert ("--lock-groups", "2") in zip(manager.args, manager.args[1:], strict=False)


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


def test_ready_then_sigterm_stops_everything(tmp_path: Path, fake_commands: Path) -> None:
    """With ``--no-restart``, a death after READY is reported and left down."""
    cluster = Cluster(tmp_path, fake_commands, None, "--no-restart")
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

        os.kill(pid_of(cluster, "ticketing.lock.server.1"), signal.SIGKILL)
        poll(lambda: "left down (--no-restart)" in cluster.errors(), message="the report")
        assert "lock_server-1 exited (killed by SIGKILL); left down" in cluster.errors()

        cluster.process.send_signal(signal.SIGTERM)
        assert cluster.process.wait(30) == 0
        assert not [pid for pid in pids if alive(pid)]
        assert port_in_use("127.0.0.1", cluster.port) is False
        assert cluster.output().count("\n") == 1
        assert "restarted" not in cluster.errors()
    finally:
        cluster.stop()


def test_a_component_dying_at_start_is_named_and_everything_stops(
    tmp_path: Path, fake_commands: Path
) -> None:
    crash = {"FAKE_COMPONENT_CRASH": "ticketing.lock.coordinator"}
    cluster = Cluster(tmp_path, fake_commands, crash)
    try:
        assert cluster.process.wait(60) != 0
        errors = cluster.errors()
        assert "lock_coordinator exited (exit code 1)" in errors
        assert "crashing at start as asked" in errors
        assert "READY" not in cluster.output()
        assert not [pid for pid in cluster.fake_pids() if alive(pid)]
        assert port_in_use("127.0.0.1", cluster.port) is False
    finally:
        cluster.stop()


def test_with_client_the_cluster_stops_when_the_client_exits(
    tmp_path: Path, fake_commands: Path
) -> None:
    (fake_commands / FAKES / "client.py").write_text(
        "import sys\nprint('client ran with', *sys.argv[1:])\n"
    )
    cluster = Cluster(tmp_path, fake_commands, None, "--client")
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


def wait_ready(cluster: Cluster) -> None:
    poll(
        lambda: "READY" in cluster.output() or cluster.process.poll() is not None,
        timeout=60,
        message="READY",
    )
    assert "READY" in cluster.output(), cluster.errors()


def pid_of(cluster: Cluster, name: str) -> int:
    return int((cluster.data_dir / "fake-pids" / name).read_text())


def test_the_backoff_doubles_while_a_component_keeps_dying_and_resets_after_a_long_run() -> None:
    backoff = RestartBackoff(first=1.0, ceiling=30.0, settled_after=60.0)
    delays = [backoff.after_exit(ran_for=0.5) for _ in range(8)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]
    assert backoff.keeps_dying and backoff.deaths_in_a_row == 8
    assert backoff.after_exit(ran_for=61.0) == 1.0  # it ran a while: a fresh death
    assert not backoff.keeps_dying
    assert RestartBackoff(first=1.0).after_exit(ran_for=0.0) == 1.0  # even dying at once


def test_a_component_killed_after_ready_is_restarted_and_answers_again(
    tmp_path: Path, fake_commands: Path
) -> None:
    cluster = Cluster(tmp_path, fake_commands, None, "--restart-delay", "0.1")
    try:
        wait_ready(cluster)
        pool = ProxyPool("127.0.0.1", cluster.port, timeout=2.0)
        name = "ticketing.datastore.T1.replica.2"
        old = pool.call(name, "status")["pid"]
        os.kill(old, signal.SIGKILL)
        back = poll(
            lambda: pool.call(name, "status")["pid"] != old, timeout=60, message="a new replica 2"
        )
        assert back
        nameserver = name_server_pid(cluster.port)
        os.kill(nameserver, signal.SIGKILL)  # the name server too, entries kept on disk
        poll(
            lambda: name_server_pid(cluster.port) != nameserver,
            timeout=60,
            message="a new name server",
        )
        poll(lambda: pool.call(name, "status"), timeout=60, message="replica 2 found through it")
        pool.close()
        for label in ("datastore-T1-2", "nameserver"):
            poll(
                lambda label=label: f"{label} answers again" in cluster.errors(),
                timeout=60,
                message=f"{label} reported back",
            )
        errors = cluster.errors()
        assert "datastore-T1-2 exited (killed by SIGKILL) after running" in errors
        assert "restarting it in 0.1s" in errors and "restarted datastore-T1-2 (pid" in errors
        assert "nameserver exited (killed by SIGKILL)" in errors
        assert "keeps dying" not in errors
        logged = (cluster.data_dir / "logs" / "cluster.log").read_text()
        assert "restarted datastore-T1-2" in logged and "restarted nameserver" in logged
        assert cluster.output() == f"READY 127.0.0.1:{cluster.port}\n"

        restarts = cluster.errors().count("restarted ")
        cluster.process.send_signal(signal.SIGTERM)
        assert cluster.process.wait(30) == 0
        assert cluster.errors().count("restarted ") == restarts  # what it stops stays stopped
        assert not [pid for pid in cluster.fake_pids() if alive(pid)]
    finally:
        cluster.stop()


def test_a_component_that_keeps_dying_is_reported_and_backs_off(
    tmp_path: Path, fake_commands: Path
) -> None:
    name = "ticketing.loadbalancer.1"
    crash = {"FAKE_COMPONENT_CRASH_AGAIN": name}  # every start after the first fails
    cluster = Cluster(tmp_path, fake_commands, crash, "--restart-delay", "0.1")
    try:
        wait_ready(cluster)
        os.kill(pid_of(cluster, name), signal.SIGKILL)
        poll(
            lambda: "keeps dying: 4 deaths in a row" in cluster.errors(),
            timeout=60,
            message="four deaths reported",
        )
        cluster.process.send_signal(signal.SIGTERM)
        assert cluster.process.wait(30) == 0
        errors = cluster.errors()
        announced = [
            line.split("restarting it in ")[1].split("s")[0]
            for line in errors.splitlines()
            if "load_balancer-1 exited" in line
        ]
        assert announced[:4] == ["0.1", "0.2", "0.4", "0.8"]  # doubling: no tight loop
        assert "crashing at start as asked" in errors  # the reason, from its own output
        assert errors.count("restarted load_balancer-1") in (len(announced) - 1, len(announced))
        assert "load_balancer-1 answers again" not in errors
        assert not [pid for pid in cluster.fake_pids() if alive(pid)]
    finally:
        cluster.stop()


def test_a_handle_whose_launcher_cannot_start_says_why(tmp_path: Path) -> None:
    """The tests', the fault run's and the bench's cluster fail with the launcher's reason."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        handle = ClusterHandle(ClusterSpec(tmp_path / "data", ns_port=taken.getsockname()[1]))
        with pytest.raises(ClusterFailed, match=r"exited \(code 1\) before READY(.|\n)*in use"):
            handle.start()
