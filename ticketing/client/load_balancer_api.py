"""The load balancer's remote API (contract section 2) as the client sees it.

The client is written against this protocol, not against Pyro5, so its commands can be exercised
with any object that keeps the contract: the failing-over `Connection` in production, a plain
in-memory object in tests.
"""

from __future__ import annotations

from typing import Any, Protocol


class LoadBalancerApi(Protocol):
    def list_theaters(self) -> list[dict]: ...

    # list_catalog (our balancers' extension: every event with its "sales", rows and
    # seats_per_row) is optional here; read it through ``catalog_of``.

    def get_available_seats(self, theater: str, event: str) -> list[str]: ...

    def get_seat_map(self, theater: str, event: str) -> dict: ...

    def get_seat_states(self, theater: str, event: str) -> dict:
        """The seat map in compact form (``ticketing.domain.seat_codes``), which the map
        view draws: our load balancers' extension of the contract."""
        ...

    def block_seats(self, theater: str, event: str, seats: list[str]) -> dict:
        """All of ``seats`` or none; a refusal (SeatsUnavailable) may carry ``.alternative``,
        the best free seats of the same count."""
        ...

    def block_best_available(self, theater: str, event: str, count: int) -> dict:
        """Hold the ``count`` best free seats, which the system chooses (an extension of the
        contract): same answer and errors as ``block_seats``."""
        ...

    def release_hold(self, hold_id: str) -> bool: ...

    def book_ticket(self, hold_id: str, name: str, email: str) -> dict: ...

    def get_ticket_details(self, theater: str, ticket_no: str) -> dict: ...

    def delete_ticket(self, theater: str, ticket_no: str) -> bool: ...


def catalog_of(api: Any) -> list[dict]:
    """The catalog with each event's ``sales`` (open, stopped, cancelled), as ``list_catalog``
    of our balancers answers; from a balancer without it, ``list_theaters`` (events then carry
    no ``sales``, and cancelled ones are left out)."""
    method = getattr(api, "list_catalog", None)
    if method is not None:
        try:
            return list(method())
        except AttributeError:  # a Pyro5 proxy to an older balancer: no such remote method
            pass
    return list(api.list_theaters())
