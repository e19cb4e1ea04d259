"""One hash of a state machine's plain state, the same on every replica."""

from __future__ import annotations

import hashlib
import json
from typing import Any


def state_digest(plain: Any) -> str:
    """sha256 hex of ``plain`` as canonical JSON (sorted keys, no spaces).

    Replicas compare these in ``status()``; JSON with sorted keys is the same
    bytes on every replica and every Python version for the same state.
    """
    encoded = json.dumps(plain, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(encoded.encode("utf-8")).hexdigest()
