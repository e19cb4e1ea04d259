"""Which lock group keeps an event's holds, and which keeps a hold id.

The lock store can run as K independent groups, each with its own log, so
holds of different events are decided in parallel. Mutual exclusion on a
seat holds only if every hold on that seat is decided by one log: every
event therefore lives in exactly one group, and every process (load
balancers, lock servers) must compute the same group from the same catalog
and K. A theater's ``lock_group`` in the catalog places all its events;
otherwise each event is placed by a CRC-32 of ``"<theater>/<event>"``, which,
unlike Python's ``hash``, is the same in every process and across restarts.

Releasing, booking and looking up a hold bring only its id, so the id must
tell its group too: the load balancer draws random ids until one hashes to
the event's group (K draws on average). The id stays opaque and keeps
``128 - log2(K)`` random bits.

Placement changes if K or a ``lock_group`` changes, and a moved event would
lose its live holds and sold marks (the data store's fencing still refuses a
stale hold, but fences of the new group start low): the launcher therefore
refuses to start a data directory with a different K (``launcher``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ticketing.errors import InvalidRequest

if TYPE_CHECKING:
    from ticketing.catalog import Catalog


class PlacementError(ValueError):
    """The catalog places a theater in a group the cluster does not run."""


@dataclass(frozen=True, slots=True)
class LockPlacement:
    """The placement of ``catalog``'s events over ``groups`` lock groups, numbered 1..K."""

    catalog: Catalog
    groups: int = 1

    def __post_init__(self) -> None:
        if self.groups < 1:
            raise PlacementError(f"a lock store needs at least one group, not {self.groups}")
        for theater in self.catalog.theaters:
            if theater.lock_group is not None and theater.lock_group > self.groups:
                raise PlacementError(
                    f"the catalog puts theater {theater.id} in lock group {theater.lock_group}, "
                    f"but the cluster runs {self.groups}; start it with "
                    f"--lock-groups {theater.lock_group} or more, or drop that lock_group"
                )

    def numbers(self) -> range:
        """Every group's number."""
        return range(1, self.groups + 1)

    def label(self, group: int) -> int | None:
        """``group`` as the names spell it: ``None`` when there is only one (``names``)."""
        return None if self.groups == 1 else group

    def event_group(self, theater: str, event: str) -> int:
        """The group that decides every hold of ``event`` at ``theater`` (an id in the catalog)."""
        explicit = self.catalog.theater(theater).lock_group
        if explicit is not None:
            return explicit
        return _bucket(f"{theater}/{event}", self.groups)

    def hold_group(self, hold_id: str) -> int:
        """The group that keeps the hold ``hold_id`` (as ``new_hold_id`` drew it)."""
        return _bucket(hold_id, self.groups)

    def new_hold_id(self, group: int, draw: Callable[[], str]) -> str:
        """A hold id of ``group``: ``draw()`` again until one hashes there."""
        if group not in self.numbers():
            raise InvalidRequest(f"no lock group {group} (the cluster runs {self.groups})")
        while True:
            hold_id = draw()
            if self.hold_group(hold_id) == group:
                return hold_id


def _bucket(key: str, groups: int) -> int:
    return 1 + zlib.crc32(key.encode("utf-8")) % groups
