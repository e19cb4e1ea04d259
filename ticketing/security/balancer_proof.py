"""A load balancer's proofs that it belongs to the cluster, and the caller's checks of them.

* **Its name-server entry** carries, in Pyro5's registration metadata, a signature over
  (name, URI). A caller lists the entries with their metadata and skips every one whose
  signature does not verify (``verified``): a name an outsider registered, or a real URI moved
  under another name, is never connected to.
* **Its daemon** answers a caller's handshake nonce with a signature over (nonce, the object's
  name, the address the daemon serves at) (``BalancerDaemon``). The caller (``BalancerProxy``)
  checks it against the name and address it dialled, so neither a copied entry pointing at an
  impostor nor an impostor that relays handshakes to a real balancer passes: the real one
  signs its own address, never the impostor's. Callers that send no nonce (plain Pyro5
  clients, which the contract allows) are served as before; the proof is theirs to ask for.

Plain TCP has no channel binding: someone on the network path itself can still hijack a
connection after the handshake. Across hosts, TLS (``tls``) closes that.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable, Mapping
from typing import Any

from Pyro5.api import Daemon, Proxy
from Pyro5.core import URI
from Pyro5.errors import SecurityError

from ticketing.security.cluster_key import ClusterKey, SigningKey

ENTRY_TAG = "ticketing-entry-v1:"  # prefix of the signature in the entry's metadata
_ENTRY_LABEL = "ticketing load balancer entry v1"
_HELLO_LABEL = "ticketing load balancer hello v1"
NONCE_BYTES = 16
_MAX_NONCE = 128  # characters: a longer "nonce" is not from our client


def entry_metadata(key: SigningKey, name: str, uri: str) -> set[str]:
    """The metadata to register ``name`` -> ``uri`` with."""
    return {ENTRY_TAG + key.sign(_ENTRY_LABEL, name, uri)}


def entry_verifies(key: ClusterKey, name: str, uri: str, metadata: Iterable[Any] | None) -> bool:
    """Whether the entry ``name`` -> ``uri`` is signed by the cluster."""
    return any(
        isinstance(item, str)
        and item.startswith(ENTRY_TAG)
        and key.verifies(item[len(ENTRY_TAG) :], _ENTRY_LABEL, name, str(uri))
        for item in metadata or ()
    )


def verified(
    key: ClusterKey | None, listing: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """Split a name-server listing made with ``return_metadata=True``.

    Returns the entries signed by the cluster (name -> URI) and the names skipped. Without a
    key every entry is skipped: an unverifiable entry is never used.
    """
    kept: dict[str, str] = {}
    skipped: list[str] = []
    for name, value in listing.items():
        try:
            uri, metadata = value
        except (TypeError, ValueError):
            skipped.append(str(name))
            continue
        if key is not None and entry_verifies(key, str(name), str(uri), metadata):
            kept[str(name)] = str(uri)
        else:
            skipped.append(str(name))
    return kept, sorted(skipped)


def _hello_parts(nonce: str, name: str, location: str) -> tuple[str, ...]:
    return (_HELLO_LABEL, nonce, name, location)


class BalancerDaemon(Daemon):
    """A daemon that signs, in Pyro5's handshake, the nonce of each caller that sends one.

    Mix it in before the daemon class that serves (``hosting``); call ``prove_as`` before
    serving.
    """

    _balancer_key: SigningKey | None = None
    _balancer_name = ""

    def prove_as(self, key: SigningKey, name: str) -> None:
        self._balancer_key = key
        self._balancer_name = name

    def validateHandshake(self, conn: Any, data: Any) -> Any:
        nonce = data.get("nonce") if isinstance(data, dict) else None
        if self._balancer_key is None or not isinstance(nonce, str):
            return super().validateHandshake(conn, data)
        if not 0 < len(nonce) <= _MAX_NONCE:
            raise SecurityError("malformed handshake nonce")
        location = self.natLocationStr or self.locationStr
        parts = _hello_parts(nonce, self._balancer_name, location)
        return {"proof": self._balancer_key.sign(*parts)}


class BalancerProxy(Proxy):
    """A proxy that, on every (re)connection, makes the balancer prove it holds the cluster key.

    A failed proof closes the connection and raises ``SecurityError``, so nothing is ever sent
    on it.
    """

    def __init__(self, uri: str | URI, key: ClusterKey) -> None:
        object.__setattr__(self, "_cluster_key", key)
        object.__setattr__(self, "_balancer_nonce", "")
        super().__init__(uri)

    @property
    def _pyroHandshake(self) -> dict[str, str]:
        nonce = secrets.token_hex(NONCE_BYTES)
        object.__setattr__(self, "_balancer_nonce", nonce)
        return {"nonce": nonce}

    @_pyroHandshake.setter
    def _pyroHandshake(self, value: Any) -> None:
        """Pyro5's own initial value is ignored: every connection sends a fresh nonce."""

    def _pyroValidateHandshake(self, response: Any) -> None:
        uri = self._pyroUri
        proof = response.get("proof") if isinstance(response, dict) else None
        parts = _hello_parts(self._balancer_nonce, uri.object, uri.location)
        if not self._cluster_key.verifies(proof, *parts):
            self._pyroRelease()  # Pyro5 has kept the connection; nothing may go over it
            raise SecurityError(
                f"{uri.location} did not prove it is this cluster's {uri.object} "
                f"(cluster key {self._cluster_key.fingerprint()}); skipped"
            )
