"""The client library (``ticketing.client.connect``): the README's example, run as written
against a real cluster in a fresh interpreter, and the retries of ``Unavailable``."""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import ROOT

from ticketing.client import Connection
from ticketing.errors import Unavailable


def readme_example() -> str:
    """The Python block of the README's "The client library" section."""
    section = (ROOT / "README.md").read_text().split("## The client library", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory):
    running = LocalCluster(tmp_path_factory.mktemp("library"), load_balancers=2).start()
    yield running
    running.stop()


def run_example(cluster: LocalCluster, workdir: Path) -> subprocess.CompletedProcess:
    """The example in a new interpreter that registers nothing itself, from ``workdir``;
    pointed at the test cluster, whose small catalog calls the example's event ``dune``."""
    code = readme_example().replace('"127.0.0.1", 9090', f'"127.0.0.1", {cluster.ns_port}')
    code = code.replace('data_dir="data"', f"data_dir={str(cluster.data_dir)!r}")
    code = code.replace('"dune-1900"', '"dune"')
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=workdir,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_the_readme_example_books_and_a_refusal_arrives_as_itself(cluster, tmp_path) -> None:
    assert len(readme_example().strip().splitlines()) <= 10, "the README promises ten lines"
    first = run_example(cluster, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.split(" ", 1)[1].strip() == "['A1', 'A2']"
    # A1 and A2 are booked now: the second run's hold is refused with SeatsUnavailable (as
    # itself, or the example would die of a SerializeError) and it books the best two instead.
    second = run_example(cluster, tmp_path)
    assert second.returncode == 0, second.stderr
    seats = second.stdout.split(" ", 1)[1]  # after the ticket number, which may hold "A1"
    assert "A1" not in seats and "A2" not in seats


class Flaky(Connection):
    """No balancer answers for the first ``failures`` rounds."""

    def __init__(self, failures: int, **kwargs) -> None:
        super().__init__("127.0.0.1", 1, rng=random.Random(1), **kwargs)
        self.failures = failures
        self.rounds = 0

    def _call_each(self, method: str, *args):
        self.rounds += 1
        if self.rounds <= self.failures:
            raise Unavailable("no quorum right now; retry")
        return f"{method} answered"


def test_unavailable_is_retried_with_pauses_while_patience_lasts() -> None:
    assert Flaky(2, retry_patience=10.0).call("list_theaters") == "list_theaters answered"
    impatient = Flaky(2)  # the interactive client's default: a person decides
    with pytest.raises(Unavailable):
        impatient.call("list_theaters")
    assert impatient.rounds == 1
    short = Flaky(100, retry_patience=1.0)
    with pytest.raises(Unavailable):
        short.call("list_theaters")
    assert 2 <= short.rounds < 10, "pauses grow: a second of patience is a few rounds"
