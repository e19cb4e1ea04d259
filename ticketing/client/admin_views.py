"""Text views of the operator's answers: clusters, a changed theater, refunds, sales reports."""

from __future__ import annotations

from ticketing.client.admin_commands import ADMIN_SPECS
from ticketing.client.style import Fragments
from ticketing.client.table import table

ADMIN_EXAMPLE = (
    "admin add-event AMC late 'Late show' 2027-01-01T23:00",
    "admin stop-sales AMC late",
    "admin report AMC late --csv late.csv",
)


def admin_help_view() -> Fragments:
    width = max(len(spec.usage) for spec in ADMIN_SPECS.values())
    out: Fragments = [("class:heading", "operator commands (need the cluster secret)\n")]
    for spec in ADMIN_SPECS.values():
        out.append(("class:label", f"  {spec.usage:<{width}}"))
        out.append(("", f"  {spec.summary}\n"))
    out.append(
        (
            "class:note",
            "Arguments are positional; quote those with spaces ('Late show'). Dates are local\n"
            "time, like 2027-01-01T20:00. A command typed without its arguments asks for them.\n"
            "The secret comes from --data-dir (its cluster.secret) or $TICKETING_SECRET.\n"
            "For example:\n",
        )
    )
    out.extend(("", f"  {line}\n") for line in ADMIN_EXAMPLE)
    return out


def clusters_view(clusters: list[dict]) -> Fragments:
    if not clusters:
        return [("class:note", "(no data cluster is running)\n")]
    rows = [
        (
            c["cluster"],
            c.get("version", "-"),
            len(c.get("replicas", [])),
            " ".join(c.get("theaters", [])) or "-",
        )
        for c in clusters
    ]
    return table(("cluster", "catalog version", "replicas", "theaters"), rows)


def event_line(listing: dict, event_id: str) -> str:
    """One event of a theater's listing as ``theaters`` shows it, for a change's answer."""
    for event in listing.get("events", []):
        if event["event"] == event_id:
            sales = event.get("sales", "open")
            return f"{event['title']}  ({event['starts_at']})  sales {sales}"
    return "(not listed)"


def refunds_view(theater: str, event: str, refunds: list[dict]) -> Fragments:
    out: Fragments = [
        ("", f"cancelled {theater} {event}: "),
        ("class:label", f"{len(refunds)} ticket(s) listed for refunds\n"),
    ]
    if refunds:
        out += tickets_table(refunds)
    return out


def tickets_table(tickets: list[dict]) -> Fragments:
    rows = [(t["ticket_no"], " ".join(t["seats"]), t["name"], t["email"]) for t in tickets]
    return table(("ticket", "seats", "name", "e-mail"), rows)


def report_view(report: dict) -> Fragments:
    """Counts first (what an operator looks at), then who bought what, then refunds."""
    out: Fragments = [
        ("class:heading", f"{report['theater']} {report['event']}: {report['title']}\n"),
        ("", f"  starts  {report['starts_at']}\n"),
        ("", f"  sales   {report['sales']}\n"),
        (
            "",
            f"  seats   {report['sold']} sold, {report['held']} held, {report['free']} free "
            f"(of {report['seats']})\n",
        ),
    ]
    tickets, refunds = report["tickets"], report["refunds"]
    out.append(("class:label", f"{len(tickets)} ticket(s)\n"))
    if tickets:
        out += tickets_table(tickets)
    if refunds:
        out.append(("class:label", f"{len(refunds)} refund(s) (tickets of the cancelled event)\n"))
        out += tickets_table(refunds)
    return out
