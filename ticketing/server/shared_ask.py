"""One remote ask shared by every caller that needs a fresh answer, and spaced out.

The catalog's followers (load balancers, lock servers) ask the manager, and
the manager asks the data clusters, both on a timer and at once when a
request names something unknown. A burst of such requests must cost one ask,
and a flood of unknown names must not turn into a flood of asks: an ask that
began after a caller wanted one serves that caller too, and asks made on
demand are ``gap`` seconds apart at least.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class SharedAsk(Generic[T]):
    def __init__(self, ask: Callable[[], T], gap: float, stopping: threading.Event) -> None:
        """``ask`` is made under this object's lock, one at a time; ``stopping`` cuts a wait."""
        self._ask = ask
        self._gap = gap
        self._stopping = stopping
        self._lock = threading.Lock()
        self._asked_at = -float("inf")

    def now(self) -> T:
        """Ask now (the timer's ask, or one whose answer the caller needs itself)."""
        with self._lock:
            self._asked_at = time.monotonic()
            return self._ask()

    def fresh(self) -> None:
        """Return once an ask has begun after this call did: made here if none was, waiting
        first until ``gap`` has passed since the last one."""
        since = time.monotonic()
        with self._lock:
            if self._asked_at >= since:
                return
            self._stopping.wait(self._gap - (time.monotonic() - self._asked_at))
            self._asked_at = time.monotonic()
            self._ask()
