"""A fault run's history survives its JSON file: the checker judges the copy as the original."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketing.faults import cli, history_file
from ticketing.faults.checker import check
from ticketing.faults.history import (
    BOOK,
    CANCEL_EVENT,
    HOLD,
    OK,
    OPERATOR,
    UNKNOWN,
    Fault,
    FinalState,
    History,
    Operation,
)

T, E = "AMC", "dune"


def every_field() -> History:
    """A history using every field of every record; it has anomalies (a refund of a
    ticket no client made, among others)."""
    ops = (
        Operation(1, HOLD, T, E, 0.0, 1.0, OK, ("A1", "A2"), "h1", None, 10.0, count=2),
        Operation(1, BOOK, T, E, 1.0, 2.0, OK, ("A1", "A2"), "h1", "t1"),
        Operation(2, BOOK, T, E, 2.0, 3.0, UNKNOWN, ("B1",), "h2", error="Unavailable"),
        Operation(OPERATOR, CANCEL_EVENT, T, "alien", 3.0, 4.0, OK, refunds=("t9",)),
    )
    final = FinalState(
        at=9.0,
        live={"t3": (T, E, ("C1",))},
        unknown_books={"h2": None},
        booked={(T, E): frozenset({"C1"})},
        digests={"east": [(5, "x"), (5, "x")]},
        sales={(T, E): "open", (T, "alien"): "cancelled"},
        refunds={"t9": (T, "alien", ("D1",))},
    )
    faults = (Fault("kill-replica", "datastore-east-1", 1.5, 2.5, 3.0),)
    return History(ops, final, faults, {(T, E): ("lock_server-1", "lock_coordinator")})


def test_a_saved_history_loads_equal_and_is_judged_the_same(tmp_path: Path) -> None:
    original = every_field()
    path = tmp_path / "history.json"
    history_file.save(original, path)
    loaded = history_file.load(path)
    assert loaded == original
    assert check(loaded) == check(original) and check(original)


def test_a_file_that_is_no_history_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "other.json"
    path.write_text('{"runs": []}')
    with pytest.raises(ValueError, match="not a fault run's history"):
        history_file.load(path)


def test_torture_check_judges_a_saved_history_again(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    path = tmp_path / "history.json"
    history_file.save(every_field(), path)
    assert cli.main(["--check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "4 operations" in out
    assert f"anomalies: {len(check(every_field()))}" in out and "phantom-refund" in out
    (tmp_path / "broken.json").write_text("[")
    assert cli.main(["--check", str(tmp_path / "broken.json")]) == 2
