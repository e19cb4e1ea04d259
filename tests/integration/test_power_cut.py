"""A whole data cluster loses power right after a booking is acknowledged.

SIGKILL of every replica and the coordinator of one cluster at once, then a
restart: the booking must still be there, since a majority had it on disk
before the coordinator counted their acceptances. The same cut on the broken
variant that answers before persisting loses it, and the history checker
says so: the test can tell the two apart.
"""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from cluster_fixture import LocalCluster
from conftest import poll

from ticketing import names
from ticketing.cluster.processes import alive
from ticketing.errors import TicketNotFound, Unavailable
from ticketing.faults.checker import check
from ticketing.faults.history import BOOK, OK, FinalState, History, Operation
from ticketing.server.replica_host import UNSAFE_ACK_BEFORE_PERSIST

EAST = ["datastore-east-1", "datastore-east-2", "datastore-east-3", "datastore_coordinator-east"]


def book_then_cut_power(tmp_path: Path, env: dict[str, str]) -> tuple[Operation, FinalState]:
    cluster = LocalCluster(tmp_path / "data", env=env).start()
    try:
        lb = cluster.load_balancer(1)
        warm = lb.block_seats("AMC", "dune", ["A1"])  # every path and connection warm
        lb.book_ticket(warm["hold_id"], "Warm", "warm@example.com")
        pids = [cluster.status(cluster.components[label].name)["pid"] for label in EAST]

        hold = lb.block_seats("AMC", "dune", ["B2"])
        start = time.time()
        ticket = lb.book_ticket(hold["hold_id"], "Ada", "ada@example.com")
        end = time.time()
        for pid in pids:  # the power cut: all at once, right after the acknowledgement
            os.kill(pid, signal.SIGKILL)
        for pid in pids:
            poll(lambda p=pid: not alive(p), timeout=10, message=f"pid {pid} to die")
        for label in EAST:
            cluster.restart(label)

        def read_back() -> dict | None:
            try:
                return lb.get_ticket_details("AMC", ticket["ticket_no"])
            except TicketNotFound:
                return None
            except Unavailable:
                return {}  # still recovering: poll again

        found = poll(
            lambda: read_back() != {} and (read_back() or "gone"),
            timeout=60,
            message="the restarted cluster to answer",
        )
        live = {}
        if found != "gone":
            live[ticket["ticket_no"]] = ("AMC", "dune", tuple(found["seats"]))
        rows = lb.get_seat_map("AMC", "dune")["rows"]
        # The seat this history is about (A1 was booked outside it, to warm up).
        booked = {s["seat"] for row in rows for s in row if s["state"] == "booked"} & {"B2"}
        replicas = [names.datastore_replica("east", i) for i in (1, 2, 3)]
        book = Operation(
            1, BOOK, "AMC", "dune", start, end, OK, seats=("B2",),
            hold_id=hold["hold_id"], ticket_no=ticket["ticket_no"],
        )  # fmt: skip
        final = FinalState(
            time.time(),
            live=live,
            booked={("AMC", "dune"): frozenset(booked)},
            digests={"east": list(cluster.digests(replicas).values())},
        )
        return book, final
    finally:
        cluster.stop()


def test_an_acknowledged_booking_survives_a_power_cut_of_its_cluster(tmp_path: Path) -> None:
    book, final = book_then_cut_power(tmp_path, {})
    assert book.ticket_no in final.live
    lost = [a for a in check(History((book,), final, ())) if a.kind == "lost-booking"]
    assert lost == []


def test_replicas_that_answer_before_persisting_lose_it(tmp_path: Path) -> None:
    book, final = book_then_cut_power(tmp_path, {UNSAFE_ACK_BEFORE_PERSIST: "1"})
    kinds = {a.kind for a in check(History((book,), final, ()))}
    assert "lost-booking" in kinds, final
