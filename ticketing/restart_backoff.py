"""How long the launcher waits before restarting a component that died.

A component that dies once after running a while (a crash, an operator's
``kill``) comes back after ``first`` seconds. One that keeps dying soon after
each start (a full disk, a corrupt file, a port taken) waits twice as long
each time, up to ``ceiling``, so the launcher neither spins nor floods its
logs; a run of ``settled_after`` seconds or more counts as healthy and starts
the count again. Pure arithmetic on the durations it is given: no clock here.
"""

from __future__ import annotations

from dataclasses import dataclass

FIRST_DELAY = 1.0  # seconds before the first restart
MAX_DELAY = 30.0
SETTLED_AFTER = 60.0  # seconds of running that reset the delay


@dataclass(slots=True)
class RestartBackoff:
    first: float = FIRST_DELAY
    ceiling: float = MAX_DELAY
    settled_after: float = SETTLED_AFTER
    deaths_in_a_row: int = 0  # deaths each within ``settled_after`` of their start

    def after_exit(self, ran_for: float) -> float:
        """The seconds to wait before the next start of a process that ran ``ran_for`` s."""
        if ran_for >= self.settled_after:
            self.deaths_in_a_row = 0
        self.deaths_in_a_row += 1
        doublings = min(self.deaths_in_a_row - 1, 32)  # 2**32 s is past any ceiling
        return min(self.ceiling, self.first * 2**doublings)

    @property
    def keeps_dying(self) -> bool:
        """Whether the last death came soon after a restart that followed another death."""
        return self.deaths_in_a_row > 1
