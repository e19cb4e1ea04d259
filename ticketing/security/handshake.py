"""The members-only handshake: prove knowledge of the cluster secret, never send it.

Pyro5 lets a proxy send one value when it connects and the daemon answer one
value back (``_pyroHandshake`` / ``validateHandshake``). The secret itself is
never sent: anyone can register a name in the name server, so a caller could
be talking to an impostor. Instead the caller sends a fresh nonce, its clock,
the daemon it is for and an HMAC of the three under the secret; the daemon
checks the MAC and answers with an HMAC of the nonce and target, which the
caller checks in turn: both sides know the secret.

A hello is good for one connection to one daemon, once:

* it names its *target*, ``<object>@<host>:<port>`` from the URI the caller
  resolved, and a daemon refuses a hello for any object it does not serve or
  any address it does not listen on: a hello captured on its way to one
  member is refused by every other;
* its stamp may be at most ``WINDOW`` seconds old and ``CLOCK_SKEW`` seconds
  in the future (clocks of member hosts must agree that closely), and no
  older than the daemon's own start (less ``CLOCK_SKEW``): a hello made for an
  earlier process on the same address is refused by its successor, whose
  memory of nonces starts empty;
* its nonce is remembered for as long as its stamp is acceptable, so the
  same hello sent twice to the same daemon is refused the second time.

This module is pure (time is passed in); ``membership`` wires it into Pyro5.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections.abc import Callable
from typing import Any

WINDOW = 300.0  # seconds a hello may be old (it is sent as soon as it is made)
CLOCK_SKEW = 10.0  # seconds a member's clock may run ahead of (or behind, at start) a daemon's
NONCE_BYTES = 16
MAX_FIELD = 256  # characters of any one field of a hello (a target is an id and an address)
_CLIENT_LABEL = "ticketing-member-v1"
_SERVER_LABEL = "ticketing-daemon-v1"


class HandshakeRefused(Exception):
    """The other side did not prove it knows the cluster secret."""


def _mac(secret: str, *parts: str) -> str:
    return hmac.new(secret.encode(), "|".join(parts).encode(), hashlib.sha256).hexdigest()


def target(obj: str, location: str) -> str:
    """The daemon a hello is for: the object's id and the address it is served at."""
    return f"{obj}@{location}"


def client_hello(secret: str, now: float, target: str) -> dict[str, Any]:
    """What a member sends when it connects to ``target`` (see ``target()``)."""
    nonce = secrets.token_hex(NONCE_BYTES)
    stamp = f"{now:.3f}"
    mac = _mac(secret, _CLIENT_LABEL, nonce, stamp, target)
    return {"nonce": nonce, "time": stamp, "for": target, "mac": mac}


def server_proof(secret: str, nonce: str, target: str) -> dict[str, str]:
    return {"proof": _mac(secret, _SERVER_LABEL, nonce, target)}


def check_server_proof(secret: str, hello: dict[str, Any], answer: Any) -> None:
    """Raise ``HandshakeRefused`` unless ``answer`` proves the daemon knows the secret."""
    proof = answer.get("proof") if isinstance(answer, dict) else None
    expected = server_proof(secret, hello["nonce"], hello["for"])["proof"]
    if not isinstance(proof, str) or not hmac.compare_digest(proof, expected):
        raise HandshakeRefused("the server did not prove it is a member of this cluster")


class Verifier:
    """The daemon's side: checks hellos and remembers the nonces of ``WINDOW``.

    ``is_mine(target)`` says whether a hello's target names this daemon (an
    object it serves, at an address it listens on); ``started`` is when it
    started, by the clock ``check`` is given.
    """

    def __init__(self, secret: str, is_mine: Callable[[str], bool], started: float) -> None:
        self._secret = secret
        self._is_mine = is_mine
        self._started = started
        self._seen: dict[str, float] = {}  # nonce -> time after which it may be forgotten

    def check(self, hello: Any, now: float) -> dict[str, str]:
        """The answer to a valid ``hello``; ``HandshakeRefused`` (saying why) otherwise."""
        if not isinstance(hello, dict):
            raise HandshakeRefused("members only: this object serves cluster members")
        fields = [hello.get(key) for key in ("nonce", "time", "for", "mac")]
        if not all(isinstance(v, str) and 0 < len(v) <= MAX_FIELD for v in fields):
            raise HandshakeRefused("members only: malformed handshake")
        nonce, stamp, aim, mac = fields
        if not hmac.compare_digest(mac, _mac(self._secret, _CLIENT_LABEL, nonce, stamp, aim)):
            raise HandshakeRefused("members only: wrong cluster secret")
        if not self._is_mine(aim):
            raise HandshakeRefused(f"members only: a handshake meant for {aim}, not this daemon")
        try:
            sent = float(stamp)
        except ValueError:
            raise HandshakeRefused("members only: malformed handshake time") from None
        if not math.isfinite(sent) or sent > now + CLOCK_SKEW or sent < now - WINDOW:
            raise HandshakeRefused(
                f"members only: a handshake stamped {sent - now:+.0f} s from this host's clock "
                f"(accepted: {-WINDOW:.0f} to +{CLOCK_SKEW:.0f} s); synchronise the clocks (NTP)"
            )
        if sent < self._started - CLOCK_SKEW:
            raise HandshakeRefused(
                "members only: a handshake made before this daemon started (replayed?); "
                f"if not, the caller's clock is more than {CLOCK_SKEW:.0f} s behind (use NTP)"
            )
        self._forget_before(now)
        if nonce in self._seen:
            raise HandshakeRefused("members only: handshake replayed")
        self._seen[nonce] = sent + WINDOW + CLOCK_SKEW
        return server_proof(self._secret, nonce, aim)

    def _forget_before(self, now: float) -> None:
        for nonce in [n for n, until in self._seen.items() if until < now]:
            del self._seen[nonce]
