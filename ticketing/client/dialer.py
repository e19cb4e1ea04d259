"""Reaching one of several load balancers quickly, whatever state the others are in.

A name in the name server may point at a balancer that died (refused at once), at an address
that drops packets, or at a process that accepts and never answers; a caller that tries them one
by one waits its whole timeout on each of the last two (20 such names kept a client's first
command waiting 40-80 s). ``dial`` starts a connection to the first candidate and, while none
has succeeded, one more every ``stagger`` seconds (the Happy Eyeballs idea, RFC 8305): the
first to connect *and prove itself* wins and the others are closed. With a live balancer first,
one connection is made; each dead name ahead of the live one costs ``stagger`` at most, and no
attempt runs longer than ``timeout``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from Pyro5.api import Proxy
from Pyro5.errors import PyroError

STAGGER = 0.2  # seconds between starting attempts while none has succeeded
CONNECT_TIMEOUT = 2.0  # seconds an attempt may take to connect and prove itself


@dataclass
class Dialled:
    """What ``dial`` found: the winner (None if none answered) and why the others failed."""

    name: str | None = None
    proxy: Proxy | None = None
    failed: dict[str, str] = field(default_factory=dict)


def dial(
    candidates: Sequence[str],
    connect: Callable[[str], Proxy],
    stagger: float = STAGGER,
    timeout: float = CONNECT_TIMEOUT,
) -> Dialled:
    """Connect to the first of ``candidates`` that answers, trying them in order, overlapped.

    ``connect(name)`` returns a connected proxy (bounded by its own timeout) or raises a Pyro5
    error. The winner belongs to the caller's thread; late successes are closed.
    """
    results: queue.SimpleQueue[tuple[str, Proxy | None, str]] = queue.SimpleQueue()
    lock = threading.Lock()
    decided = False
    outcome = Dialled()

    def attempt(name: str) -> None:
        try:
            proxy = connect(name)
        except PyroError as exc:
            results.put((name, None, f"{type(exc).__name__}: {exc}"))
            return
        with lock:
            if not decided:
                results.put((name, proxy, ""))
                return
        proxy._pyroRelease()  # lost the race: this thread still owns it

    started = pending = 0
    next_start = time.monotonic()
    give_up = next_start + stagger * len(candidates) + timeout
    while True:
        now = time.monotonic()
        if started < len(candidates) and (pending == 0 or now >= next_start):
            name = candidates[started]
            threading.Thread(target=attempt, args=(name,), name=f"dial {name}", daemon=True).start()
            started += 1
            pending += 1
            next_start = now + stagger
        if pending == 0 or now >= give_up:
            break
        wait = next_start - now if started < len(candidates) else give_up - now
        try:
            name, proxy, why = results.get(timeout=max(wait, 0.0))
        except queue.Empty:
            continue
        pending -= 1
        if proxy is None:
            outcome.failed[name] = why
            next_start = now  # a quick refusal: the next one at once
            continue
        proxy._pyroClaimOwnership()
        outcome.name, outcome.proxy = name, proxy
        break
    with lock:
        decided = True
    _close_late(results, outcome)
    return outcome


def _close_late(results: queue.SimpleQueue, outcome: Dialled) -> None:
    """Close the successes that arrived after the winner; note the failures."""
    while True:
        try:
            name, proxy, why = results.get_nowait()
        except queue.Empty:
            return
        if proxy is None:
            outcome.failed[name] = why
        elif outcome.proxy is None:  # only if the deadline passed just as it arrived
            proxy._pyroClaimOwnership()
            outcome.name, outcome.proxy = name, proxy
        else:
            proxy._pyroClaimOwnership()
            proxy._pyroRelease()
