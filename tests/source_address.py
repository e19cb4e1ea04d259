"""Calls from other loopback addresses, so that one test host can be many clients.

Linux routes all of 127.0.0.0/8 to the loopback interface, so a socket bound
to 127.0.0.2 before it connects reaches a server on 127.0.0.1 *from*
127.0.0.2, and the per-address quotas count it apart. ``bind_sources``
patches Pyro5's socket factory (in the test process only) so that the
connections a thread opens inside ``from_address`` start there.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from Pyro5 import socketutil

_local = threading.local()
_original = socketutil.create_socket


@contextmanager
def from_address(address: str) -> Iterator[None]:
    """Connections this thread opens in the block start at ``address``."""
    _local.source = address
    try:
        yield
    finally:
        _local.source = None


def bind_sources(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socketutil, "create_socket", _create_socket)


def _create_socket(*args: Any, connect: Any = None, timeout: Any = -1, **kwargs: Any) -> Any:
    source = getattr(_local, "source", None)
    if source is None or not isinstance(connect, tuple) or kwargs.get("sslContext"):
        return _original(*args, connect=connect, timeout=timeout, **kwargs)
    wait = None if timeout in (-1, None) else timeout
    sock = socket.create_connection(connect[:2], timeout=wait, source_address=(source, 0))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
