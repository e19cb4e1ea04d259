"""The learner: applies decided slots, in order, to the state machine.

It keeps the decided log above its last snapshot (to serve lagging peers), the
exactly-once table of results per request id, and takes a snapshot every
``snapshot_every`` slots, truncating the log below it. A learner that sees a
gap, or simply has not heard from a peer for a while, asks a peer for what it
lacks; a peer that has truncated those slots answers with its snapshot first.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ticketing.consensus.messages import CatchupReply, CatchupRequest, Decide, Send, Snapshot
from ticketing.consensus.state_machine import StateMachine
from ticketing.consensus.storage import DurableState, Storage
from ticketing.consensus.values import Batch


@dataclass(frozen=True, slots=True)
class LearnerConfig:
    snapshot_every: int = 1000  # slots between snapshots, at least
    # Also wait until as many commands were applied as the exactly-once table
    # holds, so that copying that table into a snapshot costs O(1) per command.
    amortize_snapshots: bool = True
    # How long (stamped time) a request id's result is kept for retries.
    session_ttl: float = 120.0
    # Catch-up polling: soon when a gap is known, slowly otherwise.
    catchup_gap_interval: float = 0.05
    catchup_idle_interval: float = 1.0
    catchup_max_entries: int = 500


class Learner:
    def __init__(
        self,
        node_id: str,
        peers: list[str],
        state_machine: StateMachine,
        durable: DurableState,
        storage: Storage,
        rng: random.Random,
        config: LearnerConfig = LearnerConfig(),
    ) -> None:
        self.node_id = node_id
        self.peers = [p for p in peers if p != node_id]
        self.sm = state_machine
        self.config = config
        self._storage = storage
        self._rng = rng
        self.applied = 0
        self.clock = 0.0
        # request id -> (slot, result, stamp), oldest first, for exactly-once answers.
        self.sessions: OrderedDict[str, tuple[int, Any, float]] = OrderedDict()
        self.snapshot: Snapshot | None = None
        self.decided: dict[int, Batch] = {}
        self._next_catchup = 0.0
        self._commands_since_snapshot = 0
        self._highest_decided = 0
        if durable.snapshot is not None:
            self._install(durable.snapshot)
        self.decided.update((s, v) for s, v in durable.decided.items() if s > self.applied)
        self._highest_decided = max(self.decided, default=0)
        self._apply_ready()

    @property
    def decided_below(self) -> int:
        """Every slot below this one is decided and applied here."""
        return self.applied + 1

    def result(self, request_id: str) -> tuple[int, Any] | None:
        """``(slot, result)`` of an applied request, or None if not (or no longer) known."""
        entry = self.sessions.get(request_id)
        return None if entry is None else (entry[0], entry[1])

    def on_decide(self, msg: Decide, now: float) -> list[Send]:
        self._add(msg.entries)
        return self._catchup_if_gap(now)

    def on_catchup_request(self, msg: CatchupRequest) -> CatchupReply:
        snapshot = None
        start = msg.from_slot
        if self.snapshot is not None and start <= self.snapshot.index:
            snapshot = self.snapshot
            start = self.snapshot.index + 1
        limit = self.config.catchup_max_entries
        entries = []
        slot = start
        while slot in self.decided and len(entries) < limit:
            entries.append((slot, self.decided[slot]))
            slot += 1
        return CatchupReply(self.node_id, snapshot, tuple(entries), self.decided_below)

    def on_catchup_reply(self, msg: CatchupReply, now: float) -> list[Send]:
        snapshot = msg.snapshot
        if snapshot is not None and snapshot.index > self.applied:
            self._storage.save_snapshot(snapshot)
            self._install(snapshot)
        self._add(msg.entries)
        if msg.decided_below > self.decided_below:
            # The peer knows more than it could send in one reply: ask again soon.
            self._next_catchup = min(self._next_catchup, now + self.config.catchup_gap_interval)
        return []

    def tick(self, now: float) -> list[Send]:
        if now < self._next_catchup or not self.peers:
            return []
        gap = self._has_gap()
        interval = self.config.catchup_gap_interval if gap else self.config.catchup_idle_interval
        self._next_catchup = now + interval
        peer = self._rng.choice(self.peers)
        return [Send(peer, CatchupRequest(self.node_id, self.decided_below))]

    def digest(self) -> str:
        return self.sm.digest()

    # --- internals -------------------------------------------------------------

    def _has_gap(self) -> bool:
        """A later slot is known while the next one to apply is missing."""
        return self._highest_decided > self.applied

    def _catchup_if_gap(self, now: float) -> list[Send]:
        if self._has_gap() and self._next_catchup > now:
            self._next_catchup = now
            return self.tick(now)
        return []

    def _add(self, entries: tuple[tuple[int, Batch], ...]) -> None:
        for slot, value in entries:
            if slot > self.applied and slot not in self.decided:
                self.decided[slot] = value
                self._storage.save_decided(slot, value)
                self._highest_decided = max(self._highest_decided, slot)
        self._apply_ready()

    def _apply_ready(self) -> None:
        while (slot := self.applied + 1) in self.decided:
            self._apply(slot, self.decided[slot])
            if self._snapshot_due():
                self._take_snapshot()

    def _snapshot_due(self) -> bool:
        last = self.snapshot.index if self.snapshot is not None else 0
        if self.applied - last < self.config.snapshot_every:
            return False
        if self.config.amortize_snapshots:
            return self._commands_since_snapshot >= len(self.sessions)
        return True

    def _apply(self, slot: int, batch: Batch) -> None:
        # Time never runs backwards, even if a new coordinator's clock is behind.
        now = self.clock = max(self.clock, batch.stamp)
        sessions = self.sessions
        for command in batch.commands:
            if command.request_id in sessions:
                continue  # a retry decided again: the first result stands
            result = self.sm.apply(command.payload, slot, now)
            sessions[command.request_id] = (slot, result, now)
        self._commands_since_snapshot += len(batch.commands)
        horizon = now - self.config.session_ttl
        while sessions:
            oldest = next(iter(sessions.values()))
            if oldest[2] >= horizon:
                break
            sessions.popitem(last=False)
        self.applied = slot

    def _take_snapshot(self) -> None:
        sessions = {rid: list(entry) for rid, entry in self.sessions.items()}
        snapshot = Snapshot(self.applied, self.sm.snapshot(), sessions, self.clock)
        self._storage.save_snapshot(snapshot)
        self.snapshot = snapshot
        self._commands_since_snapshot = 0
        self.decided = {s: v for s, v in self.decided.items() if s > self.applied}

    def _install(self, snapshot: Snapshot) -> None:
        self.sm.restore(snapshot.state)
        self.sessions = OrderedDict(
            (rid, (int(s), result, float(t))) for rid, (s, result, t) in snapshot.sessions.items()
        )
        self.clock = snapshot.clock
        self.applied = snapshot.index
        self.snapshot = snapshot
        self.decided = {s: v for s, v in self.decided.items() if s > snapshot.index}
