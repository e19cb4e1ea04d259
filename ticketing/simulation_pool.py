"""Many seeded consensus schedules at once, spread over worker processes.

A schedule is a pure function of its seed (``ticketing.consensus.simulator``),
so which process runs it changes nothing: the failures come back in seed order,
the same as in one process, only sooner. The 10,000-schedule test and
``run/simulate.py`` need this to fit their time on a 2-core machine.

This lives outside ``ticketing.consensus`` because it starts processes, which
the pure core must not do.
"""

from __future__ import annotations

import argparse
import math
import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from functools import partial

from ticketing.consensus.log_client import LogClient
from ticketing.consensus.proposer import Proposer
from ticketing.consensus.replica import Replica
from ticketing.consensus.simulator import (
    LogClientFactory,
    ProposerFactory,
    ReplicaFactory,
    SimConfig,
    SimResult,
    Simulation,
    StorageFactory,
    config_for,
)
from ticketing.consensus.storage import MemoryStorage

# Seeds handed to a worker at once: small enough that the workers finish close
# together (schedules differ in cost) and that stopping waits for little.
CHUNK_MAX = 50


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, where the system tells it)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def run_many(
    seeds: range,
    config: SimConfig | None = None,
    proposer_factory: ProposerFactory = Proposer,
    persist_before_reply: bool = True,
    workers: int | None = None,
    replica_factory: ReplicaFactory = Replica,
    storage_factory: StorageFactory = MemoryStorage,
    log_client_factory: LogClientFactory = LogClient,
) -> list[SimResult]:
    """Run one simulation per seed (shape from ``config_for`` unless given); the failures.

    ``workers`` processes share the seeds (default: one per usable CPU; 1 runs
    them here). The factories (which plant bugs in tests) must then be
    importable by name, as a class at a module's top level is.
    """
    one = partial(
        _failure,
        config=config,
        proposer_factory=proposer_factory,
        persist_before_reply=persist_before_reply,
        replica_factory=replica_factory,
        storage_factory=storage_factory,
        log_client_factory=log_client_factory,
    )
    workers = min(workers or usable_cpus(), len(seeds))
    if workers <= 1:
        results = [one(seed) for seed in seeds]
    else:
        chunk = max(1, min(CHUNK_MAX, math.ceil(len(seeds) / workers)))
        # spawn, not fork: the caller (a test run, say) may have threads of its own.
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            try:
                results = list(pool.map(one, seeds, chunksize=chunk))
            except BaseException:
                # Interrupted or timed out: do not run the seeds still queued.
                pool.shutdown(wait=False, cancel_futures=True)
                raise
    return [result for result in results if result is not None]


def _failure(
    seed: int,
    config: SimConfig | None,
    proposer_factory: ProposerFactory,
    persist_before_reply: bool,
    replica_factory: ReplicaFactory,
    storage_factory: StorageFactory,
    log_client_factory: LogClientFactory,
) -> SimResult | None:
    """The result of the schedule of ``seed`` if it broke a check, else None (less to send)."""
    result = Simulation(
        seed,
        config or config_for(seed),
        proposer_factory,
        persist_before_reply,
        replica_factory,
        storage_factory,
        log_client_factory,
    ).run()
    return None if result.ok else result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Run seeded consensus simulations.")
    parser.add_argument("--seeds", type=int, default=1000, help="how many schedules")
    parser.add_argument("--first", type=int, default=0, help="first seed")
    parser.add_argument("--seed", type=int, help="replay this one seed and print its result")
    parser.add_argument(
        "--workers", type=int, default=None, help="processes (default: one per usable CPU)"
    )
    args = parser.parse_args(argv)
    if args.seed is not None:
        result = Simulation(args.seed, config_for(args.seed)).run()
        print(result.describe(), result.faults, f"chosen={result.chosen_slots}")
        return 0 if result.ok else 1
    failures = run_many(range(args.first, args.first + args.seeds), workers=args.workers)
    for failure in failures:
        print(failure.describe())
    print(f"{args.seeds} schedules, {len(failures)} with violations")
    return 1 if failures else 0
