"""Members only: internal objects refuse callers without the cluster secret.

Unit tests of the handshake (pure), then a real cluster: every internal
object refuses a plain caller and a caller with a wrong secret before any
method runs, serves one with the secret, and the load balancers stay public.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError, SecurityError

from ticketing import names
from ticketing.security.handshake import (
    CLOCK_SKEW,
    WINDOW,
    HandshakeRefused,
    Verifier,
    check_server_proof,
    client_hello,
)
from ticketing.security.membership import MemberProxy, is_internal
from ticketing.security.secret import (
    ENV_VAR,
    SecretError,
    ensure_secret,
    load_secret,
    secret_path,
)

SECRET = "s" * 32

# --- the handshake, pure ----------------------------------------------------------


LOCK_1 = "ticketing.lock.server.1@127.0.0.1:4001"
LOCK_2 = "ticketing.lock.server.2@127.0.0.1:4002"


def verifier(secret: str = SECRET, mine: str = LOCK_1, started: float = 0.0) -> Verifier:
    """The verifier of a daemon serving ``mine`` since ``started``."""
    return Verifier(secret, lambda aim: aim == mine, started)


def test_a_member_hello_is_accepted_once_and_the_daemon_proves_itself() -> None:
    daemon = verifier()
    hello = client_hello(SECRET, now=1000.0, target=LOCK_1)
    answer = daemon.check(hello, now=1001.0)
    check_server_proof(SECRET, hello, answer)
    assert SECRET not in repr(hello) and SECRET not in repr(answer)
    with pytest.raises(HandshakeRefused, match="replayed"):
        daemon.check(hello, now=1002.0)


@pytest.mark.parametrize(
    "hello",
    [
        None,
        "hello",
        42,
        {},
        {"nonce": "a", "time": "1000.000", "mac": "0" * 64},
        {"nonce": "a", "time": "1000.000", "for": LOCK_1, "mac": "0" * 64},
        {"nonce": "a", "time": "1000.000", "for": "x" * 10_000, "mac": "0" * 64},
        [1, 2],
    ],
)
def test_anything_but_a_member_hello_is_refused(hello: object) -> None:
    with pytest.raises(HandshakeRefused, match="members only"):
        verifier().check(hello, now=1000.0)


def test_a_wrong_secret_or_a_stale_clock_is_refused() -> None:
    with pytest.raises(HandshakeRefused, match="wrong cluster secret"):
        verifier().check(client_hello("x" * 32, now=1000.0, target=LOCK_1), now=1000.0)
    with pytest.raises(HandshakeRefused, match="synchronise the clocks"):
        verifier().check(client_hello(SECRET, 1000.0, LOCK_1), now=1000.0 + WINDOW + 1)


def test_a_hello_for_another_daemon_is_refused() -> None:
    """Captured on its way to lock server 2, a hello is no good at lock server 1."""
    captured = client_hello(SECRET, now=1000.0, target=LOCK_2)
    with pytest.raises(HandshakeRefused, match=f"meant for {LOCK_2}, not this daemon"):
        verifier().check(captured, now=1000.0)
    # Re-aimed at lock server 1 without the secret, its MAC no longer matches.
    with pytest.raises(HandshakeRefused, match="wrong cluster secret"):
        verifier().check({**captured, "for": LOCK_1}, now=1000.0)


def test_future_stamps_are_refused_beyond_the_clock_skew() -> None:
    verifier().check(client_hello(SECRET, 1000.0 + CLOCK_SKEW - 1, LOCK_1), now=1000.0)
    for ahead in (CLOCK_SKEW + 1, 299.0):
        with pytest.raises(HandshakeRefused, match=r"stamped \+\d+ s .*synchronise"):
            verifier().check(client_hello(SECRET, 1000.0 + ahead, LOCK_1), now=1000.0)


def test_a_hello_made_before_the_daemon_started_is_refused() -> None:
    """A restarted daemon on the same address has forgotten the nonces its predecessor saw."""
    made = client_hello(SECRET, now=1000.0, target=LOCK_1)
    with pytest.raises(HandshakeRefused, match="before this daemon started"):
        verifier(started=1000.0 + CLOCK_SKEW + 1).check(made, now=1000.0 + CLOCK_SKEW + 2)
    verifier(started=1000.0 + CLOCK_SKEW - 1).check(made, now=1000.0 + CLOCK_SKEW)


def test_a_daemon_without_the_secret_does_not_convince_the_caller() -> None:
    hello = client_hello(SECRET, now=1000.0, target=LOCK_1)
    impostor = verifier("i" * 32)
    with pytest.raises(HandshakeRefused):
        check_server_proof(SECRET, hello, "hello")
    with pytest.raises(HandshakeRefused):
        forged = impostor.check(client_hello("i" * 32, now=1000.0, target=LOCK_1), now=1000.0)
        check_server_proof(SECRET, hello, forged)
    # A member's proof for another hello (another target or nonce) does not do either.
    other = client_hello(SECRET, now=1000.0, target=LOCK_1)
    with pytest.raises(HandshakeRefused):
        check_server_proof(SECRET, hello, verifier().check(other, now=1000.0))


# --- the secret file -----------------------------------------------------------------


def test_the_secret_file_is_created_once_with_mode_0600(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    path = ensure_secret(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    first = load_secret(tmp_path)
    ensure_secret(tmp_path)
    assert load_secret(tmp_path) == first and len(first) >= 32


def test_the_environment_wins_and_bad_secrets_are_refused(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    with pytest.raises(SecretError, match="no cluster secret"):
        load_secret(tmp_path)
    ensure_secret(tmp_path)
    os.chmod(secret_path(tmp_path), 0o644)
    with pytest.raises(SecretError, match="chmod 600"):
        load_secret(tmp_path)
    monkeypatch.setenv(ENV_VAR, "short")
    with pytest.raises(SecretError, match="shorter"):
        load_secret(tmp_path)
    monkeypatch.setenv(ENV_VAR, SECRET)
    assert load_secret(tmp_path) == SECRET


# --- a real cluster ----------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    local = LocalCluster(tmp_path_factory.mktemp("auth"), load_balancers=1).start()
    try:
        yield local
    finally:
        local.stop()


def internal_names(cluster: LocalCluster) -> list[str]:
    found = [c.name for c in cluster.components.values() if c.name and is_internal(c.name)]
    assert len(found) >= 5  # lock servers, lock coordinator, replicas, coordinators, manager
    return found


def test_every_internal_object_refuses_a_caller_without_the_secret(cluster: LocalCluster) -> None:
    for name in internal_names(cluster):
        uri = cluster.pool.resolve(name, refresh=True)
        with Proxy(uri) as plain, pytest.raises(CommunicationError, match="members only"):
            plain._pyroTimeout = 5.0
            plain.status()
        with MemberProxy(uri, "w" * 32) as wrong, pytest.raises(CommunicationError):
            wrong._pyroTimeout = 5.0
            wrong.status()


def test_every_internal_object_serves_a_member(cluster: LocalCluster) -> None:
    secret = os.environ[ENV_VAR]
    for name in internal_names(cluster):
        with MemberProxy(cluster.pool.resolve(name), secret) as member:
            member._pyroTimeout = 5.0
            assert member.status()["name"].startswith(name)


def test_load_balancers_stay_public_and_a_member_proxy_wants_proof(cluster: LocalCluster) -> None:
    uri = cluster.pool.resolve(names.load_balancer(1))
    with Proxy(uri) as anyone:
        anyone._pyroTimeout = 5.0
        assert anyone.list_theaters()
    with MemberProxy(uri, os.environ[ENV_VAR]) as member, pytest.raises(SecurityError):
        member._pyroTimeout = 5.0
        member.status()  # a public daemon cannot prove membership: no secret-bound trust
