"""Seat labels and seat maps."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ticketing.domain.seats import SeatMap, parse_seat, row_index, row_label
from ticketing.errors import InvalidRequest, UnknownSeat


def test_row_labels_are_bijective_base_26() -> None:
    labels = [row_label(i) for i in (0, 1, 25, 26, 27, 51, 52, 701, 702)]
    assert " ".join(labels) == "A B Z AA AB AZ BA ZZ AAA"
    with pytest.raises(ValueError):
        row_label(-1)


@given(st.integers(min_value=0, max_value=10**6))
def test_row_index_inverts_row_label(i: int) -> None:
    assert row_index(row_label(i)) == i


def test_parse_seat() -> None:
    assert parse_seat("A7") == (0, 7)
    assert parse_seat(" aa12 ") == (26, 12)
    for bad in ["", "7A", "A", "12", "A-1", "A1B", "Ä1", "A 1", "A" * 20 + "1"]:
        with pytest.raises(InvalidRequest):
            parse_seat(bad)
    with pytest.raises(InvalidRequest):
        parse_seat(7)  # type: ignore[arg-type]


def test_seat_map_order_and_index() -> None:
    seat_map = SeatMap(3, 4)
    labels = list(seat_map.labels())
    assert labels[:5] == ["A1", "A2", "A3", "A4", "B1"] and labels[-1] == "C4"
    assert len(seat_map) == 12 == len(labels)
    assert [seat_map.index(label) for label in labels] == list(range(12))
    assert [seat_map.label(i) for i in range(12)] == labels
    assert seat_map.row_labels()[1] == ["B1", "B2", "B3", "B4"]
    assert seat_map.canonical(" b03") == "B3"


@pytest.mark.parametrize("label", ["D1", "A5", "A0", "AA1", "ZZZZ99"])
def test_outside_the_map_is_unknown_seat(label: str) -> None:
    with pytest.raises(UnknownSeat, match="A1 to C4"):
        SeatMap(3, 4).index(label)


def test_normalize_dedupes_and_orders() -> None:
    assert SeatMap(3, 4).normalize(["b2", "A1", "B2", "a1"]) == ["A1", "B2"]


def test_expand() -> None:
    seat_map = SeatMap(3, 4)
    assert seat_map.expand("A1-A4") == ["A1", "A2", "A3", "A4"]
    assert seat_map.expand("c1, a2-a3 ,A2") == ["A2", "A3", "C1"]
    assert seat_map.expand("B2") == ["B2"]
    for bad in ["A1-B2", "A4-A1", "", " , ", "A1-", "A1-A2-A3", "x" * 2000]:
        with pytest.raises(InvalidRequest):
            seat_map.expand(bad)
    with pytest.raises(UnknownSeat):
        seat_map.expand("A1-A9")


def test_large_venue_is_cheap() -> None:
    stadium = SeatMap(250, 200)  # 50,000 seats, nothing built up front
    assert stadium.index("IP200") == 49_999 and stadium.label(49_999) == "IP200"
