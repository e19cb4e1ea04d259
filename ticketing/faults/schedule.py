"""The nemesis's plan: which fault, on which component, when, for how long (pure, seeded).

One fault at a time, so at most one replica of a group is down or paused and
every group keeps its majority (each data cluster, and each lock group when
the lock store runs as several): the contract promises survival of a
minority's crash, not of a majority's. Every kind comes once, in a shuffled
order, before any comes twice, so a short run still tries each of them; and
within a kind every target comes once before any comes twice, so a longer run
reaches every coordinator and replica (of every lock group too), not those a
draw happened to favour.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

KILL_REPLICA = "kill-replica"  # SIGKILL a replica, restart it on its own disk
KILL_COORDINATOR = "kill-coordinator"  # SIGKILL a coordinator, restart it
PAUSE = "pause"  # SIGSTOP a process longer than the timeouts, then SIGCONT
KILL_LOAD_BALANCER = "kill-load-balancer"  # SIGKILL a load balancer, restart it
KILL_MANAGER = "kill-manager"  # SIGKILL the data store manager, restart it
RESTART_NAME_SERVER = "restart-name-server"  # SIGKILL the name server, start it again
PARTITION = "partition"  # cut a replica's host from all others (it runs on), then heal

KINDS = (
    KILL_REPLICA,
    KILL_COORDINATOR,
    PAUSE,
    KILL_LOAD_BALANCER,
    KILL_MANAGER,
    RESTART_NAME_SERVER,
)
# With hosts as network namespaces (``run --netns``), real partitions too.
NETNS_KINDS = (*KINDS, PARTITION)


@dataclass(frozen=True, slots=True)
class PlannedFault:
    at: float  # seconds after the run's start
    kind: str
    target: str  # a component label of ``ticketing.cluster.plan``
    hold: float  # seconds the fault lasts before it is healed


def targets(kind: str, labels: list[str], cuttable: Sequence[str] = ()) -> list[str]:
    """The component labels a fault of ``kind`` may hit (a partition: ``cuttable`` ones)."""
    if kind == PARTITION:
        return list(cuttable)
    # Lock labels: lock_server-<i> and lock_coordinator with one lock group,
    # lock_server-<g>-<i> and lock_coordinator-<g> with several (``ticketing.cluster.plan``).
    if kind == KILL_REPLICA:
        return [x for x in labels if x.startswith(("datastore-", "lock_server-"))]
    if kind == KILL_COORDINATOR:
        return [x for x in labels if x.startswith(("datastore_coordinator-", "lock_coordinator"))]
    if kind == KILL_LOAD_BALANCER:
        return [x for x in labels if x.startswith("load_balancer-")]
    if kind == KILL_MANAGER:
        return [x for x in labels if x == "datastore_manager"]
    if kind == RESTART_NAME_SERVER:
        return [x for x in labels if x == "nameserver"]
    return [x for x in labels if x != "nameserver"]  # PAUSE: anything with a status()


def plan_faults(
    seed: int,
    duration: float,
    labels: list[str],
    *,
    warmup: float = 3.0,
    gap: float = 3.0,
    hold: tuple[float, float] = (2.0, 5.0),
    pause_hold: tuple[float, float] = (6.0, 8.0),
    kinds: tuple[str, ...] = KINDS,
    cuttable: Sequence[str] = (),
) -> list[PlannedFault]:
    """Faults from ``warmup`` until ``duration``, each ``gap`` seconds after the last healed.

    A pause lasts ``pause_hold`` (longer than the calls' 4-5 s timeouts), other
    faults ``hold``; both drawn from the seeded generator, as are the order of
    kinds and the order of each kind's targets. A partition cuts one of ``cuttable`` (the labels
    running on a host of their own), so it needs some.
    """
    if PARTITION in kinds and not cuttable:
        raise ValueError("a partition needs labels on hosts of their own (cuttable)")
    rng = random.Random(seed)
    faults: list[PlannedFault] = []
    at = warmup
    bag: list[str] = []
    victims: dict[str, list[str]] = {}  # kind -> its targets not hit in this round
    while True:
        if not bag:
            bag = list(kinds)
            rng.shuffle(bag)
        kind = bag.pop()
        low, high = pause_hold if kind == PAUSE else hold
        lasts = round(rng.uniform(low, high), 2)
        if at + lasts > duration:
            return faults
        if not victims.get(kind):
            victims[kind] = targets(kind, labels, cuttable)
            rng.shuffle(victims[kind])
        target = victims[kind].pop()
        faults.append(PlannedFault(round(at, 2), kind, target, lasts))
        at += lasts + gap
