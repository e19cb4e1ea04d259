"""The coordinator of a replicated cluster: a Multi-Paxos proposer on Pyro5.

Replicas (lock servers, data store replicas) call ``submit`` with commands;
the call returns, per command, the slot it was decided at, once a majority
of the cluster has accepted it, together with the chosen values the replica
has not learned yet (it says how far it has). The replica applies them and
answers its own caller with the result, as the seed's servers do, without
waiting for the Decide broadcast; that one may then linger in the peer links
to ride on the next Accept (``peer_link``). Time for the state machines (hold
expiry) is the coordinator's clock, stamped on every batch.

That clock is the wall clock (``time.time()``), not a monotonic one, because
the stamps leave this process: a standby coordinator in another process goes
on stamping the same log, and a hold's ``expires_at`` (stamp plus ttl) is
compared with the lock servers', load balancers' and clients' own wall clocks.
The assumption is bounded skew between member hosts (NTP; the lock server's
``CLOCK_MARGIN`` and the members' handshake ``CLOCK_SKEW`` bound what they
tolerate), and the learner never lets applied time run backwards. The
proposer's timers (resends, heartbeats, backoff) run on the same clock, as
the core takes one ``now``: a wall-clock step delays or hastens them, which
costs liveness for a moment (the acceptors' leases lapse, a standby may take
over), never safety.
"""

from __future__ import annotations

import json
import logging
import os
import random
import secrets
import threading
import time
from pathlib import Path
from typing import Any

from Pyro5.api import expose

from ticketing import counters, names
from ticketing.consensus import codec
from ticketing.consensus.messages import Message
from ticketing.consensus.proposer import Proposer, ProposerConfig, Ready
from ticketing.consensus.values import Command
from ticketing.errors import InvalidRequest, Unavailable
from ticketing.security.secret import require_secret
from ticketing.server.boundary import contract_errors
from ticketing.server.cli import (
    LockGroupsChanged,
    cluster_name,
    common_parser,
    lock_data_dir,
    lock_group_of,
    lock_groups_flag,
    pin_lock_groups,
    positive_int,
)
from ticketing.server.hosting import serve
from ticketing.server.peer_link import PeerLink
from ticketing.server.proxies import ProxyPool
from ticketing.storage import SqliteProposerStorage

log = logging.getLogger(__name__)

TICK_INTERVAL = 0.05
SUBMIT_TIMEOUT = 4.0  # seconds a submit waits for its commands to be decided
READ_INDEX_TIMEOUT = 1.0  # seconds commit_index waits for a quorum to confirm the leader
CONSENSUS_TIMEOUT = 2.0  # seconds for one call to a replica
MAX_COMMANDS_PER_SUBMIT = 1000
MAX_REQUEST_ID_LENGTH = 256  # "book:<hold id>:<ticket no>" and the like
MAX_DECIDED_IN_REPLY = 256  # chosen values handed back with a submit or commit_index
STANDBY_SUFFIX = ".standby"  # a standby registers as "<coordinator name>.standby"

CONFIG = ProposerConfig(
    batch_max=256,
    window=16,
    retry_interval=0.3,
    heartbeat_interval=0.25,
    backoff_min=0.1,
    backoff_max=2.0,
    thrifty=True,
)


class _Waiter:
    __slots__ = ("event", "slot")

    def __init__(self) -> None:
        self.event = threading.Event()
        self.slot: int | None = None


def proposer_id(data_dir: Path, name: str) -> str:
    """This coordinator's identity in ballots: its name plus a token kept on disk.

    Two coordinators of one cluster (a standby beside the old one) get
    different tokens from their different data files, so their ballots never
    tie; a restart on the same files keeps the identity and the round.
    """
    token_file = data_dir / "proposer-id"
    if not token_file.exists():
        token_file.write_text(secrets.token_hex(4))
    return f"{name}#{token_file.read_text().strip()}"


