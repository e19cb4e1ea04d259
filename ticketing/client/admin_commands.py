"""The operator's commands (``admin ...``): one record each, and how each is typed.

They change the catalog through the data store manager while sales go on, so they need the
cluster secret; ``help admin`` lists them. Every argument is positional, in the order a person
says it ("add to cluster east the theater IMAX ..."), so a command typed without its arguments
asks for each one in turn, with completion, as the buyer's commands do.
"""

from __future__ import annotations

from dataclasses import dataclass

from ticketing.client.command_spec import CommandSpec, Param


@dataclass(frozen=True, slots=True)
class Clusters:
    pass


@dataclass(frozen=True, slots=True)
class AddTheater:
    theater: str
    cluster: str
    name: str
    city: str
    rows: int
    seats_per_row: int


@dataclass(frozen=True, slots=True)
class AddEvent:
    theater: str
    event: str
    title: str
    starts_at: str


@dataclass(frozen=True, slots=True)
class Reschedule:
    theater: str
    event: str
    starts_at: str


@dataclass(frozen=True, slots=True)
class Retitle:
    theater: str
    event: str
    title: str


@dataclass(frozen=True, slots=True)
class StopSales:
    theater: str
    event: str


@dataclass(frozen=True, slots=True)
class ResumeSales:
    theater: str
    event: str


@dataclass(frozen=True, slots=True)
class CancelEvent:
    """Cancels every ticket of the event (listed for refunds): asked again in a terminal."""

    theater: str
    event: str

    def question(self) -> str:
        return (
            f"cancel {self.theater} {self.event} for good? Every ticket is cancelled "
            "and listed for a refund. [y/N] "
        )


@dataclass(frozen=True, slots=True)
class Resize:
    theater: str
    rows: int
    seats_per_row: int


@dataclass(frozen=True, slots=True)
class Report:
    theater: str
    event: str
    csv_path: str | None = None


AdminCommand = (
    Clusters
    | AddTheater
    | AddEvent
    | Reschedule
    | Retitle
    | StopSales
    | ResumeSales
    | CancelEvent
    | Resize
    | Report
)

_T, _E = Param.THEATER, Param.EVENT

ADMIN_SPECS: dict[str, CommandSpec] = {
    spec.name.removeprefix("admin "): spec
    for spec in (
        CommandSpec("admin clusters", (), "admin clusters", "the data clusters and their theaters"),
        CommandSpec(
            "admin add-theater",
            (
                Param.NEW_THEATER,
                Param.CLUSTER,
                Param.THEATER_NAME,
                Param.CITY,
                Param.ROWS,
                Param.SEATS_PER_ROW,
            ),
            "admin add-theater ID CLUSTER NAME CITY ROWS SEATS_PER_ROW",
            "add a theater to a running data cluster",
        ),
        CommandSpec(
            "admin add-event",
            (_T, Param.NEW_EVENT, Param.TITLE, Param.STARTS_AT),
            "admin add-event THEATER ID TITLE STARTS_AT",
            "add an event, on sale at once (STARTS_AT: 2027-01-01T20:00, local time)",
        ),
        CommandSpec(
            "admin reschedule",
            (_T, _E, Param.STARTS_AT),
            "admin reschedule THEATER EVENT STARTS_AT",
            "move an event to another time; its tickets stay valid",
        ),
        CommandSpec(
            "admin retitle",
            (_T, _E, Param.TITLE),
            "admin retitle THEATER EVENT TITLE",
            "give an event another title",
        ),
        CommandSpec(
            "admin stop-sales",
            (_T, _E),
            "admin stop-sales THEATER EVENT",
            "no new holds or bookings until resume-sales",
        ),
        CommandSpec(
            "admin resume-sales",
            (_T, _E),
            "admin resume-sales THEATER EVENT",
            "put a stopped event on sale again",
        ),
        CommandSpec(
            "admin cancel-event",
            (_T, _E),
            "admin cancel-event THEATER EVENT",
            "cancel for good: every ticket is cancelled and listed for a refund",
        ),
        CommandSpec(
            "admin resize",
            (_T, Param.ROWS, Param.SEATS_PER_ROW),
            "admin resize THEATER ROWS SEATS_PER_ROW",
            "change the seat map (refused if a booked seat falls outside)",
        ),
        CommandSpec(
            "admin report",
            (_T, _E),
            "admin report THEATER EVENT [--csv FILE]",
            "sold, held, free; tickets and refunds (--csv writes them for export)",
            options={"--csv": Param.CSV},
        ),
    )
}


def build_admin(name: str, values: dict[Param, str | int]) -> AdminCommand:
    """The record for ``admin <name>`` from its parsed arguments (all present)."""

    def text(param: Param) -> str:
        value = values[param]
        assert isinstance(value, str)
        return value

    def number(param: Param) -> int:
        value = values[param]
        assert isinstance(value, int)
        return value

    match name:
        case "clusters":
            return Clusters()
        case "add-theater":
            return AddTheater(
                text(Param.NEW_THEATER),
                text(Param.CLUSTER),
                text(Param.THEATER_NAME),
                text(Param.CITY),
                number(Param.ROWS),
                number(Param.SEATS_PER_ROW),
            )
        case "add-event":
            return AddEvent(
                text(_T), text(Param.NEW_EVENT), text(Param.TITLE), text(Param.STARTS_AT)
            )
        case "reschedule":
            return Reschedule(text(_T), text(_E), text(Param.STARTS_AT))
        case "retitle":
            return Retitle(text(_T), text(_E), text(Param.TITLE))
        case "stop-sales":
            return StopSales(text(_T), text(_E))
        case "resume-sales":
            return ResumeSales(text(_T), text(_E))
        case "cancel-event":
            return CancelEvent(text(_T), text(_E))
        case "resize":
            return Resize(text(_T), number(Param.ROWS), number(Param.SEATS_PER_ROW))
        case _:
            csv_path = values.get(Param.CSV)
            return Report(text(_T), text(_E), str(csv_path) if csv_path is not None else None)
