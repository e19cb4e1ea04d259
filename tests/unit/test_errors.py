"""The contract's exceptions: as log results, and across a real Pyro5 connection."""

from __future__ import annotations

import pickle
import threading
from collections.abc import Iterator

import pytest
from Pyro5.api import Daemon, Proxy, expose

from ticketing import errors
from ticketing.errors import (
    ERROR_CLASSES,
    InvalidRequest,
    SeatsUnavailable,
    TicketingError,
    Unavailable,
    from_result,
    to_result,
)

CONTRACT_NAMES = {
    "TicketingError",
    "InvalidRequest",
    "UnknownTheater",
    "UnknownEvent",
    "UnknownSeat",
    "SeatsUnavailable",
    "HoldExpired",
    "HoldNotFound",
    "TicketNotFound",
    "Unavailable",
}


def make(name: str) -> TicketingError:
    cls = ERROR_CLASSES[name]
    if cls is SeatsUnavailable:
        return SeatsUnavailable("seats A1, B2 are taken", ["A1", "B2"], ["C5", "C6"])
    if cls is Unavailable:
        return Unavailable("busy, retry", retry_after=1.5)
    return cls(f"something about {name}")


def same_data(back: TicketingError, exc: TicketingError) -> bool:
    """The class's own data survived: seats and alternative, or the retry hint."""
    keys = ("seats", "alternative", "retry_after")
    return all(getattr(back, k, None) == getattr(exc, k, None) for k in keys)


# Extensions: each a subclass of a contract class, so a caller that knows only those copes.
EXTENSIONS = {"SalesClosed": "UnknownEvent"}


def test_every_contract_class_exists_under_the_base() -> None:
    assert set(ERROR_CLASSES) == CONTRACT_NAMES | set(EXTENSIONS)
    for name in CONTRACT_NAMES:
        assert issubclass(getattr(errors, name), TicketingError)
    for name, parent in EXTENSIONS.items():
        assert issubclass(getattr(errors, name), getattr(errors, parent))


def test_message_and_seats() -> None:
    exc = SeatsUnavailable("taken", ("A1",))
    assert str(exc) == "taken" and exc.message == "taken" and exc.seats == ["A1"]
    assert SeatsUnavailable("none").seats == []
    assert SeatsUnavailable("none").alternative == []
    assert str(InvalidRequest("bad")) == "bad"


def test_retry_hint() -> None:
    assert Unavailable("busy").retry_after is None
    hinted = Unavailable("busy", retry_after=2)
    assert str(hinted) == "busy" and hinted.retry_after == 2.0


@pytest.mark.parametrize(
    ("sent", "kept"), [(1.5, 1.5), ("soon", None), (-3, None), (1e9, 60.0), (None, None)]
)
def test_a_retry_hint_from_the_wire_is_sane_or_dropped(sent: object, kept: float | None) -> None:
    """A peer's hint is only advice: garbage, negative or huge values do not reach callers."""
    data = {"__class__": "ticketing.errors.Unavailable", "args": ["busy", sent]}
    back = errors._from_dict("ticketing.errors.Unavailable", data)
    assert type(back) is Unavailable and back.message == "busy" and back.retry_after == kept


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_result_round_trip(name: str) -> None:
    exc = make(name)
    result = to_result(exc)
    assert result["ok"] is False and result["error"] == name
    assert result["message"] == exc.message
    back = from_result(result)
    assert type(back) is type(exc) and back.message == exc.message
    assert getattr(back, "seats", None) == getattr(exc, "seats", None)
    assert getattr(back, "alternative", None) == getattr(exc, "alternative", None)


def test_from_result_unknown_name_and_success() -> None:
    back = from_result({"ok": False, "error": "NewerError", "message": "m", "seats": []})
    assert type(back) is TicketingError and back.message == "m"
    with pytest.raises(ValueError):
        from_result({"ok": True})


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_pickle_keeps_class_message_and_seats(name: str) -> None:
    exc = make(name)
    back = pickle.loads(pickle.dumps(exc))
    assert type(back) is type(exc) and back.message == exc.message
    assert same_data(back, exc)


@expose
class Thrower:
    def throw(self, name: str) -> None:
        raise make(name)


@pytest.fixture(scope="module")
def thrower_uri() -> Iterator[str]:
    errors.register_with_pyro()
    daemon = Daemon(host="127.0.0.1", port=0)
    uri = daemon.register(Thrower())
    loop = threading.Thread(target=daemon.requestLoop, daemon=True)
    loop.start()
    yield str(uri)
    daemon.shutdown()
    loop.join(timeout=10)
    daemon.close()


@pytest.mark.parametrize("name", sorted(CONTRACT_NAMES))
def test_arrives_through_pyro_as_itself(thrower_uri: str, name: str) -> None:
    expected = make(name)
    with Proxy(thrower_uri) as proxy, pytest.raises(TicketingError) as caught:
        proxy.throw(name)
    exc = caught.value
    assert type(exc) is type(expected)
    assert exc.message == expected.message
    assert same_data(exc, expected)
    assert not hasattr(exc, "_pyroTraceback"), "the server's traceback must not travel"
