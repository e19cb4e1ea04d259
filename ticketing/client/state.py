"""What the user holds and has chosen in this session; it outlives any load balancer."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OpenHold:
    hold_id: str
    theater: str
    event: str
    seats: tuple[str, ...]
    expires_at: float
    """UNIX epoch seconds, as the load balancer gave it."""

    def seconds_left(self, now: float) -> int:
        return max(0, int(self.expires_at - now))


@dataclass(slots=True)
class ClientState:
    hold: OpenHold | None = None
    theater: str | None = None
    """The theater chosen last; guided prompts offer it first."""
    event: str | None = None
