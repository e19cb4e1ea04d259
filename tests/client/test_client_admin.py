"""The operator's `admin` commands against a real cluster: each one as a one-line script
(`-c`), the refusals that change nothing, the client without the secret, `theaters` marking
events not on sale, and the sales report exported as CSV.

The client runs in this process through `launch.main` (the code `run/client.py -c` runs, minus
argument parsing and a Python start per command); one test runs `run/client.py` itself.
"""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import ROOT

from ticketing.client.launch import ClientOptions, main
from ticketing.client.sales_csv import HEADER
from ticketing.security.cluster_key import public_key_path
from ticketing.security.secret import ENV_VAR

LATER = (datetime.now() + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M")
"""A start time safely in the future whenever the test runs (events in the past are refused)."""
LATER_STILL = (datetime.now() + timedelta(days=91)).strftime("%Y-%m-%dT%H:%M")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    running = LocalCluster(tmp_path_factory.mktemp("admin") / "data").start()
    yield running
    running.stop()


def client(
    cluster: LocalCluster, tmp_path: Path, command: str, *, data_dir: Path | None = None
) -> tuple[int, str, str]:
    """Run one command as `run/client.py -c` does: (exit status, stdout, stderr)."""
    options = ClientOptions(
        ns_port=cluster.ns_port,
        data_dir=data_dir or cluster.data_dir,
        command=command,
        tickets_file=tmp_path / "tickets.json",
        cluster_key=public_key_path(cluster.data_dir),
    )
    out, err = io.StringIO(), io.StringIO()
    code = main(options, stdin=io.StringIO(""), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


def ok(cluster: LocalCluster, tmp_path: Path, command: str) -> str:
    code, out, err = client(cluster, tmp_path, command)
    assert (code, err) == (0, ""), f"{command}: {err}"
    return out


def refused(cluster: LocalCluster, tmp_path: Path, command: str) -> str:
    """The one error line of a refused command, which must leave the catalog as it was."""
    before = catalog(cluster)
    code, out, err = client(cluster, tmp_path, command)
    assert code == 1, out
    assert len(err.splitlines()) == 1, err
    assert catalog(cluster) == before
    return err.strip()


def catalog(cluster: LocalCluster) -> list[dict]:
    with cluster.load_balancer() as balancer:
        return balancer.list_catalog()


def event_row(theaters_output: str, event: str) -> str:
    (row,) = [line for line in theaters_output.splitlines() if line.split()[:1] == [event]]
    return row


def book(cluster: LocalCluster, event: str, seats: list[str], name: str, email: str) -> dict:
    with cluster.load_balancer() as balancer:
        hold = balancer.block_seats("AMC", event, seats)
        return balancer.book_ticket(hold["hold_id"], name, email)


def test_run_client_adds_an_event_and_says_so_in_its_exit_status(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    def run(command: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(ROOT / "run" / "client.py"), "-c", command]
        argv += ["--ns-port", str(cluster.ns_port), "--data-dir", str(cluster.data_dir)]
        env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "xdg")}
        return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)

    added = run(f"admin add-event AMC late 'Late show' {LATER}")
    assert (added.returncode, added.stderr) == (0, ""), added.stderr
    assert added.stdout == f"added AMC late: Late show  ({LATER})  sales open\n"
    again = run(f"admin add-event AMC late 'Late show' {LATER}")
    assert again.returncode == 1
    assert again.stderr == "InvalidRequest: theater AMC already has an event late\n"
    # Shown at once, and bookable.
    assert "Late show" in event_row(ok(cluster, tmp_path, "theaters"), "late")
    assert book(cluster, "late", ["A1"], "Ada", "ada@example.org")["seats"] == ["A1"]


def test_refusals_change_nothing(cluster: LocalCluster, tmp_path: Path) -> None:
    past = refused(cluster, tmp_path, "admin add-event AMC old 'Old show' 2020-01-01T20:00")
    assert past.startswith(
        "InvalidRequest: event old would start at 2020-01-01T20:00, which is in the past"
    )
    duplicate = refused(cluster, tmp_path, f"admin add-event AMC dune Again {LATER}")
    assert duplicate == "InvalidRequest: theater AMC already has an event dune"
    nowhere = refused(cluster, tmp_path, "admin add-theater NEW nowhere 'New hall' Paris 2 3")
    assert nowhere.startswith("InvalidRequest: no data cluster 'nowhere' is running")
    assert refused(cluster, tmp_path, "admin stop-sales NOPE dune").startswith(
        "UnknownTheater: no theater 'NOPE'"
    )
    assert refused(cluster, tmp_path, "admin report AMC nope").startswith(
        "UnknownEvent: no event 'nope' at theater AMC"
    )
    # Checked by the client before anything is sent: bad usage, exit status 2.
    before = catalog(cluster)
    assert client(cluster, tmp_path, "admin resize AMC 0 6") == (
        2,
        "",
        "InvalidRequest: rows must be a whole number of at least 1, got '0'\n",
    )
    assert catalog(cluster) == before


def test_without_the_secret_admin_says_what_it_needs_and_changes_nothing(
    cluster: LocalCluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_VAR)
    before = catalog(cluster)
    for command in ("admin stop-sales AMC dune", "admin clusters"):
        code, out, err = client(cluster, tmp_path, command, data_dir=tmp_path)
        assert (code, out) == (1, "")
        assert err == (
            "InvalidRequest: admin commands need the cluster secret: run the client with "
            "--data-dir of the cluster (its cluster.secret, readable by you only) or set "
            "$TICKETING_SECRET; nothing was changed\n"
        )
    code, out, _ = client(cluster, tmp_path, "theaters", data_dir=tmp_path)  # buyers still can
    assert code == 0 and "AMC Cinemas" in out
    monkeypatch.setenv(ENV_VAR, "not-the-cluster-secret")
    code, _, err = client(cluster, tmp_path, "admin stop-sales AMC dune", data_dir=tmp_path)
    assert code == 1
    assert err.startswith("InvalidRequest: the data store manager refused this cluster secret")
    assert err.endswith("; nothing was changed\n")
    assert catalog(cluster) == before


