"""run/bench.py runs end to end against a real cluster and writes its JSON (never timed).

A few seconds with 2 users on the small catalog: the point is that the
benchmark cannot rot (flags, counters in status(), the report's keys), not any
speed, which no test asserts.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from conftest import ROOT

from ticketing.bench.stats import percentile, summary_ms
from ticketing.bench.users import STEPS

SMALL_CATALOG = ROOT / "tests" / "catalogs" / "small.toml"


@pytest.mark.timeout(300)
def test_a_short_run_books_and_writes_the_report(tmp_path) -> None:
    out = tmp_path / "bench.json"
    command = [
        sys.executable,
        str(ROOT / "run" / "bench.py"),
        *("--users", "2", "--seconds", "2", "--ceiling-seconds", "0.5"),
        *("--catalog", str(SMALL_CATALOG), "--out", str(out)),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=280, cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]

    results = json.loads(out.read_text())
    assert {"command", "machine", "settings", "runs"} <= results.keys()
    (run,) = results["runs"]
    assert run["probe"]["bookings"] > 0
    assert run["probe"]["calls_per_booking"] > 0  # the components report calls_served
    assert run["probe"]["syncs_per_booking"] > 0  # and disk_syncs
    (level,) = run["levels"]
    assert level["users"] == 2
    assert level["bookings"] > 0
    assert set(level["latency_ms"]) == set(STEPS)
    assert level["latency_ms"]["booking"]["count"] > 0
    assert {"p50", "p95", "p99"} <= level["latency_ms"]["booking"].keys()
    assert set(level["per_booking"]) == {"calls_served", "disk_syncs", "cpu_seconds"}
    assert level["per_booking"]["cpu_seconds"] > 0
    assert level["ceiling_calls_per_s"] > 0
    assert level["ratio"] > 0
    assert run["replica_rss_mb"]
    assert "bookings/s" in done.stdout


def test_percentiles_are_nearest_rank() -> None:
    samples = [0.001 * n for n in range(1, 101)]  # 1 .. 100 ms
    assert percentile(samples, 0.5) == pytest.approx(0.050)
    assert percentile(samples, 0.99) == pytest.approx(0.099)
    summary = summary_ms(reversed(samples))
    assert (summary["count"], summary["p50"], summary["p99"], summary["max"]) == (100, 50, 99, 100)
    assert summary_ms([]) == {"count": 0}


def test_bad_flags_are_refused_with_a_reason() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "run" / "bench.py"), "--users", "0,8"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "positive numbers" in done.stderr
