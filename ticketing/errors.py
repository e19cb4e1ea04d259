"""The failures a caller can see, and how they travel.

Every refusal the system gives is one of these classes, with a message a
person can act on. They travel two ways:

* between processes, as Pyro5 exceptions: ``register_with_pyro`` teaches
  Pyro5's serializer to send only the class name, the message and ``seats``
  (never the server's traceback) and to rebuild the same class on arrival;
* inside the replicated log, as plain result dicts (``to_result`` /
  ``from_result``): a state machine refuses by returning data, never by
  raising, so every replica records the same answer for the same slot.

This module does not import Pyro5 at the top so that the pure layers
(``ticketing.domain``, ``ticketing.consensus``) can use the classes.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any


class TicketingError(Exception):
    """Base class of every failure the contract names.

    The only constructor argument is the message, so ``cls(*exc.args)``
    rebuilds any of them (as Pyro5 and pickle do).
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""

    def __str__(self) -> str:
        return self.message


class InvalidRequest(TicketingError):
    """Wrong type, empty or malformed argument, too many seats, oversized input."""


class UnknownTheater(TicketingError):
    """The theater is not in the catalog (or not hosted where it was asked)."""


class UnknownEvent(TicketingError):
    """The event is not in the catalog for that theater."""


class UnknownSeat(TicketingError):
    """The seat label is well formed but outside the theater's seat map."""


class SeatsUnavailable(TicketingError):
    """Some requested seats are held or booked; ``seats`` lists them.

    The seats are kept in ``args`` next to the message so that rebuilding
    from ``args`` alone (Pyro5's batch wrapper, pickle) keeps them.
    """

    def __init__(self, message: str, seats: Iterable[str] = ()) -> None:
        Exception.__init__(self, message, [str(seat) for seat in seats])

    @property
    def seats(self) -> list[str]:
        return list(self.args[1]) if len(self.args) > 1 else []


class HoldExpired(TicketingError):
    """The hold's lease ran out (or a newer hold superseded it) before booking."""


class HoldNotFound(TicketingError):
    """No hold with that id exists (never made, released, or long gone)."""


class TicketNotFound(TicketingError):
    """No ticket with that number in that theater."""


class Unavailable(TicketingError):
    """No quorum or no route right now; safe to retry; nothing was half-done."""


ERROR_CLASSES: dict[str, type[TicketingError]] = {
    cls.__name__: cls
    for cls in (
        TicketingError,
        InvalidRequest,
        UnknownTheater,
        UnknownEvent,
        UnknownSeat,
        SeatsUnavailable,
        HoldExpired,
        HoldNotFound,
        TicketNotFound,
        Unavailable,
    )
}


def to_result(exc: TicketingError) -> dict[str, Any]:
    """A refusal as plain data, for a state machine's result in the log."""
    seats = exc.seats if isinstance(exc, SeatsUnavailable) else []
    return {"ok": False, "error": type(exc).__name__, "message": exc.message, "seats": seats}


def from_result(result: dict[str, Any]) -> TicketingError:
    """The exception a refusal result stands for, ready to raise to the caller.

    An error name this version does not know becomes a plain ``TicketingError``
    with the same message rather than a crash: a newer replica may know more.
    """
    if result.get("ok", False) is not False:
        raise ValueError(f"not a refusal result: {result!r}")
    message = str(result.get("message", ""))
    cls = ERROR_CLASSES.get(str(result.get("error")), TicketingError)
    if cls is SeatsUnavailable:
        return SeatsUnavailable(message, result.get("seats") or [])
    return cls(message)


def _qualified_name(cls: type) -> str:
    return f"{cls.__module__}.{cls.__name__}"


def _to_dict(exc: TicketingError) -> dict[str, Any]:
    """What goes on the wire: class, message, seats. No traceback, no other attributes."""
    return {
        "__class__": _qualified_name(type(exc)),
        "__exception__": True,
        "args": [exc.message, exc.seats] if isinstance(exc, SeatsUnavailable) else [exc.message],
        "attributes": {},
    }


def _from_dict(classname: str, data: dict[str, Any]) -> TicketingError:
    cls = ERROR_CLASSES[classname.rsplit(".", 1)[-1]]
    args = list(data.get("args") or [])
    message = str(args[0]) if args else ""
    if cls is SeatsUnavailable:
        return SeatsUnavailable(message, args[1] if len(args) > 1 else [])
    return cls(message)


def register_with_pyro() -> None:
    """Make Pyro5 carry these exceptions as themselves; call once per process.

    Without it a client receives them as a ``SerializeError`` about an
    unsupported class. Only the classes of this module are registered, so the
    serializer still refuses every other class a peer might name.
    """
    from Pyro5.api import SerializerBase  # late: the pure layers import this module

    for cls in ERROR_CLASSES.values():
        SerializerBase.register_class_to_dict(cls, _to_dict)
        SerializerBase.register_dict_to_class(_qualified_name(cls), _from_dict)
