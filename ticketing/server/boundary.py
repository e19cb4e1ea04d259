"""The edge of a component: only the contract's errors ever cross it.

A remote method that hits a bug must not answer with a traceback (it would
show internals and a class the caller cannot rebuild) nor stop the component.
``contract_errors`` wraps each exposed method in one place: contract errors
pass through, arguments that do not fit the method's signature become
``InvalidRequest``, and anything else is logged with its traceback and
answered as ``Unavailable``, which tells the caller it may retry.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from ticketing.errors import InvalidRequest, TicketingError, Unavailable

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])


def contract_errors(method: F) -> F:
    """Wrap the exposed ``method`` so that it raises contract errors only."""
    signature = inspect.signature(method)
    fits = _positional_fit(signature)

    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs or not fits(len(args)):  # binding costs; a plain call fits by its count
            try:
                signature.bind(self, *args, **kwargs)
            except TypeError as exc:
                message = f"{method.__name__}: {exc}; see the API for its arguments"
                raise InvalidRequest(message) from None
        try:
            return method(self, *args, **kwargs)
        except TicketingError:
            raise
        except Exception:
            log.exception("%s failed unexpectedly", method.__qualname__)
            raise Unavailable(
                f"{method.__name__} failed on an internal error (logged); retry later"
            ) from None

    return guarded  # type: ignore[return-value]


def _positional_fit(signature: inspect.Signature) -> Callable[[int], bool]:
    """Whether that many positional arguments (after ``self``) surely bind, keywords aside."""
    params = list(signature.parameters.values())[1:]
    kinds = inspect.Parameter
    by_position = (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD)
    positional = [p for p in params if p.kind in by_position]
    fewest = sum(1 for p in positional if p.default is p.empty)
    most = float("inf") if any(p.kind is kinds.VAR_POSITIONAL for p in params) else len(positional)
    if any(p.kind is kinds.KEYWORD_ONLY and p.default is p.empty for p in params):
        return lambda count: False  # a required keyword: always bind
    return lambda count: fewest <= count <= most
