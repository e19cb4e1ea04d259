"""The interface between the replicated log and what it replicates."""

from __future__ import annotations

from typing import Any, Protocol


class StateMachine(Protocol):
    """A deterministic state machine: same commands in the same order, same state.

    Implementations must not read clocks, randomness or anything outside their
    arguments. Everything they return or snapshot is plain, serpent-friendly
    data (str, int, float, bool, None, list, dict) so it can be stored and sent.
    """

    def apply(self, payload: Any, slot: int, now: float) -> Any:
        """Apply one command decided at ``slot``; ``now`` is the batch's stamp.

        ``now`` never goes backwards across calls (the replica clamps it). A
        command the state machine refuses returns a result describing the
        refusal; it must not raise for a well-formed payload.
        """
        ...

    def snapshot(self) -> Any:
        """The whole state as plain data."""
        ...

    def restore(self, snapshot: Any) -> None:
        """Replace the whole state with one taken by ``snapshot``."""
        ...

    def digest(self) -> str:
        """A hash of the state, equal on replicas that applied the same slots."""
        ...
