"""The client against a real cluster: an operator's `status` sees every component, and a
buyer's refused seats come with the cluster's best free alternative (the one real-cluster check
of best available from the client; the rest runs against tests/contract_lb.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import ROOT, poll

from ticketing import names
from ticketing.security.secret import ENV_VAR


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path_factory.mktemp("status") / "data").start()
    yield running
    running.stop()


def run_client(
    cluster: LocalCluster, env: dict[str, str], data_dir: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "run" / "client.py"), *args]
    command += ["--ns-port", str(cluster.ns_port), "--data-dir", str(data_dir)]
    return subprocess.run(command, env=env, input=stdin, capture_output=True, text=True, timeout=60)


def status_lines(cluster: LocalCluster, env: dict[str, str], data_dir: Path) -> list[str]:
    done = run_client(cluster, env, data_dir, "-c", "status")
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_an_operator_with_the_secret_sees_roles_states_and_applied_indexes(
    cluster: LocalCluster,
) -> None:
    lines = status_lines(cluster, dict(os.environ), cluster.data_dir)
    for name in (names.lock_server(1), names.datastore_replica("east", 2)):
        (row,) = [line for line in lines if line.startswith(name + " ")]
        assert "serving" in row and "unreachable" not in row, row
    (coordinator,) = [line for line in lines if line.startswith(names.lock_coordinator() + " ")]
    assert "leading" in coordinator, coordinator


def test_without_the_secret_members_only_components_say_so(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if k != ENV_VAR}
    lines = status_lines(cluster, env, tmp_path)
    (row,) = [line for line in lines if line.startswith(names.lock_server(1) + " ")]
    assert "members only" in row, row
    (balancer,) = [line for line in lines if line.startswith(names.load_balancer(1) + " ")]
    assert "members only" not in balancer, balancer


def test_booked_seats_are_refused_with_the_best_free_ones_offered_instead(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    alien = ("AMC", "alien")
    with cluster.load_balancer() as balancer:
        hold = balancer.block_best_available(*alien, 2)
        assert hold["seats"] == ["A3", "A4"]
        ticket = balancer.book_ticket(hold["hold_id"], "Ada", "ada@example.org")
        # Booked seats stay refused once the hold is settled into sold marks (holds here last 4 s).
        lock = min(cluster.pool.list(names.lock_server_prefix(), refresh=True))
        poll(lambda: cluster.pool.call(lock, "get_hold", hold["hold_id"]) is None, message="settle")
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
        script = "hold AMC alien A3 A4\nhold AMC alien 3\n"
        done = run_client(cluster, env, tmp_path, stdin=script)
        assert balancer.delete_ticket("AMC", ticket["ticket_no"]) is True
    assert done.returncode == 1
    assert done.stderr == (
        "SeatsUnavailable: seats already held or booked: A3, A4; "
        "free instead: hold AMC alien B3 B4\n"
    )
    assert "holding B2 B3 B4 (the 3 best free seats) at AMC alien" in done.stdout
    row_b = next(line for line in done.stdout.splitlines() if line.startswith("B "))
    assert row_b.split() == ["B", ".", "*", "*", "*", ".", ".", "B"]
