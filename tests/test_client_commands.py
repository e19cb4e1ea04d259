"""The client's pure parts: command parsing, seat lists, the seat map, the local ticket file,
and the completer over the metadata cache (an in-memory contract balancer, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_lb import ContractLB, contract_store
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from ticketing.client.commands import (
    Book,
    Cancel,
    Hold,
    Param,
    ShowMap,
    ShowTicket,
    parse,
)
from ticketing.client.completer import ParamCompleter, TicketingCompleter
from ticketing.client.metadata import Metadata
from ticketing.client.seat_map import render_seat_map
from ticketing.client.seat_spec import parse_seats
from ticketing.client.style import plain
from ticketing.client.tickets_file import TicketsFile, default_tickets_path
from ticketing.errors import InvalidRequest


def build(line: str):
    partial = parse(line)
    assert partial is not None
    return partial.build()


def test_parses_full_commands() -> None:
    assert build("map AMC dune-1900") == ShowMap("AMC", "dune-1900")
    assert build("hold AMC dune-1900 a1-a3, B2 C4") == Hold(
        "AMC", "dune-1900", ("A1", "A2", "A3", "B2", "C4")
    )
    assert build("book Ada Lovelace ada@example.org") == Book("Ada Lovelace", "ada@example.org")
    assert build("book 'Ada Lovelace' ada@example.org") == Book("Ada Lovelace", "ada@example.org")
    assert build("ticket") == ShowTicket()
    assert build("cancel AMC abc123") == Cancel("AMC", "abc123")
    assert parse("   ") is None
    assert parse("# a comment") is None


def test_missing_arguments_are_named_in_order() -> None:
    partial = parse("hold AMC")
    assert partial is not None
    assert partial.missing == [Param.EVENT, Param.SEATS]
    with pytest.raises(InvalidRequest, match="usage: hold THEATER EVENT SEATS"):
        partial.build()
    partial.supply(Param.EVENT, "dune-1900")
    partial.supply(Param.SEATS, "A1-A2")
    assert partial.as_line() == "hold AMC dune-1900 A1 A2"


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("dance", "unknown command 'dance'; type help"),
        ("status now", "status takes no arguments"),
        ("map AMC dune-1900 extra", "too many arguments"),
        ("hold AMC dune-1900 A1-B3", "stays within one row"),
        ("hold AMC dune-1900 7A", "not a seat label"),
        ("book Ada ada-at-example.org", "needs EMAIL"),
        ('book "Ada', "close the quote"),
    ],
)
def test_bad_lines_say_what_to_do(line: str, message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        build(line)


def test_seat_lists_expand_ranges_and_drop_repeats() -> None:
    assert parse_seats("A4-A2,A3 AA1") == ("A2", "A3", "A4", "AA1")
    with pytest.raises(InvalidRequest, match="no seats given"):
        parse_seats(" , ")


def test_seat_map_reads_without_colour() -> None:
    store = contract_store()
    balancer = ContractLB(store, "lb")
    balancer.book_ticket(
        balancer.block_seats("REG", "inception-2100", ["A1"])["hold_id"], "X", "x@y.z"
    )
    balancer.block_seats("REG", "inception-2100", ["B5"])
    seat_states = balancer.get_seat_states("REG", "inception-2100")
    assert seat_states == {"rows": 3, "seats_per_row": 5, "states": "x........h....."}
    text = plain(render_seat_map(seat_states, title="REG inception-2100", mine=["C2"]))
    lines = text.splitlines()
    assert lines[0] == "REG inception-2100"
    assert "SCREEN" in lines[1]
    assert lines[3].split() == ["1", "2", "3", "4", "5"]
    assert lines[4].split() == ["A", "X", ".", ".", ".", ".", "A"]
    assert lines[5].split() == ["B", ".", ".", ".", ".", "h", "B"]
    assert lines[6].split() == ["C", ".", "*", ".", ".", ".", "C"]
    assert lines[-1].split() == [".", "free", "h", "held", "X", "booked", "*", "yours"]


def test_tickets_file_round_trip(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_tickets_path() == tmp_path / "xdg" / "ticketing" / "tickets.json"
    tickets = TicketsFile(tmp_path / "deep" / "tickets.json")
    assert tickets.load() == []
    first = {"ticket_no": "1", "theater": "AMC", "event": "e", "seats": ["A1"], "name": "n"}
    tickets.add(first)
    tickets.add({**first, "ticket_no": "2"})
    assert [t["ticket_no"] for t in tickets.load()] == ["1", "2"]
    assert tickets.latest()["ticket_no"] == "2"
    tickets.remove("AMC", "1")
    assert [t["ticket_no"] for t in tickets.load()] == ["2"]
    (tmp_path / "deep" / "tickets.json").write_text("{not json")
    with pytest.raises(InvalidRequest, match="fix or move it away"):
        tickets.load()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def balancer() -> ContractLB:
    return ContractLB(contract_store(), "lb")


def completions(completer, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent())]


def test_completes_each_kind_of_word(balancer: ContractLB, tmp_path: Path) -> None:
    tickets = TicketsFile(tmp_path / "t.json")
    tickets.add(
        {
            "ticket_no": "abc",
            "theater": "AMC",
            "event": "dune-1900",
            "seats": ["A1"],
            "name": "Ada Lovelace",
            "email": "ada@example.org",
        }
    )
    completer = TicketingCompleter(Metadata(balancer, tickets))
    assert completions(completer, "c") == ["cancel"]
    assert completions(completer, "map ") == ["AMC", "REG"]
    assert completions(completer, "map AMC ") == ["dune-1900", "arrival-2130"]
    assert completions(completer, "map REG ") == ["inception-2100"]
    assert completions(completer, "hold REG inception-2100 A") == ["A1", "A2", "A3", "A4", "A5"]
    assert completions(completer, "hold REG inception-2100 A1 A3,A") == ["A2", "A4", "A5"]
    assert completions(completer, "hold REG inception-2100 A3") == ["A3", "A3-A4", "A3-A5"]
    assert completions(completer, "cancel AMC ") == ["abc"]
    assert completions(completer, "cancel REG ") == []
    assert completions(completer, "book ") == ["Ada Lovelace"]
    assert completions(completer, "book Ada a") == ["ada@example.org"]


def test_free_seats_are_cached_for_two_seconds(balancer: ContractLB, tmp_path: Path) -> None:
    clock = Clock()
    metadata = Metadata(balancer, TicketsFile(tmp_path / "t.json"), clock=clock)
    seats = ParamCompleter(
        metadata, Param.SEATS, lambda: {Param.THEATER: "REG", Param.EVENT: "inception-2100"}
    )
    assert "A1" in completions(seats, "A")
    balancer.block_seats("REG", "inception-2100", ["A1"])
    clock.now = 1.0
    assert "A1" in completions(seats, "A")
    clock.now = 2.5
    assert "A1" not in completions(seats, "A")


def test_no_suggestions_rather_than_errors_when_the_cluster_fails(tmp_path: Path) -> None:
    balancer = ContractLB(contract_store(), "lb")
    balancer.unavailable = True
    completer = TicketingCompleter(Metadata(balancer, TicketsFile(tmp_path / "t.json")))
    assert completions(completer, "map ") == []
    assert completions(completer, "hold AMC dune-1900 A") == []
