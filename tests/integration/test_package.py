"""The package installs and runs without the checkout: console scripts, modules, package data.

The slow tests build the wheel from a copy of the sources, install it with its
dependencies (from the package index, or pip's cache) into a fresh virtualenv
in the test's tmp dir, and run the console scripts from a directory outside
the checkout, with no PYTHONPATH: what they import is the installed package.
"""

from __future__ import annotations

import configparser
import importlib
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import venv
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, pick_free_port, poll

from ticketing import catalog_files
from ticketing.bench.system import children
from ticketing.catalog import load_catalog
from ticketing.cluster.plan import COMMANDS, plan
from ticketing.cluster.processes import port_in_use
from ticketing.cluster.spec import ClusterSpec

# What the wheel is built from; tests/ and run/ are not in it.
SOURCES = ["setup.cfg", "pyproject.toml", "README.md", "ticketing", "nameserver"]
INSTALL_TIMEOUT = 300  # seconds for building the wheel and installing it with its dependencies
READY_TIMEOUT = 180  # seconds for the installed cluster to print READY on two busy cores


def console_scripts() -> dict[str, str]:
    """``setup.cfg``'s console scripts: name -> ``module:function``."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    lines = config["options.entry_points"]["console_scripts"].strip().splitlines()
    pairs = (line.split("=") for line in lines)
    return {name.strip(): target.strip() for name, target in pairs}


def test_every_entry_script_has_a_console_script_running_the_same_main() -> None:
    scripts = console_scripts()
    for entry in sorted((ROOT / "run").glob("*.py")):
        name = f"ticketing-{entry.stem.replace('_', '-')}"
        assert name in scripts, f"run/{entry.name} has no console script {name}"
        module, function = scripts[name].split(":")
        assert callable(getattr(importlib.import_module(module), function))
        # The wrapper imports that very function: the two cannot drift apart.
        assert f"from {module} import {function}" in entry.read_text(), entry.name
    assert len(scripts) == len(list((ROOT / "run").glob("*.py")))


def test_the_launcher_starts_modules_that_exist() -> None:
    components = plan(ClusterSpec(lock_groups=2), load_catalog(None).clusters())
    for module in {c.module for c in components} | {f"{COMMANDS}.client"}:
        assert importlib.util.find_spec(module) is not None, module


def test_the_tools_catalogs_are_package_data() -> None:
    shipped = [catalog_files.SMALL, catalog_files.GROUPS, catalog_files.BENCH, catalog_files.RUSH]
    for path in shipped:
        assert load_catalog(path).theaters, path
    setup = (ROOT / "setup.cfg").read_text()
    assert "ticketing.catalog_files = *.toml" in setup
    assert (ROOT / "tests" / "catalogs" / "small.toml").resolve() == catalog_files.SMALL


def _outside_env(tmp_path: Path) -> dict[str, str]:
    """The environment of a newcomer: no PYTHONPATH to the checkout, no cluster secret."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "TICKETING_SECRET")}
    return {**env, "XDG_DATA_HOME": str(tmp_path / "xdg"), "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A fresh virtualenv with the wheel built from this checkout installed; its bin/."""
    tmp = tmp_path_factory.mktemp("package")
    source = tmp / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(
                ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copy2(ROOT / name, source / name)
    env = _outside_env(tmp)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "-w", str(tmp / "wheels"), str(source)],
        check=True,
        cwd=tmp,
        env=env,
        timeout=INSTALL_TIMEOUT,
    )
    (wheel,) = (tmp / "wheels").glob("ticketing-*.whl")
    venv.EnvBuilder(with_pip=True).create(tmp / "venv")
    bin_dir = tmp / "venv" / "bin"
    subprocess.run(
        [bin_dir / "python", "-m", "pip", "install", "--disable-pip-version-check", "-q", wheel],
        check=True,
        cwd=tmp,
        env=env,
        timeout=INSTALL_TIMEOUT,
    )
    yield bin_dir


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT + 120)
def test_the_installed_package_imports_from_the_virtualenv(installed: Path, tmp_path: Path):
    found = subprocess.run(
        [
            installed / "python",
            "-c",
            "import ticketing, nameserver; print(ticketing.__file__); print(nameserver.__file__)",
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=_outside_env(tmp_path),
    ).stdout.split()
    site = installed.parent / "lib"
    for path in map(Path, found):
        assert path.is_relative_to(site) and not path.is_relative_to(ROOT), path
    shipped = Path(found[0]).parent / "catalog_files" / "bench.toml"
    assert shipped.read_text() == catalog_files.BENCH.read_text()
    for name in console_scripts():
        answer = subprocess.run(
            [installed / name, "--help"],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=_outside_env(tmp_path),
            timeout=60,
        )
        assert answer.returncode == 0 and "usage:" in answer.stdout, (name, answer.stderr)


@pytest.mark.slow
@pytest.mark.timeout(INSTALL_TIMEOUT + READY_TIMEOUT + 120)
def test_the_installed_cluster_serves_the_installed_client(installed: Path, tmp_path: Path) -> None:
    """``ticketing-cluster`` and ``ticketing-client`` as a newcomer runs them, away from the
    checkout: every component a ``python -m`` module of the installed package."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    port = pick_free_port()
    data = tmp_path / "data"
    out, err = tmp_path / "cluster.out", tmp_path / "cluster.err"
    env = _outside_env(tmp_path)
    with open(out, "wb") as stdout, open(err, "wb") as stderr:
        cluster = subprocess.Popen(
            [installed / "ticketing-cluster", "--ns-port", str(port), "--data-dir", str(data)],
            cwd=elsewhere,
            stdout=stdout,
            stderr=stderr,
            env=env,
        )
    try:
        poll(
            lambda: "READY" in out.read_text() or cluster.poll() is not None,
            timeout=READY_TIMEOUT,
            message="READY from the installed cluster",
        )
        assert out.read_text() == f"READY 127.0.0.1:{port}\n", err.read_text()
        python = str(installed / "python")
        for pid in children(cluster.pid):
            args = Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")
            assert args[:3] == [python, "-P", "-m"], args  # no path under run/
        client = [installed / "ticketing-client", "--ns-port", str(port), "--data-dir", data]
        answer = subprocess.run(
            [*client, "-c", "theaters"],
            capture_output=True,
            text=True,
            cwd=elsewhere,
            env=env,
            timeout=60,
        )
        assert answer.returncode == 0, answer.stderr
        for theater in load_catalog(None).theaters:
            assert theater.name in answer.stdout, answer.stdout
        cluster.send_signal(signal.SIGTERM)
        assert cluster.wait(60) == 0, err.read_text()
        assert not port_in_use("127.0.0.1", port)
    finally:
        if cluster.poll() is None:  # the launcher stops its components on SIGTERM
            cluster.terminate()
            try:
                cluster.wait(60)
            except subprocess.TimeoutExpired:
                cluster.kill()
                cluster.wait()
