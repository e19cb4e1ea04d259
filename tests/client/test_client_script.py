"""run/client.py without a terminal: commands from a pipe or --command, plain text out,
an exit status that tells a refusal (1) from bad usage (2) and an unavailable cluster (75)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, NameServer
from contract_lb import ServedBalancers, serve_balancers


@pytest.fixture
def served(nameserver: NameServer) -> Iterator[ServedBalancers]:
    with serve_balancers(nameserver.host, nameserver.port, count=2) as served:
        yield served


def run_client(
    served: ServedBalancers, tmp_path: Path, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable,
        str(ROOT / "run" / "client.py"),
        "--ns-port",
        str(served.ns_port),
        "--data-dir",
        str(tmp_path / "data"),
        *args,
    ]
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
    return subprocess.run(
        command, input=stdin, capture_output=True, text=True, timeout=60, env=env, cwd=ROOT
    )


def test_piped_commands_book_and_list_in_plain_text(served: ServedBalancers, tmp_path: Path):
    script = "theaters\nhold AMC dune-1900 B2-B3\nbook Ada Lovelace ada@example.org\ntickets\n"
    result = run_client(served, tmp_path, stdin=script)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert "\x1b[" not in result.stdout
    assert "AMC  AMC Cinemas, Boston (24 seats)" in result.stdout
    assert "holding B2 B3 at AMC dune-1900" in result.stdout
    saved = (tmp_path / "xdg" / "ticketing" / "tickets.json").read_text()
    (ticket,) = served.store.tickets.values()
    assert ticket["ticket_no"] in saved
    assert f"AMC      dune-1900  B2 B3  Ada Lovelace  {ticket['ticket_no']}" in result.stdout


def test_a_failed_command_sets_the_exit_status(served: ServedBalancers, tmp_path: Path):
    result = run_client(served, tmp_path, stdin="map AMC nope\nhold AMC dune-1900 A1\n")
    assert result.returncode == 1
    assert result.stderr.startswith("UnknownEvent: ")
    assert len(result.stderr.splitlines()) == 1
    assert "holding A1" in result.stdout
    assert "released your hold on A1" in result.stdout  # nobody could book it after the end
    assert served.store.holds == {}


def test_one_command_with_its_own_tickets_file(served: ServedBalancers, tmp_path: Path):
    tickets = tmp_path / "mine.json"
    result = run_client(served, tmp_path, "--tickets-file", str(tickets), "--command", "tickets")
    assert result.returncode == 0
    assert "no tickets booked" in result.stdout
    missing = run_client(served, tmp_path, "--command", "hold AMC")
    assert missing.returncode == 2  # bad usage
    assert missing.stderr == (
        "InvalidRequest: hold needs EVENT SEATS; usage: hold THEATER EVENT SEATS|N\n"
    )


def test_best_available_and_the_alternative_to_taken_seats(served: ServedBalancers, tmp_path):
    served.balancers["ticketing.loadbalancer.1"].block_seats("AMC", "dune-1900", ["A3"])
    script = "hold AMC dune-1900 A3 A4\nhold AMC dune-1900 9\nhold AMC dune-1900 3\n"
    result = run_client(served, tmp_path, stdin=script)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "SeatsUnavailable: seats A3 are taken; pick others from the seat map; "
        "free instead: hold AMC dune-1900 B3 B4",
        "InvalidRequest: count must be from 1 to 5 seats per booking, got 9",
    ]
    assert "holding B2 B3 B4 (the 3 best free seats) at AMC dune-1900" in result.stdout
    row_b = next(line for line in result.stdout.splitlines() if line.startswith("B "))
    assert row_b.split() == ["B", ".", "*", "*", "*", ".", ".", "B"]


def test_no_cluster_is_one_line_not_a_traceback(tmp_path: Path, free_port) -> None:
    port = free_port()
    result = subprocess.run(
        [sys.executable, str(ROOT / "run" / "client.py"), "--ns-port", str(port), "-c", "theaters"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert result.returncode == 75  # EX_TEMPFAIL: retry later
    assert result.stderr.startswith("Unavailable: no load balancer answers")
    assert "Traceback" not in result.stderr
