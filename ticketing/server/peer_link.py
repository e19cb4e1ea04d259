"""One sender thread per peer, so a slow or dead peer never stalls the others.

The coordinator hands every outgoing consensus message to the link of its
destination and goes on. The link's thread owns its proxy (a Pyro5 proxy
belongs to one thread), drains its queue, merges what can be merged (several
Accepts of one ballot become one call, several Decides one oneway call) and
feeds each reply back through ``on_reply``. Messages to a peer that is down
are dropped after the call fails: the proposer resends what still matters.

Decisions are not urgent: the replica that submitted a command learned its
value with the answer to ``submit``. A queue holding only Decides waits up to
``DECIDE_LINGER`` for an Accept (under load, the next batch; idle, the
heartbeat) to carry them, which saves a call per decision and peer.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

from ticketing.consensus import codec
from ticketing.consensus.coalesce import coalesce
from ticketing.consensus.messages import Decide, Message
from ticketing.errors import TicketingError
from ticketing.server.proxies import ProxyPool

log = logging.getLogger(__name__)

DECIDE_LINGER = 0.05  # seconds Decides wait for an Accept to ride on


class PeerLink:
    def __init__(self, peer: str, pool: ProxyPool, on_reply: Callable[[Message], None]) -> None:
        self.peer = peer
        self._pool = pool
        self._on_reply = on_reply
        self._queue: queue.SimpleQueue[Message | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=f"link-{peer}", daemon=True)
        self._thread.start()
        self.reachable = True

    def send(self, message: Message) -> None:
        self._queue.put(message)

    def close(self) -> None:
        self._queue.put(None)

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            pending = [first]
            lingering = isinstance(first, Decide)  # only Decides so far: wait for a carrier
            deadline = time.monotonic() + DECIDE_LINGER
            while True:
                try:
                    if lingering:
                        more = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
                    else:
                        more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    return
                pending.append(more)
                lingering = lingering and isinstance(more, Decide)
            for message in coalesce(pending):
                self._deliver(message)

    def _deliver(self, message: Message) -> None:
        try:
            if isinstance(message, Decide):
                self._pool.call(self.peer, "decide", codec.dumps(message))
                reply = None
            else:
                reply = self._pool.call(self.peer, "consensus", codec.dumps(message))
        except TicketingError as exc:
            if self.reachable:
                log.warning("%s unreachable: %s", self.peer, exc)
            self.reachable = False
            return
        if not self.reachable:
            log.info("%s reachable again", self.peer)
        self.reachable = True
        if reply is not None:
            try:
                decoded = codec.loads(reply)
            except ValueError as exc:
                log.warning("bad reply from %s: %s", self.peer, exc)
                return
            self._on_reply(decoded)
