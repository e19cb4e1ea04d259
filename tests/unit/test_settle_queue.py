"""The settle queue: each lock group's sold marks go out whatever another group does.

Lock groups are fakes here (threads and events, no processes): group 3
hangs the way a group without its quorum does, and group 1's settlement must
still be delivered meanwhile.
"""

from __future__ import annotations

import threading
from typing import Any

from conftest import poll

from ticketing import catalog_files
from ticketing.catalog import load_catalog
from ticketing.domain.lock_placement import LockPlacement
from ticketing.server.lock_routes import LockRoutes
from ticketing.server.settle_queue import SettleQueue

GROUPS_CATALOG = catalog_files.GROUPS


class Group:
    """A lock group that records ``settle_all`` batches; a ``gate`` makes it hang."""

    def __init__(self, gate: threading.Event | None = None) -> None:
        self.gate = gate
        self.entered = threading.Event()
        self.settled: list[Any] = []

    def call(self, method: str, batch: list[Any]) -> bool:
        assert method == "settle_all"
        self.entered.set()
        if self.gate is not None:
            self.gate.wait()
        self.settled.extend(batch)
        return True


class Routes(LockRoutes):
    """The real routing over fake groups."""

    def __init__(self, placement: LockPlacement, groups: dict[int, Group]) -> None:
        self._placement = lambda: placement
        self._groups = groups  # type: ignore[assignment]


def test_a_hung_group_holds_back_no_other_groups_sold_marks() -> None:
    placement = LockPlacement(load_catalog(GROUPS_CATALOG), 3)
    assert placement.event_group("AMC", "gravity") == 3
    assert placement.event_group("AMC", "alien") == 1
    gate = threading.Event()
    groups = {1: Group(), 2: Group(), 3: Group(gate)}
    settles = SettleQueue(Routes(placement, groups))
    try:
        settles.put("h3", "AMC", "gravity", ["A1"])
        assert groups[3].entered.wait(10), "group 3 was never sent its settlement"
        settles.put("h1", "AMC", "alien", ["A1"])
        poll(lambda: groups[1].settled, message="group 1's settlement while group 3 hangs")
        assert groups[1].settled == [["h1", "AMC", "alien", ["A1"]]]
        assert not groups[3].settled and not groups[2].settled
    finally:
        gate.set()
    poll(lambda: groups[3].settled, message="group 3's settlement once it answers")
    assert groups[3].settled == [["h3", "AMC", "gravity", ["A1"]]]
