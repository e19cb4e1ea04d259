"""The contract's user flow against a real local cluster (run/cluster.py), every error class.

One cluster serves the whole module (starting one costs seconds): two theaters in two data
clusters, three lock servers, three replicas a data cluster and two load balancers. Calls go
through real Pyro5 proxies to the load balancers, as a client's do. The tests that kill
components run last, each killing what it needs itself (so each passes run alone too); the
hold-expiry test starts its own small cluster with a short hold_ttl.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from cluster_fixture import LocalCluster
from conftest import CATALOGS, poll
from Pyro5.api import Proxy

from ticketing import names
from ticketing.domain import seat_store
from ticketing.domain.seat_codes import FREE, STATE_NAMES
from ticketing.domain.seat_commands import Booking
from ticketing.domain.seats import parse_seat
from ticketing.errors import (
    HoldExpired,
    HoldNotFound,
    InvalidRequest,
    SeatsUnavailable,
    TicketingError,
    TicketNotFound,
    Unavailable,
    UnknownEvent,
    UnknownSeat,
    UnknownTheater,
)

DUNE = ("AMC", "dune-1900")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    workdir = tmp_path_factory.mktemp("flow")
    running = LocalCluster(workdir / "data", CATALOGS / "flow.toml")
    try:
        yield running.start()
    finally:
        assert running.stop() == 0


@pytest.fixture
def lb1(cluster: LocalCluster) -> Iterator[Proxy]:
    with cluster.load_balancer(1) as proxy:
        yield proxy


@pytest.fixture
def lb2(cluster: LocalCluster) -> Iterator[Proxy]:
    with cluster.load_balancer(2) as proxy:
        yield proxy


def states(balancer: Proxy, theater: str, event: str) -> dict[str, str]:
    rows = balancer.get_seat_map(theater, event)["rows"]
    return {cell["seat"]: cell["state"] for row in rows for cell in row}


def refused(cls: type[TicketingError], call, *args) -> TicketingError:
    """Run a remote call that must fail with exactly ``cls`` (rebuilt as itself)."""
    with pytest.raises(TicketingError) as info:
        call(*args)
    assert type(info.value) is cls, f"{type(info.value).__name__}: {info.value}"
    assert str(info.value)
    return info.value


def test_list_theaters_is_the_catalog(lb1: Proxy) -> None:
    theaters = lb1.list_theaters()
    assert [t["theater"] for t in theaters] == ["AMC", "REG", "BIG", "TINY"]
    amc = theaters[0]
    assert (amc["name"], amc["city"], amc["seats"]) == ("AMC Cinemas", "Boston", 40)
    assert amc["events"][1] == {
        "event": "arrival-2130",
        "title": "Arrival",
        "starts_at": "2026-12-01T21:30:00",
    }


def test_hold_book_read_cancel_across_balancers(lb1: Proxy, lb2: Proxy) -> None:
    free = lb1.get_available_seats(*DUNE)
    assert free[:3] == ["A1", "A2", "A3"] and len(free) == 40

    hold = lb1.block_seats(*DUNE, ["a2", "A1 "])
    assert hold["seats"] == ["A1", "A2"]
    assert len(hold["hold_id"]) >= 16 and hold["expires_at"] > 0
    assert states(lb2, *DUNE)["A1"] == "held"  # the balancers share no state of their own
    assert "A1" not in lb2.get_available_seats(*DUNE)
    assert "A1" in lb1.get_available_seats("AMC", "arrival-2130")  # another event

    clash = refused(SeatsUnavailable, lb2.block_seats, *DUNE, ["A3", "A2"])
    assert clash.seats == ["A2"]

    ticket = lb2.book_ticket(hold["hold_id"], " Ada Lovelace ", "ada@example.org")
    assert ticket == {
        "ticket_no": ticket["ticket_no"],
        "theater": "AMC",
        "event": "dune-1900",
        "seats": ["A1", "A2"],
        "name": "Ada Lovelace",
        "email": "ada@example.org",
    }
    assert len(ticket["ticket_no"]) >= 16
    assert lb1.book_ticket(hold["hold_id"], "Ada Lovelace", "ada@example.org") == ticket
    assert states(lb1, *DUNE)["A2"] == "booked"
    assert lb1.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
    assert refused(SeatsUnavailable, lb1.block_seats, *DUNE, ["A2", "A4"]).seats == ["A2"]

    assert lb2.delete_ticket("AMC", ticket["ticket_no"]) is True
    assert states(lb1, *DUNE)["A1"] == "free"  # at once
    refused(TicketNotFound, lb1.get_ticket_details, "AMC", ticket["ticket_no"])
    assert lb1.delete_ticket("AMC", ticket["ticket_no"]) is True  # a retry: idempotent
    refused(TicketNotFound, lb1.delete_ticket, "AMC", "neverHandedOut")
    refused(HoldNotFound, lb1.book_ticket, hold["hold_id"], "Ada", "ada@example.org")


def test_a_theater_in_another_cluster_books_separately(lb1: Proxy) -> None:
    hold = lb1.block_seats("REG", "inception-2100", ["C4"])
    ticket = lb1.book_ticket(hold["hold_id"], "Grace", "grace@example.org")
    assert (ticket["theater"], ticket["seats"]) == ("REG", ["C4"])
    assert lb1.get_ticket_details("REG", ticket["ticket_no"]) == ticket
    refused(TicketNotFound, lb1.get_ticket_details, "AMC", ticket["ticket_no"])
    assert states(lb1, "REG", "inception-2100")["C4"] == "booked"


def test_release_frees_the_seats_and_is_idempotent(lb1: Proxy, lb2: Proxy) -> None:
    hold = lb1.block_seats(*DUNE, ["E1", "E2", "E3", "E4"])
    assert lb2.release_hold(hold["hold_id"]) is True
    assert lb1.release_hold(hold["hold_id"]) is True
    assert lb1.release_hold("neverHandedOut") is True
    assert {states(lb1, *DUNE)[seat] for seat in hold["seats"]} == {"free"}
    refused(HoldNotFound, lb2.book_ticket, hold["hold_id"], "Ada", "ada@example.org")
    again = lb2.block_seats(*DUNE, ["E1"])
    assert lb2.release_hold(again["hold_id"]) is True


def test_a_held_seat_is_refused_without_a_round_through_the_log(
    cluster: LocalCluster, lb1: Proxy, lb2: Proxy
) -> None:
    def refused_locally() -> int:
        found = cluster.pool.list(names.lock_server_prefix(), refresh=True)
        return sum(cluster.pool.call(n, "status")["holds_refused_locally"] for n in found)

    hold = lb1.block_seats(*DUNE, ["D1", "D2"])
    before = refused_locally()
    assert refused(SeatsUnavailable, lb2.block_seats, *DUNE, ["D3", "D2"]).seats == ["D2"]
    assert refused_locally() == before + 1
    assert lb1.release_hold(hold["hold_id"]) is True
    again = lb2.block_seats(*DUNE, ["D3", "D2"])  # a released hold is no obstacle
    assert lb2.release_hold(again["hold_id"]) is True


def test_concurrent_best_available_holds_get_distinct_adjacent_seats(cluster: LocalCluster) -> None:
    """64 buyers ask at once: each gets 3 adjacent seats, no seat twice, centre first."""
    rush = ("BIG", "rush")

    def buy(n: int) -> dict:
        for _ in range(20):
            try:
                with cluster.load_balancer(1 + n % 2) as balancer:
                    return balancer.block_best_available(*rush, 3)
            except Unavailable as shed:  # 64 at once may fill a balancer's door: as clients
                time.sleep(shed.retry_after or 0.1)  # do, come back when it says
        raise AssertionError(f"buyer {n} was shed 20 times")

    with ThreadPoolExecutor(max_workers=64) as pool:
        holds = list(pool.map(buy, range(64)))
    seats = [seat for hold in holds for seat in hold["seats"]]
    assert len(seats) == 64 * 3 == len(set(seats)), "a seat was handed out twice"
    for hold in holds:
        assert len({parse_seat(seat)[0] for seat in hold["seats"]}) == 1, "one row"
        numbers = sorted(parse_seat(seat)[1] for seat in hold["seats"])
        assert numbers == list(range(numbers[0], numbers[0] + 3)), hold["seats"]
    assert {"A9", "A10", "A11"} <= set(seats), "the centre of the front row went first"
    with cluster.load_balancer(1) as lb1:
        for hold in holds:
            assert lb1.release_hold(hold["hold_id"]) is True
        assert set(lb1.get_seat_states(*rush)["states"]) == {FREE}


def test_a_booked_seat_is_refused_by_the_lock_store_until_its_ticket_is_cancelled(
    cluster: LocalCluster, lb1: Proxy, lb2: Proxy
) -> None:
    """The balancer asks only the lock store: it knows booked seats by their sold marks."""
    arrival = ("AMC", "arrival-2130")
    hold = lb1.block_best_available(*arrival, 2)
    assert hold["seats"] == ["A4", "A5"]
    ticket = lb1.book_ticket(hold["hold_id"], "Ada", "ada@example.org")
    lock = min(cluster.pool.list(names.lock_server_prefix(), refresh=True))
    poll(lambda: cluster.pool.call(lock, "get_hold", hold["hold_id"]) is None, message="a settle")
    assert refused(SeatsUnavailable, lb2.block_seats, *arrival, ["A5", "A6"]).seats == ["A5"]
    behind = lb2.block_best_available(*arrival, 2)
    assert behind["seats"] == ["B4", "B5"], "A4-A5 are sold"
    assert lb2.delete_ticket("AMC", ticket["ticket_no"]) is True
    again = lb2.block_seats(*arrival, ["A5", "A6"])  # free again at once
    assert lb2.release_hold(again["hold_id"]) and lb2.release_hold(behind["hold_id"])


def test_a_refused_hold_offers_the_best_free_seats_of_the_same_size(lb1: Proxy) -> None:
    first = lb1.block_seats("TINY", "matinee", ["A2"])
    clash = refused(SeatsUnavailable, lb1.block_seats, "TINY", "matinee", ["A1", "A2"])
    assert (clash.seats, clash.alternative) == (["A2"], ["B1", "B2"])
    taken = lb1.block_seats("TINY", "matinee", clash.alternative)
    assert lb1.release_hold(taken["hold_id"]) and lb1.release_hold(first["hold_id"])


def test_a_lost_sold_mark_is_mended_by_the_first_booking_it_lets_through(
    cluster: LocalCluster, lb1: Proxy
) -> None:
    """A booking whose settle never reached the lock store (its balancer died) is repaired.

    Played here by booking at a data replica directly, then releasing the hold:
    the lock store then sees the booked seat as free and best-available offers
    it; the data store refuses that booking, and the balancer re-sends the sold
    mark, so the next buyer gets another seat, not the same booked one again.
    """
    matinee = ("TINY", "matinee")
    hold = lb1.block_seats(*matinee, ["A2"])
    lock = min(cluster.pool.list(names.lock_server_prefix(), refresh=True))
    granted = cluster.pool.call(lock, "get_hold", hold["hold_id"])
    replica = min(cluster.pool.list(names.datastore_replica_prefix("REG"), refresh=True))
    rogue = Booking(
        secrets.token_urlsafe(16), hold["hold_id"], *matinee, ("A2",),
        "Rogue", "rogue@example.org", granted["fence"], granted["expires_at"],
    )  # fmt: skip
    ticket = cluster.pool.call(replica, "book", rogue.to_plain())
    assert lb1.release_hold(hold["hold_id"]) is True  # and no settle: the mark is lost
    unlucky = lb1.block_best_available(*matinee, 1)
    assert unlucky["seats"] == ["A2"], "the lock store believes the booked seat is free"
    refusal = refused(SeatsUnavailable, lb1.book_ticket, unlucky["hold_id"], "Ada", "a@b.org")
    assert refusal.seats == ["A2"]
    assert lb1.release_hold(unlucky["hold_id"]) is True  # the buyer gives up
    after = lb1.block_best_available(*matinee, 1)
    assert after["seats"] == ["B2"], "A2 is marked sold again"
    assert lb1.delete_ticket("TINY", ticket["ticket_no"]) is True
    again = lb1.block_seats(*matinee, ["A2"])  # freed by its cancel
    for held in (after, again):
        assert lb1.release_hold(held["hold_id"]) is True


def test_best_available_sells_out_cleanly(lb1: Proxy) -> None:
    matinee = ("TINY", "matinee")
    for bad in (0, 5, "2", 2.0, True, None):
        refused(InvalidRequest, lb1.block_best_available, *matinee, bad)
    holds = [lb1.block_best_available(*matinee, 2) for _ in range(3)]
    assert sorted(s for h in holds for s in h["seats"]) == ["A1", "A2", "A3", "B1", "B2", "B3"]
    assert "no seats are free" in str(
        refused(SeatsUnavailable, lb1.block_best_available, *matinee, 1)
    )
    lb1.release_hold(holds[0]["hold_id"])
    assert "only 2 seats" in str(refused(SeatsUnavailable, lb1.block_best_available, *matinee, 3))
    for hold in holds[1:]:
        lb1.release_hold(hold["hold_id"])


def test_every_replica_shows_a_booking_as_soon_as_it_is_acknowledged(
    cluster: LocalCluster, lb1: Proxy
) -> None:
    """Seat views pass a read barrier, so a replica that did not make the write sees it too.

    The booking goes through the first replica; the others learn it from a
    Decide that may wait 50 ms to ride on a later message. Read at once on
    every replica, the seats must show booked (a load balancer that failed over
    reads from another replica than the one that wrote).
    """
    replicas = sorted(cluster.pool.list(names.datastore_replica_prefix("AMC"), refresh=True))
    for seats in (["E5"], ["E6", "E7"], ["E8"]):
        hold = lb1.block_seats(*DUNE, seats)
        lb1.book_ticket(hold["hold_id"], "Grace", "grace@example.org")
        for replica in replicas:
            states = cluster.pool.call(replica, "seat_states", *DUNE)
            index = {f"E{n}": 4 * 8 + n - 1 for n in range(1, 9)}  # row E of 8 seats
            assert all(states[index[seat]] == seat_store.BOOKED for seat in seats), replica


def test_views_and_lookups_spread_over_the_replicas_and_still_see_every_write(
    cluster: LocalCluster, lb1: Proxy, lb2: Proxy
) -> None:
    """Seat views and ticket lookups go round the replicas; bookings stay on one.

    Each replica counts the reads it served behind its read barrier. A view
    taken right after a booking, through the other balancer, shows it booked
    whichever replica serves it, and so does a lookup of its ticket.
    """
    replicas = sorted(cluster.pool.list(names.datastore_replica_prefix("AMC"), refresh=True))

    def served() -> dict[str, int]:
        return {r: cluster.pool.call(r, "status")["barrier_reads"] for r in replicas}

    before = served()
    for seat in ("C5", "C6", "C7", "C8"):
        ticket = lb1.book_ticket(lb1.block_seats(*DUNE, [seat])["hold_id"], "Ada", "a@b.org")
        for balancer in (lb2, lb1, lb2):  # a view on each replica in turn
            assert states(balancer, *DUNE)[seat] == "booked"
            assert balancer.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
        assert lb2.delete_ticket("AMC", ticket["ticket_no"]) is True
        assert states(lb1, *DUNE)[seat] == "free"
        refused(TicketNotFound, lb2.get_ticket_details, "AMC", ticket["ticket_no"])
    gained = {r: n - before[r] for r, n in served().items()}
    # 4 x (3 views + 3 lookups + a view + a lookup): 32 reads, about 10 each.
    assert sum(gained.values()) >= 32
    assert all(n >= 5 for n in gained.values()), gained


def test_every_refusal_arrives_as_its_class_and_changes_nothing(lb1: Proxy) -> None:
    before = states(lb1, *DUNE)
    refused(UnknownTheater, lb1.get_available_seats, "XYZ", "dune-1900")
    refused(UnknownTheater, lb1.get_ticket_details, "XYZ", "abc")
    refused(UnknownEvent, lb1.get_seat_map, "AMC", "inception-2100")
    refused(UnknownSeat, lb1.block_seats, *DUNE, ["A1", "F1"])
    refused(UnknownSeat, lb1.block_seats, *DUNE, ["A9"])
    for bad_seats in ([], ["A1", "a1"], ["A1", "A2", "A3", "A4", "A5"], "A1", [1], None):
        refused(InvalidRequest, lb1.block_seats, *DUNE, bad_seats)
    refused(InvalidRequest, lb1.block_seats, 1, "dune-1900", ["A1"])
    refused(InvalidRequest, lb1.get_seat_map, "AMC", True)
    refused(InvalidRequest, lb1.block_seats, "AMC", "dune-1900")  # a missing argument
    refused(InvalidRequest, lb1.release_hold, "")
    refused(InvalidRequest, lb1.release_hold, "x" * 10_000)
    refused(InvalidRequest, lb1.get_ticket_details, "AMC", "no such/ticket")
    hold = lb1.block_seats(*DUNE, ["D8"])
    refused(InvalidRequest, lb1.book_ticket, hold["hold_id"], "", "ada@example.org")
    refused(InvalidRequest, lb1.book_ticket, hold["hold_id"], "Ada", "not-an-address")
    refused(InvalidRequest, lb1.book_ticket, hold["hold_id"], "Ada\n", "ada@example.org x")
    assert states(lb1, *DUNE) == {**before, "D8": "held"}  # refusals changed nothing
    assert lb1.release_hold(hold["hold_id"]) is True
    assert lb1.status()["role"] == "loadbalancer"


def test_seat_states_are_the_seat_map_in_one_string(lb1: Proxy, lb2: Proxy) -> None:
    arrival = ("AMC", "arrival-2130")
    ticket = lb1.book_ticket(lb1.block_seats(*arrival, ["A1", "B8"])["hold_id"], "Ada", "a@b.org")
    hold = lb2.block_seats(*arrival, ["A2", "E8"])
    try:
        compact = lb2.get_seat_states(*arrival)
        assert compact == {
            "rows": 5,
            "seats_per_row": 8,
            "states": "xh......" + ".......x" + "........" * 2 + ".......h",
        }
        cells = [cell for row in lb1.get_seat_map(*arrival)["rows"] for cell in row]
        assert [STATE_NAMES[code] for code in compact["states"]] == [c["state"] for c in cells]
        free = [c["seat"] for c in cells if c["state"] == "free"]
        assert lb1.get_available_seats(*arrival) == free
    finally:
        lb1.release_hold(hold["hold_id"])
        lb1.delete_ticket("AMC", ticket["ticket_no"])
    assert set(lb1.get_seat_states(*arrival)["states"]) == {FREE}


@pytest.mark.parametrize(
    ("cls", "args"),
    [
        (UnknownTheater, ("XYZ", "dune-1900")),
        (UnknownEvent, ("AMC", "inception-2100")),
        (InvalidRequest, ("AMC", True)),
        (InvalidRequest, (7, "dune-1900")),
        (InvalidRequest, ("", "dune-1900")),
        (InvalidRequest, ("AMC",)),  # a missing argument
    ],
)
def test_seat_states_refuse_as_the_seat_map_does(
    lb1: Proxy, cls: type[TicketingError], args: tuple
) -> None:
    compact = refused(cls, lb1.get_seat_states, *args)
    full = refused(cls, lb1.get_seat_map, *args)
    assert str(compact) == str(full).replace("get_seat_map", "get_seat_states")


def test_the_flow_survives_a_crashed_lock_server_data_replica_and_name_server(
    cluster: LocalCluster, lb1: Proxy
) -> None:
    # A booking first, so that the balancer prefers a lock server (it has none until a
    # call went to one): run alone, this test must not rely on the earlier ones' calls.
    warm = lb1.book_ticket(lb1.block_seats(*DUNE, ["C4"])["hold_id"], "Warm", "warm@example.org")
    assert lb1.delete_ticket("AMC", warm["ticket_no"]) is True
    (preferred,) = lb1.status()["preferred_lock_servers"]
    cluster.kill(cluster.label(preferred))
    hold = lb1.block_seats(*DUNE, ["C1", "C2"])
    assert lb1.status()["preferred_lock_servers"] != [preferred]

    manager = cluster.pool.call(names.DATASTORE_MANAGER, "status")
    cluster.kill(cluster.label(manager["clusters"]["AMC"]["preferred"]))
    ticket = lb1.book_ticket(hold["hold_id"], "Alan", "alan@example.org")
    assert lb1.get_ticket_details("AMC", ticket["ticket_no"]) == ticket
    assert states(lb1, *DUNE)["C2"] == "booked"

    cluster.pool.list(names.ROOT)  # the test's own look-ups, before the name server goes
    cluster.kill_name_server()
    hold = lb1.block_seats(*DUNE, ["C3"])  # every component works on the names it cached
    ticket = lb1.book_ticket(hold["hold_id"], "Alan", "alan@example.org")
    assert lb1.delete_ticket("AMC", ticket["ticket_no"]) is True
    assert states(lb1, *DUNE)["C3"] == "free"


def test_without_a_lock_quorum_holding_is_unavailable(cluster: LocalCluster, lb1: Proxy) -> None:
    """Kills lock servers until fewer than a majority answer, whatever ran before it."""
    known = cluster.pool.list(names.ROOT)  # cached if an earlier test killed the name server
    servers = sorted(n for n in known if n.startswith(names.lock_server_prefix()))
    alive = [name for name in servers if answers(cluster, name)]
    below_majority = (len(servers) - 1) // 2
    for name in alive[: max(0, len(alive) - below_majority)]:
        cluster.kill(cluster.label(name))
    refused(Unavailable, lb1.block_seats, *DUNE, ["B5"])


def answers(cluster: LocalCluster, name: str) -> bool:
    try:
        cluster.pool.call(name, "status")
    except Unavailable:
        return False  # killed by an earlier test
    return True


def test_an_expired_hold_frees_its_seats_and_cannot_be_booked(tmp_path: Path) -> None:
    workdir = tmp_path / "expiry"
    workdir.mkdir()
    small = LocalCluster(
        workdir / "data",
        CATALOGS / "one_second_holds.toml",
        lock_replicas=1,
        data_replicas=1,
        load_balancers=1,
    ).start()
    try:
        with small.load_balancer(1) as balancer:
            hold = balancer.block_seats(*DUNE, ["B2", "B3"])
            poll(
                lambda: {"B2", "B3"} <= set(balancer.get_available_seats(*DUNE)),
                message="the expired hold's seats to be free again",
            )
            with pytest.raises((HoldExpired, HoldNotFound)) as info:
                balancer.book_ticket(hold["hold_id"], "Ada", "ada@example.org")
            assert "again" in str(info.value)
    finally:
        assert small.stop() == 0
