"""Carrying out the operator's commands: one call to the data store manager each.

After a change the client waits (briefly, bounded) until its load balancer shows it: balancers
follow the catalog within a second, and a ``theaters``, ``hold`` or ``map`` typed right after
the change must already see it. The completer's cache is then refreshed from that answer.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from ticketing.client.admin_commands import (
    AddEvent,
    AddTheater,
    AdminCommand,
    CancelEvent,
    Clusters,
    Report,
    Reschedule,
    Resize,
    ResumeSales,
    Retitle,
    StopSales,
)
from ticketing.client.admin_views import clusters_view, event_line, refunds_view, report_view
from ticketing.client.load_balancer_api import LoadBalancerApi, catalog_of
from ticketing.client.metadata import Metadata
from ticketing.client.operator_link import OperatorApi
from ticketing.client.sales_csv import write_report
from ticketing.client.style import Fragments
from ticketing.errors import TicketingError

SETTLE_WITHIN = 3.0
"""Seconds to wait for the load balancer to show a change (it follows within a second)."""
SETTLE_STEP = 0.05

Listing = dict
"""A theater as ``list_catalog`` shows it (``Theater.to_listing``)."""


class AdminActions:
    def __init__(
        self,
        operator: OperatorApi,
        api: LoadBalancerApi,
        metadata: Metadata,
        *,
        settle_within: float = SETTLE_WITHIN,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.operator = operator
        self.api = api
        self.metadata = metadata
        self.settle_within = settle_within
        self.clock = clock
        self.sleep = sleep

    def run(self, command: AdminCommand) -> Fragments:
        call = self.operator.call
        match command:
            case Clusters():
                clusters = call("admin_clusters")
                self.metadata.clusters_seen(clusters)
                return clusters_view(clusters)
            case AddTheater(theater, cluster, name, city, rows, seats_per_row):
                table = {
                    "id": theater,
                    "cluster": cluster,
                    "name": name,
                    "city": city,
                    "rows": rows,
                    "seats_per_row": seats_per_row,
                }
                listing = call("admin_add_theater", table)
                said = (
                    f"added theater {theater} to cluster {cluster}: {name}, {city}, "
                    f"{rows} rows of {seats_per_row} seats"
                )
                return self._changed(said, listing)
            case AddEvent(theater, event, title, starts_at):
                table = {"id": event, "title": title, "starts_at": starts_at}
                listing = call("admin_add_event", theater, table)
                return self._changed(f"added {theater} {event}", listing, event)
            case Reschedule(theater, event, starts_at):
                listing = call("admin_update_event", theater, event, {"starts_at": starts_at})
                return self._changed(f"rescheduled {theater} {event}", listing, event)
            case Retitle(theater, event, title):
                listing = call("admin_update_event", theater, event, {"title": title})
                return self._changed(f"retitled {theater} {event}", listing, event)
            case StopSales(theater, event):
                listing = call("admin_stop_sales", theater, event)
                return self._changed(f"stopped sales of {theater} {event}", listing, event)
            case ResumeSales(theater, event):
                listing = call("admin_resume_sales", theater, event)
                return self._changed(f"resumed sales of {theater} {event}", listing, event)
            case CancelEvent(theater, event):
                result = call("admin_cancel_event", theater, event)
                view = refunds_view(result["theater"], result["event"], result["refunds"])
                return view + self._settle(result["theater"], _cancelled(result["event"]))
            case Resize(theater, rows, seats_per_row):
                listing = call("admin_resize_theater", theater, rows, seats_per_row)
                said = (
                    f"resized {theater}: {rows} rows of {seats_per_row} seats "
                    f"({listing['seats']} seats)"
                )
                return self._changed(said, listing)
            case Report(theater, event, csv_path):
                return self._report(theater, event, csv_path)

    def _changed(self, said: str, listing: Listing, event: str | None = None) -> Fragments:
        detail = f": {event_line(listing, event)}" if event is not None else ""
        out: Fragments = [("", f"{said}{detail}\n")]
        return out + self._settle(listing["theater"], lambda shown: shown == listing)

    def _settle(self, theater: str, shows: Callable[[Listing | None], bool]) -> Fragments:
        """Wait until the load balancer's catalog ``shows`` the change, then cache that catalog.

        A balancer without ``list_catalog`` cannot be told apart from a stale one: no wait.
        Another operator's change to the same theater may keep ``shows`` false; the wait is
        bounded, and then says so.
        """
        deadline = self.clock() + self.settle_within
        while True:
            try:
                catalog = catalog_of(self.api)
            except TicketingError as exc:
                self.metadata.catalog_changed()
                return [("class:note", f"(done; the load balancer cannot show it now: {exc})\n")]
            entry = next((t for t in catalog if t["theater"] == theater), None)
            if shows(entry) or (entry is not None and "rows" not in entry):
                self.metadata.catalog_seen(catalog)
                return []
            if self.clock() >= deadline:
                self.metadata.catalog_changed()
                return [
                    (
                        "class:note",
                        "(done; the load balancer does not show it yet: type theaters to look)\n",
                    )
                ]
            self.sleep(SETTLE_STEP)

    def _report(self, theater: str, event: str, csv_path: str | None) -> Fragments:
        report = self.operator.call("admin_sales_report", theater, event)
        out = report_view(report)
        if csv_path is not None:
            written = write_report(Path(csv_path), report)
            out.append(("class:note", f"wrote {written} ticket row(s) to {csv_path}\n"))
        return out


def _cancelled(event: str) -> Callable[[Listing | None], bool]:
    def shows(entry: Listing | None) -> bool:
        events = entry["events"] if entry else []
        return any(e["event"] == event and e.get("sales") == "cancelled" for e in events)

    return shows
