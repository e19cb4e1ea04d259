"""The client waits as a shedding balancer asks, and fails over at once from a broken one."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from ticketing.client import connection as connection_module
from ticketing.client.connection import Connection
from ticketing.errors import Unavailable


class Balancer:
    """Answers ``list_theaters`` after refusing it with each of ``refusals`` in turn."""

    def __init__(self, *refusals: Unavailable) -> None:
        self.refusals = list(refusals)
        self.calls = 0

    def _pyroClaimOwnership(self) -> None:
        pass

    def _pyroRelease(self) -> None:
        pass

    def list_theaters(self) -> list[Any]:
        self.calls += 1
        if self.refusals:
            raise self.refusals.pop(0)
        return []


def patch_sleep(monkeypatch: pytest.MonkeyPatch, sleep: Callable[[float], None]) -> None:
    """The client's waits go to ``sleep`` instead of the clock."""
    clock = SimpleNamespace(sleep=sleep, monotonic=time.monotonic)
    monkeypatch.setattr(connection_module, "time", clock, raising=False)


def connect(balancers: dict[str, Balancer], **options: Any) -> Connection:
    connection = Connection("127.0.0.1", 1, rng=random.Random(1), **options)
    connection._known = {name: f"PYRO:{name}@127.0.0.1:1" for name in balancers}
    connection._connect = balancers.__getitem__  # type: ignore[method-assign]
    return connection


def test_a_shedding_balancer_is_asked_again_after_its_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    waits: list[float] = []
    patch_sleep(monkeypatch, waits.append)
    busy = Balancer(Unavailable("busy", retry_after=0.2), Unavailable("busy", retry_after=0.4))
    assert connect({"lb.1": busy}).list_theaters() == []
    assert busy.calls == 3
    assert 0.2 <= waits[0] <= 0.4 and 0.4 <= waits[1] <= 0.8  # the hint, with jitter


def test_patience_runs_out_and_the_refusal_reaches_the_user(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    patch_sleep(monkeypatch, lambda seconds: None)
    busy = Balancer(*[Unavailable("busy", retry_after=1.0)] * 100)
    with pytest.raises(Unavailable, match="busy"):
        connect({"lb.1": busy}, shed_patience=5.0).list_theaters()
    assert 3 <= busy.calls <= 7  # about 5 s of waits of 1 to 2 s each


def test_a_refusal_without_hint_fails_over_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    waits: list[float] = []
    patch_sleep(monkeypatch, waits.append)
    broken, healthy = Balancer(Unavailable("no quorum")), Balancer()
    connection = connect({"lb.1": broken, "lb.2": healthy})
    connection.current = "lb.1"
    assert connection.list_theaters() == []
    assert (broken.calls, healthy.calls, waits) == (1, 1, [])
