"""The client at a 50,000-seat venue and against the clock, without a network: the map that
fits the screen, completion a row at a time, the toolbar in 80 columns, and what is said when
a hold expires or a new hold replaces one (an in-memory contract balancer; the interactive loop
over a pipe)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import NameServer
from contract_lb import ContractLB, ContractStore, serve_balancers
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document
from test_client_repl import ENTER, Driver

from ticketing.catalog import parse_catalog
from ticketing.client.actions import Actions
from ticketing.client.commands import ShowMap, parse
from ticketing.client.completer import TicketingCompleter
from ticketing.client.map_view import Screen
from ticketing.client.metadata import Metadata
from ticketing.client.seat_map import render_seat_map
from ticketing.client.state import ClientState, OpenHold
from ticketing.client.style import plain
from ticketing.client.tickets_file import TicketsFile
from ticketing.client.toolbar import bottom_toolbar
from ticketing.errors import InvalidRequest

CATALOG = """
hold_ttl = 300
max_seats_per_booking = 5

[[theater]]
id = "ARENA"
name = "Arena Stadium"
city = "Chicago"
rows = 200
seats_per_row = 250

[[theater.event]]
id = "show-01"
title = "World Tour"
starts_at = "2026-12-01T19:00:00"

[[theater]]
id = "AMC"
name = "AMC Cinemas"
city = "Boston"
rows = 12
seats_per_row = 18

