"""The members-only handshake: prove knowledge of the cluster secret, never send it.

Pyro5 lets a proxy send one value when it connects and the daemon answer one
value back (``_pyroHandshake`` / ``validateHandshake``). The secret itself is
never sent: anyone can register a name in the name server, so a caller could
be talking to an impostor. Instead the caller sends a fresh nonce, its clock
and an HMAC of both under the secret; the daemon checks the MAC, that the
clock is within ``WINDOW`` seconds of its own and that the nonce was not seen
before (a recorded handshake cannot be replayed), and answers with an HMAC of
the nonce, which the caller checks in turn: both sides know the secret.

This module is pure (time is passed in); ``membership`` wires it into Pyro5.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from typing import Any

WINDOW = 300.0  # seconds of clock difference accepted between hosts
NONCE_BYTES = 16
_CLIENT_LABEL = "ticketing-member-v1"
_SERVER_LABEL = "ticketing-daemon-v1"


class HandshakeRefused(Exception):
    """The other side did not prove it knows the cluster secret."""


def _mac(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()


def client_hello(secret: str, now: float) -> dict[str, Any]:
    """What a member sends when it connects."""
    nonce = secrets.token_hex(NONCE_BYTES)
    stamp = f"{now:.3f}"
    return {"nonce": nonce, "time": stamp, "mac": _mac(secret, _CLIENT_LABEL, nonce, stamp)}


def server_proof(secret: str, nonce: str) -> dict[str, str]:
    return {"proof": _mac(secret, _SERVER_LABEL, nonce)}


def check_server_proof(secret: str, nonce: str, answer: Any) -> None:
    """Raise ``HandshakeRefused`` unless ``answer`` proves the daemon knows the secret."""
    proof = answer.get("proof") if isinstance(answer, dict) else None
    expected = server_proof(secret, nonce)["proof"]
    if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
        raise HandshakeRefused("the server did not prove it is a member of this cluster")


class Verifier:
    """The daemon's side: checks hellos and remembers the nonces of ``WINDOW``."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._seen: dict[str, float] = {}  # nonce -> time after which it may be forgotten

    def check(self, hello: Any, now: float) -> dict[str, str]:
        """The answer to a valid ``hello``; ``HandshakeRefused`` (saying why) otherwise."""
        if not isinstance(hello, dict):
            raise HandshakeRefused("members only: this object serves cluster members")
        nonce, stamp, mac = hello.get("nonce"), hello.get("time"), hello.get("mac")
        if not all(isinstance(v, str) and 0 < len(v) <= 128 for v in (nonce, stamp, mac)):
            raise HandshakeRefused("members only: malformed handshake")
        if not hmac.compare_digest(mac, _mac(self._secret, _CLIENT_LABEL, nonce, stamp)):
            raise HandshakeRefused("members only: wrong cluster secret")
        try:
            sent = float(stamp)
        except ValueError:
            raise HandshakeRefused("members only: malformed handshake time") from None
        if not math.isfinite(sent) or abs(now - sent) > WINDOW:
            raise HandshakeRefused(
                f"members only: clocks differ by more than {WINDOW:.0f}s; synchronise them"
            )
        self._forget_before(now)
        if nonce in self._seen:
            raise HandshakeRefused("members only: handshake replayed")
        self._seen[nonce] = sent + 2 * WINDOW
        return server_proof(self._secret, nonce)

    def _forget_before(self, now: float) -> None:
        for nonce in [n for n, until in self._seen.items() if until < now]:
            del self._seen[nonce]
