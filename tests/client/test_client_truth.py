"""The client never lies (issue 16, item 4), without a network: the in-memory contract balancer
on a clock the test moves, and the client's own clock with it.

An expired hold is not drawn or released as ours and booking it says so in words; a second
cancel is refused even where the cluster answers it as a retry; ``tickets`` shows what the
cluster still has; ids match whatever their case; names may hold an apostrophe; ``exit``,
``help CMD`` and did-you-mean; ``book`` takes the config's name and e-mail.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from contract_lb import ContractLB, contract_store

from ticketing.client.actions import Actions
from ticketing.client.commands import Book, Cancel, Help, Hold, Param, Quit, ShowMap, parse
from ticketing.client.metadata import Metadata
from ticketing.client.state import ClientState
from ticketing.client.style import plain
from ticketing.client.tickets_file import TicketsFile
from ticketing.client.views import help_view
from ticketing.errors import HoldExpired, HoldNotFound, InvalidRequest, TicketNotFound

TTL = 300.0  # the contract catalog's hold_ttl


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class Client:
    """Actions over one contract balancer; ``other`` books as someone else would."""

    def __init__(self, tmp_path: Path, balancer_class: type[ContractLB] = ContractLB) -> None:
        self.clock = Clock()
        self.store = contract_store(self.clock)
        self.balancer = balancer_class(self.store, "ticketing.loadbalancer.1")
        self.other = ContractLB(self.store, "ticketing.loadbalancer.2")
        self.tickets = TicketsFile(tmp_path / "tickets.json", "cluster-a")
        self.state = ClientState()
        metadata = Metadata(self.balancer, self.tickets)
        self.actions = Actions(
            self.balancer, self.state, self.tickets, metadata, lambda: [], clock=self.clock
        )

    def run(self, line: str) -> str:
        partial = parse(line, self.state.identity)
        assert partial is not None
        return plain(self.actions.run(partial.build()).fragments)

    def expire(self) -> None:
        self.clock.now += TTL + 1


@pytest.fixture
def client(tmp_path: Path) -> Client:
    return Client(tmp_path)


def built(line: str, defaults: dict | None = None):
    partial = parse(line, defaults)
    assert partial is not None
    return partial.build()


def row(out: str, label: str) -> list[str]:
    return next(line for line in out.splitlines() if line.startswith(label + " ")).split()


def test_an_expired_hold_is_not_drawn_as_ours_and_can_be_held_again(client: Client) -> None:
    client.run("hold AMC dune-1900 A1 A2")
    assert row(client.run("map AMC dune-1900"), "A")[1:3] == ["*", "*"]
    client.expire()
    out = client.run("map AMC dune-1900")
    assert row(out, "A")[1:3] == [".", "."]
    assert "yours" not in out
    assert "holding A1 A2" in client.run("hold AMC dune-1900 A1 A2")  # ours again


def test_booking_an_expired_hold_says_so_in_words(client: Client) -> None:
    client.run("hold AMC dune-1900 B1")
    hold_id = client.state.hold.hold_id
    client.expire()
    with pytest.raises(HoldExpired) as refused:
        client.run("book Ada ada@example.org")
    message = str(refused.value)
    assert message.startswith("your hold on B1 at AMC dune-1900 expired at ")
    assert message.endswith("; hold them again: hold AMC dune-1900 B1")
    assert hold_id not in message and "block_seats" not in message
    assert client.state.hold is None


def test_a_hold_the_cluster_no_longer_has_is_told_without_internals(client: Client) -> None:
    client.run("hold AMC dune-1900 B2")
    hold_id = client.state.hold.hold_id
    client.store.holds.clear()  # the cluster lost it before the client's clock says so
    with pytest.raises(HoldNotFound) as refused:
        client.run("book Ada ada@example.org")
    assert str(refused.value) == (
        "your hold on B2 at AMC dune-1900 is gone (it expired or was replaced); "
        "hold them again: hold AMC dune-1900 B2"
    )
    assert hold_id not in str(refused.value)


def test_quitting_or_releasing_an_expired_hold_does_not_claim_to_release_it(
    client: Client,
) -> None:
    client.run("hold AMC dune-1900 C1")
    client.expire()
    out = plain(client.actions.leave())
    assert out == "your hold on C1 at AMC dune-1900 had expired\n"
    client.run("hold AMC dune-1900 C2")
    client.expire()
    out = client.run("release")
    assert "released" not in out and "expired at" in out and "nothing to give back" in out


def test_a_second_cancel_is_refused(client: Client) -> None:
    client.run("hold AMC dune-1900 D1 D2")
    ticket = client.run("book Ada ada@example.org").split()[2]
    assert (
        client.run(f"cancel AMC {ticket}")
        == f"cancelled ticket {ticket} at AMC dune-1900 (D1 D2)\n"
    )
    client.other.book_ticket(
        client.other.block_seats("AMC", "dune-1900", ["D1", "D2"])["hold_id"], "Bo", "bo@x.org"
    )
    with pytest.raises(TicketNotFound):
        client.run(f"cancel AMC {ticket}")


class RetryingBalancer(ContractLB):
    """A cluster that answers a repeated cancel as a retry of the first: True."""

    def delete_ticket(self, theater: str, ticket_no: str) -> bool:
        try:
            return super().delete_ticket(theater, ticket_no)
        except TicketNotFound:
            return True


def test_a_second_cancel_answered_true_still_frees_nothing_in_words(tmp_path: Path) -> None:
    client = Client(tmp_path, RetryingBalancer)
    client.run("hold AMC dune-1900 D3")
    ticket = client.run("book Ada ada@example.org").split()[2]
    client.run(f"cancel AMC {ticket}")
    with pytest.raises(TicketNotFound):
        client.run(f"cancel AMC {ticket}")


def test_tickets_shows_what_the_cluster_still_has_of_this_cluster(client: Client) -> None:
    client.run("hold AMC dune-1900 A5")
    kept = client.run("book Ada ada@example.org").split()[2]
    client.run("hold AMC dune-1900 A6")
    gone = client.run("book Ada ada@example.org").split()[2]
    client.other.delete_ticket("AMC", gone)  # cancelled elsewhere
    other_cluster = {"theater": "AMC", "ticket_no": "x1", "event": "e", "seats": ["A1"]}
    TicketsFile(client.tickets.path, "cluster-b").add({**other_cluster, "name": "Cy"})
    TicketsFile(client.tickets.path).add({**other_cluster, "theater": "NOWHERE", "name": "Di"})

    out = client.run("tickets")
    assert kept in out and gone not in out.split("dropped")[0]
    assert f"dropped from your list: no ticket {gone} at AMC" in out
    assert "(2 ticket(s) of other clusters not shown)" in out
    assert [t["ticket_no"] for t in client.tickets.load()] == [kept, "x1"]  # NOWHERE kept
    assert len(TicketsFile(client.tickets.path).load()) == 3  # the other cluster's kept


def test_ids_match_whatever_their_case_when_only_one_does(client: Client) -> None:
    assert client.actions.resolved(ShowMap("amc", "DUNE-1900")) == ShowMap("AMC", "dune-1900")
    assert client.actions.resolved(Hold("reg", "x", ("A1",))) == Hold("REG", "x", ("A1",))
    assert "AMC dune-1900" in client.run("map amc Dune-1900")


def test_names_with_an_apostrophe_and_the_config_identity() -> None:
    book = parse("book Grace O'Hopper grace@example.org")
    assert book is not None and book.build() == Book("Grace O'Hopper", "grace@example.org")
    assert parse(book.as_line()).build() == book.build()
    assert built('book "Ada Lovelace" ada@example.org') == Book("Ada Lovelace", "ada@example.org")
    with pytest.raises(InvalidRequest, match="close the quote"):
        parse('book "Ada ada@example.org')
    identity = {Param.NAME: "Ada Lovelace", Param.EMAIL: "ada@example.org"}
    assert built("book", identity) == Book("Ada Lovelace", "ada@example.org")
    assert built("book Bo", identity) == Book("Bo", "ada@example.org")
    assert built("book Bo bo@x.org", identity) == Book("Bo", "bo@x.org")
    assert parse("book", {}).missing == [Param.NAME, Param.EMAIL]


def test_exit_help_command_and_did_you_mean() -> None:
    assert built("exit") == Quit()
    assert built("help hold") == Help("hold")
    assert built("help EXIT") == Help("quit")
    assert built("help admin") == Help("admin")
    out = plain(help_view("hold"))
    assert out.startswith("hold THEATER EVENT SEATS|N\n")
    assert "    hold AMC dune-1900 3\n" in out
    assert "admin add-event" in plain(help_view("admin"))
    with pytest.raises(
        InvalidRequest, match=r"unknown command 'tikcets' \(did you mean tickets\?\)"
    ):
        parse("tikcets")
    with pytest.raises(InvalidRequest, match=r"did you mean add-event\?"):
        parse("admin add-evnt AMC")
    with pytest.raises(InvalidRequest, match=r"unknown command 'frobnicate'; type help"):
        parse("frobnicate")


def test_cancel_confirmation_names_the_ticket(client: Client) -> None:
    client.run("hold AMC dune-1900 C5 C6")
    ticket = client.run("book Ada Lovelace ada@example.org").split()[2]
    question = client.actions.cancel_question("AMC", ticket)
    assert question == (
        f"cancel ticket {ticket} (AMC dune-1900 C5 C6, Ada Lovelace) for good? [y/N] "
    )
    assert isinstance(built(f"cancel amc {ticket}"), Cancel)