class Coordinator:
    """Exposes ``submit``, ``status`` and ``commit_index`` only (not ``close``)."""

    def __init__(
        self,
        name: str,
        replicas: list[str],
        data_dir: Path,
        pool: ProxyPool,
        role: str,
    ) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self._name = name
        self._role = role
        self._storage = SqliteProposerStorage(data_dir / "coordinator.sqlite")
        self._proposer = Proposer(
            proposer_id(data_dir, name),
            replicas,
            replicas,
            self._storage,
            random.Random(),
            CONFIG,
        )
        self._lock = threading.Lock()
        self._waiters: dict[str, list[_Waiter]] = {}
        self._read_waiters: dict[int, _Waiter] = {}
        self._next_read = 0
        self._links = {r: PeerLink(r, pool, self._on_reply) for r in replicas}
        self._stopping = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="ticker", daemon=True)
        self._ticker.start()

    # --- remote API ---------------------------------------------------------------

    @expose
    @contract_errors
    def submit(self, commands: list, learned_below: int = 0) -> dict[str, Any]:
        """Propose ``[[request_id, payload], ...]``.

        Answers ``{"slots": [...], "decided": ...}``: the slot each command was
        decided at, and (a Decide, encoded) the chosen values from slot
        ``learned_below`` on, which the caller has not applied yet.
        """
        parsed = _parse_commands(commands)
        learned_below = _slot_number(learned_below)
        waiters = []
        with self._lock:
            for command in parsed:
                waiter = _Waiter()
                self._waiters.setdefault(command.request_id, []).append(waiter)
                waiters.append((command.request_id, waiter))
            ready = self._proposer.submit(parsed, time.time())
            self._dispatch(ready)
        deadline = time.monotonic() + SUBMIT_TIMEOUT
        slots = []
        for request_id, waiter in waiters:
            if not waiter.event.wait(max(0.0, deadline - time.monotonic())):
                with self._lock:
                    self._forget(request_id, waiter)
                raise Unavailable(f"{self._name}: not decided in time (no quorum?); retry")
            if waiter.slot is None:
                raise Unavailable(
                    f"{self._name} is not the leader right now (another coordinator "
                    "took over or is taking over); retry"
                )
            slots.append(waiter.slot)
        return {"slots": slots, "decided": self._decided_from(learned_below)}

    @expose
    @contract_errors
    def status(self) -> dict[str, Any]:
        with self._lock:
            proposer = self._proposer
            return {
                "name": self._name,
                "role": self._role,
                "pid": os.getpid(),
                "state": proposer.role.value,
                "ballot": proposer.ballot.to_plain(),
                "applied_index": proposer.chosen_below - 1,
                "next_slot": proposer.next_slot,
                "unreachable": [p for p, link in self._links.items() if not link.reachable],
                **counters.snapshot(),
            }

    @expose
    @contract_errors
    def commit_index(self, learned_below: int = 0) -> dict[str, Any]:
        """A read index: once a replica has applied up to it, its reads are current.

        Only a confirmed leader gives one: ``Proposer.request_read`` answers
        after a quorum of replicas acknowledged this leader's ballot in a round
        begun after the call came in, so a coordinator deposed behind a
        partition refuses (``Unavailable``) instead of answering with an index
        that misses its successor's writes. Answers ``{"index": ...,
        "decided": ...}``, with the chosen values from ``learned_below`` on as
        ``submit`` does, so the replica can apply them at once rather than wait
        for the Decide broadcast.
        """
        learned_below = _slot_number(learned_below)
        waiter = _Waiter()
        with self._lock:
            self._next_read += 1
            read_id = self._next_read
            self._read_waiters[read_id] = waiter
            self._dispatch(self._proposer.request_read(read_id, time.time()))
        if not waiter.event.wait(READ_INDEX_TIMEOUT):
            with self._lock:
                self._read_waiters.pop(read_id, None)
                self._proposer.cancel_read(read_id)
            raise Unavailable(
                f"{self._name} could not confirm with a majority of replicas that it "
                "still leads (partitioned or deposed?); retry"
            )
        if waiter.slot is None:
            raise Unavailable(f"{self._name} is not leading right now; retry")
        return {"index": waiter.slot, "decided": self._decided_from(learned_below)}

    def _decided_from(self, learned_below: int) -> str | None:
        if not learned_below:
            return None
        with self._lock:
            decide = self._proposer.chosen_from(learned_below, MAX_DECIDED_IN_REPLY)
        return None if decide is None else codec.dumps(decide)

    # --- driving the core ------------------------------------------------------------

    def close(self) -> None:
        self._stopping.set()
        for link in self._links.values():
            link.close()
        self._storage.close()

    def _on_reply(self, message: Message) -> None:
        with self._lock:
            self._dispatch(self._proposer.receive(message, time.time()))

    def _tick_loop(self) -> None:
        while not self._stopping.wait(TICK_INTERVAL):
            with self._lock:
                self._dispatch(self._proposer.tick(time.time()))

    def _dispatch(self, ready: Ready) -> None:
        """Hand messages to the links and wake the waiters; called under the lock."""
        for send in ready.sends:
            self._links[send.to].send(send.message)
        for slot, batch in ready.chosen:
            for command in batch.commands:
                for waiter in self._waiters.pop(command.request_id, ()):
                    waiter.slot = slot
                    waiter.event.set()
        for request_id in ready.abandoned:
            for waiter in self._waiters.pop(request_id, ()):
                waiter.event.set()
        for read_id, index in ready.reads:
            if (read := self._read_waiters.pop(read_id, None)) is not None:
                read.slot = index
                read.event.set()
        for read_id in ready.reads_refused:
            if (read := self._read_waiters.pop(read_id, None)) is not None:
                read.event.set()

    def _forget(self, request_id: str, waiter: _Waiter) -> None:
        waiters = self._waiters.get(request_id, [])
        if waiter in waiters:
            waiters.remove(waiter)
        if not waiters:
            self._waiters.pop(request_id, None)


