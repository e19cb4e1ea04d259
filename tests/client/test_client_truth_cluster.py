"""The client never lies, against one real local cluster (the small catalog: holds live 4 s).

Driven as scripts are (lines on standard input, ``main`` in this process) and once in a real
terminal (tmux, as ``test_client_tmux``): an expired hold is neither drawn as ours nor booked
with internals in the message, and can be held again; a second cancel of a ticket someone else's
seats now sit on is refused; ``tickets`` drops a ticket cancelled elsewhere; Ctrl-D in a guided
question cancels it instead of quitting (under ``dev.py start`` quitting stops the cluster);
after Unavailable the next command is typed on an empty line.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import ROOT, poll
from test_client_tmux import Tmux

from ticketing import names
from ticketing.catalog import load_catalog
from ticketing.client.launch import ClientOptions, main
from ticketing.security.cluster_key import public_key_path

# A cluster and tmux for ~25 s: the default suite's 5 minutes are nearly spent, and
# test_client_truth covers the same behaviours there without a cluster.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path_factory.mktemp("truth") / "data", load_balancers=1).start()
    yield running
    running.stop()


class Script:
    """Standard input that is no terminal, its lines produced as the test goes."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.lines = lines

    def isatty(self) -> bool:
        return False

    def __iter__(self) -> Iterator[str]:
        return iter(self.lines)


def run(cluster: LocalCluster, tickets: Path, lines: Iterable[str]) -> tuple[int, str, str]:
    """The client reading ``lines`` as from a pipe: (exit status, stdout, stderr)."""
    options = ClientOptions(
        ns_port=cluster.ns_port,
        data_dir=cluster.data_dir,
        tickets_file=tickets,
        cluster_key=public_key_path(cluster.data_dir),
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(options, stdin=Script(lines), stdout=out, stderr=err)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def numbers(tickets: Path) -> list[str]:
    return [ticket["ticket_no"] for ticket in json.loads(tickets.read_text())]


def test_an_expired_hold_is_not_ours_and_can_be_held_again(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ttl = load_catalog(cluster.catalog).hold_ttl

    def lines() -> Iterator[str]:
        held = time.monotonic()
        yield "hold AMC dune A1"
        expired = held + ttl + 0.5
        poll(lambda: time.monotonic() > expired, timeout=ttl + 5, message="the hold to expire")
        yield "map AMC dune"
        yield "book Ada ada@example.org"
        yield "hold amc DUNE A1"  # free again, and ids in any case

    code, out, err = run(cluster, tmp_path / "tickets.json", lines())
    assert code == 1, err
    first_map = out.split("SCREEN")[1]
    assert re.search(r"^A +\. +\. ", first_map, re.M), out  # not "*": the hold expired
    assert "yours" not in first_map
    (line,) = err.splitlines()
    assert re.fullmatch(
        r"HoldExpired: your hold on A1 at AMC dune expired at \d\d:\d\d:\d\d; "
        r"hold them again: hold AMC dune A1",
        line,
    )
    assert out.count("holding A1 at AMC dune") == 2
    assert out.endswith("released your hold on A1\n")  # the second one was live


def test_a_second_cancel_is_refused_and_tickets_drops_what_was_cancelled_elsewhere(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    tickets = tmp_path / "tickets.json"
    code, out, err = run(
        cluster,
        tickets,
        ["hold AMC alien B1 B2", "book Ada ada@example.org", "hold AMC alien C1", "book Ada a@b.c"],
    )
    assert (code, err) == (0, "")
    first, second = numbers(tickets)
    code, out, err = run(cluster, tickets, [f"cancel AMC {first}"])
    assert (code, err, out) == (0, "", f"cancelled ticket {first} at AMC alien (B1 B2)\n")

    balancer = cluster.load_balancer()
    hold = balancer.block_seats("AMC", "alien", ["B1", "B2"])
    theirs = balancer.book_ticket(hold["hold_id"], "Bo", "bo@example.org")
    balancer.delete_ticket("AMC", second)  # cancelled from elsewhere

    code, out, err = run(cluster, tickets, [f"cancel AMC {first}", "tickets"])
    assert code == 1
    assert err.startswith(f"TicketNotFound: no ticket '{first}' at theater AMC"), err
    assert "free" not in out
    assert f"dropped from your list: no ticket '{second}' at theater AMC" in out
    assert "(no tickets booked from this computer yet)" in out
    assert numbers(tickets) == []
    assert balancer.get_ticket_details("AMC", theirs["ticket_no"])["seats"] == ["B1", "B2"]


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_a_terminal_ctrl_d_cancels_a_question_and_unavailable_empties_the_line(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    config = tmp_path / "config" / "ticketing" / "client.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f"ns_port = {cluster.ns_port}\ndata_dir = '{cluster.data_dir}'\n")
    tmux = Tmux(
        [
            "env",
            f"XDG_DATA_HOME={tmp_path / 'xdg'}",
            f"XDG_CONFIG_HOME={tmp_path / 'config'}",
            sys.executable,
            str(ROOT / "run" / "client.py"),
        ]
    )
    try:
        tmux.wait_for(r"ticketing>")
        tmux.type("hold")
        tmux.send("Enter")
        tmux.wait_for(r"AMC +AMC Cinemas, Boston")  # the menu of the theater question
        tmux.send("C-d")
        tmux.wait_for(r"\ncancelled\n")
        tmux.type("hodl")
        tmux.send("Enter")
        tmux.wait_for(r"unknown command 'hodl' \(did you mean hold\?\)")
        assert tmux.alive()

        # Unavailable: the command is not put back on the line, so the next one typed is not
        # appended to it ("theatersstatus"); Up brings it back. (Last: the cluster stays down.)
        cluster.kill(cluster.label(names.load_balancer(1)))
        tmux.type("theaters")
        tmux.send("Enter")
        tmux.wait_for(r"Unavailable: no load balancer answers.*\n.*press Up to run it again")
        tmux.type("status")
        tmux.send("Enter")
        tmux.wait_for(r"ticketing\.nameserver|ticketing\.datastore")
        assert "theatersstatus" not in tmux.screen()
        tmux.send("Up")
        tmux.wait_for(r"ticketing> status\s+via ")  # the line, then the bottom bar
        tmux.send("Up")
        tmux.wait_for(r"ticketing> theaters\s+via ")
        tmux.send("C-u")
        tmux.type("exit")
        tmux.send("Enter")
        poll(lambda: not tmux.alive(), timeout=20, message="the client to quit on exit")
    finally:
        tmux.close()
