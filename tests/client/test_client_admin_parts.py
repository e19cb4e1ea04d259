"""The operator's commands without a cluster: parsing, completion, the wait for the balancer
to show a change, the CSV rows, and the question before an event is cancelled (a real
PromptSession on pipe input, with an in-memory manager and balancer)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import poll
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from ticketing.client.actions import Actions
from ticketing.client.admin_actions import AdminActions
from ticketing.client.admin_commands import (
    AddEvent,
    AddTheater,
    CancelEvent,
    Clusters,
    Report,
    Resize,
    StopSales,
)
from ticketing.client.commands import Help, parse
from ticketing.client.completer import TicketingCompleter
from ticketing.client.load_balancer_api import catalog_of
from ticketing.client.metadata import Metadata
from ticketing.client.operator_link import NEEDS_SECRET
from ticketing.client.repl import Repl
from ticketing.client.sales_csv import report_rows
from ticketing.client.state import ClientState
from ticketing.client.style import Fragments, plain
from ticketing.client.tickets_file import TicketsFile
from ticketing.errors import InvalidRequest


class BoxOffice:
    """The manager's operator API and a balancer's list_catalog over one catalog; the balancer
    shows a change ``lag`` reads after it was made, as a following balancer does."""

    def __init__(self, lag: int = 0) -> None:
        self.lag = lag
        self.calls: list[tuple[Any, ...]] = []
        self.shown = self.current = [
            {
                "theater": "AMC",
                "name": "AMC Cinemas",
                "city": "Boston",
                "seats": 24,
                "rows": 4,
                "seats_per_row": 6,
                "events": [
                    {"event": "dune", "title": "Dune", "starts_at": "2027-01-01T20:00"},
                    {"event": "alien", "title": "Alien", "starts_at": "2027-01-02T20:00"},
                ],
            }
        ]
        for event in self.current[0]["events"]:
            event["sales"] = "open"
        self._behind = 0

    def list_theaters(self) -> list[dict]:
        raise AssertionError("list_catalog is there: list_theaters is not asked")

    def list_catalog(self) -> list[dict]:
        if self._behind > 0:
            self._behind -= 1
        else:
            self.shown = self.current
        return copy.deepcopy(self.shown)

    def call(self, method: str, *args: Any) -> Any:
        self.calls.append((method, *args))
        if method == "admin_clusters":
            return [
                {"cluster": "east", "version": 3, "theaters": ["AMC"], "replicas": ["r1"]},
                {"cluster": "west", "version": 1, "theaters": [], "replicas": ["r1"]},
            ]
        theater, event = args[0], args[1]
        self.current = copy.deepcopy(self.current)
        self._behind = self.lag
        (listed,) = [e for e in self.current[0]["events"] if e["event"] == event]
        if method == "admin_cancel_event":
            listed["sales"] = "cancelled"
            return {"theater": theater, "event": event, "refunds": []}
        assert method == "admin_stop_sales", method
        listed["sales"] = "stopped"
        return copy.deepcopy(self.current[0])


def words(completer: TicketingCompleter, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]


def build(line: str):
    partial = parse(line)
    assert partial is not None
    return partial.build()


def test_admin_lines_become_commands() -> None:
    assert build("admin clusters") == Clusters()
    assert build("admin add-theater IMAX east 'IMAX Boston' Boston 10 12") == AddTheater(
        "IMAX", "east", "IMAX Boston", "Boston", 10, 12
    )
    assert build("ADMIN add-event AMC late 'Late show' 2027-01-01T23:00") == AddEvent(
        "AMC", "late", "Late show", "2027-01-01T23:00"
    )
    assert build("admin resize AMC 5 7") == Resize("AMC", 5, 7)
    assert build("admin report AMC dune") == Report("AMC", "dune")
    assert build("admin report --csv 'my file.csv' AMC dune") == Report(
        "AMC", "dune", "my file.csv"
    )
    for line in ("admin", "admin help", "help admin"):
        assert build(line) == Help("admin")
    assert build("help") == Help()
    partial = parse("admin report AMC dune --csv 'my file.csv'")
    assert partial is not None and partial.as_line() == "admin report AMC dune --csv 'my file.csv'"
    assert parse("admin add-event AMC").missing == [  # asked for one by one in a terminal
        "new event id",
        "title",
        "starts at",
    ]


@pytest.mark.parametrize(
    ("line", "refusal"),
    [
        ("admin frobnicate", "unknown admin command 'frobnicate'; help admin lists them"),
        ("admin resize AMC 0 6", "rows must be a whole number of at least 1, got '0'"),
        ("admin resize AMC 4 1234567", "seats per row must be a whole number"),
        ("admin add-event AMC x X 2027-01-01", "'2027-01-01' needs a time of day too"),
        ("admin reschedule AMC x tomorrow", "'tomorrow' is not a date and time"),
        ("admin report AMC dune --csv", "--csv needs a value"),
        ("admin report AMC dune --pdf x", "unknown option --pdf (options: --csv)"),
        ("admin stop-sales AMC dune now", "too many arguments"),
        ("help me", "no help on 'me'; help COMMAND explains one of: theaters, map"),
    ],
)
def test_malformed_admin_lines_are_refused_before_anything_is_sent(line: str, refusal: str):
    with pytest.raises(InvalidRequest, match="^" + refusal.replace("(", r"\(").replace(")", r"\)")):
        build(line)


def test_completes_admin_commands_ids_clusters_and_options(tmp_path: Path) -> None:
    box = BoxOffice()
    completer = TicketingCompleter(Metadata(box, TicketsFile(tmp_path / "t.json"), operator=box))
    assert words(completer, "adm") == ["admin"]
    assert words(completer, "help ")[:3] == ["theaters", "map", "hold"]
    assert words(completer, "help ad") == ["admin"]
    assert words(completer, "admin ")[:3] == ["clusters", "add-theater", "add-event"]
    assert words(completer, "admin re") == [
        "reschedule",
        "retitle",
        "resume-sales",
        "resize",
        "report",
    ]
    assert words(completer, "admin stop-sales ") == ["AMC"]
    assert words(completer, "admin stop-sales AMC a") == ["alien"]
    assert words(completer, "admin report AMC dune ") == ["--csv"]
    assert words(completer, "admin report AMC dune --csv ") == []  # a file name: free text
    assert words(completer, "admin add-event AMC ") == []  # a new id: nothing to offer
    assert words(completer, "admin add-theater IMAX ") == ["east", "west"]
    assert words(completer, "admin add-theater IMAX w") == ["west"]
    assert [call[0] for call in box.calls] == ["admin_clusters"]  # asked once, then cached


def test_a_change_waits_for_the_balancer_to_show_it(tmp_path: Path) -> None:
    box = BoxOffice(lag=3)
    metadata = Metadata(box, TicketsFile(tmp_path / "t.json"))
    assert metadata.events("AMC")[0]["sales"] == "open"
    admin = AdminActions(box, box, metadata, sleep=lambda _: None)
    said = plain(admin.run(StopSales("AMC", "dune")))
    assert said == "stopped sales of AMC dune: Dune  (2027-01-01T20:00)  sales stopped\n"
    assert box.shown is box.current  # the balancer caught up before the answer was shown
    assert metadata.events("AMC")[0]["sales"] == "stopped"  # and completion sees it


def test_a_balancer_that_never_shows_the_change_is_waited_for_a_bounded_time(
    tmp_path: Path,
) -> None:
    box = BoxOffice(lag=10**9)
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    metadata = Metadata(box, TicketsFile(tmp_path / "t.json"))
    admin = AdminActions(box, box, metadata, settle_within=1.0, clock=lambda: now[0], sleep=sleep)
    said = plain(admin.run(CancelEvent("AMC", "alien"))).splitlines()
    assert said == [
        "cancelled AMC alien: 0 ticket(s) listed for refunds",
        "(done; the load balancer does not show it yet: type theaters to look)",
    ]
    assert 1.0 <= now[0] < 1.2


def test_an_older_balancer_without_list_catalog_is_read_with_list_theaters() -> None:
    class Old:
        def list_theaters(self) -> list[dict]:
            return [{"theater": "AMC", "events": []}]

    assert catalog_of(Old()) == [{"theater": "AMC", "events": []}]


def test_without_the_secret_admin_commands_are_refused(tmp_path: Path) -> None:
    box = BoxOffice()
    tickets = TicketsFile(tmp_path / "t.json")
    actions = Actions(box, ClientState(), tickets, Metadata(box, tickets), lambda: [])
    with pytest.raises(InvalidRequest) as refusal:
        actions.run(StopSales("AMC", "dune"))
    assert str(refusal.value) == NEEDS_SECRET
    assert box.calls == []


def test_csv_rows_keep_a_buyers_formula_inert() -> None:
    ticket = {"ticket_no": "t1", "seats": ["A1", "A2"], "name": "=HYPERLINK(1)", "email": "a@b.c"}
    report = {
        "theater": "AMC",
        "event": "dune",
        "title": "Dune",
        "starts_at": "2027-01-01T20:00",
        "tickets": [ticket],
        "refunds": [{**ticket, "ticket_no": "t0", "name": "Bo"}],
    }
    assert report_rows(report) == [
        (
            "sold",
            "t1",
            "AMC",
            "dune",
            "Dune",
            "2027-01-01T20:00",
            "A1 A2",
            "'=HYPERLINK(1)",
            "a@b.c",
        ),
        ("refund", "t0", "AMC", "dune", "Dune", "2027-01-01T20:00", "A1 A2", "Bo", "a@b.c"),
    ]


@pytest.fixture
def repl(tmp_path: Path) -> Iterator[tuple[Repl, BoxOffice, list[Fragments], Any]]:
    box = BoxOffice()
    tickets = TicketsFile(tmp_path / "t.json")
    metadata = Metadata(box, tickets, operator=box)
    admin = AdminActions(box, box, metadata)
    actions = Actions(box, ClientState(), tickets, metadata, lambda: [], admin=admin)
    shown: list[Fragments] = []
    with create_pipe_input() as pipe:
        loop = Repl(actions, metadata, lambda: None, input=pipe, output=DummyOutput())
        loop.show = shown.append
        thread = threading.Thread(target=loop.run, daemon=True)
        thread.start()
        yield loop, box, shown, pipe
        pipe.send_text("\x04")
        thread.join(10)


def test_cancelling_an_event_in_a_terminal_asks_first_no_by_default(repl) -> None:
    loop, box, shown, pipe = repl

    def said() -> str:
        return "".join(plain(fragments) for fragments in list(shown))

    pipe.send_text("admin cancel-event AMC dune\r")
    poll(lambda: loop.guide.app.is_running, timeout=10, message="the question")
    pipe.send_text("\r")
    poll(lambda: "not cancelled" in said(), timeout=10)
    assert box.calls == []
    pipe.send_text("admin cancel-event AMC dune\r")
    poll(lambda: said().count("not cancelled") == 1 and loop.guide.app.is_running, timeout=10)
    pipe.send_text("y\r")
    poll(lambda: "cancelled AMC dune: 0 ticket(s) listed for refunds" in said(), timeout=10)
    assert box.calls == [("admin_cancel_event", "AMC", "dune")]
