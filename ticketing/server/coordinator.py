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
proposer's timers (resends, heartbeats, backoff, elections) run on the
monotonic clock instead (``ProposerHost``): a wall-clock step moves the stamps,
never the timers.
"""

from __future__ import annotations

import json
import logging
import os
import random
from pathlib import Path
from typing import Any

from Pyro5.api import expose

from ticketing import counters
from ticketing.consensus import codec
from ticketing.consensus.proposer import Proposer, ProposerConfig
from ticketing.consensus.values import Command
from ticketing.errors import InvalidRequest
from ticketing.server.boundary import contract_errors
from ticketing.server.coordinator_identity import proposer_id
from ticketing.server.proposer_host import ProposerHost
from ticketing.server.proxies import ProxyPool
from ticketing.storage import SqliteProposerStorage

log = logging.getLogger(__name__)

SUBMIT_TIMEOUT = 4.0  # seconds a submit waits for its commands to be decided
READ_INDEX_TIMEOUT = 1.0  # seconds commit_index waits for a quorum to confirm the leader
MAX_COMMANDS_PER_SUBMIT = 1000
MAX_REQUEST_ID_LENGTH = 256  # "book:<hold id>:<ticket no>" and the like
MAX_DECIDED_IN_REPLY = 256  # chosen values handed back with a submit or commit_index

CONFIG = ProposerConfig(
    batch_max=256,
    window=16,
    retry_interval=0.3,
    heartbeat_interval=0.25,
    backoff_min=0.1,
    backoff_max=2.0,
    thrifty=True,
)


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
        storage = SqliteProposerStorage(data_dir / "coordinator.sqlite")
        proposer = Proposer(
            proposer_id(data_dir, name), replicas, replicas, storage, random.Random(), CONFIG
        )
        self._host = ProposerHost(name, proposer, storage, pool)

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
        slots = self._host.submit(parsed, SUBMIT_TIMEOUT)
        return {"slots": slots, "decided": self._decided_from(learned_below)}

    @expose
    @contract_errors
    def status(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "role": self._role,
            "pid": os.getpid(),
            **self._host.status(),
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
        index = self._host.read_index(READ_INDEX_TIMEOUT)
        return {"index": index, "decided": self._decided_from(learned_below)}

    def _decided_from(self, learned_below: int) -> str | None:
        if not learned_below:
            return None
        decide = self._host.chosen_from(learned_below, MAX_DECIDED_IN_REPLY)
        return None if decide is None else codec.dumps(decide)

    def close(self) -> None:
        self._host.close()


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
