"""Hosts as Linux network namespaces, linked to the root namespace, for real partitions.

Killing or pausing a process (``target``) is a crash; a partition is
different: the process runs on, its peers' calls to it hang until their
timeouts, and it comes back with whatever it decided alone. ``Hosts`` makes
that real without extra machines: host ``i`` is a network namespace
``tk-<pid>-<i>`` joined to the root namespace by a veth pair on its own /30,
``10.213.<i>.1`` on the root side and ``10.213.<i>.2`` (``address(i)``) on
the host side. The root namespace forwards between them, so every host and
the root reach every host; ``cut(i)`` sets the root side of host ``i``'s pair
down (host ``i`` is cut from all others, its processes keep running) and
``heal(i)`` sets it up again.

It needs root and iproute2 (``ip``); ``HostsUnavailable`` says which is
missing. Only the addresses of the namespaces made here are used, and
``teardown()`` removes everything and restores ``ip_forward`` (also at exit).
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

SUBNET = "10.213"  # host i uses 10.213.<i>.0/30
MAX_HOSTS = 250
IP_FORWARD = Path("/proc/sys/net/ipv4/ip_forward")
IP_TIMEOUT = 10.0  # seconds for one `ip` command


class HostsUnavailable(Exception):
    """Network namespaces cannot be made here (not root, no ``ip``, or the kernel refused)."""


def unavailable_reason() -> str | None:
    """Why ``Hosts`` cannot work on this machine, or None when it may."""
    if os.name != "posix" or not Path("/proc/self/ns/net").exists():
        return "network namespaces need Linux"
    if os.geteuid() != 0:
        return "network namespaces need root (run as root to test real partitions)"
    if shutil.which("ip") is None:
        return "network namespaces need iproute2's `ip` command, not found on PATH"
    return None


class Hosts:
    """``count`` network namespaces, each a host with one address, that can be cut and healed."""

    def __init__(self, count: int) -> None:
        if not 1 <= count <= MAX_HOSTS:
            raise ValueError(f"between 1 and {MAX_HOSTS} hosts, not {count}")
        reason = unavailable_reason()
        if reason is not None:
            raise HostsUnavailable(reason)
        self.count = count
        self.tag = f"tk{os.getpid()}"
        self._made: list[int] = []
        self._forward: str | None = None  # ip_forward before we changed it
        atexit.register(self.teardown)
        try:
            self._setup()
        except HostsUnavailable:
            self.teardown()
            raise
        except (OSError, subprocess.SubprocessError) as exc:
            self.teardown()
            raise HostsUnavailable(f"could not make network namespaces: {exc}") from exc

    # --- names and addresses --------------------------------------------------

    def namespace(self, host: int) -> str:
        return f"tk-{os.getpid()}-{host}"

    @staticmethod
    def address(host: int) -> str:
        """The host's own address, reachable from the root namespace and every other host."""
        return f"{SUBNET}.{host}.2"

    @staticmethod
    def gateway(host: int) -> str:
        """The root namespace's end of host ``host``'s link."""
        return f"{SUBNET}.{host}.1"

    def _root_link(self, host: int) -> str:
        return f"{self.tag}r{host}"  # at most 15 characters: tk + pid + r + host

    def _host_link(self, host: int) -> str:
        return f"{self.tag}h{host}"

    # --- running processes on a host ----------------------------------------------

    def command(self, host: int, argv: Sequence[str]) -> list[str]:
        """``argv`` run inside host ``host``'s namespace."""
        return ["ip", "netns", "exec", self.namespace(host), *argv]

    # --- partitions ------------------------------------------------------------

    def cut(self, host: int) -> None:
        """Cut host ``host`` from the root namespace and so from every other host."""
        _ip("link", "set", self._root_link(host), "down")

    def heal(self, host: int) -> None:
        _ip("link", "set", self._root_link(host), "up")

    # --- life cycle -------------------------------------------------------------

    def _setup(self) -> None:
        taken = _ip("-4", "-o", "addr", "show").stdout
        if f" {SUBNET}." in taken:
            raise HostsUnavailable(
                f"addresses in {SUBNET}.0.0/16 are already in use here (another run of "
                "this harness?); wait for it to end or delete its namespaces (`ip netns list`)"
            )
        self._forward = IP_FORWARD.read_text().strip()
        IP_FORWARD.write_text("1\n")
        for host in range(self.count):
            self._made.append(host)
            ns, root, inner = self.namespace(host), self._root_link(host), self._host_link(host)
            _ip("netns", "add", ns)
            _ip("link", "add", root, "type", "veth", "peer", "name", inner)
            _ip("link", "set", inner, "netns", ns)
            _ip("addr", "add", f"{self.gateway(host)}/30", "dev", root)
            _ip("link", "set", root, "up")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/30", "dev", inner)
            _ip("-n", ns, "link", "set", "lo", "up")
            _ip("-n", ns, "link", "set", inner, "up")
            _ip("-n", ns, "route", "add", f"{SUBNET}.0.0/16", "via", self.gateway(host))

    def teardown(self) -> None:
        """Delete every namespace and link made here, restore ``ip_forward``; idempotent."""
        while self._made:
            host = self._made.pop()
            # Deleting the namespace deletes its end of the pair, and so the pair.
            _ip("netns", "delete", self.namespace(host), check=False)
            _ip("link", "delete", self._root_link(host), check=False)
        if self._forward is not None:
            IP_FORWARD.write_text(self._forward + "\n")
            self._forward = None
        atexit.unregister(self.teardown)

    def __enter__(self) -> Hosts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.teardown()


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        ["ip", *args], capture_output=True, text=True, timeout=IP_TIMEOUT, check=False
    )
    if check and result.returncode != 0:
        raise HostsUnavailable(f"`ip {' '.join(args)}` failed: {result.stderr.strip()}")
    return result
