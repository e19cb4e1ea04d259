"""End to end: the real client in a real terminal (tmux) against the real local cluster.

Book two seats from the seat map using Tab completion, see the ticket, cancel it. Every wait
polls the screen (capture-pane) for what a person would wait for; nothing sleeps.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import ROOT, Processes, pick_free_port, poll

CLUSTER = ROOT / "run" / "cluster.py"

pytestmark = [
    pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed"),
    pytest.mark.skipif(
        not CLUSTER.exists(),
        reason="run/cluster.py does not exist yet; this test runs as soon as it does",
    ),
]


class Tmux:
    """One tmux server of our own (its own socket), one window running the client."""

    def __init__(self, command: list[str]) -> None:
        self.socket = f"ticketing-test-{uuid.uuid4().hex[:8]}"
        self.run("new-session", "-d", "-s", "client", "-x", "150", "-y", "50", *command)

    def run(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        if result.returncode != 0:
            raise RuntimeError(f"tmux {args[0]} failed: {result.stderr.strip()}")
        return result.stdout

    def send(self, *keys: str) -> None:
        self.run("send-keys", "-t", "client", *keys)

    def type(self, text: str) -> None:
        self.run("send-keys", "-t", "client", "-l", text)

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "client", "-S", "-200")

    def wait_for(self, pattern: str, timeout: float = 30.0) -> re.Match[str]:
        def found() -> re.Match[str] | None:
            return re.search(pattern, self.screen())

        try:
            return poll(found, timeout=timeout, message=pattern)
        except AssertionError:
            raise AssertionError(f"{pattern!r} never showed; screen:\n{self.screen()}") from None

    def complete(self, text: str, menu_line: str) -> None:
        """Type `text`, wait until the completion menu shows `menu_line` (a pattern found only
        in the menu, so the Tab does not race the completer), then press Tab."""
        self.type(text)
        self.wait_for(menu_line)
        self.send("Tab")

    def alive(self) -> bool:
        try:
            self.run("has-session", "-t", "client")
        except RuntimeError:
            return False
        return True

    def close(self) -> None:
        if self.alive():
            self.run("kill-server")


@pytest.fixture
def cluster(processes: Processes, data_dir: Path) -> Iterator[int]:
    port = pick_free_port()
    proc = processes.spawn(CLUSTER, "--ns-port", port, "--data-dir", data_dir, label="cluster")

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"run/cluster.py exited:\n{processes.output(proc)}")
        return "READY " in processes.output(proc)

    poll(ready, timeout=120, message="READY from run/cluster.py")
    yield port
    assert processes.stop(proc) == 0


@pytest.fixture
def tmux(cluster: int, tmp_path: Path) -> Iterator[Tmux]:
    command = [
        "env",
        f"XDG_DATA_HOME={tmp_path / 'xdg'}",
        sys.executable,
        str(ROOT / "run" / "client.py"),
        "--ns-port",
        str(cluster),
        "--data-dir",
        str(tmp_path / "client"),
    ]
    terminal = Tmux(command)
    yield terminal
    terminal.close()


def test_book_two_seats_see_the_ticket_and_cancel_it(tmux: Tmux) -> None:
    tmux.wait_for(r"ticketing>")
    tmux.send("map AMC dune-1900", "Enter")
    tmux.wait_for(r"-+ SCREEN -+")
    tmux.wait_for(r"\. free +h held +X booked")

    tmux.complete("ho", r"hold +hold seats for a few minutes")
    tmux.complete(" AM", r"AMC +AMC Cinemas, Boston")
    tmux.complete(" dune", r"dune-1900 +Dune")
    tmux.complete(" A1-", r"A1-A2 +2 seats")
    tmux.wait_for(r"ticketing> hold AMC dune-1900 A1-A2")
    tmux.send("Enter")
    tmux.wait_for(r"holding A1 A2 at AMC dune-1900")
    tmux.wait_for(r"hold AMC dune-1900 A1 A2: \d:\d\d left")  # the toolbar

    tmux.type("book Ada Lovelace ada@example.org")
    tmux.send("Enter")
    ticket_no = tmux.wait_for(r"booked ticket (\S+)").group(1)
    tmux.send("ticket", "Enter")
    tmux.wait_for(rf"ticket {ticket_no}\s+theater  AMC\s+event    dune-1900\s+seats    A1 A2")

    tmux.complete("cancel AMC ", re.escape(ticket_no) + r" +AMC dune-1900 A1 A2")
    # The completed line (the menu shows the number without "cancel AMC"); not anchored on
    # the prompt, which a loaded machine may leave half redrawn while the menu closes.
    tmux.wait_for(rf"cancel AMC {ticket_no}")
    tmux.send("Enter")
    tmux.wait_for(r"A1 A2, Ada Lovelace\) for good\? \[y/N\]")
    tmux.type("y")
    tmux.send("Enter")
    tmux.wait_for(rf"cancelled ticket {ticket_no} at AMC dune-1900 \(A1 A2\)")

    tmux.send("C-d")
    poll(lambda: not tmux.alive(), timeout=20, message="the client to quit on Ctrl-D")
