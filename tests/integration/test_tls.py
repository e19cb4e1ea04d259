"""The whole flow over TLS on loopback: certificates from ``ticketing.security.tls``.

Pyro5's SSL is configured per process, so the cluster is started with the
``PYRO_SSL*`` variables in its environment and the client runs as its own
process (``tls_client_child.py``); this test process stays plain.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import ROOT
from Pyro5.api import Proxy
from Pyro5.errors import CommunicationError

pytest.importorskip("cryptography")

from ticketing import names
from ticketing.security.tls import create_ca, issue, tls_environment
from ticketing.server.proxies import name_server_uri

CHILD = ROOT / "tests" / "tls_client_child.py"


def run_child(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(CHILD), *args],
        env={**os.environ, **env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_whole_flow_runs_over_tls_and_plain_callers_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    certs = tmp_path / "certs"
    ca = create_ca(certs)
    cluster_cert = issue(certs, "cluster", ["127.0.0.1", "localhost"])
    client_cert = issue(certs, "client", ["127.0.0.1"])
    for name, value in tls_environment(ca.cert, cluster_cert).items():
        monkeypatch.setenv(name, value)  # inherited by the launcher and every component
    cluster = LocalCluster(tmp_path / "data", load_balancers=1).start()
    try:
        # A client that holds a certificate of the cluster's CA: the flow works.
        assert "FLOW OK" in run_child(tls_environment(ca.cert, client_cert), str(cluster.ns_port))

        # A public client with only the CA certificate (no client certificate)
        # reaches the name server and the load balancers, not the internal objects.
        public = dict(tls_environment(ca.cert, client_cert))
        public["PYRO_SSL_CLIENTCERT"] = public["PYRO_SSL_CLIENTKEY"] = ""
        lock_server = names.lock_server(1)
        out = run_child(public, str(cluster.ns_port), lock_server)
        assert "FLOW OK" in out and "INTERNAL REFUSED" in out, out
        assert "members only" not in out, out  # refused by TLS, before the secret is asked

        # A plain (not TLS) caller gets nowhere, not even to the name server.
        with Proxy(name_server_uri("127.0.0.1", cluster.ns_port)) as ns:
            ns._pyroTimeout = 5.0
            with pytest.raises(CommunicationError):
                ns.ping()
    finally:
        cluster.stop()
