"""A load balancer's routes: asked of the manager once per theater, groups shared per cluster."""

from __future__ import annotations

from typing import Any

import pytest

from ticketing import names
from ticketing.errors import Unavailable
from ticketing.server.data_routes import DataRoutes


class ManagerOnly:
    """Answers ``route`` like the manager would; records what was asked."""

    def __init__(self, routes: dict[str, Any]) -> None:
        self.routes = routes
        self.asked: list[str] = []

    def call(self, name: str, method: str, *args: Any) -> Any:
        assert (name, method) == (names.DATASTORE_MANAGER, "route")
        self.asked.append(args[0])
        return self.routes[args[0]]


def test_a_route_is_asked_once_and_a_cluster_shares_one_group() -> None:
    east = names.datastore_replica_prefix("east")
    manager = ManagerOnly({"AMC": east, "REG": east})
    routes = DataRoutes(manager)  # type: ignore[arg-type]
    first, again, other = routes._group("AMC"), routes._group("AMC"), routes._group("REG")
    assert first is again is other and first.prefix == east
    assert manager.asked == ["AMC", "REG"]


@pytest.mark.parametrize("answer", [None, 7, "ticketing.lock.server.", ""])
def test_an_unusable_route_is_unavailable_and_not_kept(answer: Any) -> None:
    manager = ManagerOnly({"AMC": answer})
    routes = DataRoutes(manager)  # type: ignore[arg-type]
    with pytest.raises(Unavailable, match="no usable route"):
        routes._group("AMC")
    assert routes.known() == {}