[[theater.event]]
id = "dune-1900"
title = "Dune: Part Three"
starts_at = "2026-12-01T19:00:00"
"""

ARENA = ("ARENA", "show-01")
TERMINAL = Screen(80, 22)


class CountingBalancer(ContractLB):
    """Counts what completion asks; the list of every free seat must never be asked for."""

    def __init__(self, store: ContractStore) -> None:
        super().__init__(store, "lb")
        self.seat_states_calls = 0

    def get_seat_states(self, theater: str, event: str) -> dict:
        self.seat_states_calls += 1
        return super().get_seat_states(theater, event)

    def get_available_seats(self, theater: str, event: str) -> list[str]:
        raise AssertionError("completion fetched every free seat")


@pytest.fixture
def balancer() -> CountingBalancer:
    return CountingBalancer(ContractStore(parse_catalog(CATALOG, "<big venue>")))


@pytest.fixture
def actions(balancer: CountingBalancer, tmp_path: Path) -> Actions:
    tickets = TicketsFile(tmp_path / "tickets.json")
    actions = Actions(balancer, ClientState(), tickets, Metadata(balancer, tickets), lambda: [])
    actions.screen = lambda: TERMINAL
    return actions


def lines_of(fragments) -> list[str]:
    return plain(fragments).splitlines()


def run(actions: Actions, line: str) -> list[str]:
    partial = parse(line)
    assert partial is not None
    return lines_of(actions.run(partial.build()).fragments)


def test_a_small_venue_is_drawn_whole_as_before(actions: Actions, balancer) -> None:
    answer = balancer.get_seat_states("AMC", "dune-1900")
    assert run(actions, "map AMC dune-1900") == lines_of(
        render_seat_map(answer, title="AMC dune-1900")
    )
    assert (
        run(actions, "map AMC dune-1900")[3]
        == "    1  2  3  4  5  6  7  8  9 10 11 12 13 14 15 16 17 18"
    )


def test_a_big_venue_gets_a_summary_of_free_seats_per_row(actions: Actions, balancer) -> None:
    balancer.block_seats(*ARENA, ["B1", "B2"])
    shown = run(actions, "map ARENA show-01")
    assert max(map(len, shown)) <= TERMINAL.columns
    assert len(shown) < 40  # not 200 rows of 1,000 characters
    text = "\n".join(shown)
    assert "49,998 of 50,000 seats free, rows A-GR of 250 seats" in text
    assert " A 250    B 248    C 250" in text
    assert "GR 250" in text
    assert "map ARENA show-01 A-F draws rows A to F" in text


def test_rows_asked_for_are_drawn_in_blocks_that_never_wrap(actions: Actions) -> None:
    shown = run(actions, "map ARENA show-01 b-c")
    assert max(map(len, shown)) <= TERMINAL.columns
    rows = [line.split()[0] for line in shown if line[:1].isalpha() and line.endswith((" B", " C"))]
    assert set(rows) == {"B", "C"}
    rulers = [line.split() for line in shown if line.replace(" ", "").isdigit()]
    numbers = [int(n) for ruler in rulers for n in ruler]
    assert numbers == list(range(1, 251))  # every seat of the row, block after block
    block = run(actions, "map ARENA show-01 A240-B250")
    assert [line.split()[0] for line in block if line.endswith((" A", " B"))] == ["A", "B"]
    assert [line for line in block if line.strip().startswith("240")] == [
        "    240 241 242 243 244 245 246 247 248 249 250"
    ]


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ("ZZ", "no row ZZ here: the rows go from A to GR"),
        ("A0-B3", "numbered 1 to 250"),
        ("1-3", "is no row range"),
    ],
)
def test_a_bad_row_range_is_refused_with_what_exists(actions: Actions, rows: str, why) -> None:
    with pytest.raises(InvalidRequest, match=why):
        run(actions, f"map ARENA show-01 {rows}")


def test_map_takes_an_optional_row_range() -> None:
    partial = parse("map ARENA show-01 A-F")
    assert partial is not None and partial.build() == ShowMap("ARENA", "show-01", "A-F")
    assert partial.as_line() == "map ARENA show-01 A-F"
    bare = parse("map")
    assert bare is not None and [str(p) for p in bare.missing] == ["theater", "event"]


def test_best_seats_at_a_big_venue_show_where_they_are(actions: Actions) -> None:
    shown = run(actions, "hold ARENA show-01 3")
    assert max(map(len, shown[1:])) <= TERMINAL.columns
    (row,) = [line for line in shown if line.endswith(" A") and "*" in line]
    assert row.count("*") == 3


def completions(completer: TicketingCompleter, text: str) -> list[str]:
    document = Document(text, len(text))
    return [c.text for c in completer.get_completions(document, CompleteEvent())]


def test_completion_at_a_big_venue_offers_rows_then_the_seats_of_a_row(
    balancer: CountingBalancer, tmp_path: Path
) -> None:
    balancer.block_seats(*ARENA, ["B3"])
    completer = TicketingCompleter(Metadata(balancer, TicketsFile(tmp_path / "t.json")))
    first = completions(completer, "hold ARENA show-01 ")
    assert first[:6] == ["1", "2", "3", "4", "5", "A"]
    assert len(first) == 5 + 200  # counts, then rows; no seat among them
    row_b = completions(completer, "hold ARENA show-01 b")
    assert row_b[:27] == ["B", *[f"B{c}" for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"]]
    assert row_b[27:30] == ["B1", "B2", "B4"]  # B3 is held
    assert completions(completer, "hold ARENA show-01 B24") == ["B24", "B240", "B241", "B242",
        "B243", "B244", "B245", "B246", "B247", "B248", "B249", "B24-B25", "B24-B26", "B24-B27",
        "B24-B28"]  # fmt: skip
    assert completions(completer, "hold ARENA show-01 B1-") == ["B1-B2"]
    assert completions(completer, "map ARENA show-01 G")[:3] == ["G", "GA", "GB"]
    assert completions(completer, "map ARENA show-01 A-GQ") == ["A-GQ"]
    assert balancer.seat_states_calls == 1  # one compact fetch serves every key for a while


def hold(seats: tuple[str, ...], expires_at: float, event: str = "show-01") -> OpenHold:
    return OpenHold("h1", "ARENA", event, seats, expires_at)


@pytest.mark.parametrize("columns", [80, 60, 40, 20])
def test_the_toolbar_fits_the_terminal_keeping_the_countdown(columns: int) -> None:
    state = ClientState(hold(("GQ10", "GQ11", "GQ12", "GQ13", "GQ14"), 299.5))
    render = bottom_toolbar(lambda: "ticketing.loadbalancer.2", state, lambda: 0.0, lambda: columns)
    text = plain(render())
    assert len(text) <= columns
    assert "4:59 left" in text


def test_the_toolbar_keeps_everything_when_there_is_room() -> None:
    state = ClientState(hold(("A1", "A2"), 299.5))
    render = bottom_toolbar(lambda: "ticketing.loadbalancer.1", state, lambda: 0.0, lambda: 150)
    assert plain(render()) == (
        " via ticketing.loadbalancer.1 | hold ARENA show-01 A1 A2: 4:59 left"
        " | Tab completes, help lists commands, Ctrl-D quits "
    )


def test_a_new_hold_says_which_hold_it_replaced(actions: Actions, balancer) -> None:
    run(actions, "hold ARENA show-01 A1 A2")
    shown = run(actions, "hold ARENA show-01 A3")
    assert shown[-1] == "your hold of A3 replaced the earlier hold of A1 A2 (released)"
    assert [h.seats for h in balancer.store.holds.values()] == [["A3"]]
    shown = run(actions, "hold ARENA show-01 A3-A4")  # overlaps its own hold: released first
    assert shown[-1] == "your hold of A3 A4 replaced the earlier hold of A3 (released)"
    shown = run(actions, "hold AMC dune-1900 1")
    assert any("earlier hold of A3 A4 at ARENA show-01 (released)" in line for line in shown)


def test_a_hold_that_had_expired_is_not_said_to_be_replaced(actions: Actions) -> None:
    run(actions, "hold ARENA show-01 A1")
    assert actions.state.hold is not None
    actions.state.hold = dataclasses.replace(actions.state.hold, expires_at=0.0)
    assert not [line for line in run(actions, "hold ARENA show-01 A2") if "replaced" in line]


@pytest.fixture
def client(nameserver: NameServer, tmp_path: Path) -> Iterator[Driver]:
    with serve_balancers(nameserver.host, nameserver.port, count=1) as served:
        driver = Driver(served, tmp_path)
        driver.wait_prompt("session")
        yield driver
        driver.close()


def test_expiry_is_announced_above_the_waiting_prompt_once_and_long_output_paged(
    client: Driver,
) -> None:
    client.type("hold AMC dune-1900 A1" + ENTER)
    client.wait_output("holding A1")
    client.wait_prompt("session")
    assert client.state.hold is not None
    client.state.hold = dataclasses.replace(client.state.hold, expires_at=0.0)
    client.wait_output("your hold of A1 at AMC dune-1900 expired; the seats are free")
    client.type("hold AMC dune-1900 A2" + ENTER)
    out = client.wait_output("holding A2")
    assert out.count("expired;") == 1
    assert "replaced" not in out

    paged: list[str] = []
    client.repl.pager = paged.append
    rows = client.repl.session.output.get_size().rows
    client.repl._present([("", "line\n" * rows)])
    assert paged == ["line\n" * rows]
    assert "line" not in client.output()
