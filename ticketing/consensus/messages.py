"""Messages between coordinators (proposers), acceptors and learners.

Small frozen dataclasses, in the style of h11's events: the protocol objects
take them in and hand them out, and never touch a socket. ``codec.py`` turns
them into plain data for the wire and for SQLite.

Slots are numbered from 1. ``decided_below`` values mean "every slot below
this one is decided and known here".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.values import Batch


@dataclass(frozen=True, slots=True)
class Snapshot:
    """The applied state of a replica up to and including slot ``index``.

    ``sessions`` maps request id to ``[slot, result]`` so that exactly-once
    answers survive a snapshot install; ``clock`` is the last stamp applied.
    """

    index: int
    state: Any
    sessions: dict
    clock: float


# --- phase 1 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Prepare:
    ballot: Ballot
    from_slot: int


@dataclass(frozen=True, slots=True)
class Promise:
    """An acceptor's promise, with every value it accepted at ``from_slot`` or above."""

    ballot: Ballot
    acceptor: str
    accepted: tuple[tuple[int, Ballot, Batch], ...]
    decided_below: int


# --- phase 2 ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Accept:
    """Proposals for several slots in one ballot; with no entries, a heartbeat.

    ``decided`` may carry chosen values on the same trip (a Decide folded in by
    the sender), so a replica learns them without a message of their own.
    ``probe`` is the sender's latest read round (``Proposer.request_read``):
    an acceptance that echoes it proves the sender still led after that round
    began.
    """

    ballot: Ballot
    entries: tuple[tuple[int, Batch], ...]
    decided: tuple[tuple[int, Batch], ...] = ()
    probe: int = 0


@dataclass(frozen=True, slots=True)
class Accepted:
    """An acceptance; ``probe`` echoes the Accept's, so its sender can tell a fresh one."""

    ballot: Ballot
    acceptor: str
    slots: tuple[int, ...]
    decided_below: int
    probe: int = 0


@dataclass(frozen=True, slots=True)
class Rejected:
    """Refusal of a Prepare or Accept: ``promised`` is the higher ballot seen."""

    ballot: Ballot
    acceptor: str
    promised: Ballot


# --- learning ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Decide:
    """Chosen values, sent by the coordinator to every learner."""

    entries: tuple[tuple[int, Batch], ...]


@dataclass(frozen=True, slots=True)
class CatchupRequest:
    learner: str
    from_slot: int


@dataclass(frozen=True, slots=True)
class CatchupReply:
    """Decided slots from ``from_slot`` on; a snapshot first when they were truncated."""

    sender: str
    snapshot: Snapshot | None
    entries: tuple[tuple[int, Batch], ...]
    decided_below: int


Message = Prepare | Promise | Accept | Accepted | Rejected | Decide | CatchupRequest | CatchupReply


@dataclass(frozen=True, slots=True)
class Send:
    """An outgoing message for the driver to deliver to node ``to``."""

    to: str
    message: Message
