"""SIGKILL a process that is flushing a SqliteStorage, then read what survived.

The child (storage_crash_child.py) prints ``FLUSHED n`` after each flush
returns. After each kill, the file must hold exactly the state of some whole
flush ``m`` (no flush half there), and ``m`` must be at least the last flush
the child reported (a reported flush is never lost). Every kill continues on
the same file, so recovery after a crash is exercised each time too.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from storage_crash_child import apply_flush

from ticketing.consensus.storage import MemoryStorage
from ticketing.storage import SqliteStorage

ROOT = Path(__file__).resolve().parents[2]
CHILD = ROOT / "tests" / "storage_crash_child.py"


class Model:
    """MemoryStorage advanced flush by flush alongside the children."""

    def __init__(self) -> None:
        self.storage = MemoryStorage()
        self.flushes = 0

    def state_after(self, m: int):
        assert m >= self.flushes, f"file went back from flush {self.flushes} to {m}"
        while self.flushes < m:
            self.flushes += 1
            apply_flush(self.storage, self.flushes)
        return self.storage.load()


def start_child(path: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )


def read_flushed(child: subprocess.Popen[str]) -> int:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.wait()
        raise AssertionError(f"child died on its own: {child.stderr.read()}")  # type: ignore[union-attr]
    kind, n = line.split()
    assert kind == "FLUSHED"
    return int(n)


def kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait()
    child.stdout.close()  # type: ignore[union-attr]
    child.stderr.close()  # type: ignore[union-attr]
    assert child.returncode == -signal.SIGKILL


def check_file(path: Path, model: Model, reported: int) -> None:
    with SqliteStorage(path) as storage:
        state = storage.load()
    m = state.promised.round
    assert m >= reported, f"flush {reported} was reported but the file holds only {m}"
    assert state == model.state_after(m), f"file is not the state of flush {m}"


def run_kills(path: Path, kills: int, seed: int, at_random_instants: bool) -> None:
    rng = random.Random(seed)
    model = Model()
    for _ in range(kills):
        child = start_child(path)
        try:
            reported = 0
            for _ in range(rng.randint(1, 8)):
                reported = read_flushed(child)
            if at_random_instants:
                # Not waiting for a condition: this picks the instant of the
                # kill, somewhere in the next flush or two (a flush takes ~1 ms).
                time.sleep(rng.uniform(0, 0.003))
        finally:
            kill(child)
        check_file(path, model, reported)
    assert model.flushes > kills


def test_kill_right_after_a_reported_flush(tmp_path: Path) -> None:
    run_kills(tmp_path / "replica.db", kills=25, seed=1, at_random_instants=False)


def test_kill_at_random_instants(tmp_path: Path) -> None:
    run_kills(tmp_path / "replica.db", kills=25, seed=2, at_random_instants=True)
