"""One users level: a crowd of simulated users for ``--seconds``, measured, then cleared away.

Counters and CPU are read before and after, each user records its latencies,
the tickets the level leaves are cancelled (the next level starts on empty
venues) and this machine's ceiling is measured right after, with as many
callers; ``level_record`` turns it all into the level's JSON record.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from typing import Any

from ticketing.bench import ceiling, level_record
from ticketing.bench import rush as rush_profile
from ticketing.bench.system import System
from ticketing.bench.users import Target, User, can_sell_out, keep_tickets

PROGRESS_INTERVAL = 0.5


def run_level(
    args: argparse.Namespace,
    system: System,
    balancers: list[str],
    targets: list[Target],
    users: int,
    seed: int,
) -> dict[str, Any]:
    """``users`` simulated users on ``targets`` for ``--seconds``: the level's record."""
    stop = threading.Event()
    if args.rush:
        crowd = rush_crowd(args, balancers, targets[0], users, seed, stop)
    else:
        seats = sum(target.seats for target in targets)
        crowd = [
            User(
                i,
                balancers[i % len(balancers)],
                targets,
                stop,
                args.seat_map_share,
                args.cancel_share,
                seed * 100_000 + i,
                args.serializer,
                keep=keep_tickets(seats, users),
                return_at_once=can_sell_out(seats, users),
            )
            for i in range(users)
        ]
    before = system.snapshot()
    started = time.monotonic()
    for user in crowd:
        user.start()
    deadline = started + args.seconds
    _progress(crowd, users, started, deadline, stop)
    stop.set()
    for user in crowd:
        user.join()
    work = system.snapshot().minus(before)
    # The next level starts on empty venues (see users).
    left = [ticket for user in crowd for ticket in user.tickets_left()]
    not_cancelled = rush_profile.cancel_all(balancers, left)
    ceilings = ceiling.per_serializer(users, args.ceiling_seconds)
    return level_record.record(args, users, targets, crowd, deadline, work, ceilings, not_cancelled)


def rush_crowd(
    args: argparse.Namespace,
    balancers: list[str],
    target: Target,
    users: int,
    seed: int,
    stop: threading.Event,
) -> list[rush_profile.RushUser]:
    keep = keep_tickets(target.seats, users)
    kinds = rush_profile.buyer_kinds(users, args.rush_explicit)
    return [
        rush_profile.RushUser(
            i,
            balancers[i % len(balancers)],
            target,
            stop,
            buyer=kinds[i],
            keep=keep,
            cancel_share=args.cancel_share,
            seed=seed * 100_000 + i,
            serializer=args.serializer,
        )
        for i in range(users)
    ]


def _progress(
    crowd: list[User], users: int, started: float, deadline: float, stop: threading.Event
) -> None:
    """A plain progress bar on stderr until ``deadline`` (one final line when not a terminal)."""
    tty = sys.stderr.isatty()
    width = 30
    while True:
        now = time.monotonic()
        done = min(1.0, (now - started) / (deadline - started))
        booked = sum(u.tally.bookings for u in crowd)
        if tty or done >= 1.0:
            bar = "#" * int(done * width) + "." * (width - int(done * width))
            rate = booked / max(now - started, 1e-9)
            end = "\r" if tty and done < 1.0 else "\n"
            print(
                f"{users:>5} users [{bar}] {now - started:5.1f}/{deadline - started:.0f}s "
                f"{booked:>7} bookings {rate:8.1f}/s",
                end=end,
                file=sys.stderr,
                flush=True,
            )
        if done >= 1.0:
            return
        stop.wait(min(PROGRESS_INTERVAL, max(0.0, deadline - now)))
