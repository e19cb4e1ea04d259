"""Writes that arrive while a submit is in flight share the next one, and its answer."""

from __future__ import annotations

import threading
from concurrent.futures import Future, ThreadPoolExecutor

import pytest
from conftest import poll

from ticketing.errors import Unavailable
from ticketing.server.submit_combiner import SubmitCombiner


class Coordinator:
    """Records each submit; the first one hangs until ``release`` is set.

    ``fail_from``: the number of the first call that answers ``Unavailable``.
    """

    def __init__(self, fail_from: int | None = None) -> None:
        self.calls: list[list] = []
        self.entered = threading.Event()
        self.release = threading.Event()
        self.fail_from = fail_from

    def send(self, commands: list) -> int:
        self.calls.append([request_id for request_id, _ in commands])
        if len(self.calls) == 1:
            self.entered.set()
            self.release.wait(10)
        if self.fail_from is not None and len(self.calls) >= self.fail_from:
            raise Unavailable("no quorum; retry")
        return 10 * len(self.calls)


def queued_behind_a_hung_call(
    coordinator: Coordinator, combiner: SubmitCombiner, pool: ThreadPoolExecutor, behind: int
) -> tuple[Future, list[Future]]:
    """A first write whose submit hangs, ``behind`` more queued behind it; then the release."""
    first = pool.submit(combiner.submit, [["w0", {}]])
    assert coordinator.entered.wait(10)
    rest = [pool.submit(combiner.submit, [[f"w{i}", {}]]) for i in range(1, behind + 1)]
    poll(lambda: combiner.waiting() == behind, message=f"{behind} writers queued")
    coordinator.release.set()
    return first, rest


def test_writes_queued_behind_a_submit_share_the_next_call() -> None:
    coordinator = Coordinator()
    combiner = SubmitCombiner(coordinator.send)
    with ThreadPoolExecutor(max_workers=6) as pool:
        first, rest = queued_behind_a_hung_call(coordinator, combiner, pool, 5)
        assert first.result(10) == 10
        assert [f.result(10) for f in rest] == [20] * 5
    assert coordinator.calls[0] == ["w0"]
    assert coordinator.calls[1:] == [["w1", "w2", "w3", "w4", "w5"]]


def test_every_writer_of_a_failed_call_gets_the_error() -> None:
    coordinator = Coordinator(fail_from=2)
    combiner = SubmitCombiner(coordinator.send)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first, rest = queued_behind_a_hung_call(coordinator, combiner, pool, 3)
        assert first.result(10) == 10
        for future in rest:
            with pytest.raises(Unavailable, match="no quorum"):
                future.result(10)
    assert len(coordinator.calls) == 2
    with pytest.raises(Unavailable):  # not stuck behind the failed call: sent on its own
        combiner.submit([["later", {}]])
    assert coordinator.calls[-1] == ["later"]


def test_a_lone_write_goes_at_once() -> None:
    coordinator = Coordinator()
    coordinator.release.set()
    combiner = SubmitCombiner(coordinator.send)
    assert combiner.submit([["a", {}], ["b", {}]]) == 10
    assert coordinator.calls == [["a", "b"]]


def test_writers_queued_behind_a_failed_call_fail_with_it_not_one_timeout_later() -> None:
    coordinator = Coordinator(fail_from=1)
    combiner = SubmitCombiner(coordinator.send)
    with ThreadPoolExecutor(max_workers=4) as pool:
        first, rest = queued_behind_a_hung_call(coordinator, combiner, pool, 3)
        for future in [first, *rest]:
            with pytest.raises(Unavailable, match="no quorum"):
                future.result(10)
    assert coordinator.calls == [["w0"]]  # the queued writers were never sent
