"""``Ready``: what one step of a consensus core asks its driver to do.

Every entry point of the pure cores (``Replica.step``/``tick``,
``Proposer.submit``/``receive``/``tick``) returns one, and the drivers (the
servers' ``ReplicaHost`` and ``ProposerHost``, the simulator, the consensus
benchmark) carry it out the same way, in this order:

1. ``must_sync``: flush the core's storage before anything below leaves. The
   core sets it when it saved a promise or an accepted value in this step: the
   acceptor's word must be on disk before anyone hears it (etcd's
   ``MustSync``). Other saves (decided values) may be flushed later, in batches:
   losing them costs a catch-up, never safety.
2. ``reply``: the answer to the message stepped, to its sender (a promise, an
   acceptance, a refusal, a catch-up reply), or None. A driver answering over
   RPC returns it as the call's result.
3. ``sends``: messages to others, sent on the driver's own initiative
   (proposals, heartbeats, decisions, catch-up requests).
4. ``chosen``: ``(slot, batch)`` decided by this step; each command in them may
   be acknowledged to whoever submitted it.
5. ``abandoned``: request ids this proposer will not see through; their callers
   should retry (with the same ids: the replicas apply a request at most once).
6. ``applied``: how many slots the step applied to the state machine; a driver
   wakes whoever waits for a slot to be applied.
7. ``reads``: ``(read id, index)`` for read indexes the proposer has now
   confirmed (``Proposer.request_read``), and ``reads_refused`` the read ids it
   cannot confirm (it does not lead): answer each waiting reader.

Nothing else is decided by the drivers: they do not look at message types to
know when to sync or which message is a reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ticketing.consensus.messages import Send
from ticketing.consensus.values import Batch


@dataclass(slots=True)
class Ready:
    must_sync: bool = False
    reply: Send | None = None
    sends: list[Send] = field(default_factory=list)
    chosen: list[tuple[int, Batch]] = field(default_factory=list)
    abandoned: list[str] = field(default_factory=list)
    applied: int = 0
    reads: list[tuple[int, int]] = field(default_factory=list)
    reads_refused: list[int] = field(default_factory=list)

    def outgoing(self) -> list[Send]:
        """The reply (first) and then the other messages: everything that leaves."""
        return ([self.reply] if self.reply is not None else []) + self.sends
