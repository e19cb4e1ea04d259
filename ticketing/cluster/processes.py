"""What the operating system tells about a cluster's processes: alive, which pid, port taken.

The name server has no ``status()`` to report its pid, so it is found by its
command line; the others report theirs.
"""

from __future__ import annotations

import socket
from itertools import pairwise
from pathlib import Path

from ticketing.cluster.plan import NAME_SERVER


class ClusterFailed(Exception):
    """The cluster did not come up, or a process of it is not there; the message says which."""


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not reaped yet, does not)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except OSError:
        return False


def name_server_pid(ns_port: int) -> int:
    """The pid of the live name server started for port ``ns_port`` (it has no status())."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        pairs = set(pairwise(args))
        started = ("-m", NAME_SERVER) in pairs or any(
            Path(arg).name in ("nameserver.py", "ticketing-nameserver") for arg in args
        )
        if started and ("--ns-port", str(ns_port)) in pairs and alive(int(entry.name)):
            return int(entry.name)
    raise ClusterFailed(f"no name server process on port {ns_port}")


def port_in_use(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port nobody listens on now (the OS's pick), for a cluster's name server."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
