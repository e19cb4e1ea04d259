"""The load balancer's way to the lock store's groups: one ``ReplicaGroup`` each.

An event's holds are decided by the group ``LockPlacement`` names for it,
and a hold id is drawn so that it names the same group; so a call about an
event or a hold goes to exactly one group. The placement is asked for at each
call: it follows the live catalog (a new theater may name its group), while
the number of groups never changes.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from ticketing import names
from ticketing.domain.lock_placement import LockPlacement
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_group import ReplicaGroup

TOKEN_BYTES = 16  # hold ids: 128 random bits (the contract asks >= 96)


class LockRoutes:
    def __init__(self, pool: ProxyPool, placement: Callable[[], LockPlacement]) -> None:
        self._placement = placement
        placement = placement()
        self._groups = {
            number: ReplicaGroup(
                pool,
                names.lock_server_prefix(placement.label(number)),
                "lock server" if placement.groups == 1 else f"lock server of group {number}",
            )
            for number in placement.numbers()
        }

    @property
    def placement(self) -> LockPlacement:
        return self._placement()

    def for_event(self, theater: str, event: str) -> ReplicaGroup:
        """The group deciding the holds of ``event`` (ids already checked against the catalog)."""
        return self._groups[self.placement.event_group(theater, event)]

    def for_hold(self, hold_id: str) -> ReplicaGroup:
        """The group keeping ``hold_id``."""
        return self._groups[self.placement.hold_group(hold_id)]

    def new_hold_id(self, theater: str, event: str) -> str:
        """A fresh unguessable hold id that routes to ``event``'s group."""
        group = self.placement.event_group(theater, event)
        return self.placement.new_hold_id(group, lambda: secrets.token_urlsafe(TOKEN_BYTES))

    def group(self, number: int) -> ReplicaGroup:
        """Group ``number``'s replicas (1..K)."""
        return self._groups[number]

    def status(self) -> dict[str, Any]:
        """Known and preferred lock servers of every group (no remote call)."""
        return {
            "lock_groups": self.placement.groups,
            "lock_servers": [name for g in self._groups.values() for name in g.known()],
            "preferred_lock_servers": [g.preferred for g in self._groups.values()],
        }
