"""The load balancer's pure parts: the compact seat states, the seat map, free seats, the error
boundary."""

from __future__ import annotations

import logging
import random

import pytest

from ticketing.catalog import parse_catalog
from ticketing.domain import seat_codes
from ticketing.domain.seat_store import BOOKED, FREE
from ticketing.domain.seats import SeatMap
from ticketing.errors import InvalidRequest, SeatsUnavailable, Unavailable
from ticketing.server import load_balancer as lb
from ticketing.server.boundary import contract_errors

MAP = SeatMap(2, 3)  # A1 A2 A3 / B1 B2 B3


def booked(*indices: int) -> str:
    return "".join(BOOKED if i in indices else FREE for i in range(len(MAP)))


def test_nothing_booked_or_held_is_all_free() -> None:
    codes = lb.compact_states(MAP, booked(), [])
    assert codes == "......"
    assert seat_codes.free_seats(MAP, codes) == ["A1", "A2", "A3", "B1", "B2", "B3"]


def test_booked_and_held_seats_are_patched_into_the_compact_string() -> None:
    codes = lb.compact_states(MAP, booked(1, 5), ["A1", "B1"])
    assert codes == "hx.h.x"
    assert seat_codes.free_seats(MAP, codes) == ["A3", "B2"]


def test_a_seat_booked_and_still_held_is_booked() -> None:
    assert lb.compact_states(MAP, booked(0), ["A1", "A1"]) == "x....."


def test_held_labels_in_any_spelling_land_on_their_seat() -> None:
    assert lb.compact_states(MAP, booked(), iter([" b3", "a02"])) == ".h...h"


def test_the_compact_string_uses_the_shared_codes() -> None:
    codes = lb.compact_states(MAP, booked(2), ["A1"])
    assert [seat_codes.STATE_NAMES[code] for code in codes] == [
        "held",
        "free",
        "booked",
        "free",
        "free",
        "free",
    ]


def test_seat_map_rows_follow_the_theater_rows() -> None:
    codes = lb.compact_states(MAP, booked(2), ["B2"])
    assert lb.seat_rows(MAP, codes) == {
        "rows": [
            [
                {"seat": "A1", "state": "free"},
                {"seat": "A2", "state": "free"},
                {"seat": "A3", "state": "booked"},
            ],
            [
                {"seat": "B1", "state": "free"},
                {"seat": "B2", "state": "held"},
                {"seat": "B3", "state": "free"},
            ],
        ]
    }


def test_seat_map_of_a_real_sized_theater_has_every_seat_once() -> None:
    catalog = parse_catalog(
        '[[theater]]\nid="BIG"\nname="Big"\ncity="X"\nrows=30\nseats_per_row=40\n', "<t>"
    )
    seat_map = catalog.theater("BIG").seat_map
    codes = lb.compact_states(seat_map, FREE * len(seat_map), ["AD40", "A1"])
    rows = lb.seat_rows(seat_map, codes)["rows"]
    assert len(rows) == 30 and all(len(row) == 40 for row in rows)
    labels = [cell["seat"] for row in rows for cell in row]
    assert labels == list(seat_map.labels())
    assert rows[0][0]["state"] == "held" and rows[29][39] == {"seat": "AD40", "state": "held"}


def test_seat_map_and_free_seats_agree_with_the_compact_string_seat_by_seat() -> None:
    """The three seat views come from one string: check them against a plain reading of it."""
    rng = random.Random(7)
    seat_map = SeatMap(28, 11)  # two-letter rows, two-digit seats
    labels = list(seat_map.labels())
    for _ in range(20):
        store = "".join(rng.choice((FREE, FREE, BOOKED)) for _ in labels)
        held = rng.sample(labels, rng.randrange(30))
        codes = lb.compact_states(seat_map, store, held)
        expected = [
            "booked" if store[i] == BOOKED else "held" if label in held else "free"
            for i, label in enumerate(labels)
        ]
        cells = [cell for row in lb.seat_rows(seat_map, codes)["rows"] for cell in row]
        assert cells == [{"seat": s, "state": e} for s, e in zip(labels, expected, strict=True)]
        free = [s for s, e in zip(labels, expected, strict=True) if e == "free"]
        assert seat_codes.free_seats(seat_map, codes) == free


def test_a_data_store_answer_of_the_wrong_size_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="reports 5 seats where the catalog has 6"):
        lb.compact_states(MAP, FREE * 5, [])


def test_a_data_store_answer_with_unknown_characters_is_unavailable() -> None:
    with pytest.raises(Unavailable, match="other than free and booked"):
        lb.compact_states(MAP, FREE * 5 + "2", [])


def test_a_held_seat_outside_the_map_is_left_out() -> None:
    # Held before an operator shrank the theater: the seat is gone, the view still answers.
    assert lb.compact_states(MAP, booked(), ["C1"]) == lb.compact_states(MAP, booked(), [])


# -- the boundary -------------------------------------------------------------------


class Component:
    @contract_errors
    def refuse(self) -> None:
        raise SeatsUnavailable("A1 is taken", ["A1"])

    @contract_errors
    def crash(self, key: str) -> None:
        {}[key]

    @contract_errors
    def add(self, a: int, b: int = 0) -> int:
        return a + b


def test_contract_errors_pass_through_unchanged() -> None:
    with pytest.raises(SeatsUnavailable) as info:
        Component().refuse()
    assert info.value.seats == ["A1"]


def test_an_internal_error_is_logged_and_answered_as_unavailable(caplog) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(Unavailable) as info:
        Component().crash("secret-key")
    assert "crash failed on an internal error" in str(info.value)
    assert "secret-key" not in str(info.value) and info.value.__cause__ is None
    assert "KeyError" in caplog.text and "Component.crash" in caplog.text


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((), {}, "missing a required argument: 'a'"),
        ((1, 2, 3), {}, "too many positional arguments"),
        ((1,), {"c": 2}, "unexpected keyword argument 'c'"),
    ],
)
def test_arguments_that_do_not_fit_are_invalid(args, kwargs, expected: str) -> None:
    with pytest.raises(InvalidRequest, match=expected):
        Component().add(*args, **kwargs)
    assert Component().add(1, b=2) == 3


def test_the_balancer_methods_keep_their_names_for_pyro() -> None:
    exposed = {
        "list_theaters",
        "list_catalog",
        "get_available_seats",
        "get_seat_map",
        "get_seat_states",
        "block_seats",
        "block_best_available",
        "release_hold",
        "book_ticket",
        "get_ticket_details",
        "delete_ticket",
        "status",
    }
    public = {name for name in vars(lb.LoadBalancer) if not name.startswith("_")}
    assert public == exposed
    assert all(getattr(lb.LoadBalancer, name).__name__ == name for name in exposed)
