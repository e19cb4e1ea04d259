"""Smoke test of the consensus benchmark: it runs, chooses commands, and replicas agree.

Speeds are never asserted (the machine is shared); run/bench_consensus.py is
where the figures come from.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketing.bench.consensus import Counter, main, open_storages, run_bench


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
def test_benchmark_decides_commands_and_replicas_agree(kind: str, tmp_path: Path) -> None:
    with open_storages(kind, tmp_path) as storages:
        # A small snapshot interval so that rebuilding from storage installs a snapshot.
        result = run_bench(storages, kind, 0.5, batch_max=32, window=4, snapshot_every=20)
    assert result.commands > 0 and result.slots > 0 and result.flushes > 0
    assert len(set(result.digests)) == 1, result.digests
    assert result.recovered == result.digests
    count = int(result.digests[0].split(":")[0])
    assert count >= result.commands  # the drained ones come on top of the timed ones


def test_command_line_prints_the_table(tmp_path: Path) -> None:
    lines: list[str] = []
    # A second: on a loaded machine 0.2 s of SQLite syncs could decide nothing at all.
    args = ["--seconds", "1", "--storage", "both", "--batch", "16", "--window", "2"]
    assert main([*args, "--dir", str(tmp_path)], out=lines.append) == 0
    text = "\n".join(lines)
    assert "commands/s" in text and "flushes/s" in text
    assert str(tmp_path) in text  # says where the SQLite files went
    rows = [line.split() for line in text.splitlines() if line.startswith(("memory", "sqlite"))]
    assert [row[0] for row in rows] == ["memory", "sqlite"]
    assert all(row[-1] == "yes" for row in rows)


def test_counter_digest_depends_on_order() -> None:
    one, two = Counter(), Counter()
    for payload in (1, 2):
        one.apply(payload, 1, 0.0)
    for payload in (2, 1):
        two.apply(payload, 1, 0.0)
    assert one.digest() != two.digest()
    three = Counter()
    three.restore(one.snapshot())
    assert three.digest() == one.digest()
