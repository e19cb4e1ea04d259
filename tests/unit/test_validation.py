"""The load balancer's argument checks: every refusal names its class and what to send."""

from __future__ import annotations

import secrets

import pytest

from ticketing.catalog import parse_catalog
from ticketing.errors import InvalidRequest, UnknownEvent, UnknownSeat, UnknownTheater
from ticketing.server import validation
from ticketing.settings import MAX_EMAIL_LENGTH, MAX_ID_LENGTH, MAX_NAME_LENGTH

CATALOG = parse_catalog(
    """
max_seats_per_booking = 3

[[theater]]
id = "AMC"
name = "AMC Cinemas"
city = "Boston"
rows = 28
seats_per_row = 12

[[theater.event]]
id = "dune-1900"
title = "Dune"
starts_at = "2026-12-01T19:00:00"
""",
    "<test>",
)
AMC = CATALOG.theater("AMC")
LIMIT = CATALOG.max_seats_per_booking


def refused(cls: type[Exception], call, *args) -> str:
    with pytest.raises(cls) as info:
        call(*args)
    assert type(info.value) is cls
    return str(info.value)


# -- theater and event -----------------------------------------------------------


def test_known_theater_and_event_pass() -> None:
    assert validation.theater_event(CATALOG, "AMC", "dune-1900") is AMC
    assert validation.theater(CATALOG, "AMC") is AMC


@pytest.mark.parametrize("bad", [None, 7, True, ["AMC"], b"AMC", {"id": "AMC"}])
def test_theater_of_another_type_is_invalid(bad: object) -> None:
    message = refused(InvalidRequest, validation.theater, CATALOG, bad)
    assert "theater must be text such as 'AMC'" in message
    assert type(bad).__name__ in message


def test_empty_or_oversized_ids_are_invalid() -> None:
    assert "theater is empty" in refused(InvalidRequest, validation.theater, CATALOG, "")
    long_id = "A" * (MAX_ID_LENGTH + 1)
    message = refused(InvalidRequest, validation.theater, CATALOG, long_id)
    assert f"longer than {MAX_ID_LENGTH}" in message
    message = refused(InvalidRequest, validation.theater_event, CATALOG, "AMC", 19)
    assert "event must be text such as 'dune-1900', got int 19" in message


def test_unknown_theater_lists_the_known_ones() -> None:
    message = refused(UnknownTheater, validation.theater_event, CATALOG, "XYZ", "dune-1900")
    assert "'XYZ'" in message and "AMC" in message


def test_unknown_event_lists_the_theater_events() -> None:
    message = refused(UnknownEvent, validation.theater_event, CATALOG, "AMC", "alien-2000")
    assert "'alien-2000'" in message and "dune-1900" in message


# -- seats -----------------------------------------------------------------------


def test_seats_are_canonical_and_in_seat_map_order() -> None:
    assert validation.seat_list(AMC, ["b2", " A10 ", "AB1"], LIMIT) == ["A10", "B2", "AB1"]
    assert validation.seat_list(AMC, ("A1",), LIMIT) == ["A1"]


@pytest.mark.parametrize("bad", ["A1", None, 3, {"A1": 1}, {"A1"}])
def test_seats_not_a_list_are_invalid(bad: object) -> None:
    message = refused(InvalidRequest, validation.seat_list, AMC, bad, LIMIT)
    assert "seats must be a list of seat labels such as ['A1', 'A2']" in message


def test_no_seats_is_invalid() -> None:
    message = refused(InvalidRequest, validation.seat_list, AMC, [], LIMIT)
    assert "no seats given" in message


def test_more_seats_than_the_catalog_allows_is_invalid() -> None:
    message = refused(InvalidRequest, validation.seat_list, AMC, ["A1", "A2", "A3", "A4"], LIMIT)
    assert "4 seats asked; at most 3 per booking" in message


