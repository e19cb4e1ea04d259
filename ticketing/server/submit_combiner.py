"""One submit in flight per replica: writes that arrive meanwhile share the next one.

Every write a replica serves (a hold, a booking, a settle) goes to its
coordinator as a ``submit`` call, and every submit costs the coordinator a
call and, most often, a slot of its own: a round of Accepts to a quorum, each
with a disk sync. Under load many writes wait on the coordinator at once; sent
one call each, they are decided in many small rounds. Gathered while the
previous submit is in flight (flat combining), they travel as one call and
are decided as one batch. The cost is at most one round trip of waiting for a
write that arrives while another is in flight; a write on an idle replica
goes at once.

The combined call's answer serves every write in it: the highest slot (each
writer waits until its replica applied that far, then reads its own result
by request id), or the error, which every writer in it gets. A call that
failed (no quorum, no leader: the coordinator waited its whole timeout) also
fails the writes queued behind it: sent next, each would wait as long again
for the same answer, and a caller's timeout would run out before the
``Unavailable`` that tells it to try another replica.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MAX_COMMANDS = 256  # per combined submit (the coordinator takes up to 1000)

Command = list[Any]  # [request_id, payload]


@dataclass(slots=True)
class _Entry:
    commands: list[Command]
    finished: bool = False
    slot: int = -1
    error: BaseException | None = None


class SubmitCombiner:
    """Runs ``send(commands) -> highest slot`` for many writers, one call at a time."""

    def __init__(self, send: Callable[[list[Command]], int]) -> None:
        self._send = send
        self._cv = threading.Condition()
        self._queue: list[_Entry] = []  # waiting writers, oldest first
        self._busy = False  # a submit is in flight

    def submit(self, commands: list[Command]) -> int:
        """Decide ``commands`` (with whatever else is waiting); the highest slot of the call."""
        me = _Entry(commands)
        with self._cv:
            self._queue.append(me)
            # The oldest waiting writer sends when no submit is in flight.
            while not me.finished and (self._busy or self._queue[0] is not me):
                self._cv.wait()
            if not me.finished:
                self._busy = True
                batch = self._take()
        if me.finished:
            return self._outcome(me)
        try:
            slot, error = self._send([c for entry in batch for c in entry.commands]), None
        except Exception as exc:  # every writer in the call gets it
            slot, error = -1, exc
        with self._cv:
            if error is not None:
                batch += self._queue
                self._queue.clear()
            for entry in batch:
                entry.finished, entry.slot, entry.error = True, slot, error
            self._busy = False
            self._cv.notify_all()
        return self._outcome(me)

    def waiting(self) -> int:
        """Writers queued behind the submit in flight (for tests and status)."""
        with self._cv:
            return len(self._queue)

    def _take(self) -> list[_Entry]:
        """The oldest writers whose commands fit in one call (the first one always)."""
        batch, count = [], 0
        while self._queue and (not batch or count + len(self._queue[0].commands) <= MAX_COMMANDS):
            entry = self._queue.pop(0)
            batch.append(entry)
            count += len(entry.commands)
        return batch

    @staticmethod
    def _outcome(entry: _Entry) -> int:
        if entry.error is not None:
            raise copy.copy(
                entry.error
            )  # one instance raised in many threads would share a traceback
        return entry.slot