def test_stopped_sales_are_marked_and_refused_until_resumed(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ok(cluster, tmp_path, f"admin add-event AMC matinee Matinee {LATER}")
    said = ok(cluster, tmp_path, "admin stop-sales AMC matinee")
    assert said == f"stopped sales of AMC matinee: Matinee  ({LATER})  sales stopped\n"
    assert event_row(ok(cluster, tmp_path, "theaters"), "matinee").endswith("[sales stopped]")
    code, _, err = client(cluster, tmp_path, "hold AMC matinee 2")
    assert (code, err) == (
        1,
        "SalesClosed: sales of AMC matinee (Matinee) are stopped for now; try again later\n",
    )
    ok(cluster, tmp_path, "admin resume-sales AMC matinee")
    assert event_row(ok(cluster, tmp_path, "theaters"), "matinee").endswith(f"({LATER})")
    assert "holding A3 A4" in ok(cluster, tmp_path, "hold AMC matinee 2")


def test_rescheduled_and_retitled_events_keep_their_tickets(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ok(cluster, tmp_path, f"admin add-event AMC moved 'First title' {LATER}")
    ticket = book(cluster, "moved", ["B1", "B2"], "Bea", "bea@example.org")
    said = ok(cluster, tmp_path, f"admin reschedule AMC moved {LATER_STILL}")
    assert said == f"rescheduled AMC moved: First title  ({LATER_STILL})  sales open\n"
    ok(cluster, tmp_path, "admin retitle AMC moved 'Second title'")
    row = event_row(ok(cluster, tmp_path, "theaters"), "moved")
    assert row.split(None, 1)[1] == f"Second title  ({LATER_STILL})"
    shown = ok(cluster, tmp_path, f"ticket AMC {ticket['ticket_no']}")
    assert "seats    B1 B2" in shown


def test_report_exports_csv_and_a_cancelled_event_lists_its_refunds(
    cluster: LocalCluster, tmp_path: Path
) -> None:
    ok(cluster, tmp_path, f"admin add-event AMC gala Gala {LATER}")
    ticket = book(cluster, "gala", ["C1", "C2"], "Cy Young", "cy@example.org")
    export = tmp_path / "gala.csv"
    report = ok(cluster, tmp_path, f"admin report AMC gala --csv {export}")
    assert "seats   2 sold, 0 held, 22 free (of 24)" in report
    assert f"{ticket['ticket_no']}  C1 C2  Cy Young  cy@example.org" in report
    sold_row = ("AMC", "gala", "Gala", LATER, "C1 C2", "Cy Young", "cy@example.org")
    with export.open(newline="") as rows:
        assert list(csv.reader(rows)) == [
            list(HEADER),
            ["sold", ticket["ticket_no"], *sold_row],
        ]
    # -c asks no question: the event is cancelled, its tickets listed for refunds.
    cancelled = ok(cluster, tmp_path, "admin cancel-event AMC gala")
    assert cancelled.splitlines()[0] == "cancelled AMC gala: 1 ticket(s) listed for refunds"
    assert f"{ticket['ticket_no']}  C1 C2  Cy Young  cy@example.org" in cancelled
    assert event_row(ok(cluster, tmp_path, "theaters"), "gala").endswith("[cancelled]")
    code, _, err = client(cluster, tmp_path, "hold AMC gala 1")
    assert (code, err.split(":")[0]) == (1, "SalesClosed")
    ok(cluster, tmp_path, f"admin report AMC gala --csv {export}")
    with export.open(newline="") as rows:
        assert list(csv.reader(rows))[1:] == [["refund", ticket["ticket_no"], *sold_row]]
    again = refused(cluster, tmp_path, "admin resume-sales AMC gala")
    assert again.startswith("SalesClosed: AMC gala was cancelled")


def test_clusters_a_new_theater_and_its_resizing(cluster: LocalCluster, tmp_path: Path) -> None:
    clusters = ok(cluster, tmp_path, "admin clusters").splitlines()
    assert clusters[0].split() == ["cluster", "catalog", "version", "replicas", "theaters"]
    assert [line.split()[0] for line in clusters[1:]] == ["east", "west"]
    said = ok(cluster, tmp_path, "admin add-theater NEW west 'New hall' Paris 2 3")
    assert said == "added theater NEW to cluster west: New hall, Paris, 2 rows of 3 seats\n"
    assert "NEW  New hall, Paris (6 seats)" in ok(cluster, tmp_path, "theaters")
    assert (
        ok(cluster, tmp_path, "admin resize NEW 3 4")
        == "resized NEW: 3 rows of 4 seats (12 seats)\n"
    )
    ok(cluster, tmp_path, f"admin add-event NEW opening Opening {LATER}")
    with cluster.load_balancer() as balancer:
        hold = balancer.block_seats("NEW", "opening", ["C4"])
        balancer.book_ticket(hold["hold_id"], "Di", "di@example.org")
    shrink = refused(cluster, tmp_path, "admin resize NEW 2 3")
    assert shrink.startswith("InvalidRequest: ") and "C4" in shrink
