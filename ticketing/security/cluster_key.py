"""The cluster's signing key: how a public client tells a real load balancer from an impostor.

Clients do not hold the cluster secret (anyone may run one), so the HMAC handshake members use
cannot prove anything to them. The cluster has an Ed25519 key pair instead: load balancers
sign with the private half, clients check with the public half, ``<data-dir>/cluster.pub``.

The private key is derived from the cluster secret (HKDF-SHA256 with a label of its own), not
kept in a file of its own: every process that may act as a balancer holds the secret already
(a balancer is a member towards the lock store and the data stores), anyone holding the secret
could read and change every booking anyway, and one secret is one file to guard and copy
between hosts (or one ``$TICKETING_SECRET``). The launcher writes the public half beside it.

A balancer proves itself twice (``balancer_proof``): its name-server entry carries a signature
over (name, URI), so a client skips an entry an outsider registered without connecting to it;
and in Pyro5's handshake it signs the client's fresh nonce with its own name and address, so a
copied entry, or a process that relays handshakes to a real balancer, fails at connect time.
"""

from __future__ import annotations

import base64
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from ticketing.security.secret import SecretError, load_secret

PUBLIC_FILE = "cluster.pub"
_DERIVATION_LABEL = b"ticketing cluster signing key v1"


class ClusterKeyError(Exception):
    """The cluster's public key is missing, unreadable or not an Ed25519 key."""


@dataclass(frozen=True, slots=True)
class ClusterKey:
    """The public half: checks what a load balancer signed."""

    key: Ed25519PublicKey

    def verifies(self, signature: object, *parts: str) -> bool:
        """Whether ``signature`` (base64 text) is this cluster's over ``parts``."""
        if not isinstance(signature, str) or len(signature) > 200:
            return False
        try:
            raw = base64.b64decode(signature, validate=True)
            self.key.verify(raw, _message(parts))
        except (ValueError, InvalidSignature):
            return False
        return True

    def pem(self) -> bytes:
        return self.key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    def fingerprint(self) -> str:
        """A short tag for messages, so an operator can tell two keys apart."""
        raw = self.key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        return raw.hex()[:16]


@dataclass(frozen=True, slots=True)
class SigningKey:
    """The private half, held by load balancers (derived from the cluster secret)."""

    key: Ed25519PrivateKey

    @classmethod
    def from_secret(cls, secret: str) -> SigningKey:
        seed = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_DERIVATION_LABEL).derive(
            secret.encode()
        )
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    def sign(self, *parts: str) -> str:
        return base64.b64encode(self.key.sign(_message(parts))).decode()

    def public(self) -> ClusterKey:
        return ClusterKey(self.key.public_key())


def _message(parts: tuple[str, ...]) -> bytes:
    # Length-prefixed, so no two different lists of parts give the same bytes.
    return b"".join(f"{len(p.encode())}:".encode() + p.encode() for p in parts)


def public_key_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / PUBLIC_FILE


def write_public_key(data_dir: str | Path, secret: str) -> Path:
    """Write ``<data-dir>/cluster.pub`` for ``secret`` (readable by all; it is public)."""
    path = public_key_path(data_dir)
    pem = SigningKey.from_secret(secret).public().pem()
    if path.exists() and path.read_bytes() == pem:
        return path
    temporary = path.with_name(f".{PUBLIC_FILE}.{os.getpid()}")
    temporary.write_bytes(pem)
    temporary.chmod(0o644)
    temporary.replace(path)  # atomic: a client never reads half a key
    return path


def load_cluster_key(path: str | Path) -> ClusterKey:
    """The public key in ``path`` (PEM); ``ClusterKeyError`` saying what to do otherwise."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ClusterKeyError(
            f"cannot read the cluster key {path}: {exc}; copy cluster.pub from the "
            "cluster's data directory"
        ) from None
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        raise ClusterKeyError(f"{path} is not a PEM public key (expected cluster.pub)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise ClusterKeyError(f"{path} is not an Ed25519 key (expected cluster.pub)")
    return ClusterKey(key)


def find_cluster_key(key_file: str | Path | None, data_dir: str | Path | None) -> ClusterKey | None:
    """The key a client checks balancers with, or None when it has none.

    In order: ``key_file`` (``--cluster-key``; an unreadable one is an error), then
    ``<data-dir>/cluster.pub``, then the one derived from the cluster secret when this user
    can read it (an operator on a member host).
    """
    if key_file is not None:
        return load_cluster_key(key_file)
    if data_dir is not None and public_key_path(data_dir).exists():
        return load_cluster_key(public_key_path(data_dir))
    try:
        return SigningKey.from_secret(load_secret(data_dir)).public()
    except SecretError:
        return None
