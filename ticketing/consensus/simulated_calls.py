"""The simulator's remote calls between a replica's client role and a coordinator.

The servers make these calls over Pyro5 (``Coordinator.submit`` and
``commit_index``); the simulator sends them as messages on its network, so
that they are delayed, dropped, duplicated and cut by partitions like the
consensus traffic, and a crash on either side loses them. A reply leaves the
coordinator when its proposer's ``Ready`` says the command was chosen or
abandoned, or the read index confirmed or refused.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.consensus.log_client import Failover
from ticketing.consensus.messages import Decide
from ticketing.consensus.values import Command


@dataclass(frozen=True, slots=True)
class SubmitCall:
    """``Coordinator.submit``: decide ``command``; hand back what ``replica`` has not learned."""

    call: int
    replica: str
    command: Command
    learned_below: int


@dataclass(frozen=True, slots=True)
class ReadIndexCall:
    """``Coordinator.commit_index``: a read index confirmed by a quorum round."""

    call: int
    replica: str
    learned_below: int


@dataclass(frozen=True, slots=True)
class CallReply:
    """A coordinator's answer: ``slot`` (a submit) or ``index`` (a read), else ``error``."""

    call: int
    coordinator: str
    slot: int = 0
    index: int = 0
    decided: Decide | None = None
    error: str | None = None


@dataclass(slots=True)
class ClientOp:
    """One client request in flight on a replica: a write of ``request_id``, or a read.

    ``told_before``: how many results had been told to clients when it started
    (a read must reflect each of them). ``call`` is the coordinator call it
    waits for (0 when none), ``wait_for`` the slot it waits to see applied.
    """

    op: int
    replica: str
    request_id: str | None  # None for a read
    started: float
    told_before: int
    failover: Failover
    call: int = 0
    wait_for: int | None = None
