"""A caller inside one host (network namespace) of a spread cluster, driven over stdin.

A test outside a cut host cannot reach it; this process runs on it
(``Hosts.command``) and calls for the test: one call a line on stdin,
``[name, method, *args]`` as JSON, one answer a line on stdout,
``{"ok": result}`` or ``{"error": class name, "message": text}``. It holds one
``ProxyPool`` (the cluster secret from the environment), so a name it called
once stays reachable while the name server is cut off, as for a component.

Usage: ``python tests/host_caller.py NS_HOST NS_PORT TIMEOUT``.
"""

from __future__ import annotations

import json
import sys

from ticketing.errors import TicketingError, register_with_pyro
from ticketing.server.proxies import ProxyPool


def main() -> None:
    ns_host, ns_port, timeout = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    register_with_pyro()
    pool = ProxyPool(ns_host, ns_port, timeout=timeout)
    for line in sys.stdin:
        name, method, *args = json.loads(line)
        try:
            answer = {"ok": pool.call(name, method, *args)}
        except TicketingError as exc:
            answer = {"error": type(exc).__name__, "message": str(exc)}
        print(json.dumps(answer), flush=True)
    pool.close()


if __name__ == "__main__":
    main()
