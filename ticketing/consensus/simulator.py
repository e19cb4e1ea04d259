"""A deterministic simulator of the consensus core under failures.

N replicas and K coordinators exchange messages through a simulated network
driven by one seeded RNG: delays, reordering, duplicates, drops, partitions,
crashes (memory lost, disk kept) and restarts. Clients write and read
through random replicas, as the load balancers do, and each replica serves
them with its client role, the ``LogClient`` the servers run: a write is
submitted to a coordinator (the one that answered last first, the other on a
failure or a timeout), the chosen values in its answer are learned and the
replica answers with the result at the write's slot once it applied it; a
fresh read asks a coordinator for a read index (``Proposer.request_read``),
waits until it is applied and reads the replica's state. The calls and their
answers travel on the simulated network (``simulated_calls``), so crashes,
drops and partitions hit them too. A client whose write failed retries it,
with the same request id, through any replica.

Besides faults at random moments, faults aimed at the moments that matter, as
FoundationDB's and TigerBeetle's simulators aim theirs (each seed picks how
often, ``config_for``):
- a replica that just gave a promise or accepted a proposal (flushed, reply
  not yet sent) crashes before the reply leaves or just after it (before the
  next Accept arrives) and restarts a moment later, or that reply is dropped
  or duplicated; a promise to a new coordinator (a takeover) is followed by a
  crash and restart half the time;
- a coordinator that proposes or has just learned values chosen dies midway
  through sending (a value accepted by a minority, or chosen with nobody told),
  or stalls for longer than the lease and wakes up with its old ballot.
A bug in what is persisted, or when, shows only if a crash falls in such a
narrow window, and one in phase 1 only if two coordinators overlap; random
faults make those a few schedules in a thousand, aimed ones a few in a hundred
(the planted bugs in the tests, and the counts in the README).

After a chaotic phase the network heals, everything restarts, and the run
checks that the cluster makes progress again.

Checks, continuously and at the end:
- agreement: no slot is decided with two values, by any coordinator or learner,
  or by a quorum of acceptors accepting it in one ballot (Paxos's definition of
  chosen, which needs no coordinator to survive and tell);
- validity: only submitted commands are decided;
- durability: each acknowledged command is decided at the slot it was
  acknowledged with;
- exactly-once: no request applied twice by a replica;
- linearizable reads: a read index given is at least the slot of every command
  acknowledged before the read was asked and applied by some replica by then
  (a client hears of a write only once a replica applied it);
- what clients were told: each write's result is the one its request has in
  the agreed log (its position there, applied once), and each fresh read
  reflects every write told to any client before the read started;
- equal digests for replicas with equal applied prefixes;
- progress: once healed, new commands are chosen and every replica applies them.

A run is a pure function of its seed: ``Simulation(seed).run()`` again gives
the same schedule, which is how a failing seed is replayed.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.coalesce import coalesce
from ticketing.consensus.learner import LearnerConfig
from ticketing.consensus.log_client import LogClient
from ticketing.consensus.messages import (
    Accept,
    Accepted,
    Decide,
    Message,
    Prepare,
    Promise,
    Send,
)
from ticketing.consensus.proposer import Proposer, ProposerConfig
from ticketing.consensus.ready import Ready
from ticketing.consensus.replica import Replica
from ticketing.consensus.simulated_calls import CallReply, ClientOp, ReadIndexCall, SubmitCall
from ticketing.consensus.storage import MemoryProposerStorage, MemoryStorage
from ticketing.consensus.values import Batch, Command
from ticketing.errors import Unavailable


class AppendLog:
    """The simulator's state machine: the list of applied (slot, payload).

    A command's result is its position in the list, so a result told to a
    client can be checked against the agreed log; ``holds_all`` is a read of it.
    """

    def __init__(self) -> None:
        self.entries: list[list] = []
        self._payloads: set[Any] = set()

    def apply(self, payload: Any, slot: int, now: float) -> Any:
        self.entries.append([slot, payload])
        self._payloads.add(payload)
        return len(self.entries)

    def holds_all(self, payloads: list[Any]) -> bool:
        return self._payloads.issuperset(payloads)

    def snapshot(self) -> Any:
        return [list(e) for e in self.entries]

    def restore(self, snapshot: Any) -> None:
        self.entries = [list(e) for e in snapshot]
        self._payloads = {payload for _, payload in self.entries}

    def digest(self) -> str:
        return hashlib.sha256(json.dumps(self.entries).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SimConfig:
    replicas: int = 3
    proposers: int = 2
    chaos_time: float = 2.0  # seconds of faults
    settle_time: float = 3.0  # seconds of healed network after that
    quiet_time: float = 1.0  # no new commands in the last part of the settle time
    tick: float = 0.01
    delay: tuple[float, float] = (0.0005, 0.02)
    drop: float = 0.05
    duplicate: float = 0.03
    submit_every: float = 0.0125
    fault_every: float = 0.15
    retry_failed: float = 0.8  # chance a client retries a write that failed (same request id)
    retry_delay: tuple[float, float] = (0.005, 0.05)  # how long it waits before it does
    call_timeout: float = 0.4  # a replica's call to a coordinator gives up (then fails over)
    apply_timeout: float = 0.3  # a replica waits this long for the slot a reply names
    snapshot_every: int = 16
    lease: float = 0.2
    thrifty: bool = False  # proposals to a quorum of live acceptors only (ProposerConfig)
    # Chance that a promise or acceptance by a replica, or a coordinator's step that
    # proposes or learns values chosen, is the moment of an aimed fault (module
    # docstring); 0 for none. Then a takeover promise is one with this chance.
    boundary_faults: float = 0.0
    takeover_crash: float = 0.5
    boundary_down: tuple[float, float] = (0.0, 0.05)  # how long an aimed crash lasts
    read_every: float = 0.04  # mean seconds between fresh reads by clients; 0 for none


# Aimed faults at a replica's persistence and reply boundary.
BOUNDARY_FAULTS = (
    "crash_before_reply",  # flushed, then down before the reply leaves; back soon
    "crash_after_reply",  # the reply (a promise, an acceptance) left; down, back soon
    "drop_reply",
    "duplicate_reply",
)
DECIDED_IN_REPLY = 20  # chosen values a coordinator hands back with an answer, at most
# The rates of aimed faults the seeds choose among (config_for).
BOUNDARY_RATES = (0.05, 0.1, 0.2, 0.3)


@dataclass(slots=True)
class SimResult:
    seed: int
    violations: list[str]
    chosen_slots: int
    acknowledged: int
    messages: int
    faults: dict[str, int] = field(default_factory=dict)
    reads: int = 0  # read indexes given (and checked)
    told: int = 0  # write results told to clients (and checked against the agreed log)
    fresh_reads: int = 0  # reads told to clients (and checked against what they were told)

    @property
    def ok(self) -> bool:
        return not self.violations

    def describe(self) -> str:
        head = f"seed {self.seed}: {len(self.violations)} violation(s)"
        replay = f"replay: Simulation({self.seed}).run()"
        return "\n".join([head, *self.violations[:10], replay])


ProposerFactory = Callable[..., Proposer]
LogClientFactory = Callable[..., LogClient]
ReplicaFactory = Callable[..., Replica]
StorageFactory = Callable[[], MemoryStorage]


class Simulation:
    def __init__(
        self,
        seed: int,
        config: SimConfig = SimConfig(),
        proposer_factory: ProposerFactory = Proposer,
        persist_before_reply: bool = True,
        replica_factory: ReplicaFactory = Replica,
        storage_factory: StorageFactory = MemoryStorage,
        log_client_factory: LogClientFactory = LogClient,
    ) -> None:
        """The factories and ``persist_before_reply`` exist to plant bugs in tests."""
        self.seed = seed
        self.config = config
        self.rng = random.Random(seed)
        # Aimed faults draw from their own stream: with none configured
        # (boundary_faults=0), a seed runs the schedule it ran before they existed.
        self._boundary_rng = random.Random(seed ^ 0xB0DA)
        self._read_rng = random.Random(seed ^ 0x4EAD)  # when and where reads are asked
        self._proposer_factory = proposer_factory
        self._replica_factory = replica_factory
        self._log_client_factory = log_client_factory
        self._persist_before_reply = persist_before_reply
        self.now = 0.0
        self._events: list = []
        self._seq = 0
        self.replica_ids = [f"r{i}" for i in range(1, config.replicas + 1)]
        self.proposer_ids = [f"c{i}" for i in range(1, config.proposers + 1)]
        self.storages = {r: storage_factory() for r in self.replica_ids}
        self.proposer_storages = {c: MemoryProposerStorage() for c in self.proposer_ids}
        self.replicas: dict[str, Replica | None] = {}
        self.log_clients: dict[str, LogClient] = {}  # each replica's client role
        self.proposers: dict[str, Proposer | None] = {}
        self._groups: dict[str, int] = {}  # partition: node -> side; empty when healed
        self._healed = False
        self._paused_until: dict[str, float] = {}  # coordinator -> end of an aimed stall
        # What the checks compare against.
        self.submitted: dict[str, Any] = {}
        self.chosen: dict[int, Batch] = {}
        # (slot, ballot) -> acceptors that said they accepted it: chosen at a quorum,
        # whether or not any coordinator lives to hear of it.
        self._acceptances: dict[tuple[int, Ballot], set[str]] = {}
        self._quorum = config.replicas // 2 + 1
        self.acked: dict[str, int] = {}
        self.violations: list[str] = []
        self.faults: dict[str, int] = {}
        self._messages = 0
        self._next_request = 0
        self._acked_after_heal = 0
        self._applied_high = 0  # the highest slot any replica has applied
        self._next_read = 0
        self._read_floors: dict[int, int] = {}  # read id -> the index it must at least get
        self._reads_given = 0
        # Clients' requests in flight on the replicas, and the coordinators' side of
        # their calls: request id -> submits waiting, read id -> the read waiting.
        self._ops: dict[int, ClientOp] = {}
        self._next_op = 0
        self._calls: dict[int, ClientOp] = {}  # call id -> the request that made it
        self._next_call = 0
        self._waits: dict[str, dict[int, ClientOp]] = {r: {} for r in self.replica_ids}
        self._submits_at: dict[str, dict[str, list[SubmitCall]]] = {
            c: {} for c in self.proposer_ids
        }
        self._reads_at: dict[str, dict[int, ReadIndexCall]] = {c: {} for c in self.proposer_ids}
        # What clients were told, in order: (request id, result) per write told.
        self.told: list[tuple[str, Any]] = []
        self._told_payloads: list[Any] = []  # their payloads, for the reads' check
        self._fresh_reads = 0
        for r in self.replica_ids:
            self._start_replica(r)
        for c in self.proposer_ids:
            self._start_proposer(c)

    # --- running -------------------------------------------------------------------

    def run(self) -> SimResult:
        cfg = self.config
        for node in [*self.replica_ids, *self.proposer_ids]:
            self._at(self.rng.uniform(0, cfg.tick), "tick", node)
        self._at(0.0, "submit", None)
        self._at(cfg.fault_every, "fault", None)
        self._at(cfg.chaos_time, "heal", None)
        if cfg.read_every > 0:
            self._at(self._read_rng.expovariate(1 / cfg.read_every), "read", None)
        end = cfg.chaos_time + cfg.settle_time
        while self._events and self._events[0][0] <= end:
            self.now, _, kind, data = heapq.heappop(self._events)
            getattr(self, f"_on_{kind}")(data)
        self._final_checks()
        return SimResult(
            self.seed,
            self.violations,
            len(self.chosen),
            len(self.acked),
            self._messages,
            dict(self.faults),
            self._reads_given,
            len(self.told),
            self._fresh_reads,
        )

    def _at(self, when: float, kind: str, data: Any) -> None:
        self._seq += 1
        heapq.heappush(self._events, (when, self._seq, kind, data))

    # --- nodes -------------------------------------------------------------------

    def _start_replica(self, node: str) -> None:
        learner_config = LearnerConfig(
            snapshot_every=self.config.snapshot_every,
            amortize_snapshots=False,  # snapshot often: catch-up from snapshots gets exercised
            catchup_gap_interval=0.02,
            catchup_idle_interval=0.2,
            catchup_max_entries=20,
        )
        self.replicas[node] = self._replica_factory(
            node,
            self.replica_ids,
            AppendLog(),
            self.storages[node],
            random.Random(self.rng.random()),
            lease=self.config.lease,
            learner_config=learner_config,
        )
        self.log_clients[node] = self._log_client_factory(node, self.proposer_ids)

    def _start_proposer(self, node: str) -> None:
        config = ProposerConfig(
            batch_max=4,
            window=4,
            retry_interval=0.05,
            heartbeat_interval=0.05,
            backoff_min=0.02,
            backoff_max=0.3,
            chosen_memory=32,
            resend_max=8,
            thrifty=self.config.thrifty,
        )
        self.proposers[node] = self._proposer_factory(
            node,
            self.replica_ids,
            self.replica_ids,
            self.proposer_storages[node],
            random.Random(self.rng.random()),
            config,
        )

    def _on_tick(self, node: str) -> None:
        self._at(self.now + self.config.tick, "tick", node)
        if node in self.replicas:
            replica = self.replicas[node]
            if replica is not None:
                ready = replica.tick(self.now)
                # As ReplicaHost's ticker: every tick flushes what steps left unsynced
                # (decided values); the broken variant persists late, now and then.
                if self._persist_before_reply or self.rng.random() < 0.1:
                    replica.storage.flush()
                self._carry_out(node, ready)
                self._applied(node, ready)
        elif not self._is_paused(node):
            proposer = self.proposers[node]
            if proposer is not None:
                self._handle_ready(node, proposer.tick(self.now))

    def _on_deliver(self, data: tuple[str, Message]) -> None:
        to, msg = data
        if self._is_paused(to):
            self._at(self._paused_until[to], "deliver", data)  # waits in its socket
        elif isinstance(msg, SubmitCall | ReadIndexCall):
            self._on_coordinator_call(to, msg)
        elif isinstance(msg, CallReply):
            self._on_call_reply(to, msg)
        elif to in self.replicas:
            replica = self.replicas[to]
            if replica is not None:
                leader_before = replica.acceptor.promised.proposer
                ready = replica.step(msg, self.now)
                self._applied(to, ready)
                takeover = isinstance(msg, Prepare) and msg.ballot.proposer != leader_before
                if ready.reply is not None and isinstance(ready.reply.message, Accepted):
                    self._count_acceptance(to, msg)
                if self._aim_fault(msg, ready, takeover):
                    self._boundary_fault(to, ready, takeover)
                else:
                    self._carry_out(to, ready)
        else:
            proposer = self.proposers[to]
            if proposer is not None:
                self._handle_ready(to, proposer.receive(msg, self.now))

    def _carry_out(self, node: str, ready: Ready) -> None:
        """A replica's ``Ready``, as ``ReplicaHost`` carries it out: sync, then send."""
        if ready.must_sync and self._persist_before_reply:
            self.replicas[node].storage.flush()
        for send in ready.outgoing():
            self._transmit(node, send)

    def _aim_fault(self, msg: Message, ready: Ready, takeover: bool) -> bool:
        """Whether this promise or acceptance is the moment of an aimed fault.

        Only a promise given or a proposal accepted: a refusal changes no
        durable state, and heartbeats (Accepts without entries) are many.
        """
        rate = self.config.boundary_faults
        if self._healed or rate <= 0.0 or ready.reply is None:
            return False
        if not (isinstance(msg, Prepare) or (isinstance(msg, Accept) and msg.entries)):
            return False
        if not isinstance(ready.reply.message, Promise | Accepted):
            return False
        if takeover:
            rate = self.config.takeover_crash
        return self._boundary_rng.random() < rate

    def _boundary_fault(self, node: str, ready: Ready, takeover: bool) -> None:
        """One of BOUNDARY_FAULTS, right where the replica persisted and would reply."""
        rng = self._boundary_rng
        kind = "crash_after_reply" if takeover else rng.choice(BOUNDARY_FAULTS)
        self.faults[kind] = self.faults.get(kind, 0) + 1
        if ready.must_sync and self._persist_before_reply:
            self.replicas[node].storage.flush()
        sends = ready.outgoing()
        if kind == "crash_before_reply":
            sends = []
        elif kind == "drop_reply":
            sends = ready.sends
        elif kind == "duplicate_reply":
            sends = [ready.reply, *sends]
        for send in sends:
            self._transmit(node, send)
        if kind.startswith("crash"):
            self._crash(node)
            self._at(self.now + rng.uniform(*self.config.boundary_down), "restart", node)

    def _aim_coordinator_fault(self, ready: Ready) -> bool:
        """Whether a coordinator dies or stalls in this step: it learned values chosen
        or sends proposals."""
        rate = self.config.boundary_faults
        if self._healed or rate <= 0.0:
            return False
        proposes = any(isinstance(s.message, Accept) and s.message.entries for s in ready.sends)
        if not (ready.chosen or proposes):
            return False
        return self._boundary_rng.random() < rate

    def _is_paused(self, node: str) -> bool:
        return self._paused_until.get(node, 0.0) > self.now

    def _coordinator_pause(self, node: str) -> None:
        """The coordinator stalls (a long GC pause, a stopped VM) just after proposing.

        Longer than the acceptors' lease, so another coordinator may take over;
        then it wakes up still believing it leads, with its old ballot and its
        proposals in flight, and messages that waited for it arrive at once.
        """
        self.faults["coordinator_pause"] = self.faults.get("coordinator_pause", 0) + 1
        lease = self.config.lease
        self._paused_until[node] = self.now + self._boundary_rng.uniform(lease, 3 * lease)

    def _coordinator_crash(self, node: str, ready: Ready) -> None:
        """The coordinator dies midway through sending what this step produced.

        Some acceptors get a proposal and others not (a value accepted by a
        minority, for a later leader to find), or a value is chosen and nobody
        hears of it: no Decide, no acknowledgement to the client.
        """
        rng = self._boundary_rng
        self.faults["coordinator_crash_mid_send"] = (
            self.faults.get("coordinator_crash_mid_send", 0) + 1
        )
        for send in ready.sends[: rng.randrange(len(ready.sends) + 1)]:
            self._transmit(node, send)
        self._crash(node)
        self._at(self.now + rng.uniform(*self.config.boundary_down), "restart", node)

    def _on_restart(self, node: str) -> None:
        """The end of an aimed crash (unless a random restart or the heal came first)."""
        if self._is_down(node):
            self._restart(node)

    def _handle_ready(self, node: str, ready: Ready) -> None:
        if self._aim_coordinator_fault(ready):
            if self._boundary_rng.random() < 0.5:
                self._coordinator_crash(node, ready)
                return
            self._coordinator_pause(node)  # after this step's messages have left
        for slot, value in ready.chosen:
            self._record_chosen(slot, value, node)
            for command in value.commands:
                self.acked.setdefault(command.request_id, slot)
                if self._healed:
                    self._acked_after_heal += 1
                for call in self._submits_at[node].pop(command.request_id, ()):
                    decided = self._decided_for(node, call)
                    reply = CallReply(call.call, node, slot, decided=decided)
                    self._transmit(node, Send(call.replica, reply))
        for read_id, index in ready.reads:
            self._check_read(read_id, index, node)
            if (read := self._reads_at[node].pop(read_id, None)) is not None:
                decided = self._decided_for(node, read)
                reply = CallReply(read.call, node, index=index, decided=decided)
                self._transmit(node, Send(read.replica, reply))
        for read_id in ready.reads_refused:
            self._read_floors.pop(read_id, None)
            if (read := self._reads_at[node].pop(read_id, None)) is not None:
                reply = CallReply(read.call, node, error="not leading")
                self._transmit(node, Send(read.replica, reply))
        for request_id in ready.abandoned:
            for call in self._submits_at[node].pop(request_id, ()):
                reply = CallReply(call.call, node, error="not the leader")
                self._transmit(node, Send(call.replica, reply))
        # As the servers' peer links do: what goes to one peer in one step is folded
        # (Accepts of a ballot into one, decisions onto an Accept), unless the seed
        # says this step sends them one by one.
        if self.rng.random() < 0.5:
            for send in ready.sends:
                self._transmit(node, send)
            return
        by_peer: dict[str, list[Message]] = {}
        for send in ready.sends:
            by_peer.setdefault(send.to, []).append(send.message)
        for peer, messages in by_peer.items():
            for message in coalesce(messages):
                self._transmit(node, Send(peer, message))

    def _transmit(self, sender: str, send: Send) -> None:
        cfg = self.config
        self._messages += 1
        groups = self._groups
        if groups and groups.get(sender) != groups.get(send.to):
            return
        if not self._healed and self.rng.random() < cfg.drop:
            return
        copies = 2 if not self._healed and self.rng.random() < cfg.duplicate else 1
        for _ in range(copies):
            delay = self.rng.uniform(*cfg.delay)
            self._at(self.now + delay, "deliver", (send.to, send.message))

    # --- clients ------------------------------------------------------------------

    def _quiet(self) -> bool:
        """No new requests at the end, so that the replicas can converge before the checks."""
        cfg = self.config
        return self.now > cfg.chaos_time + cfg.settle_time - cfg.quiet_time

    def _on_submit(self, _: None) -> None:
        if self._quiet():
            return
        self._at(self.now + self.rng.expovariate(1 / self.config.submit_every), "submit", None)
        self._next_request += 1
        request_id = f"q{self._next_request}"
        self.submitted[request_id] = self._next_request
        self._start_op(self.rng.choice(self.replica_ids), request_id)

    def _on_retry(self, request_id: str) -> None:
        """A client tries a failed write again, with the same request id, as a balancer does."""
        if not self._quiet():
            self._start_op(self.rng.choice(self.replica_ids), request_id)

    def _on_read(self, _: None) -> None:
        """A client reads fresh state through a random replica: barrier, then a local read."""
        rng = self._read_rng
        self._at(self.now + rng.expovariate(1 / self.config.read_every), "read", None)
        self._start_op(rng.choice(self.replica_ids), None)

    # --- the replicas' client role (LogClient), driven as ReplicaServer drives it -------

    def _start_op(self, node: str, request_id: str | None) -> None:
        """A write of ``request_id`` (a read if None) arrives at replica ``node``."""
        if self._is_down(node):
            self._op_failed(request_id)
            return
        self._next_op += 1
        failover = self.log_clients[node].failover()
        op = ClientOp(self._next_op, node, request_id, self.now, len(self.told), failover)
        self._ops[op.op] = op
        self._call_next(op)

    def _call_next(self, op: ClientOp) -> None:
        """The call to the next coordinator the failover names; the request fails after all."""
        coordinator = op.failover.next()
        if coordinator is None:
            self._finish(op)
            self._op_failed(op.request_id)
            return
        self._next_call += 1
        op.call = self._next_call
        self._calls[op.call] = op
        learned = self.replicas[op.replica].learner.decided_below
        if op.request_id is None:
            call: SubmitCall | ReadIndexCall = ReadIndexCall(op.call, op.replica, learned)
        else:
            command = Command(op.request_id, self.submitted[op.request_id])
            call = SubmitCall(op.call, op.replica, command, learned)
        self._transmit(op.replica, Send(coordinator, call))
        self._at(self.now + self.config.call_timeout, "call_timeout", (op.op, op.call, coordinator))

    def _on_call_timeout(self, data: tuple[int, int, str]) -> None:
        op_id, call, coordinator = data
        op = self._ops.get(op_id)
        if op is not None and op.call == call:
            self._calls.pop(call, None)
            op.failover.failed(Unavailable(f"{coordinator} did not answer in time"))
            self._call_next(op)

    def _on_coordinator_call(self, node: str, call: SubmitCall | ReadIndexCall) -> None:
        """``Coordinator.submit`` or ``commit_index``: answered when the Ready says so."""
        proposer = self.proposers[node]
        if proposer is None:
            return
        if isinstance(call, SubmitCall):
            self._submits_at[node].setdefault(call.command.request_id, []).append(call)
            self._handle_ready(node, proposer.submit([call.command], self.now))
            return
        # The floor is fixed when the read arrives: every acknowledged command some
        # replica has applied (a client may have heard of it).
        self._next_read += 1
        high = self._applied_high
        self._read_floors[self._next_read] = max(
            (slot for slot in self.acked.values() if slot <= high), default=0
        )
        self._reads_at[node][self._next_read] = call
        self._handle_ready(node, proposer.request_read(self._next_read, self.now))

    def _decided_for(self, node: str, call: SubmitCall | ReadIndexCall) -> Decide | None:
        """The chosen values a coordinator's answer hands back: those the caller lacks."""
        if not call.learned_below:
            return None
        return self.proposers[node].chosen_from(call.learned_below, DECIDED_IN_REPLY)

    def _on_call_reply(self, node: str, reply: CallReply) -> None:
        op = self._calls.pop(reply.call, None)
        if op is None or self._ops.get(op.op) is not op or op.call != reply.call:
            return  # a duplicate, or an answer after the replica gave up or crashed
        op.call = 0
        if reply.error is not None:
            op.failover.failed(Unavailable(f"{reply.coordinator}: {reply.error}"))
            self._call_next(op)
            return
        client = self.log_clients[node]
        client.answered(reply.coordinator)
        if op.request_id is None:
            catchup = client.on_read_index_reply(reply.index, reply.decided)
        else:
            catchup = client.on_submit_reply([reply.slot], reply.decided)
        op.wait_for = catchup.wait_for
        self._waits[node][op.op] = op
        self._at(self.now + self.config.apply_timeout, "wait_timeout", op.op)
        if catchup.decide is not None:
            ready = self.replicas[node].learn(catchup.decide, self.now)
            self._carry_out(node, ready)
            self._applied(node, ready)
        self._check_waits(node)

    def _applied(self, node: str, ready: Ready) -> None:
        """A replica's step applied slots: wake its requests waiting for them."""
        if ready.applied:
            self._applied_high = max(self._applied_high, self.replicas[node].applied_index)
            self._check_waits(node)

    def _check_waits(self, node: str) -> None:
        replica = self.replicas[node]
        waiting = self._waits[node]
        if replica is None or not waiting:
            return
        for op in [op for op in waiting.values() if op.wait_for <= replica.applied_index]:
            self._finish(op)
            if op.request_id is None:
                self._check_fresh_read(op, replica)
                continue
            try:
                (result,) = self.log_clients[node].results([op.request_id], replica.learner.result)
            except Unavailable:
                self._op_failed(op.request_id)
                continue
            self.told.append((op.request_id, result))
            self._told_payloads.append(self.submitted[op.request_id])

    def _on_wait_timeout(self, op_id: int) -> None:
        op = self._ops.get(op_id)
        if op is not None and op.wait_for is not None:
            self._finish(op)
            self._op_failed(op.request_id)

    def _finish(self, op: ClientOp) -> None:
        self._ops.pop(op.op, None)
        self._calls.pop(op.call, None)
        self._waits[op.replica].pop(op.op, None)

    def _op_failed(self, request_id: str | None) -> None:
        """The client is told Unavailable; most retry a write, none a read."""
        if request_id is not None and self.rng.random() < self.config.retry_failed:
            self._at(self.now + self.rng.uniform(*self.config.retry_delay), "retry", request_id)

    def _check_fresh_read(self, op: ClientOp, replica: Replica) -> None:
        """Linearizable reads: a read reflects every write told before it started."""
        self._fresh_reads += 1
        state = replica.learner.sm
        if state.holds_all(self._told_payloads[: op.told_before]):
            return
        missed = next(
            request_id
            for request_id, _ in self.told[: op.told_before]
            if not state.holds_all([self.submitted[request_id]])
        )
        self.violations.append(
            f"stale read: a read through {op.replica} started at t={op.started:.3f} misses "
            f"{missed}, told to a client before it (t={self.now:.3f})"
        )

    def _check_read(self, read_id: int, index: int, node: str) -> None:
        floor = self._read_floors.pop(read_id, None)
        if floor is None:
            return
        self._reads_given += 1
        if index < floor:
            self.violations.append(
                f"stale read: {node} gave read {read_id} index {index}, but slot {floor} was "
                f"acknowledged and applied before it was asked (t={self.now:.3f})"
            )

    # --- faults -------------------------------------------------------------------

    def _on_fault(self, _: None) -> None:
        if self._healed:
            return
        self._at(self.now + self.rng.expovariate(1 / self.config.fault_every), "fault", None)
        kind = self.rng.choice(["crash", "crash", "restart", "restart", "partition", "heal_net"])
        self.faults[kind] = self.faults.get(kind, 0) + 1
        everyone = [*self.replica_ids, *self.proposer_ids]
        if kind == "crash":
            node = self.rng.choice(everyone)
            self._crash(node)
        elif kind == "restart":
            down = [n for n in everyone if self._is_down(n)]
            if down:
                self._restart(self.rng.choice(down))
        elif kind == "partition":
            self._groups = {n: self.rng.randrange(2) for n in everyone}
        else:
            self._groups = {}

    def _is_down(self, node: str) -> bool:
        return (self.replicas if node in self.replicas else self.proposers)[node] is None

    def _crash(self, node: str) -> None:
        if node in self.replicas:
            if self.replicas[node] is not None:
                self.storages[node].crash()
                self.replicas[node] = None
                for op in [op for op in self._ops.values() if op.replica == node]:
                    self._finish(op)  # its caller's connection breaks
                    self._op_failed(op.request_id)
        else:
            self.proposers[node] = None
            self._submits_at[node] = {}
            self._reads_at[node] = {}

    def _restart(self, node: str) -> None:
        self._paused_until.pop(node, None)
        if node in self.replicas:
            self._start_replica(node)
        else:
            self._start_proposer(node)

    def _on_heal(self, _: None) -> None:
        self._healed = True
        self._groups = {}
        for node in [*self.replica_ids, *self.proposer_ids]:
            if self._is_down(node):
                self._restart(node)

    # --- checks -------------------------------------------------------------------

    def _record_chosen(self, slot: int, value: Batch, where: str) -> None:
        known = self.chosen.get(slot)
        if known is None:
            self.chosen[slot] = value
            for command in value.commands:
                if self.submitted.get(command.request_id, object()) != command.payload:
                    self.violations.append(f"validity: slot {slot} holds {command} never submitted")
        elif known != value:
            self.violations.append(
                f"agreement: slot {slot} chosen as {known} and as {value} (at {where}, "
                f"t={self.now:.3f})"
            )

    def _count_acceptance(self, acceptor: str, msg: Accept) -> None:
        """Paxos's own definition of chosen: a quorum accepted a value in one ballot.

        Checked as acceptances happen, so that two values chosen in one slot are
        seen even when the coordinator that would have learned one of them died.
        """
        for slot, value in msg.entries:
            voters = self._acceptances.setdefault((slot, msg.ballot), set())
            voters.add(acceptor)
            if len(voters) == self._quorum:
                self._record_chosen(slot, value, f"acceptors {sorted(voters)}")

    def _final_checks(self) -> None:
        live = {n: r for n, r in self.replicas.items() if r is not None}
        for node, replica in live.items():
            seen: set[Any] = set()
            log = replica.learner.sm.entries
            for slot, payload in log:
                value = self.chosen.get(slot)
                if value is None or payload not in [c.payload for c in value.commands]:
                    self.violations.append(f"{node} applied {payload} at slot {slot}, not chosen")
                if payload in seen:
                    self.violations.append(f"exactly-once: {node} applied request {payload} twice")
                seen.add(payload)
        for request_id, slot in self.acked.items():
            value = self.chosen.get(slot)
            if value is None or request_id not in [c.request_id for c in value.commands]:
                self.violations.append(f"durability: {request_id} acked at slot {slot}, lost")
        self._check_told(live)
        by_index: dict[int, set[str]] = {}
        for replica in live.values():
            by_index.setdefault(replica.applied_index, set()).add(replica.learner.digest())
        for index, digests in by_index.items():
            if len(digests) > 1:
                self.violations.append(
                    f"digests differ at applied index {index}: {sorted(digests)}"
                )
        if self._acked_after_heal == 0:
            self.violations.append("progress: nothing was chosen after the network healed")
        top = max(self.chosen, default=0)
        lagging = {n: r.applied_index for n, r in live.items() if r.applied_index < top}
        if lagging:
            self.violations.append(f"progress: replicas behind slot {top} after healing: {lagging}")

    def _check_told(self, live: dict[str, Replica]) -> None:
        """Every result a client was told is the one its request has in the agreed log.

        The agreed log is the longest live replica's, each of its entries checked
        above to be chosen at its slot and applied once; a command's result is
        its position in it (``AppendLog``), so a result told from a slot not yet
        applied, from another request, or twice different, differs.
        """
        if not live:
            return
        agreed = max(live.values(), key=lambda r: r.applied_index).learner.sm.entries
        position = {payload: n for n, (_, payload) in enumerate(agreed, start=1)}
        for request_id, result in self.told:
            expected = position.get(self.submitted[request_id])
            if result != expected:
                self.violations.append(
                    f"linearizability: a client was told {request_id} gave {result}, the "
                    f"agreed log gives {expected}"
                )


def config_for(seed: int) -> SimConfig:
    """Vary the cluster with the seed: 3 or 5 replicas, 1 to 3 coordinators, thrifty or
    not, and how often faults are aimed at the persistence and reply boundary."""
    shape = random.Random(seed ^ 0x5EED)
    replicas, proposers = shape.choice([3, 3, 5]), shape.choice([1, 2, 2, 3])
    thrifty = shape.random() < 0.5
    boundary_faults = shape.choice(BOUNDARY_RATES)
    return SimConfig(
        replicas=replicas, proposers=proposers, thrifty=thrifty, boundary_faults=boundary_faults
    )
