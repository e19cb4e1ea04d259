"""What every replica process serves: consensus traffic in, client writes through the log.

A write is the seed's flow made safe: forward the command to the cluster's
coordinator, which returns the slot it was decided at and the chosen values
this replica lacks; apply them (waiting for any still on their way); answer
with the result the state machine gave. Request ids are derived from what the
command is about (``book:<hold>:<ticket>``), so a retry through any replica or
coordinator is applied once and answered with the first result.

What to do at each of those steps (which coordinator to ask, what its reply
asks of this replica, the results to answer with) is decided by the pure
``LogClient``, which the simulator runs too; this class carries it out over
Pyro5.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

from Pyro5.api import expose, oneway

from ticketing import counters, errors
from ticketing.consensus import codec
from ticketing.consensus.log_client import Catchup, LogClient
from ticketing.consensus.messages import Decide
from ticketing.errors import InvalidRequest, TicketingError, Unavailable
from ticketing.server.boundary import contract_errors
from ticketing.server.coordinator_identity import standby_name
from ticketing.server.proxies import ProxyPool
from ticketing.server.replica_host import ReplicaHost
from ticketing.server.submit_combiner import SubmitCombiner

T = TypeVar("T")

APPLY_TIMEOUT = 5.0  # seconds to wait for a decided slot to be applied here


@expose
class ReplicaServer:
    role = "replica"

    def __init__(self, name: str, host: ReplicaHost, coordinator: str, pool: ProxyPool) -> None:
        self._name = name
        self._host = host
        # The main coordinator first; a standby (if one runs) when it fails.
        self._log = LogClient(name, [coordinator, standby_name(coordinator)])
        self._pool = pool
        self._submits = SubmitCombiner(self._submit)

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
        (result,) = self._write_many([(request_id, payload)])
        if not result.get("ok"):
            raise errors.from_result(result)
        return result

    def _write_many(self, commands: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
        """Decide several commands in one submit (shared with concurrent writes); their results."""
        slot = self._submits.submit([list(c) for c in commands])
        self._host.wait_applied(slot, APPLY_TIMEOUT)
        return self._log.results([request_id for request_id, _ in commands], self._host.result)

    def _submit(self, commands: list[list[Any]]) -> int:
        """One submit to the coordinator; the highest slot it decided (``SubmitCombiner``)."""
        reply = self._coordinator_call("submit", commands, self._host.learned_below())
        return self._catch_up(self._log.on_submit_reply(reply["slots"], _decide(reply)))

    def _read(self, query: Callable[[Any], T], missing: Callable[[T], bool] = bool) -> T:
        """Read the local state; on a miss, apply what is already chosen and read again.

        A caller that just wrote through another replica may find this one a
        few milliseconds behind: a miss (``missing(result)`` true, or a
        TicketingError) pays for a read barrier, a hit costs no remote call.
        """
        try:
            result = self._host.read(query)
            if not missing(result):
                return result
        except TicketingError:
            pass
        self._sync()
        return self._host.read(query)

    def _sync(self) -> None:
        """Read barrier: apply everything the leader may have acknowledged before reading.

        The coordinator answers only once a majority of replicas confirmed it
        still leads (``Coordinator.commit_index``). Without a leader to ask, or
        from one deposed behind a partition, a miss cannot be told from a lag,
        so the read is refused as ``Unavailable`` (retry) rather than answered
        "not found".
        """
        reply = self._coordinator_call("commit_index", self._host.learned_below())
        slot = self._catch_up(self._log.on_read_index_reply(reply["index"], _decide(reply)))
        self._host.wait_applied(slot, APPLY_TIMEOUT)

    def _catch_up(self, catchup: Catchup) -> int:
        """Apply the chosen values a reply carried; the slot to wait for."""
        if catchup.decide is not None:
            self._host.learn(catchup.decide)
        return catchup.wait_for

    def _coordinator_call(self, method: str, *args: Any) -> Any:
        """``method`` on the coordinator that answered last, else on the other one.

        A standby that is not registered fails at once (no such name), so a
        cluster without one pays nothing beyond the main coordinator's failure.
        """
        failover = self._log.failover()
        while (name := failover.next()) is not None:
            try:
                result = self._pool.call(name, method, *args)
            except Unavailable as exc:
                failover.failed(exc)
                continue
            self._log.answered(name)
            return result
        assert failover.error is not None
        raise failover.error


def _decide(reply: dict[str, Any]) -> Decide | None:
    """The chosen values a coordinator's reply carries (a Decide, encoded), if any."""
    plain = reply["decided"]
    if plain is None:
        return None
    try:
        decide = codec.loads(plain)
    except ValueError as exc:
        raise InvalidRequest(str(exc)) from None
    if not isinstance(decide, Decide):
        raise InvalidRequest(f"a coordinator's reply carried {type(decide).__name__}, not Decide")
    return decide