def _parse_commands(commands: Any) -> list[Command]:
    if not isinstance(commands, list | tuple) or not 0 < len(commands) <= MAX_COMMANDS_PER_SUBMIT:
        raise InvalidRequest(
            f"submit takes a list of 1 to {MAX_COMMANDS_PER_SUBMIT} [request_id, payload] pairs"
        )
    parsed = []
    for item in commands:
        if not (isinstance(item, list | tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise InvalidRequest("each command must be a [request_id, payload] pair")
        if not 0 < len(item[0]) <= MAX_REQUEST_ID_LENGTH or not isinstance(item[1], dict):
            raise InvalidRequest(
                f"a command is a request id of 1 to {MAX_REQUEST_ID_LENGTH} characters "
                "and a payload dict"
            )
        parsed.append(Command(item[0], _plain(item[1])))
    return parsed


def _slot_number(value: Any) -> int:
    if type(value) is not int or value < 0:
        raise InvalidRequest("learned_below must be a slot number (an int >= 0)")
    return value


def _plain(value: Any) -> Any:
    """A payload as JSON gives it back (tuples become lists, keys strings).

    Every replica keeps the value in memory and on disk; normalising it here,
    before it is proposed, means both copies are the same, and a value JSON
    cannot hold (NaN, an object) is refused before it could stall the log.
    """
    try:
        return json.loads(json.dumps(value, allow_nan=False))
    except (TypeError, ValueError, RecursionError) as exc:
        raise InvalidRequest(f"command payload is not plain data: {exc}") from None


def standby_name(name: str) -> str:
    """Where a standby of coordinator ``name`` registers (replicas try it when ``name`` fails)."""
    return f"{name}{STANDBY_SUFFIX}"


def _serve(role: str, name: str, replica_names: list[str], data_dir: Path, args: Any) -> None:
    if args.standby:
        # Beside the main coordinator: its own name (hosting refuses a second live
        # process under one name) and its own proposer id and round on disk, so the
        # two compete through ballots and never share a ballot.
        role, name = f"{role} (standby)", standby_name(name)
        data_dir = data_dir.with_name(data_dir.name + STANDBY_SUFFIX)
    secret = require_secret(args.data_dir)
    pool = ProxyPool(args.ns_host, args.ns_port, timeout=CONSENSUS_TIMEOUT, secret=secret)
    coordinator = Coordinator(name, replica_names, data_dir, pool, role)
    try:
        serve(
            coordinator, name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret
        )
    finally:
        coordinator.close()
        pool.close()


def lock_main(argv: list[str] | None = None) -> None:
    parser = common_parser("The lock coordinator: leads consensus among the lock servers.")
    parser.add_argument("--replicas", type=positive_int, default=3, help="lock servers (3)")
    lock_groups_flag(parser, group=True)
    _standby_flag(parser)
    args = parser.parse_args(argv)
    group = lock_group_of(parser, args)
    try:
        pin_lock_groups(Path(args.data_dir), args.lock_groups)
    except LockGroupsChanged as exc:
        raise SystemExit(str(exc)) from None
    replicas = [names.lock_server(i, group) for i in range(1, args.replicas + 1)]
    data_dir = lock_data_dir(Path(args.data_dir), group) / "coordinator"
    role = "lock coordinator" if group is None else f"lock coordinator of group {group}"
    _serve(role, names.lock_coordinator(group), replicas, data_dir, args)


def datastore_main(argv: list[str] | None = None) -> None:
    parser = common_parser("A data store coordinator: leads consensus in one data cluster.")
    parser.add_argument(
        "--cluster", required=True, type=cluster_name, help="the data cluster it coordinates"
    )
    parser.add_argument("--replicas", type=positive_int, default=3, help="replicas (3)")
    _standby_flag(parser)
    args = parser.parse_args(argv)
    replicas = [names.datastore_replica(args.cluster, i) for i in range(1, args.replicas + 1)]
    data_dir = Path(args.data_dir) / "datastore" / args.cluster / "coordinator"
    name = names.datastore_coordinator(args.cluster)
    _serve("data store coordinator", name, replicas, data_dir, args)


def _standby_flag(parser: Any) -> None:
    parser.add_argument(
        "--standby",
        action="store_true",
        help="run beside the main coordinator as '<name>.standby' with its own state; "
        "ballots decide which one leads, replicas fail over to it",
    )
