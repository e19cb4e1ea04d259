"""Runs a pure consensus ``Replica`` inside a server process.

The core is single-threaded by design, so one lock guards it: Pyro5 worker
threads step it with incoming messages, a ticker thread drives its clock
(catch-up from peers), and callers wait on a condition for a slot to be
applied. Each step's ``Ready`` is carried out in its order: storage flushed
inside the lock when it says ``must_sync`` (a promise or an acceptance: on disk
before the coordinator hears of it), then the reply returned and the other
messages sent. Decisions learned are flushed by the ticker, in one sync per
tick at most.

The core's ``now`` is this process's monotonic clock: it times only the
acceptor's lease (held in memory, never stored or sent) and catch-up polls,
so a step of the wall clock must not move them. The state machines' time is
the coordinator's stamp on each batch, in the log, not this clock.
"""

from __future__ import annotations

import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ticketing.consensus import codec
from ticketing.consensus.learner import LearnerConfig
from ticketing.consensus.messages import CatchupRequest, Decide, Message, Send
from ticketing.consensus.ready import Ready
from ticketing.consensus.replica import Replica
from ticketing.consensus.state_machine import StateMachine
from ticketing.errors import InvalidRequest, TicketingError, Unavailable
from ticketing.server.proxies import ProxyPool
from ticketing.storage import SqliteStorage

log = logging.getLogger(__name__)

T = TypeVar("T")

TICK_INTERVAL = 0.05  # seconds between ticks of the core (catch-up polling)
LEASE = 1.0  # seconds an acceptor stays loyal to a coordinator it hears from
RESOLVE_RETRY = 0.2  # seconds between look-ups of peers not registered yet
# Set to "1" in a replica's environment to run the deliberately broken variant that
# answers Prepare and Accept before persisting them (and syncs only every few
# seconds): only for showing that the tests catch it.
UNSAFE_ACK_BEFORE_PERSIST = "TICKETING_UNSAFE_ACK_BEFORE_PERSIST"
UNSAFE_FLUSH_INTERVAL = 5.0


