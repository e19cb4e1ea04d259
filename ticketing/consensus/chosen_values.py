"""What a proposer knows to be chosen: the chosen prefix and recent chosen values.

The prefix (``below``: every slot under it is chosen) is what phase 1 starts
from and what read indexes build on. The values are kept, up to ``memory`` of
them, to hand to a submitting replica with its answer and to resend to
learners whose progress shows a gap; each remembers when it was chosen, since
progress reports lag behind the Decide messages still on their way.
"""

from __future__ import annotations

from ticketing.consensus.values import Batch


class ChosenValues:
    def __init__(self, memory: int) -> None:
        self._memory = memory
        self.below = 1  # every slot below is known chosen
        self._values: dict[int, tuple[Batch, float]] = {}  # slot -> (value, chosen at)

    def __contains__(self, slot: int) -> bool:
        """Whether ``slot`` is known chosen and still remembered."""
        return slot in self._values

    def add(self, slot: int, value: Batch, now: float) -> None:
        self._values[slot] = (value, now)

    def advance(self, floor: int = 0) -> None:
        """Move the prefix past ``floor`` and past the chosen slots; forget the oldest
        values beyond ``memory`` (never one at or above the prefix)."""
        below = max(self.below, floor)
        while below in self._values:
            below += 1
        self.below = below
        values = self._values
        while len(values) > self._memory:
            oldest = next(iter(values))
            if oldest >= below:
                break
            del values[oldest]

    def run_from(
        self, start: int, limit: int, chosen_by: float = float("inf")
    ) -> list[tuple[int, Batch]]:
        """The values of slots ``start``, ``start + 1``, ... still remembered, up to
        ``limit``, stopping at the first not known chosen (or chosen after ``chosen_by``)."""
        entries = []
        slot = start
        while slot in self._values and len(entries) < limit:
            value, chosen_at = self._values[slot]
            if chosen_at > chosen_by:
                break
            entries.append((slot, value))
            slot += 1
        return entries
