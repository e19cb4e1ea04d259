"""A stand-in for any component script, to test the launcher and hosting alone.

Link it as ``<package>/lock_server.py``, ``<package>/datastore.py``, ...: the file name
it runs under says which contract name it serves (with ``--id``/``--cluster``).
It takes every flag the real scripts take, serves ``status()`` through
``hosting.serve``, and writes its pid to ``<data-dir>/fake-pids/<name>``. With
``FAKE_COMPONENT_CRASH=<name>`` in the environment, that one exits at once
with an error instead; with ``FAKE_COMPONENT_CRASH_AGAIN=<name>``, it does so
on every start after its first (a component that cannot come back).
"""

import os
import sys
import threading
from pathlib import Path

from Pyro5.api import expose

from ticketing import names
from ticketing.errors import InvalidRequest
from ticketing.security.membership import is_internal
from ticketing.server.cli import common_parser
from ticketing.server.coordinator_identity import standby_name
from ticketing.server.hosting import serve

CRASH_EXIT_CODE = 3


@expose
class Fake:
    def __init__(self, name: str) -> None:
        self.name = name
        self.stalled = 0

    def status(self) -> dict:
        return {"name": self.name, "role": "fake", "pid": os.getpid()}

    def echo(self, value: object) -> object:
        return value

    def refuse(self, message: str) -> None:
        raise InvalidRequest(message)

    def stall(self) -> None:
        """Take the call and never answer: a hung peer (the caller's timeout ends it)."""
        self.stalled += 1
        threading.Event().wait()

    def stalls(self) -> int:
        return self.stalled


def contract_name(script: str, replica_id: int, cluster: str, group: int | None) -> str:
    return {
        "lock_server": lambda: names.lock_server(replica_id, group),
        "lock_coordinator": lambda: names.lock_coordinator(group),
        "datastore": lambda: names.datastore_replica(cluster, replica_id),
        "datastore_coordinator": lambda: names.datastore_coordinator(cluster),
        "datastore_manager": lambda: names.DATASTORE_MANAGER,
        "load_balancer": lambda: names.load_balancer(replica_id),
        "fake_component": lambda: f"ticketing.fake.{replica_id}",
    }[script]()


def main() -> None:
    parser = common_parser(__doc__, catalog=True)
    parser.add_argument("--id", type=int, default=1)
    parser.add_argument("--cluster", default="none")
    parser.add_argument("--recover-from", nargs="+", default=[])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--lock-groups", type=int, default=1)
    parser.add_argument("--group", type=int, default=None)
    parser.add_argument("--standby", action="store_true")
    args = parser.parse_args()
    name = contract_name(Path(sys.argv[0]).stem, args.id, args.cluster, args.group)
    if args.standby:
        name = standby_name(name)
    pids = Path(args.data_dir) / "fake-pids"
    again = os.environ.get("FAKE_COMPONENT_CRASH_AGAIN") == name and (pids / name).exists()
    if os.environ.get("FAKE_COMPONENT_CRASH") == name or again:
        sys.exit(f"fake component {name}: crashing at start as asked")
    pids.mkdir(parents=True, exist_ok=True)
    (pids / name).write_text(str(os.getpid()))
    # Members only when it stands for an internal component, as the real one.
    secret = os.environ.get("TICKETING_SECRET") if is_internal(name) else None
    serve(Fake(name), name, args.host, args.ns_host, args.ns_port, args.data_dir, secret=secret)


if __name__ == "__main__":
    main()
