"""Plain data as JSON text, refused when JSON would not give it back unchanged.

JSON turns tuples into lists and non-str dict keys into str, silently. A value
that came back changed after a restart would make replicas that read it from
disk differ from replicas that kept it in memory, so the change is caught when
the value is saved, where the caller can still see whose value it is.
"""

from __future__ import annotations

import json
from typing import Any

_encode = json.JSONEncoder(allow_nan=False, separators=(",", ":")).encode
_decode = json.loads


def to_json(plain: Any, what: str) -> str:
    """Encode ``plain``; ValueError names ``what`` when it would not round-trip."""
    try:
        text = _encode(plain)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} cannot be stored as JSON: {exc}") from exc
    if _decode(text) != plain:
        raise ValueError(
            f"{what} would not come back unchanged from JSON: use lists rather than tuples "
            f"and str dict keys only; got {plain!r}"
        )
    return text


def from_json(text: str) -> Any:
    return _decode(text)
