"""The interactive client driven through a real PromptSession (pipe input, dummy output),
against in-memory contract balancers served by a real Pyro5 daemon and name server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import NameServer, poll
from contract_lb import ServedBalancers, serve_balancers
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput

from ticketing.client.actions import Actions
from ticketing.client.connection import Connection
from ticketing.client.metadata import Metadata
from ticketing.client.repl import Repl
from ticketing.client.state import ClientState
from ticketing.client.style import Fragments, plain
from ticketing.client.tickets_file import TicketsFile

TAB, ENTER, CTRL_C, CTRL_D, UP = "\t", "\r", "\x03", "\x04", "\x1b[A"


class Driver:
    """Runs a Repl in a thread and types into it; every wait polls a condition."""

    def __init__(self, served: ServedBalancers, tmp_path: Path) -> None:
        self.served = served
        self.connection = Connection(served.ns_host, served.ns_port, call_timeout=5.0)
        self.tickets = TicketsFile(tmp_path / "tickets.json")
        self.metadata = Metadata(self.connection, self.tickets)
        self.state = ClientState()
        actions = Actions(
            self.connection, self.state, self.tickets, self.metadata, self.connection.cluster_status
        )
        self.shown: list[Fragments] = []
        self._pipe_cm = create_pipe_input()
        self.pipe = self._pipe_cm.__enter__()
        self.repl = Repl(
            actions,
            self.metadata,
            lambda: self.connection.current,
            history_path=tmp_path / "history",
            input=self.pipe,
            output=DummyOutput(),
            show=self.shown.append,
        )
        self.exit_code: int | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.exit_code = self.repl.run()

    def output(self) -> str:
        return "".join(plain(fragments) for fragments in list(self.shown))

    def type(self, text: str) -> None:
        self.pipe.send_text(text)

    def wait_output(self, needle: str) -> str:
        poll(lambda: needle in self.output(), timeout=10, message=f"{needle!r} in the output")
        return self.output()

    def tab(self, text: str) -> None:
        """Type `text`, wait until its completions are computed (as a person would), press Tab."""
        self.type(text)

        def ready() -> bool:
            buffer = self._active().default_buffer
            state = buffer.complete_state
            typed = buffer.text.endswith(text)
            return typed and state is not None and state.original_document.text == buffer.text

        poll(ready, timeout=10, message=f"completions after {text!r}")
        self.type(TAB)

    def _active(self):
        poll(lambda: self.repl.guide.app.is_running or self.repl.session.app.is_running, 10)
        return self.repl.guide if self.repl.guide.app.is_running else self.repl.session

    def buffer(self) -> str:
        """Text of whichever prompt is showing (the command line or a guided question)."""
        for session in (self.repl.guide, self.repl.session):
            if session.app.is_running:
                return session.default_buffer.text
        return ""

    def wait_buffer(self, expected: str) -> None:
        try:
            poll(lambda: self.buffer() == expected, timeout=10)
        except AssertionError:
            raise AssertionError(f"line {expected!r} never came; it is {self.buffer()!r}") from None

    def wait_prompt(self, session_name: str) -> None:
        session = getattr(self.repl, session_name)
        poll(lambda: session.app.is_running, timeout=10, message=f"the {session_name} prompt")

    def wait_exit(self) -> int:
        self.thread.join(10)
        assert not self.thread.is_alive(), "the client did not exit"
        assert self.exit_code is not None
        return self.exit_code

    def close(self) -> None:
        if self.thread.is_alive():
            self.type(CTRL_D)
            self.thread.join(10)
        self._pipe_cm.__exit__(None, None, None)
        self.connection.close()


@pytest.fixture
def served(nameserver: NameServer) -> Iterator[ServedBalancers]:
    with serve_balancers(nameserver.host, nameserver.port, count=2) as served:
        yield served


@pytest.fixture
def client(served: ServedBalancers, tmp_path: Path) -> Iterator[Driver]:
    driver = Driver(served, tmp_path)
    driver.wait_prompt("session")
    yield driver
    driver.close()


def holds(served: ServedBalancers) -> list:
    return list(served.store.holds.values())


def test_tab_completes_command_theater_event_and_seat(client: Driver) -> None:
    client.tab("ho")
    client.wait_buffer("hold")
    client.tab(" A")
    client.wait_buffer("hold AMC")
    client.tab(" ar")
    client.wait_buffer("hold AMC arrival-2130")
    client.tab(" C5")
    client.wait_buffer("hold AMC arrival-2130 C5")
    client.type(ENTER)
    client.wait_output("holding C5 at AMC arrival-2130")
    assert [hold.seats for hold in holds(client.served)] == [["C5"]]


def test_tab_completes_a_range_of_free_seats(client: Driver) -> None:
    client.served.balancers["ticketing.loadbalancer.1"].block_seats("AMC", "dune-1900", ["B4"])
    client.tab("hold AMC dune-1900 B1-")
    client.wait_buffer("hold AMC dune-1900 B1-B2")
    client.type(TAB)  # next choice; B4 is held, so the run stops at B3
    client.wait_buffer("hold AMC dune-1900 B1-B3")
    client.type(ENTER)
    client.wait_output("holding B1 B2 B3")


def test_tab_completes_a_local_ticket_number(client: Driver) -> None:
    client.type("hold AMC dune-1900 A1,A2" + ENTER)
    client.wait_output("holding A1 A2")
    client.type("book Ada Lovelace ada@example.org" + ENTER)
    client.wait_output("booked ticket")
    (ticket,) = client.tickets.load()
    client.tab("cancel AMC ")
    client.wait_buffer(f"cancel AMC {ticket['ticket_no']}")
    client.type(ENTER)
    client.wait_prompt("guide")  # cancel ticket ... for good? [y/N]
    client.type("y" + ENTER)
    client.wait_output(f"cancelled ticket {ticket['ticket_no']}")
    assert client.served.store.tickets == {}
    assert client.tickets.load() == []


def test_guided_flow_asks_for_each_argument_with_completion(client: Driver) -> None:
    client.type("hold" + ENTER)
    client.wait_prompt("guide")
    client.tab("RE")
    client.wait_buffer("REG")
    client.type(ENTER)
    client.wait_output("theater")
    client.tab("in")
    client.wait_buffer("inception-2100")
    client.type(ENTER)
    client.type("A2-A3" + ENTER)
    client.wait_output("holding A2 A3 at REG inception-2100")

    client.type("book" + ENTER)
    client.wait_prompt("guide")
    client.type("Grace Hopper" + ENTER)
    client.type("grace@example.org" + ENTER)
    out = client.wait_output("booked ticket")
    assert "seats    A2 A3" in out
    assert [t["name"] for t in client.tickets.load()] == ["Grace Hopper"]
    assert client.state.hold is None


def test_guided_flow_refuses_an_unknown_theater_and_asks_again(client: Driver) -> None:
    client.type("map" + ENTER)
    client.wait_prompt("guide")
    client.type("NOPE" + ENTER)
    client.wait_output("UnknownTheater: no theater 'NOPE'; pick one of AMC, REG")
    client.type("AMC" + ENTER)
    client.type("dune-1900" + ENTER)
    out = client.wait_output("SCREEN")
    assert "X booked" in out


def test_ctrl_c_cancels_a_guided_command(client: Driver) -> None:
    client.type("hold" + ENTER)
    client.wait_prompt("guide")
    client.type("AMC" + CTRL_C)
    client.wait_output("cancelled")
    client.type("tickets" + ENTER)
    client.wait_output("no tickets booked")
    assert holds(client.served) == []


def test_errors_are_one_line_with_the_contract_class(client: Driver) -> None:
    client.served.balancers["ticketing.loadbalancer.1"].block_seats("AMC", "dune-1900", ["A1"])
    client.type("hold AMC dune-1900 A1 A2" + ENTER)
    client.wait_output("SeatsUnavailable: seats A1 are taken")
    client.wait_prompt("guide")  # hold the best free seats instead?
    client.type("n" + ENTER)
    client.wait_output("not held")
    client.type("frobnicate" + ENTER)
    client.wait_output("InvalidRequest: unknown command 'frobnicate'")
    client.type("book Ada ada@example.org" + ENTER)
    client.wait_output("InvalidRequest: you hold no seats")
    client.type("ticket AMC 0000" + ENTER)
    out = client.wait_output("TicketNotFound: no ticket 0000 at AMC")
    assert "Traceback" not in out
    assert client.thread.is_alive()


def test_hold_a_number_of_best_seats_and_see_them_on_the_map(client: Driver) -> None:
    client.tab("hold AMC dune-1900 ")  # the counts come first
    client.wait_buffer("hold AMC dune-1900 1")
    client.type(TAB)
    client.wait_buffer("hold AMC dune-1900 2")
    client.type(ENTER)
    out = client.wait_output("yours")
    assert "holding A3 A4 (the 2 best free seats) at AMC dune-1900" in out
    row_a = next(line for line in out.splitlines() if line.startswith("A "))
    assert row_a.split() == ["A", ".", ".", "*", "*", ".", ".", "A"]
    assert [hold.seats for hold in holds(client.served)] == [["A3", "A4"]]


def offer_taken_seats(client: Driver) -> None:
    """Someone else holds B3; this client asks for B3 B4 and is offered the best 2 instead."""
    client.served.balancers["ticketing.loadbalancer.2"].block_seats("AMC", "dune-1900", ["B3"])
    client.type("hold AMC dune-1900 C1" + ENTER)
    client.wait_output("holding C1")
    client.type("hold AMC dune-1900 B3 B4" + ENTER)
    client.wait_output("SeatsUnavailable: seats B3 are taken")
    client.wait_prompt("guide")
    assert client.repl.guide.message == "hold A3 A4 instead? [Y/n] "


def test_refused_seats_offer_the_best_free_ones_and_enter_holds_them(client: Driver) -> None:
    offer_taken_seats(client)
    client.type(ENTER)
    client.wait_output("holding A3 A4 at AMC dune-1900")
    assert sorted(hold.seats for hold in holds(client.served)) == [["A3", "A4"], ["B3"]]
    assert client.repl.session.history.get_strings()[-1] == "hold AMC dune-1900 A3 A4"


def test_a_declined_offer_keeps_the_hold_one_had(client: Driver) -> None:
    offer_taken_seats(client)
    client.type("maybe" + ENTER)
    client.wait_output("answer y or n")
    client.type("n" + ENTER)
    client.wait_output("not held")
    assert client.state.hold is not None and client.state.hold.seats == ("C1",)
    assert sorted(hold.seats for hold in holds(client.served)) == [["B3"], ["C1"]]


def test_ctrl_d_releases_the_open_hold_and_quits(client: Driver) -> None:
    client.type("hold AMC dune-1900 D1-D3" + ENTER)
    client.wait_output("holding D1 D2 D3")
    assert len(holds(client.served)) == 1
    client.type(CTRL_D)
    assert client.wait_exit() == 0
    assert "released your hold on D1 D2 D3" in client.output()
    assert holds(client.served) == []


def test_map_marks_free_held_booked_and_mine(client: Driver) -> None:
    other = client.served.balancers["ticketing.loadbalancer.2"]
    other.book_ticket(other.block_seats("AMC", "dune-1900", ["A1"])["hold_id"], "X", "x@y.z")
    other.block_seats("AMC", "dune-1900", ["A2"])
    client.type("hold AMC dune-1900 A3" + ENTER)
    client.wait_output("holding A3")
    client.type("map AMC dune-1900" + ENTER)
    out = client.wait_output("yours")
    row_a = next(line for line in out.splitlines() if line.startswith("A "))
    assert row_a.split() == ["A", "X", "h", "*", ".", ".", ".", "A"]


def test_fails_over_to_another_balancer_keeping_the_hold(client: Driver) -> None:
    client.type("hold AMC dune-1900 C1 C2" + ENTER)
    client.wait_output("holding C1 C2")
    first = client.connection.current
    assert first is not None
    client.served.kill(first)
    client.type("book Ada ada@example.org" + ENTER)
    client.wait_output("booked ticket")
    assert client.connection.current not in (None, first)
    assert [t["seats"] for t in client.tickets.load()] == [["C1", "C2"]]


def test_unavailable_everywhere_leaves_the_command_one_key_away(client: Driver) -> None:
    """Not on the line (the next command typed would be appended to it): Up brings it back."""
    for balancer in client.served.balancers.values():
        balancer.unavailable = True
    client.type("hold AMC dune-1900 A5" + ENTER)
    client.wait_output("press Up to run it again")
    client.wait_prompt("session")
    assert client.buffer() == ""
    for balancer in client.served.balancers.values():
        balancer.unavailable = False
    client.type(UP)
    client.wait_buffer("hold AMC dune-1900 A5")
    client.type(ENTER)
    client.wait_output("holding A5")


def test_status_lists_every_registered_component(client: Driver) -> None:
    client.type("status" + ENTER)
    out = client.wait_output("ticketing.loadbalancer.2")
    assert "ticketing.loadbalancer.1  loadbalancer  up" in out


def test_toolbar_shows_balancer_and_hold_countdown(client: Driver) -> None:
    client.type("hold AMC dune-1900 B6" + ENTER)
    client.wait_output("holding B6")
    toolbar = plain(client.repl.session.bottom_toolbar())
    assert f"via {client.connection.current}" in toolbar
    assert "hold AMC dune-1900 B6: 4:5" in toolbar or "hold AMC dune-1900 B6: 5:00" in toolbar


def test_ctrl_d_in_a_guided_flow_cancels_it_and_the_client_stays(client: Driver) -> None:
    client.type("hold AMC dune-1900 A6" + ENTER)
    client.wait_output("holding A6")
    client.type("book" + ENTER)
    client.wait_prompt("guide")
    client.type(CTRL_D)
    client.wait_output("cancelled")
    client.wait_prompt("session")
    assert client.thread.is_alive()
    assert [hold.seats for hold in holds(client.served)] == [["A6"]]  # still held
    client.type("exit" + ENTER)
    assert client.wait_exit() == 0
    assert "released your hold on A6" in client.output()


def test_cancel_asks_first_and_ctrl_d_or_no_keeps_the_ticket(client: Driver) -> None:
    client.type("hold AMC dune-1900 D5,D6" + ENTER)
    client.wait_output("holding D5 D6")
    client.type("book Ada Lovelace ada@example.org" + ENTER)
    client.wait_output("booked ticket")
    (ticket,) = client.tickets.load()
    number = ticket["ticket_no"]
    client.type(f"cancel amc {number}" + ENTER)  # the theater in any case
    client.wait_prompt("guide")
    assert client.repl.guide.message == (
        f"cancel ticket {number} (AMC dune-1900 D5 D6, Ada Lovelace) for good? [y/N] "
    )
    client.type(ENTER)  # no, by default
    client.wait_output("not cancelled")
    client.type(f"cancel AMC {number}" + ENTER)
    client.wait_prompt("guide")
    client.type(CTRL_D)
    poll(lambda: client.output().count("cancelled\n") == 2, timeout=10)  # not, then Ctrl-D's
    client.wait_prompt("session")
    assert len(client.served.store.tickets) == 1
    client.type(f"cancel AMC {number}" + ENTER)
    client.wait_prompt("guide")
    client.type("y" + ENTER)
    client.wait_output(f"cancelled ticket {number} at AMC dune-1900 (D5 D6)")
    assert client.served.store.tickets == {}
    client.type(f"cancel AMC {number}" + ENTER)  # again: refused before anything is asked
    client.wait_output(f"TicketNotFound: no ticket {number} at AMC")
    client.type("hepl" + ENTER)
    client.wait_output("unknown command 'hepl' (did you mean help?)")
