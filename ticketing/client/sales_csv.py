"""An event's sales report as CSV, for a spreadsheet or a mailing: one ticket a row.

Refunded tickets (of a cancelled event) are rows too, told apart by ``status``, since they are
exactly the people a venue must write to. Names and e-mails are the buyers' own text: one that
a spreadsheet would run as a formula (``=HYPERLINK(...)``) gets a leading ``'``, as OWASP
advises against CSV injection.
"""

from __future__ import annotations

import csv
from pathlib import Path

from ticketing.errors import InvalidRequest

HEADER = ("status", "ticket_no", "theater", "event", "title", "starts_at", "seats", "name", "email")
SOLD, REFUND = "sold", "refund"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def report_rows(report: dict) -> list[tuple[str, ...]]:
    """The rows under ``HEADER``: sold tickets, then refunds; seats joined by spaces."""
    rows = []
    for status, tickets in ((SOLD, report["tickets"]), (REFUND, report["refunds"])):
        for t in tickets:
            rows.append(
                (
                    status,
                    str(t["ticket_no"]),
                    report["theater"],
                    report["event"],
                    report["title"],
                    report["starts_at"],
                    " ".join(t["seats"]),
                    _inert(str(t["name"])),
                    _inert(str(t["email"])),
                )
            )
    return rows


def _inert(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def write_report(path: Path, report: dict) -> int:
    """Write the report's tickets to ``path`` (replacing it); how many rows were written."""
    rows = report_rows(report)
    try:
        with path.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(HEADER)
            writer.writerows(rows)
    except OSError as exc:
        raise InvalidRequest(f"cannot write {path}: {exc.strerror or exc}") from None
    return len(rows)
