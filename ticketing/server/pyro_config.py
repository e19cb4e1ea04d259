"""Pyro5 settings shared by every process of the cluster.

Pyro5 keeps its configuration in a process-wide object that must be set before
the first daemon or proxy is made, so every entry point calls ``configure()``
first. The values:

* ``serpent``: the contract's serializer, what clients speak to a load
  balancer. Members of the cluster speak ``msgpack`` to each other
  (``INTERNAL_SERIALIZER``, chosen per proxy by ``ProxyPool``): like serpent it
  carries plain values only (no code, no pickle) and rebuilds only the
  registered classes, but it is parsed in C where serpent goes through
  ``ast``, which makes an internal call with a booking's arguments ~40 %
  cheaper in CPU (``python run/bench.py`` measures both ceilings).
* two kinds of server. Internal components use Pyro5's thread-pool server:
  each connected proxy holds one server worker thread for as long as it stays
  connected. Peers talk through ``ProxyPool``, which keeps only as many
  connections as calls run at once, so the pool is sized for the peers of a
  cluster times their concurrency, with room to spare; when it is full a new
  connection is closed unread, which callers see as ``Unavailable``. Before a
  caller proves membership its door (``security.members_server``) bounds it:
  a few connections per address, a whole-hello deadline, a 4 KiB msgpack hello. A thread per
  connection suits them: their callers are few and known, and their calls
  wait on each other (a coordinator on its replicas, a replica on its peers),
  which a queue in front of a bounded pool could turn into a deadlock.
  Load balancers serve the public, thousands of people each on their own
  connection, mostly idle: they use ``multiplexer.CrowdDaemon``, whose
  connections wait in one selector (a socket each, no thread) and whose
  requests run on a bounded pool of workers; it swaps itself in for Pyro5's
  ``"multiplex"`` server type, so ``SERVERTYPE`` stays ``"thread"`` here.
* ``COMMTIMEOUT``: on the server side, how long an idle connection may stay
  open (holding a worker, on the thread pool) before it is closed, so a
  vanished peer cannot pin resources for ever; it is also the default timeout
  of any proxy made outside ``ProxyPool`` (which sets its own, shorter, per
  call).
* ``MAX_MESSAGE_SIZE``: far below Pyro5's 1 GiB default, so an oversized
  request is refused by the transport before it is read into memory, yet
  large enough for a recovery snapshot of a data cluster.
"""

from __future__ import annotations

import threading

from Pyro5 import config, serializers
from Pyro5.errors import SerializeError

from ticketing import errors

THREADPOOL_SIZE = 128
THREADPOOL_SIZE_MIN = 8
IDLE_CONNECTION_TIMEOUT = 60.0  # seconds; see COMMTIMEOUT above
MAX_MESSAGE_SIZE = 64 * 1024 * 1024
INTERNAL_SERIALIZER = "msgpack"
ACCEPTED_SERIALIZERS = ("serpent", INTERNAL_SERIALIZER)

_lock = threading.Lock()
_done = False


def configure(threadpool_size: int = THREADPOOL_SIZE) -> None:
    """Set Pyro5's configuration for this process; later calls do nothing."""
    global _done
    with _lock:
        if _done:
            return
        config.SERIALIZER = "serpent"
        config.SERVERTYPE = "thread"
        config.THREADPOOL_SIZE = threadpool_size
        config.THREADPOOL_SIZE_MIN = min(THREADPOOL_SIZE_MIN, threadpool_size)
        config.COMMTIMEOUT = IDLE_CONNECTION_TIMEOUT
        config.MAX_MESSAGE_SIZE = MAX_MESSAGE_SIZE
        config.SOCK_NODELAY = True  # small request/reply messages: no Nagle delays
        config.DETAILED_TRACEBACK = False
        config.SERPENT_BYTES_REPR = False
        errors.register_with_pyro()
        _refuse_other_serializers()
        _done = True


def _refuse_other_serializers() -> None:
    """Make this process's daemons refuse every request not in serpent or msgpack.

    Pyro5 serves whatever serializer a caller names (marshal, json, msgpack);
    marshal is not safe against hostile data, and fewer formats are fewer
    parsers to trust. Each other one is replaced by a copy whose ``loads``
    refuses, while its ``dumps`` still answers the refusal in the caller's own
    format.
    """
    kept = {serializers.serializers[name].serializer_id for name in ACCEPTED_SERIALIZERS}
    for serializer_id, serializer in list(serializers.serializers_by_id.items()):
        if serializer_id in kept:
            continue
        refusing = type(
            f"Refusing{type(serializer).__name__}",
            (type(serializer),),
            {"loads": _refuse, "loadsCall": _refuse},
        )
        serializers.serializers_by_id[serializer_id] = refusing()


def _refuse(self: object, data: bytes) -> object:
    raise SerializeError(
        "only the serpent and msgpack serializers are accepted; set SERIALIZER = 'serpent'"
    )
