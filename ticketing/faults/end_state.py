"""The fault run's end state, read once the faults are healed and the holds expired.

Which tickets live, what the books of unknown outcome made, the seat maps,
the replicas' digests, each event's sales and the refunds of the cancelled
ones: what the checker holds the history against.
"""

from __future__ import annotations

import time
from typing import Any

from ticketing import names
from ticketing.catalog import CANCELLED
from ticketing.errors import TicketingError, TicketNotFound, Unavailable
from ticketing.faults.catalog_rules import retry_refused
from ticketing.faults.clients import ROGUE_EMAIL, client_email
from ticketing.faults.history import BOOK, OK, UNKNOWN, FinalState, Operation
from ticketing.faults.operator import Hot
from ticketing.faults.spread import SpreadTarget
from ticketing.faults.target import LocalTarget

CONVERGE_TIMEOUT = 90.0  # seconds the replicas get to reach equal digests at the end


def final_state(
    target: LocalTarget | SpreadTarget, operations: list[Operation], hot: Hot
) -> FinalState:
    """The end state, once holds expired and the replicas agree (or the bound passed).

    ``hot`` holds every event the clients used. A book with an unknown outcome
    whose ticket was refunded with its event is no longer found by its hold
    (``ticket_for_hold`` knows live tickets only): it is matched to a refund
    of its event with its seats and its client's e-mail instead; so is a book
    refused in a way a retry of a booking refunded meanwhile can be
    (``catalog_rules.retry_refused``), when its event ends cancelled.
    """
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    digests: dict[str, list[tuple[int, str]]] = {}
    while time.monotonic() < deadline:
        try:
            digests = target.digests()
        except TicketingError:
            time.sleep(0.2)
            continue
        if all(len(set(states)) == 1 for states in digests.values()):
            break
        time.sleep(0.2)
    known = {op.ticket_no: op for op in operations if op.kind == BOOK and op.outcome == OK}
    sales: dict[tuple[str, str], str] = {}
    refunded: list[dict[str, Any]] = []
    for where in hot:
        report = _settled(target, names.DATASTORE_MANAGER, "admin_sales_report", *where)
        sales[where] = report["sales"]
        refunded += report["refunds"]
    unclaimed = [t for t in refunded if t["ticket_no"] not in known]
    unknown_books: dict[str, str | None] = {}
    for op in operations:
        if op.kind == BOOK and op.outcome == UNKNOWN and op.hold_id:
            found = _settled(target, names.DATASTORE_MANAGER, "ticket_for_hold", op.hold_id)
            if found is None:
                found = _claim_refund(unclaimed, op)
            unknown_books[op.hold_id] = None if found is None else found["ticket_no"]
            if found is not None:
                known[found["ticket_no"]] = op
        elif retry_refused(op) and sales[(op.theater, op.event)] == CANCELLED:
            found = _claim_refund(unclaimed, op)
            if found is not None:
                unknown_books[op.hold_id] = found["ticket_no"]
    balancer = names.load_balancer(1)
    live = {}
    for ticket_no, op in known.items():
        try:
            ticket = _settled(target, balancer, "get_ticket_details", op.theater, ticket_no)
        except TicketNotFound:
            continue
        live[ticket_no] = (ticket["theater"], ticket["event"], tuple(ticket["seats"]))
    booked = {}
    for theater, event in hot:
        rows = _settled(target, balancer, "get_seat_map", theater, event)["rows"]
        seats = {s["seat"] for row in rows for s in row if s["state"] == "booked"}
        booked[(theater, event)] = frozenset(seats)
    refunds = {t["ticket_no"]: (t["theater"], t["event"], tuple(t["seats"])) for t in refunded}
    return FinalState(time.time(), live, unknown_books, booked, digests, sales, refunds)


def _claim_refund(unclaimed: list[dict[str, Any]], book: Operation) -> dict[str, Any] | None:
    """The first refund ``book`` may have made (its event, seats and e-mail), taken out."""
    for ticket in unclaimed:
        if (
            (ticket["theater"], ticket["event"]) == (book.theater, book.event)
            and set(ticket["seats"]) == set(book.seats)
            and ticket["email"] in (client_email(book.client), ROGUE_EMAIL)
        ):
            unclaimed.remove(ticket)
            return ticket
    return None


def _settled(target: LocalTarget | SpreadTarget, name: str, method: str, *args: Any) -> Any:
    """``method`` on ``name``, retried while ``Unavailable`` (the cluster is healing)."""
    deadline = time.monotonic() + CONVERGE_TIMEOUT
    while True:
        try:
            return target.pool.call(name, method, *args)
        except Unavailable:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