def test_a_seat_listed_twice_is_invalid_even_spelled_differently() -> None:
    message = refused(InvalidRequest, validation.seat_list, AMC, ["A7", " a7"], LIMIT)
    assert "seat A7 is listed twice" in message


@pytest.mark.parametrize("bad", [7, True, None, ["A1"]])
def test_a_seat_label_of_another_type_is_invalid(bad: object) -> None:
    message = refused(InvalidRequest, validation.seat_list, AMC, ["A1", bad], LIMIT)
    assert "a seat label must be text such as 'A7'" in message


@pytest.mark.parametrize("bad", ["", "7A", "A-1", "A 1", "Ä1", "A1.5", "X" * 50])
def test_a_malformed_seat_label_is_invalid(bad: str) -> None:
    message = refused(InvalidRequest, validation.seat_list, AMC, [bad], LIMIT)
    assert "seat label" in message


@pytest.mark.parametrize("bad", ["A13", "A0", "AC1", "ZZ1"])
def test_a_seat_outside_the_map_is_unknown(bad: str) -> None:
    message = refused(UnknownSeat, validation.seat_list, AMC, [bad], LIMIT)
    assert bad in message and "A1 to AB12" in message


# -- hold ids and ticket numbers ---------------------------------------------------


def test_tokens_we_hand_out_pass() -> None:
    token = secrets.token_urlsafe(16)
    assert validation.hold_id(token) == token
    assert validation.ticket_no(token) == token


@pytest.mark.parametrize("check", [validation.hold_id, validation.ticket_no])
@pytest.mark.parametrize("bad", [None, 12, True, [b"x"]])
def test_a_token_of_another_type_is_invalid(check, bad: object) -> None:
    message = refused(InvalidRequest, check, bad)
    assert "must be the text" in message and "returned" in message


@pytest.mark.parametrize(
    ("check", "what", "source"),
    [
        (validation.hold_id, "hold_id", "block_seats"),
        (validation.ticket_no, "ticket_no", "book_ticket"),
    ],
)
@pytest.mark.parametrize("bad", ["", "has space", "semi;colon", "ü", "x" * (MAX_ID_LENGTH + 1)])
def test_a_malformed_token_is_invalid(check, what: str, source: str, bad: str) -> None:
    message = refused(InvalidRequest, check, bad)
    assert message.startswith(what) and f"the one {source} returned" in message


# -- name and e-mail ---------------------------------------------------------------


def test_name_and_email_are_trimmed() -> None:
    assert validation.person_name("  Ada Lovelace ") == "Ada Lovelace"
    assert validation.email(" ada@example.org\t") == "ada@example.org"
    assert validation.email("a.b+c@mail.example.co.uk") == "a.b+c@mail.example.co.uk"


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (None, "name must be text"),
        (42, "name must be text"),
        ("   ", "name is empty"),
        ("x" * (MAX_NAME_LENGTH + 1), f"longer than {MAX_NAME_LENGTH}"),
        ("Ada\nLovelace", "control characters"),
        ("Ada\x00", "control characters"),
    ],
)
def test_bad_names_are_invalid(bad: object, expected: str) -> None:
    assert expected in refused(InvalidRequest, validation.person_name, bad)


@pytest.mark.parametrize(
    ("bad", "expected"),
    [
        (None, "email must be text such as 'ada@example.org'"),
        (["a@b.c"], "email must be text"),
        ("", "email is empty"),
        ("x" * MAX_EMAIL_LENGTH + "@b.c", f"longer than {MAX_EMAIL_LENGTH}"),
        ("ada", "is not an address"),
        ("ada@example", "is not an address"),
        ("@example.org", "is not an address"),
        ("ada@@example.org", "is not an address"),
        ("ada lovelace@example.org", "is not an address"),
        ("ada@example.", "is not an address"),
        ("ada@exam\x07ple.org", "is not an address"),
    ],
)
def test_bad_emails_are_invalid(bad: object, expected: str) -> None:
    assert expected in refused(InvalidRequest, validation.email, bad)
