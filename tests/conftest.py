"""Shared fixtures: free ports, a data directory, polling, real processes, a real name server.

Integration tests run the real entry scripts as separate processes against a
real Pyro5 name server; these fixtures start them on ports picked at run time
(other test runs share the machine) and stop every process they started.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError

ROOT = Path(__file__).resolve().parent.parent
CATALOGS = ROOT / "tests" / "catalogs"  # every catalog the tests use

# One cluster secret for the session: clusters started by the tests inherit it
# and every ProxyPool in this process uses it, so tests are members.
os.environ.setdefault("TICKETING_SECRET", secrets.token_urlsafe(32))
# The client reads $XDG_CONFIG_HOME/ticketing/client.toml: the tests' clients must not read
# the developer's own (a name server, a name, or a typo would change what they do).
os.environ["XDG_CONFIG_HOME"] = str(Path(f"/nonexistent/ticketing-tests-{os.getpid()}"))
T = TypeVar("T")

STOP_GRACE = 10.0  # seconds a process gets to exit after SIGTERM before SIGKILL


def pick_free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def poll(
    condition: Callable[[], T],
    timeout: float = 20.0,
    message: str = "condition",
    interval: float = 0.05,
) -> T:
    """Call ``condition`` until it returns something truthy, and return that.

    Exceptions count as "not yet"; the last one is chained to the
    ``AssertionError`` raised at the deadline.
    """
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:
            last_error = exc
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {timeout}s waiting for {message}"
            ) from last_error
        time.sleep(interval)


@pytest.fixture
def free_port() -> Callable[[], int]:
    """``free_port()`` picks a fresh port on 127.0.0.1 each time it is called."""
    return pick_free_port


@pytest.fixture
def wait_until() -> Callable[..., Any]:
    """``wait_until(condition, timeout=20, message=...)``: poll with a deadline, no fixed sleeps."""
    return poll


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty data directory for this test."""
    path = tmp_path / "data"
    path.mkdir()
    return path


class Processes:
    """Starts entry scripts as real processes and stops them all at teardown.

    Each process's stdout and stderr go to a file in the test's tmp dir, read
    back with ``output(proc)``.
    """

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.started: list[subprocess.Popen] = []
        self._outputs: dict[int, Path] = {}

    def spawn(self, script: str | Path, *args: Any, label: str | None = None) -> subprocess.Popen:
        """Run ``python <script> <args>``; a relative ``script`` is taken from the repo root."""
        path = Path(script) if Path(script).is_absolute() else ROOT / script
        label = label or path.stem
        out = self.workdir / f"{label}-{len(self.started)}.out"
        with open(out, "wb") as sink:
            proc = subprocess.Popen(
                [sys.executable, str(path), *map(str, args)],
                cwd=ROOT,
                stdout=sink,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        self.started.append(proc)
        self._outputs[proc.pid] = out
        return proc

    def output(self, proc: subprocess.Popen) -> str:
        return self._outputs[proc.pid].read_text(errors="replace")

    def stop(self, proc: subprocess.Popen, sig: int = signal.SIGTERM) -> int:
        """Send ``sig``, wait up to ``STOP_GRACE``, then SIGKILL; returns the exit code."""
        if proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(STOP_GRACE)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        return proc.returncode

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL: a crash, with no clean-up."""
        if proc.poll() is None:
            proc.kill()
        proc.wait()

    def stop_all(self) -> None:
        for proc in reversed(self.started):
            self.stop(proc)


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    procs = Processes(tmp_path)
    yield procs
    procs.stop_all()


class NameServer:
    """A real ``run/nameserver.py`` process; ``stop``/``kill`` and ``start`` again keep the port."""

    def __init__(self, processes: Processes, port: int, data_dir: Path) -> None:
        self.processes = processes
        self.host = "127.0.0.1"
        self.port = port
        self.data_dir = data_dir
        self.process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        return f"PYRO:Pyro.NameServer@{self.host}:{self.port}"

    @property
    def flags(self) -> list[str]:
        """The common flags that point a component at this name server and data dir."""
        return [
            "--ns-host",
            self.host,
            "--ns-port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
        ]

    def proxy(self) -> Proxy:
        proxy = Proxy(self.uri)
        proxy._pyroTimeout = 2.0
        return proxy

    def start(self) -> None:
        self.process = self.processes.spawn(
            "run/nameserver.py",
            *["--host", self.host, "--ns-port", self.port, "--data-dir", self.data_dir],
            label="nameserver",
        )
        poll(self._answers, message=f"the name server on port {self.port}")

    def _answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"name server exited:\n{self.processes.output(self.process)}")
        try:
            with self.proxy() as ns:
                ns.ping()
        except CommunicationError:
            return False
        return True

    def stop(self) -> int:
        assert self.process is not None
        return self.processes.stop(self.process)

    def kill(self) -> None:
        assert self.process is not None
        self.processes.kill(self.process)


@pytest.fixture
def nameserver(processes: Processes, data_dir: Path) -> NameServer:
    """A running name server on a free port, storing its entries in ``data_dir``."""
    server = NameServer(processes, pick_free_port(), data_dir)
    server.start()
    return server
