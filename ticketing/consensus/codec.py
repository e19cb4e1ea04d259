"""Messages to plain data and back, for the wire (serpent) and for SQLite.

Plain means lists, dicts, str, int, float, bool and None: what serpent and
JSON carry without custom classes. Each message becomes ``[kind, ...fields]``.
Payloads and snapshot states are already plain and pass through untouched.
"""

from __future__ import annotations

import json
from typing import Any

from ticketing.consensus.ballot import Ballot
from ticketing.consensus.messages import (
    Accept,
    Accepted,
    CatchupReply,
    CatchupRequest,
    Decide,
    Message,
    Prepare,
    Promise,
    Rejected,
    Snapshot,
)
from ticketing.consensus.values import Batch

_b = Ballot.from_plain
_v = Batch.from_plain


def entries_to_plain(entries: tuple[tuple[int, Batch], ...]) -> list:
    return [[slot, value.to_plain()] for slot, value in entries]


def entries_from_plain(plain: list) -> tuple[tuple[int, Batch], ...]:
    return tuple((int(slot), _v(value)) for slot, value in plain)


def snapshot_to_plain(snapshot: Snapshot | None) -> list | None:
    if snapshot is None:
        return None
    return [snapshot.index, snapshot.state, snapshot.sessions, snapshot.clock]


def snapshot_from_plain(plain: list | None) -> Snapshot | None:
    if plain is None:
        return None
    index, state, sessions, clock = plain
    return Snapshot(int(index), state, dict(sessions), float(clock))


def encode(message: Message) -> list:
    match message:
        case Prepare(ballot, from_slot):
            return ["prepare", ballot.to_plain(), from_slot]
        case Promise(ballot, acceptor, accepted, decided_below):
            triples = [[s, b.to_plain(), v.to_plain()] for s, b, v in accepted]
            return ["promise", ballot.to_plain(), acceptor, triples, decided_below]
        case Accept(ballot, entries, decided, probe):
            plain = [entries_to_plain(entries), entries_to_plain(decided)]
            return ["accept", ballot.to_plain(), *plain, probe]
        case Accepted(ballot, acceptor, slots, decided_below, probe):
            return ["accepted", ballot.to_plain(), acceptor, list(slots), decided_below, probe]
        case Rejected(ballot, acceptor, promised):
            return ["rejected", ballot.to_plain(), acceptor, promised.to_plain()]
        case Decide(entries):
            return ["decide", entries_to_plain(entries)]
        case CatchupRequest(learner, from_slot):
            return ["catchup_request", learner, from_slot]
        case CatchupReply(sender, snapshot, entries, decided_below):
            snap = snapshot_to_plain(snapshot)
            return ["catchup_reply", sender, snap, entries_to_plain(entries), decided_below]
    raise TypeError(f"not a consensus message: {message!r}")


def decode(plain: Any) -> Message:
    """Rebuild a message; raises ValueError on anything malformed."""
    try:
        kind, *f = plain
        match kind:
            case "prepare":
                return Prepare(_b(f[0]), int(f[1]))
            case "promise":
                accepted = tuple((int(s), _b(b), _v(v)) for s, b, v in f[2])
                return Promise(_b(f[0]), str(f[1]), accepted, int(f[3]))
            case "accept":
                decided = entries_from_plain(f[2]) if len(f) > 2 else ()
                probe = int(f[3]) if len(f) > 3 else 0
                return Accept(_b(f[0]), entries_from_plain(f[1]), decided, probe)
            case "accepted":
                slots = tuple(int(s) for s in f[2])
                probe = int(f[4]) if len(f) > 4 else 0
                return Accepted(_b(f[0]), str(f[1]), slots, int(f[3]), probe)
            case "rejected":
                return Rejected(_b(f[0]), str(f[1]), _b(f[2]))
            case "decide":
                return Decide(entries_from_plain(f[0]))
            case "catchup_request":
                return CatchupRequest(str(f[0]), int(f[1]))
            case "catchup_reply":
                snapshot = snapshot_from_plain(f[1])
                return CatchupReply(str(f[0]), snapshot, entries_from_plain(f[2]), int(f[3]))
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise ValueError(f"malformed consensus message: {exc}") from exc
    raise ValueError(f"unknown consensus message kind: {kind!r}")


def dumps(message: Message) -> str:
    """A message as one JSON text, the form it travels in.

    Sent as a string, a message costs serpent almost nothing to carry, and
    ``json`` (in C) parses it many times faster than serpent's literal
    evaluation would parse the same nested lists.
    """
    return json.dumps(encode(message), separators=(",", ":"))


def loads(text: Any) -> Message:
    """The message in ``text``; ValueError for anything that is not one."""
    if not isinstance(text, str):
        raise ValueError(f"a consensus message travels as JSON text, not {type(text).__name__}")
    try:
        plain = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise ValueError(f"malformed consensus message: {exc}") from exc
    return decode(plain)
