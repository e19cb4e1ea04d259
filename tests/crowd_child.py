"""A ``CrowdDaemon`` with the limits given on the command line, for test_multiplexer.

Prints ``SERVING <uri>`` once it listens. Its object answers ``echo`` at once;
``block`` prints ``BLOCKED`` and keeps its worker until the process receives
SIGUSR1, so a test can hold workers busy and release them when it chooses.
Both are admitted by an ``Admission`` of ``--admission`` calls, which is the
daemon's gate when that flag is given. SIGTERM stops it.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import threading

from Pyro5.api import expose

from ticketing.security.fairness import Admission, admitted
from ticketing.server import pyro_config
from ticketing.server.hosting import stop_on_signals
from ticketing.server.multiplexer import CrowdDaemon, CrowdLimits

released = threading.Event()


@expose
class Crowd:
    def __init__(self, admission: int) -> None:
        self.admission = Admission(admission)

    @admitted
    def echo(self, value: object) -> object:
        return value

    @admitted
    def block(self) -> bool:
        print("BLOCKED", flush=True)
        released.wait()
        return True

    def pid(self) -> int:
        return os.getpid()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-queued", type=int, default=64)
    parser.add_argument("--max-connections", type=int, default=4096)
    parser.add_argument("--per-address", type=int, default=0)
    parser.add_argument("--no-loopback-exemption", action="store_true")
    parser.add_argument("--deadline", type=float, default=10.0)
    parser.add_argument("--idle-timeout", type=float, default=60.0)
    parser.add_argument("--admission", type=int, default=0, help="0: no gate")
    args = parser.parse_args()
    pyro_config.configure()
    limits = CrowdLimits(
        workers=args.workers,
        max_queued=args.max_queued,
        max_connections=args.max_connections,
        per_address=args.per_address,
        exempt_loopback=not args.no_loopback_exemption,
        deadline=args.deadline,
        idle_timeout=args.idle_timeout,
    )
    signal.signal(signal.SIGUSR1, lambda signum, frame: released.set())
    stopping = threading.Event()
    stop_on_signals(stopping)
    crowd = Crowd(args.admission or 10_000)
    gate = crowd.admission if args.admission else None
    with CrowdDaemon(limits, gate, host="127.0.0.1") as daemon:
        uri = daemon.register(crowd, objectId="crowd")
        print(f"SERVING {uri}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):  # a signal before the loop began
            daemon.requestLoop(loopCondition=lambda: not stopping.is_set())


if __name__ == "__main__":
    main()
