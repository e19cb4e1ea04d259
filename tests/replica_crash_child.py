"""Child process of test_replica_crash: one Replica over a SqliteStorage file.

Usage: ``python replica_crash_child.py DB_PATH NODE_ID``. On start it prints
one status line; then for each consensus message read on stdin (one JSON line,
``codec.encode``'d) it steps the replica, flushes the storage, and only then
prints one JSON line: ``{"replies": [[to, encoded message], ...], "applied": n,
"digest": d}``, where ``applied`` and ``digest`` describe the learner's state
after the step. The start-up line has the same shape, with no replies.

The parent kills this process with SIGKILL at chosen and at random instants;
it never exits on its own before stdin closes.
"""

from __future__ import annotations

import json
import random
import sys
import time

from ticketing.consensus.codec import decode, encode
from ticketing.consensus.learner import LearnerConfig
from ticketing.consensus.replica import Replica
from ticketing.consensus.simulator import AppendLog
from ticketing.storage import SqliteStorage

PEERS = ["r1", "r2", "r3"]
SNAPSHOT_EVERY = 7  # small, so that kills land around snapshots and truncation too


def status(replica: Replica, replies: list) -> str:
    learner = replica.learner
    return json.dumps({"replies": replies, "applied": learner.applied, "digest": learner.digest()})


def main(path: str, node_id: str) -> None:
    storage = SqliteStorage(path)
    replica = Replica(
        node_id,
        PEERS,
        AppendLog(),
        storage,
        random.Random(0),
        learner_config=LearnerConfig(snapshot_every=SNAPSHOT_EVERY),
    )
    out = sys.stdout
    out.write(status(replica, []) + "\n")
    out.flush()
    for line in sys.stdin:
        ready = replica.step(decode(json.loads(line)), time.monotonic())
        storage.flush()  # everything persisted, decisions too (ReplicaHost syncs those later) ...
        sends = ready.outgoing()
        out.write(status(replica, [[s.to, encode(s.message)] for s in sends]) + "\n")
        out.flush()  # ... then replied


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
