"""The seats a fault run's clients fight over, and the check that they reach every lock group."""

from __future__ import annotations

from ticketing.catalog import Catalog
from ticketing.domain.lock_placement import LockPlacement, PlacementError
from ticketing.errors import TicketingError
from ticketing.faults.operator import Hot

# The seats everybody fights over, of each event a catalog may have: the small
# catalog has the first two; ticketing/catalog_files/groups.toml all four, which
# gives every lock group some of them with 2, 3 or 4 groups.
HOT = {
    ("AMC", "alien"): ("A1", "A2", "A3", "B1", "B2", "B3"),
    ("REG", "arrival"): ("A1", "A2", "A3", "A4"),
    ("AMC", "gravity"): ("A1", "A2", "A3", "B1", "B2", "B3"),
    ("REG", "casablanca"): ("A1", "A2", "A3", "A4"),
}


def hot_events(catalog: Catalog, lock_groups: int = 1) -> Hot:
    """The ``HOT`` events ``catalog`` has, checked to reach every one of ``lock_groups``.

    A lock group that decides none of them would see no client and no fault
    that matters to one, and the run would vouch for it untested: such a
    catalog is refused (``PlacementError``, naming the groups left out).
    """
    placement = LockPlacement(catalog, lock_groups)
    hot = {}
    for (theater, event), seats in HOT.items():
        try:
            catalog.theater(theater).event(event)
        except TicketingError:
            continue
        hot[(theater, event)] = seats
    reached = {placement.event_group(theater, event) for theater, event in hot}
    missing = [str(n) for n in placement.numbers() if n not in reached]
    if missing:
        raise PlacementError(
            f"with --lock-groups {lock_groups}, lock group(s) {', '.join(missing)} decide none "
            f"of the fault run's hot events ({', '.join('/'.join(w) for w in HOT)}) in this "
            f"catalog; leave out --catalog (the fault run then takes its groups.toml, made for 2 "
            f"to 4 groups) or use another --lock-groups"
        )
    return hot
