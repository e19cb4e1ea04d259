"""The client's pure parts: command parsing, seat lists, the seat map, the local ticket file,
and the completer over the metadata cache (an in-memory contract balancer, no network)."""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_lb import ContractLB, contract_store
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from ticketing.client.actions import Actions, offered_instead
from ticketing.client.commands import (
    Book,
    Cancel,
    Hold,
    HoldBest,
    Param,
    ShowMap,
    ShowTicket,
    parse,
)
from ticketing.client.completer import ParamCompleter, TicketingCompleter
from ticketing.client.metadata import Metadata
from ticketing.client.seat_map import render_seat_map
from ticketing.client.seat_spec import parse_seats
from ticketing.client.state import ClientState
from ticketing.client.style import plain
from ticketing.client.tickets_file import TicketsFile, default_tickets_path
from ticketing.client.views import side_by_side
from ticketing.errors import InvalidRequest, SeatsUnavailable, Unavailable


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


def test_a_bare_number_where_seats_go_asks_for_the_best_available() -> None:
    assert build("hold AMC dune-1900 3") == HoldBest("AMC", "dune-1900", 3)
    assert build("hold AMC dune-1900 07") == HoldBest("AMC", "dune-1900", 7)  # the server judges
    partial = parse("hold AMC dune-1900")
    assert partial is not None
    partial.supply(Param.SEATS, " 2 ")
    assert partial.as_line() == "hold AMC dune-1900 2"
    assert Hold("AMC", "dune-1900", ("C7", "C8")).as_line() == "hold AMC dune-1900 C7 C8"


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
        ("hodl AMC", r"unknown command 'hodl' \(did you mean hold\?\)"),
        ("help hodl", r"no help on 'hodl' \(did you mean hold\?\)"),
        ("status now", "status takes no arguments"),
        ("map AMC dune-1900 A-B extra", "too many arguments"),
        ("hold AMC dune-1900 A1-B3", "stays within one row"),
        ("hold AMC dune-1900 7A", "not a seat label"),
        ("hold AMC dune-1900 0", "hold at least 1 seat"),
        ("hold AMC dune-1900 2 A1", "seat labels .* or a number of seats .*, not both"),
        ("hold AMC dune-1900 A1,2", "not both"),
        ("hold AMC dune-1900 1234567890", "a booking holds a few"),
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
    counts_then_seats = completions(completer, "hold REG inception-2100 ")
    assert counts_then_seats[:7] == ["1", "2", "3", "4", "5", "A1", "A2"]
    assert completions(completer, "hold REG inception-2100 3") == ["3"]
    assert "2" not in completions(completer, "hold REG inception-2100 A1 ")  # no mixing
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


def test_counts_offered_are_no_more_than_the_free_seats(balancer: ContractLB, tmp_path) -> None:
    taken = [f"{row}{n}" for row in "ABC" for n in range(1, 6)][:-2]  # 2 of 15 stay free
    balancer.block_seats("REG", "inception-2100", taken[:5])
    balancer.block_seats("REG", "inception-2100", taken[5:10])
    balancer.block_seats("REG", "inception-2100", taken[10:])
    completer = TicketingCompleter(Metadata(balancer, TicketsFile(tmp_path / "t.json")))
    assert completions(completer, "hold REG inception-2100 ") == ["1", "2", "C4", "C5"]


def test_the_contract_balancer_chooses_as_the_real_lock_store(balancer: ContractLB) -> None:
    """Centred block nearest the screen, then the best singles, then a refusal; refused
    explicit seats offer the same choice as `.alternative`."""
    reg = ("REG", "inception-2100")
    assert balancer.block_best_available(*reg, 3)["seats"] == ["A2", "A3", "A4"]
    with pytest.raises(SeatsUnavailable) as refused:
        balancer.block_seats(*reg, ["A1", "A2"])
    assert (refused.value.seats, refused.value.alternative) == (["A2"], ["B2", "B3"])
    with pytest.raises(InvalidRequest, match="from 1 to 5 seats per booking, got 6"):
        balancer.block_best_available(*reg, 6)
    balancer.block_seats(*reg, ["B1", "B2", "B4", "B5"])
    balancer.block_seats(*reg, ["C1", "C2", "C4", "C5"])
    assert balancer.block_best_available(*reg, 3)["seats"] == ["A1", "B3", "C3"]
    assert balancer.block_best_available(*reg, 1)["seats"] == ["A5"]
    with pytest.raises(SeatsUnavailable, match="no seats are free"):
        balancer.block_best_available(*reg, 1)


def actions_on(balancer, tmp_path: Path) -> Actions:
    tickets = TicketsFile(tmp_path / "t.json")
    return Actions(balancer, ClientState(), tickets, Metadata(balancer, tickets), lambda: [])


def test_a_best_available_hold_shows_the_seats_on_the_map(
    balancer: ContractLB, tmp_path: Path
) -> None:
    actions = actions_on(balancer, tmp_path)
    actions.run(Hold("AMC", "dune-1900", ("D1",)))
    text = plain(actions.run(HoldBest("AMC", "dune-1900", 2)).fragments)
    assert text.startswith("holding A3 A4 (the 2 best free seats) at AMC dune-1900 for ")
    assert "side by side" not in text
    rows = {line.split()[0]: line.split()[1:-1] for line in text.splitlines() if line[:2] == "A "}
    assert rows["A"] == [".", ".", "*", "*", ".", "."]
    assert actions.state.hold is not None and actions.state.hold.seats == ("A3", "A4")
    assert [hold.seats for hold in balancer.store.holds.values()] == [["A3", "A4"]]


def test_best_seats_apart_are_said_to_be_apart(balancer: ContractLB, tmp_path: Path) -> None:
    for row in "ABC":
        balancer.block_seats("REG", "inception-2100", [f"{row}2", f"{row}4"])
    actions = actions_on(balancer, tmp_path)
    text = plain(actions.run(HoldBest("REG", "inception-2100", 2)).fragments)
    assert "holding A3 B3 (the 2 best free seats)" in text
    assert "no row had 2 free seats side by side" in text
    assert side_by_side(["B3", "B5", "B4"]) and not side_by_side(["B3", "C4"])


class MapDown(ContractLB):
    """Holds work, the seat map does not: as when the cluster falters between two calls."""

    def get_seat_states(self, theater: str, event: str) -> dict:
        raise Unavailable("no quorum right now; retry in a moment")


def test_the_hold_stands_when_its_map_cannot_be_drawn(tmp_path: Path) -> None:
    balancer = MapDown(contract_store(), "lb")
    actions = actions_on(balancer, tmp_path)
    text = plain(actions.run(HoldBest("AMC", "dune-1900", 1)).fragments)
    assert "holding A3 (the best free seat)" in text
    assert "(no map right now: no quorum right now; retry in a moment; type map to retry)" in text
    assert actions.state.hold is not None and actions.state.hold.seats == ("A3",)


def test_a_refusal_of_explicit_seats_offers_its_alternative_as_a_hold() -> None:
    refusal = SeatsUnavailable("taken", ["A1"], ["C7", "C8"])
    wanted = Hold("AMC", "dune-1900", ("A1", "A2"))
    assert offered_instead(wanted, refusal) == Hold("AMC", "dune-1900", ("C7", "C8"))
    assert offered_instead(wanted, SeatsUnavailable("taken", ["A1"])) is None
    assert offered_instead(HoldBest("AMC", "dune-1900", 2), refusal) is None
