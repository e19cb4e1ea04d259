"""Fewer messages for the same meaning: what a sender may fold before sending to one peer.

Several messages queued for one peer can travel as fewer: Accepts of one
ballot as one, and decisions on an Accept's back instead of a Decide of their
own. The server's peer links fold their queues with it, and the simulator
folds every step's messages with it, so the folded forms are what the
seeded schedules check.
"""

from __future__ import annotations

from ticketing.consensus.messages import Accept, Decide, Message
from ticketing.consensus.values import Batch


def coalesce(messages: list[Message]) -> list[Message]:
    """Fold runs of Accepts of one ballot into one, and every Decide into an Accept.

    Order between kinds is kept where it matters: an Accept never overtakes a
    Prepare queued before it. Decisions ride on the last Accept when there is
    one (they are chosen values: when they arrive does not matter for safety),
    else they go as one Decide.
    """
    out: list[Message] = []
    decided: dict[int, Batch] = {}
    for message in messages:
        if isinstance(message, Decide):
            decided.update(message.entries)
            continue
        last = out[-1] if out else None
        same_ballot = isinstance(last, Accept) and last.ballot == getattr(message, "ballot", None)
        if isinstance(message, Accept) and same_ballot:
            entries = dict(last.entries)
            entries.update(message.entries)
            # The folded Accept leaves after both: it may carry the later probe.
            probe = max(last.probe, message.probe)
            out[-1] = Accept(message.ballot, tuple(sorted(entries.items())), last.decided, probe)
            continue
        out.append(message)
    if decided:
        carried = tuple(sorted(decided.items()))
        accepts = [i for i, m in enumerate(out) if isinstance(m, Accept)]
        if accepts:
            last = out[accepts[-1]]
            out[accepts[-1]] = Accept(last.ballot, last.entries, carried, last.probe)
        else:
            out.append(Decide(carried))
    return out
