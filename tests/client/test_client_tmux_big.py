"""The real client in an 80x24 terminal (tmux) at a venue wider than the screen, against a real
local cluster whose holds last 6 seconds: the summary map, rows drawn through the pager without
wrapping, the toolbar's countdown in 80 columns, the replaced hold said, the expiry announced
above the waiting prompt. Every wait polls the screen; nothing sleeps."""

from __future__ import annotations

import re
import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import CATALOGS, ROOT, Processes, pick_free_port, poll
from test_client_tmux import CLUSTER, Tmux

pytestmark = [
    pytest.mark.skipif(
        shutil.which("tmux") is None or shutil.which("less") is None,
        reason="tmux and less are needed",
    ),
    # A cluster and a terminal for ~15 s: the default suite's 5 minutes are nearly spent,
    # and the pipe-input tests of test_client_big_venue cover the same views there.
    pytest.mark.slow,
]


ROW = re.compile(r"^([A-Z]{1,2}) +(?:[.hX*] +)+([A-Z]{1,2})$", re.MULTILINE)
"""A seat row drawn whole on one screen line: its label at both ends."""


class SmallTmux(Tmux):
    """The same driver in the 80x24 terminal most people start with."""

    def __init__(self, command: list[str]) -> None:
        self.socket = f"ticketing-test-{uuid.uuid4().hex[:8]}"
        self.run("new-session", "-d", "-s", "client", "-x", "80", "-y", "24", *command)

    def last_line(self) -> str:
        return self.run("capture-pane", "-p", "-t", "client").rstrip("\n").splitlines()[-1]


@pytest.fixture
def terminal(processes: Processes, data_dir: Path, tmp_path: Path) -> Iterator[SmallTmux]:
    catalog = CATALOGS / "wide.toml"
    port = pick_free_port()
    flags = ["--lock-replicas", "1", "--data-replicas", "1", "--load-balancers", "1"]
    proc = processes.spawn(
        CLUSTER, "--ns-port", port, "--data-dir", data_dir, "--catalog", catalog, *flags
    )

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"run/cluster.py exited:\n{processes.output(proc)}")
        return "READY " in processes.output(proc)

    poll(ready, timeout=120, message="READY from run/cluster.py")
    command = [
        *("env", f"XDG_DATA_HOME={tmp_path / 'xdg'}", "PAGER=less"),
        *(sys.executable, str(ROOT / "run" / "client.py"), "--ns-port", str(port)),
        *("--data-dir", str(data_dir)),
    ]
    tmux = SmallTmux(command)
    yield tmux
    tmux.close()
    assert processes.stop(proc) == 0


def test_a_wide_hall_in_80_columns_and_a_hold_that_runs_out(terminal: SmallTmux) -> None:
    terminal.wait_for(r"ticketing>")
    terminal.send("map WIDE gala", "Enter")
    terminal.wait_for(r"1,200 of 1,200 seats free, rows A-AD of 40 seats")
    terminal.wait_for(r"map WIDE gala A-F draws rows A to F")

    terminal.send("map WIDE gala A-Z", "Enter")  # 26 rows in two blocks: taller than 24 lines
    terminal.wait_for(r"(?m)^:\s*$")  # less waits at its prompt
    page = terminal.screen()
    rows = ROW.findall(page)
    assert rows and all(left == right for left, right in rows), page
    assert re.search(r"(?m)^ +1 +2 +3 .* 24$", page), page  # 24 seats to a block
    terminal.send("q")
    terminal.wait_for(r"ticketing> map WIDE gala A-Z\s+ticketing>")

    terminal.send("hold WIDE gala AD36-AD40", "Enter")
    terminal.wait_for(r"holding AD36 AD37 AD38 AD39 AD40")
    poll(lambda: re.search(r"\d:\d\d left$", terminal.last_line()), timeout=10, message="toolbar")
    assert len(terminal.last_line()) <= 80
    terminal.send("hold WIDE gala A1", "Enter")
    terminal.wait_for(r"your hold of A1 replaced the earlier hold of AD36 AD37 AD38 AD39 AD40")
    terminal.wait_for(r"\(released\)")

    terminal.type("map WIDE")  # typed, not entered: the announcement comes while it waits
    terminal.wait_for(r"your hold of A1 at WIDE gala expired; the seats are free")
    terminal.wait_for(r"expired; the seats are free.*\n(.*\n)*ticketing> map WIDE")
    assert "expired, hold again" in terminal.last_line()
