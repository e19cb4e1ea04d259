"""What every replica process serves: consensus traffic in, client writes through the log.

A write is the seed's flow made safe: forward the command to the cluster's
coordinator, which returns the slot it was decided at; wait until this replica
has applied that slot; answer with the result the state machine gave. Request
ids are derived from what the command is about (``book:<hold id>``), so a
retry through any replica or coordinator is applied once and answered with the
first result.
"""

from __future__ import annotations

import os
from typing import Any

from Pyro5.api import expose, oneway

from ticketing import counters, errors
from ticketing.errors import Unavailable
from ticketing.server.boundary import contract_errors
from ticketing.server.coordinator import standby_name
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_host import ReplicaHost

APPLY_TIMEOUT = 5.0  # seconds to wait for a decided slot to be applied here


@expose
class ReplicaServer:
    role = "replica"

    def __init__(self, name: str, host: ReplicaHost, coordinator: str, pool: ProxyPool) -> None:
        self._name = name
        self._host = host
        # The main coordinator first; a standby (if one runs) when it fails. The
        # last one that answered is tried first next time.
        self._coordinators = [coordinator, standby_name(coordinator)]
        self._pool = pool

    # --- consensus (called by the coordinator and by peers) -------------------------

    @contract_errors
    def consensus(self, message: Any) -> Any:
        return self._host.handle(message)

    @oneway
    @contract_errors
    def decide(self, message: Any) -> None:
        self._host.handle(message)

    @contract_errors
    def status(self) -> dict[str, Any]:
        return {
            "name": self._name,
            "role": self.role,
            "pid": os.getpid(),
            "state": "serving",
            **self._host.status(),
            **counters.snapshot(),
        }

    # --- for subclasses ------------------------------------------------------------

    def _write(self, request_id: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Decide ``payload`` in the log and return its result; refusals raise."""
        (slot,) = self._coordinator_call("submit", [[request_id, payload]])
        self._host.wait_applied(slot, APPLY_TIMEOUT)
        entry = self._host.result(request_id)
        if entry is None:
            raise Unavailable(f"{self._name} lost track of request {request_id}; retry")
        result = entry[1]
        if not result.get("ok"):
            raise errors.from_result(result)
        return result

    def _sync(self) -> None:
        """Read barrier: apply everything already chosen before reading.

        When the coordinator cannot be asked, reads are served from what this
        replica has applied (possibly a little behind) rather than refused.
        """
        try:
            index = self._coordinator_call("commit_index")
        except Unavailable:
            return
        self._host.wait_applied(index, APPLY_TIMEOUT)

    def _coordinator_call(self, method: str, *args: Any) -> Any:
        """``method`` on the coordinator that answered last, else on the other one.

        A standby that is not registered fails at once (no such name), so a
        cluster without one pays nothing beyond the main coordinator's failure.
        """
        first: Unavailable | None = None
        for name in list(self._coordinators):
            try:
                result = self._pool.call(name, method, *args)
            except Unavailable as exc:
                first = first or exc
                continue
            if name != self._coordinators[0]:
                self._coordinators = [name, *(c for c in self._coordinators if c != name)]
            return result
        assert first is not None
        raise first
