"""The client's `status` against a real cluster: an operator sees every component."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import ROOT

from ticketing import names
from ticketing.security.secret import ENV_VAR


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path_factory.mktemp("status") / "data").start()
    yield running
    running.stop()


def status_lines(cluster: LocalCluster, env: dict[str, str], data_dir: Path) -> list[str]:
    command = [sys.executable, str(ROOT / "run" / "client.py"), "-c", "status"]
    command += ["--ns-port", str(cluster.ns_port), "--data-dir", str(data_dir)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()


def test_an_operator_with_the_secret_sees_roles_states_and_applied_indexes(
    cluster: LocalCluster,
) -> None:
    lines = status_lines(cluster, dict(os.environ), cluster.data_dir)
    for name in (names.lock_server(1), names.datastore_replica("east", 2)):
        (row,) = [line for line in lines if line.startswith(name + " ")]
        assert "serving" in row and "unreachable" not in row, row
    (coordinator,) = [line for line in lines if line.startswith(names.LOCK_COORDINATOR + " ")]
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