class ReplicaHost:
    def __init__(
        self,
        node_id: str,
        peers: list[str],
        state_machine: StateMachine,
        db_path: Path,
        pool: ProxyPool,
        recover_from: list[str] = (),
        learner_config: LearnerConfig = LearnerConfig(),
    ) -> None:
        self.node_id = node_id
        self._pool = pool
        self._storage = SqliteStorage(db_path)
        self._core = Replica(
            node_id,
            sorted(set(peers) | set(recover_from)),
            state_machine,
            self._storage,
            random.Random(),
            lease=LEASE,
            learner_config=learner_config,
        )
        self._recover_from = list(recover_from)
        self._persist_before_reply = os.environ.get(UNSAFE_ACK_BEFORE_PERSIST) != "1"
        if not self._persist_before_reply:
            log.warning("%s=1: replies before persisting (a broken variant for tests)", node_id)
        self._lock = threading.Lock()
        self._applied = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._peers_resolved = threading.Event()
        self._heard_at = -math.inf  # time.monotonic() of the last consensus message
        self._ticker = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        log.info("%s restored from disk: applied index %d", node_id, self._core.applied_index)

    def start(self, also_resolve: list[str] = ()) -> None:
        """Recover (``--recover-from``), then serve; peers' addresses are looked up now.

        Looking every peer up at start, rather than on first use, lets this
        replica reach them on cached addresses through a name-server outage
        even if it never had to call them before.
        """
        if self._recover_from:
            self._recover()
        self._ticker.start()
        wanted = [*self._core.learner.peers, *also_resolve]
        threading.Thread(target=self._resolve_all, args=(wanted,), daemon=True).start()

    def _resolve_all(self, wanted: list[str]) -> None:
        while wanted and not self._stopping.is_set():
            for name in list(wanted):
                try:
                    self._pool.resolve(name)
                    wanted.remove(name)
                except TicketingError:
                    pass
            self._stopping.wait(RESOLVE_RETRY)
        self._peers_resolved.set()

    def stop(self) -> None:
        self._stopping.set()
        self._ticker.join(timeout=2)
        with self._lock:
            self._storage.flush()
            self._storage.close()

    # --- consensus traffic ----------------------------------------------------

    def handle(self, plain: Any) -> Any:
        """Step one message from a coordinator or peer; the reply, as plain data."""
        try:
            message = codec.loads(plain)
        except ValueError as exc:
            raise InvalidRequest(str(exc)) from None
        ready = self._step(message)
        self._send_async(ready.sends)
        return None if ready.reply is None else codec.dumps(ready.reply.message)

    def learn(self, decide: Decide) -> None:
        """Apply chosen values a coordinator handed back to this replica's own call."""
        ready = self._run(lambda now: self._core.learn(decide, now))
        self._send_async(ready.sends)

    def _step(self, message: Message) -> Ready:
        return self._run(lambda now: self._core.step(message, now))

    def _run(self, step: Callable[[float], Ready]) -> Ready:
        """One step of the core (given the time), carried out under the lock."""
        with self._lock:
            self._heard_at = time.monotonic()
            ready = step(time.monotonic())
            if ready.must_sync and self._persist_before_reply:
                self._storage.flush()
            # Learned decisions are flushed by the ticker: losing the last few in a
            # crash costs only a catch-up from peers, never safety, and saves a sync
            # on every apply.
            if ready.applied:
                self._applied.notify_all()
        return ready

    # --- reads and waiting -----------------------------------------------------

    def wait_applied(self, slot: int, timeout: float) -> None:
        """Block until ``slot`` is applied here; Unavailable after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self._core.applied_index < slot:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Unavailable(
                        f"{self.node_id} has not caught up to slot {slot} yet "
                        f"(at {self._core.applied_index}); retry"
                    )
                self._applied.wait(left)

    def heard_within(self, seconds: float) -> bool:
        """Whether consensus traffic (a proposal, a decision, a catch-up) came that recently.

        A replica cut off from its coordinator hears nothing and falls behind
        unnoticed; one that heard from it a moment ago is at most that moment
        behind. Local refusals rely on this (see ``LockServer``).
        """
        with self._lock:
            return time.monotonic() - self._heard_at <= seconds

    def learned_below(self) -> int:
        """The first slot this replica has not learned the value of."""
        with self._lock:
            return self._core.learner.decided_below

    def result(self, request_id: str) -> tuple[int, Any] | None:
        with self._lock:
            return self._core.learner.result(request_id)

    def read(self, query: Callable[[Any], T]) -> T:
        """Run ``query`` on the state machine under the core's lock."""
        with self._lock:
            return query(self._core.learner.sm)

    def status(self) -> dict[str, Any]:
        with self._lock:
            learner = self._core.learner
            return {
                "applied_index": learner.applied,
                "digest": learner.digest(),
                "promised": self._core.acceptor.promised.to_plain(),
                "snapshot_index": learner.snapshot.index if learner.snapshot else 0,
                "clock": learner.clock,
                "peers_resolved": self._peers_resolved.is_set(),
            }

    # --- catch-up ------------------------------------------------------------------

    def _tick_loop(self) -> None:
        synced = time.monotonic()
        while not self._stopping.wait(TICK_INTERVAL):
            with self._lock:
                sends = self._core.tick(time.monotonic()).sends
                late = time.monotonic() - synced >= UNSAFE_FLUSH_INTERVAL
                if self._persist_before_reply or late:
                    self._storage.flush()
                    synced = time.monotonic()
            self._send_sync(sends)

    def _send_async(self, sends: list[Send]) -> None:
        if sends:
            threading.Thread(target=self._send_sync, args=(sends,), daemon=True).start()

    def _send_sync(self, sends: list[Send]) -> None:
        for send in sends:
            try:
                reply = self._pool.call(send.to, "consensus", codec.dumps(send.message))
            except TicketingError as exc:
                log.debug("catch-up from %s failed: %s", send.to, exc)
                continue
            if reply is not None:
                self._step(codec.loads(reply))  # a further gap is asked for at the next tick

    def _recover(self) -> None:
        """Copy state from the named running replicas before serving (``--recover-from``)."""
        for source in self._recover_from:
            for _ in range(1000):  # each reply carries a bounded number of slots
                with self._lock:
                    request = CatchupRequest(self.node_id, self._core.learner.decided_below)
                try:
                    reply = codec.loads(self._pool.call(source, "consensus", codec.dumps(request)))
                except TicketingError as exc:
                    log.warning("cannot recover from %s: %s", source, exc)
                    break
                if not self._step(reply).applied:
                    break
            log.info("recovered from %s up to slot %d", source, self._core.applied_index)
