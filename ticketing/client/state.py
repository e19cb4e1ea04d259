"""What the user holds and has chosen in this session; it outlives any load balancer."""

from __future__ import annotations

from dataclasses import dataclass, field


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

    def expired(self, now: float) -> bool:
        """Past its expiry the cluster may give the seats to anyone: it is no longer ours."""
        return now >= self.expires_at

    def describe(self) -> str:
        return f"{' '.join(self.seats)} at {self.theater} {self.event}"

    def again(self) -> str:
        """The command that holds the same seats again."""
        return f"hold {self.theater} {self.event} {' '.join(self.seats)}"


@dataclass(slots=True)
class ClientState:
    hold: OpenHold | None = None
    theater: str | None = None
    """The theater chosen last; guided prompts offer it first."""
    event: str | None = None
    identity: dict[str, str] = field(default_factory=dict)
    """Who books when ``book`` leaves it out: "name" and "email" from the config file."""
