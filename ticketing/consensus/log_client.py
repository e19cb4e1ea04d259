"""The log's client role on a replica: the decisions of a write or a fresh read, no I/O.

A replica writes by submitting commands to its cluster's coordinator and reads
fresh state through a read barrier (``commit_index``). What to do at each step
is decided here, in the style of h11: the driver (``ReplicaServer`` over
Pyro5, the simulator over its simulated network) makes the calls, waits, and
hands each outcome back; this object never touches a socket, a clock or a
thread, so the simulator runs the very code the servers run.

- Which coordinator to ask (``failover``): the one that answered last first,
  then the others in order; a failure (``Unavailable``) moves on to the next,
  and when every one failed the call fails with the first error.
- A submit's reply (``on_submit_reply``): the chosen values it carries, to be
  learned by the co-located replica through its own entry point
  (``Replica.learn``), and the slot to wait for: the highest one the call
  decided.
- After the wait, each command's result by request id (``results``), from the
  exactly-once table; one the replica no longer knows is ``Unavailable``
  ("lost track"), to be retried with the same id.
- A read barrier's reply (``on_read_index_reply``): the chosen values to
  learn, and the index to have applied before reading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ticketing.consensus.messages import Decide
from ticketing.errors import Unavailable


@dataclass(frozen=True, slots=True)
class Catchup:
    """What a coordinator's reply asks of the replica: learn ``decide``, then wait for
    ``wait_for`` to be applied before answering (a write's result, a fresh read)."""

    decide: Decide | None
    wait_for: int


class Failover:
    """One call's walk through the coordinators, in the client's order at its start."""

    def __init__(self, order: list[str]) -> None:
        self._left = list(order)
        self.error: Unavailable | None = None  # the first failure, raised if all fail

    def next(self) -> str | None:
        """The coordinator to try now; None once every one has failed."""
        return self._left.pop(0) if self._left else None

    def failed(self, error: Unavailable) -> None:
        self.error = self.error or error


class LogClient:
    def __init__(self, name: str, coordinators: list[str]) -> None:
        """``coordinators``: the main one first, then its standby (if one runs)."""
        self.name = name
        self._coordinators = list(coordinators)

    @property
    def coordinators(self) -> list[str]:
        """The order the next call tries them in."""
        return list(self._coordinators)

    def failover(self) -> Failover:
        return Failover(self._coordinators)

    def answered(self, coordinator: str) -> None:
        """``coordinator`` answered: the next call tries it first."""
        self._coordinators = [coordinator, *(c for c in self._coordinators if c != coordinator)]

    def on_submit_reply(self, slots: list[int], decided: Decide | None) -> Catchup:
        return Catchup(decided, max(slots))

    def on_read_index_reply(self, index: int, decided: Decide | None) -> Catchup:
        return Catchup(decided, index)

    def results(
        self, request_ids: list[str], lookup: Callable[[str], tuple[int, Any] | None]
    ) -> list[Any]:
        """Each request's result once its slot is applied; ``lookup`` is the replica's
        exactly-once table (``Learner.result``)."""
        results = []
        for request_id in request_ids:
            entry = lookup(request_id)
            if entry is None:
                raise Unavailable(f"{self.name} lost track of request {request_id}; retry")
            results.append(entry[1])
        return results
