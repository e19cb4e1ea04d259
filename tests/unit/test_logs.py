"""Bounded logs: refusals as one short rate-limited line each, files rotated under a cap."""

from __future__ import annotations

import logging
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import ROOT

from ticketing.server.logs import BACKUPS_ENV, MAX_BYTES_ENV, RateLimit, _Refusals


def test_the_rate_limit_lets_a_burst_through_per_period_and_counts_the_rest() -> None:
    limit = RateLimit(burst=2, period=10.0)
    assert limit.allow("a", 0.0) == (True, 0)
    assert limit.allow("a", 1.0) == (True, 0)
    assert limit.allow("a", 2.0) == (False, 0)
    assert limit.allow("a", 3.0) == (False, 0)
    assert limit.allow("b", 3.0) == (True, 0)  # another reason, its own budget
    assert limit.allow("a", 10.0) == (True, 2)  # a new period: says how many were left out
    assert limit.allow("a", 11.0) == (True, 0)


def record(
    name: str, level: int, msg: str, *args: object, exc: BaseException | None = None, line: int = 1
):
    exc_info = (type(exc), exc, exc.__traceback__) if exc else None
    return logging.LogRecord(name, level, __file__, line, msg, args, exc_info)


def pyro_error() -> BaseException:
    """An exception raised inside Pyro5, as one reading a garbled message is."""
    from Pyro5.core import URI

    try:
        URI("garbled")
    except Exception as exc:
        return exc
    raise AssertionError("Pyro5 took 'garbled' for a URI")


def test_a_refusal_is_one_short_line_and_others_keep_their_traceback() -> None:
    refusals = _Refusals(RateLimit(burst=3, period=60.0), clock=lambda: 0.0)
    pasted = record(
        "Pyro5.threadpoolserver",
        logging.WARNING,
        "error during connect/handshake: %s; %s",
        99,
        "Traceback (most recent call last):\n  File ...\nKeyError: 99\n",
    )
    assert refusals.filter(pasted)
    assert pasted.getMessage() == "error during connect/handshake: 99"
    garbled = record(
        "ticketing.server.multiplexer", logging.ERROR, "from %s", "1.2.3.4", exc=pyro_error()
    )
    assert refusals.filter(garbled)
    assert garbled.getMessage().startswith("from 1.2.3.4: PyroError: ")
    assert garbled.exc_info is None
    hostile = record(
        "ticketing.security.membership", logging.WARNING, "refused: %s", "\x1b[2J" * 200
    )
    assert refusals.filter(hostile)
    assert "\x1b" not in hostile.getMessage() and len(hostile.getMessage()) < 250
    try:
        raise ValueError("our own bug")
    except ValueError as exc:
        ours = record("ticketing.server.multiplexer", logging.ERROR, "failed", exc=exc)
    assert refusals.filter(ours) and ours.exc_info is not None  # not a peer's fault: kept whole
    # One line of code, the peer's text already pasted into each message (as Pyro5 does):
    # one reason, however the text varies.
    flood = [
        record("Pyro5.threadpoolserver", logging.WARNING, f"error: {n}", line=2) for n in range(5)
    ]
    assert [refusals.filter(r) for r in flood] == [True, True, True, False, False]
    assert refusals.filter(flood[0])  # decided once per record, for every handler


def test_stdout_and_stderr_files_rotate_under_the_cap(tmp_path: Path) -> None:
    """A component whose output the launcher sends to a file keeps that file under the cap."""
    script = textwrap.dedent(
        """
        import logging, os, sys
        from ticketing.server.logs import setup_logging
        setup_logging(sys.argv[1], "comp")
        for n in range(400):
            logging.getLogger("some.module").warning("line %d %s", n, "x" * 80)
        print("printed last", flush=True)
        os.write(2, b"written to fd 2 last\\n")
        """
    )
    out = tmp_path / "logs" / "comp.out"
    out.parent.mkdir()
    with open(out, "ab") as sink:
        subprocess.run(
            [sys.executable, "-c", script, str(tmp_path)],
            stdout=sink,
            stderr=subprocess.STDOUT,
            env={"PYTHONPATH": str(ROOT), MAX_BYTES_ENV: "4096", BACKUPS_ENV: "2"},
            check=True,
            timeout=60,
        )
    files = sorted(f.name for f in out.parent.iterdir())
    assert files == ["comp.log", "comp.log.1", "comp.log.2", "comp.out", "comp.out.1", "comp.out.2"]
    assert all(f.stat().st_size <= 4096 for f in out.parent.iterdir())
    current = out.read_text()
    assert "line 399" in current and "printed last" in current and "written to fd 2 last" in current
