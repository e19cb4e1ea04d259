"""Throughput of the consensus core: 3 replicas and 1 coordinator in one process.

Messages go through a plain FIFO queue, with no network and no loss, so the
figure is what the core itself costs (and, with SQLite, what its syncs cost).
The driver keeps the rule of ``Replica.step``: a replica's storage is flushed
before its replies are queued, one flush per step, so every Accept message is
one group commit of all the slots it carries. A client loop keeps the
coordinator's queue full, submitting commands in chunks.

After the timed part the queue is drained, and every replica must have applied
the same slots with the same digest; each replica is then rebuilt from its
storage (as after a restart) and must come back with that digest too.

This lives outside ``ticketing.consensus`` because it reads the clock and opens
SQLite files, which the pure core must not do.
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ticketing.consensus.learner import LearnerConfig
from ticketing.consensus.messages import Message, Send
from ticketing.consensus.proposer import Proposer, ProposerConfig
from ticketing.consensus.ready import Ready
from ticketing.consensus.replica import Replica
from ticketing.consensus.storage import MemoryProposerStorage, MemoryStorage, Storage
from ticketing.consensus.values import Command
from ticketing.storage import SqliteStorage

REPLICAS = ("r1", "r2", "r3")
COORDINATOR = "c1"
STORAGES = ("memory", "sqlite")
_MODULUS = (1 << 61) - 1  # a Mersenne prime: the counter's hash stays a small int


class Counter:
    """The benchmark's state machine: how many commands, and a hash of their order.

    Cheap on purpose (two integer operations per command, a two-number
    snapshot), so the benchmark measures the consensus core rather than the
    state machine; the rolling hash still differs when two replicas applied
    different commands or the same ones in a different order.
    """

    def __init__(self) -> None:
        self.count = 0
        self.hash = 0

    def apply(self, payload: Any, slot: int, now: float) -> Any:
        self.count += 1
        self.hash = (self.hash * 1_000_003 + payload) % _MODULUS
        return self.count

    def snapshot(self) -> Any:
        return [self.count, self.hash]

    def restore(self, snapshot: Any) -> None:
        self.count, self.hash = snapshot

    def digest(self) -> str:
        return f"{self.count}:{self.hash:016x}"


@dataclass(frozen=True, slots=True)
class BenchResult:
    storage: str
    batch_max: int
    window: int
    seconds: float  # measured wall time of the timed part
    commands: int  # commands chosen in the timed part
    slots: int  # slots chosen in the timed part
    flushes: int  # replica flushes in the timed part (all three replicas)
    digests: tuple[str, ...]  # per replica, after draining
    recovered: tuple[str, ...]  # per replica, rebuilt from its storage

    @property
    def commands_per_second(self) -> float:
        return self.commands / self.seconds

    @property
    def consistent(self) -> bool:
        """Every replica, live and rebuilt from storage, holds the same state."""
        return len({*self.digests, *self.recovered}) == 1


class _Cluster:
    """Three replicas and one coordinator joined by a FIFO queue of messages."""

    def __init__(
        self,
        storages: dict[str, Storage],
        proposer_config: ProposerConfig,
        learner_config: LearnerConfig,
    ) -> None:
        rng = random.Random(0)
        self.storages = storages
        self.learner_config = learner_config
        self.replicas = {
            r: Replica(
                r,
                list(REPLICAS),
                Counter(),
                storages[r],
                random.Random(rng.random()),
                learner_config=learner_config,
            )
            for r in REPLICAS
        }
        self.proposer = Proposer(
            COORDINATOR,
            list(REPLICAS),
            list(REPLICAS),
            MemoryProposerStorage(),
            random.Random(rng.random()),
            proposer_config,
        )
        self.queue: deque[tuple[str, Message]] = deque()
        self.submitted = 0
        self.chosen_commands = 0
        self.chosen_slots = 0
        self.flushes = 0

    def submit(self, count: int, now: float) -> None:
        first = self.submitted
        commands = [Command(f"q{n}", n) for n in range(first, first + count)]
        self.submitted += count
        self._take(self.proposer.submit(commands, now))

    def deliver_one(self, now: float) -> None:
        to, msg = self.queue.popleft()
        if to == COORDINATOR:
            self._take(self.proposer.receive(msg, now))
            return
        ready = self.replicas[to].step(msg, now)
        if ready.must_sync:
            self.storages[to].flush()  # on disk before any reply leaves
            self.flushes += 1
        self._queue(ready.outgoing())

    def _take(self, ready: Ready) -> None:
        for _, batch in ready.chosen:
            self.chosen_commands += len(batch.commands)
        self.chosen_slots += len(ready.chosen)
        if ready.abandoned:
            raise RuntimeError(f"the coordinator gave up {len(ready.abandoned)} commands")
        self._queue(ready.sends)

    def _queue(self, sends: list[Send]) -> None:
        self.queue.extend((send.to, send.message) for send in sends)

    def recovered_digests(self) -> tuple[str, ...]:
        """Digests of replicas rebuilt from what their storage holds.

        Decisions are synced by the replicas' tickers, not with each reply:
        here one last flush stands for the tick that follows the run.
        """
        for storage in self.storages.values():
            storage.flush()
        return tuple(
            Replica(
                r,
                list(REPLICAS),
                Counter(),
                self.storages[r],
                random.Random(0),
                learner_config=self.learner_config,
            ).learner.digest()
            for r in REPLICAS
        )


def run_bench(
    storages: dict[str, Storage],
    label: str,
    seconds: float,
    batch_max: int,
    window: int,
    snapshot_every: int = LearnerConfig().snapshot_every,
) -> BenchResult:
    """Keep the coordinator busy for ``seconds``; count what was chosen in that time."""
    proposer_config = ProposerConfig(batch_max=batch_max, window=window)
    learner_config = LearnerConfig(snapshot_every=snapshot_every)
    cluster = _Cluster(storages, proposer_config, learner_config)
    chunk = batch_max * window
    clock = time.monotonic
    start = clock()
    deadline = start + seconds
    now = start
    while now < deadline:
        if cluster.submitted - cluster.chosen_commands < 2 * chunk:
            cluster.submit(chunk, now)
        if cluster.queue:
            cluster.deliver_one(now)
        now = clock()
    counts = (cluster.chosen_commands, cluster.chosen_slots, cluster.flushes)
    while cluster.queue:  # drain: what is in flight gets chosen and applied everywhere
        cluster.deliver_one(clock())
    digests = tuple(replica.learner.digest() for replica in cluster.replicas.values())
    return BenchResult(
        label, batch_max, window, now - start, *counts, digests, cluster.recovered_digests()
    )


@contextmanager
def open_storages(kind: str, directory: Path | None) -> Iterator[dict[str, Storage]]:
    """Fresh storages for the three replicas: in memory, or SQLite files under ``directory``."""
    if kind == "memory":
        yield {r: MemoryStorage() for r in REPLICAS}
        return
    with tempfile.TemporaryDirectory(prefix="consensus-bench-", dir=directory) as tmp:
        storages = {r: SqliteStorage(Path(tmp) / f"{r}.db") for r in REPLICAS}
        try:
            yield storages
        finally:
            for storage in storages.values():
                storage.close()


def filesystem_of(path: Path) -> str:
    """``"<fstype> <device> at <mount point>"`` for ``path``, from /proc/mounts (Linux)."""
    target = os.path.realpath(path)
    best = ("", "unknown", "unknown filesystem")
    try:
        with open("/proc/mounts") as mounts:
            for line in mounts:
                device, mount, fstype, *_ = line.split()
                inside = target == mount or target.startswith(mount.rstrip("/") + "/")
                if inside and len(mount) >= len(best[0]):
                    best = (mount, fstype, device)
    except OSError:
        return "unknown filesystem"
    mount, fstype, device = best
    return f"{fstype} {device} at {mount}"


def _table(results: list[BenchResult]) -> str:
    head = f"{'storage':<8} {'batch_max':>9} {'window':>6} {'commands/s':>11} "
    head += f"{'slots/s':>9} {'flushes/s':>9} {'same state':>10}"
    rows = [head]
    for r in results:
        rows.append(
            f"{r.storage:<8} {r.batch_max:>9} {r.window:>6} {r.commands_per_second:>11,.0f} "
            f"{r.slots / r.seconds:>9,.0f} {r.flushes / r.seconds:>9,.0f} "
            f"{'yes' if r.consistent else 'NO':>10}"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None, out: Callable[[str], None] = print) -> int:
    parser = argparse.ArgumentParser(
        description="Commands chosen per second by 3 replicas and 1 coordinator in one process."
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="timed part of each run")
    parser.add_argument("--storage", choices=[*STORAGES, "both"], default="both")
    parser.add_argument("--batch", type=int, nargs="+", default=[256], help="batch_max values")
    parser.add_argument("--window", type=int, nargs="+", default=[8], help="window values")
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help="where the SQLite files go (default: the system temp dir); must be a real disk",
    )
    args = parser.parse_args(argv)
    kinds = STORAGES if args.storage == "both" else (args.storage,)
    if "sqlite" in kinds:
        directory = args.dir or Path(tempfile.gettempdir())
        out(f"SQLite files under {directory} ({filesystem_of(directory)})")
    results = []
    for kind in kinds:
        for batch_max in args.batch:
            for window in args.window:
                with open_storages(kind, args.dir) as storages:
                    results.append(run_bench(storages, kind, args.seconds, batch_max, window))
    out(_table(results))
    return 0 if all(r.consistent and r.commands > 0 for r in results) else 1
