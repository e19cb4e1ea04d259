"""The catalog: the packaged default, and refusals that name file, key and reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from ticketing.catalog import Catalog, CatalogError, load_catalog, parse_catalog
from ticketing.errors import TicketingError, UnknownEvent, UnknownTheater
from ticketing.settings import BOOKING_QUOTA_WINDOW, MAX_BOOKED_SEATS_PER_CLIENT

GOOD = """
hold_ttl = 120
max_seats_per_booking = 4

[[theater]]
id = "AMC"
name = "AMC Cinemas"
city = "Boston"
rows = 12
seats_per_row = 18
cluster = "east"

[[theater.event]]
id = "dune-1900"
title = "Dune: Part Three"
starts_at = "2026-12-01T19:00:00"

[[theater]]
id = "REG_2"
name = "Regal"
city = "New York"
rows = 30
seats_per_row = 2
cluster = "east"

[[theater]]
id = "CIN"
name = "Cinemark"
city = "Dallas"
rows = 1
seats_per_row = 1

[[theater.event]]
id = "e1"
title = "One"
starts_at = 2026-12-03T17:30:00
"""


def test_default_catalog_has_the_seed_theaters() -> None:
    catalog = load_catalog()
    assert [t.id for t in catalog.theaters] == ["AMC", "REG", "CIN"]
    assert catalog.hold_ttl == 300 and catalog.max_seats_per_booking == 5
    for theater in catalog.theaters:
        assert len(theater.events) >= 2
        assert theater.seat_count >= 100
        assert theater.cluster == theater.id
    assert list(catalog.clusters()) == ["AMC", "REG", "CIN"]


def test_list_theaters_shape() -> None:
    plain = load_catalog().to_plain()
    amc = plain[0]
    assert set(amc) == {"theater", "name", "city", "seats", "events"}
    assert amc["theater"] == "AMC" and amc["city"] == "Boston"
    assert amc["seats"] == 12 * 18
    assert set(amc["events"][0]) == {"event", "title", "starts_at"}


def test_parse_good_catalog() -> None:
    catalog = parse_catalog(GOOD)
    assert isinstance(catalog, Catalog)
    assert catalog.hold_ttl == 120.0 and catalog.max_seats_per_booking == 4
    assert {k: [t.id for t in v] for k, v in catalog.clusters().items()} == {
        "east": ["AMC", "REG_2"],
        "CIN": ["CIN"],
    }
    reg = catalog.theater("REG_2")
    assert reg.events == () and reg.seat_map.label(59) == "AD2"
    assert catalog.theater("CIN").event("e1").starts_at == "2026-12-03T17:30:00"


def test_lookups_raise_contract_errors() -> None:
    catalog = parse_catalog(GOOD)
    with pytest.raises(UnknownTheater, match="NOPE"):
        catalog.theater("NOPE")
    with pytest.raises(UnknownEvent, match="nope"):
        catalog.theater("AMC").event("nope")


def test_load_from_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cat.toml"
    path.write_text(GOOD.replace("rows = 12", "rows = 0"))
    with pytest.raises(CatalogError) as caught:
        load_catalog(path)
    message = str(caught.value)
    assert str(path) in message and "theater[0].rows" in message and ">= 1" in message
    with pytest.raises(CatalogError, match="cannot read"):
        load_catalog(tmp_path / "missing.toml")


def test_catalog_error_is_not_a_ticketing_error() -> None:
    assert issubclass(CatalogError, ValueError)
    assert not issubclass(CatalogError, TicketingError)


BAD = [
    ("colour = 1\n" + GOOD, "colour", "unknown key"),
    (GOOD.replace('city = "Boston"', 'city = "Boston"\nseats = 3'), "theater[0].seats", "unknown"),
    (GOOD.replace('title = "One"', 'title = "One"\nlength = 3'), "event[0].length", "unknown"),
    (GOOD.replace('id = "REG_2"', 'id = "AMC"'), "theater[1].id", "duplicate"),
    (GOOD.replace('id = "REG_2"', 'id = "RE G"'), "theater[1].id", "letters, digits"),
    (GOOD.replace('id = "e1"', 'id = "e.1"'), "theater[2].event[0].id", "letters"),
    (GOOD.replace("seats_per_row = 18", "seats_per_row = 1.5"), "seats_per_row", ">= 1"),
    (GOOD.replace("seats_per_row = 18", "seats_per_row = true"), "seats_per_row", ">= 1"),
    (GOOD.replace("rows = 30", "rows = 1000000"), "theater[1].rows", "more than"),
    (GOOD.replace("hold_ttl = 120", "hold_ttl = 0"), "hold_ttl", "positive"),
    (GOOD.replace("hold_ttl = 120", "hold_ttl = inf"), "hold_ttl", "positive"),
    (GOOD.replace("max_seats_per_booking = 4", "max_seats_per_booking = 0"), "max_seats", ">= 1"),
    (GOOD.replace('"2026-12-01T19:00:00"', '"tomorrow"'), "event[0].starts_at", "ISO"),
    (GOOD.replace('"2026-12-01T19:00:00"', '"2026-12-01"'), "starts_at", "time of day"),
    (GOOD.replace("2026-12-03T17:30:00", "2026-12-03"), "starts_at", "date-time"),
    (GOOD.replace('name = "Regal"', 'name = ""'), "theater[1].name", "non-empty"),
    (GOOD.replace('city = "Dallas"', ""), "theater[2].city", "missing"),
    (GOOD.replace('cluster = "east"', 'cluster = "e/st"', 1), "theater[0].cluster", "letters"),
    (GOOD.replace('cluster = "east"', "lock_group = 0", 1), "theater[0].lock_group", ">= 1"),
    ("hold_ttl = 3\n", "theater", "at least one"),
    (GOOD.replace('id = "AMC"', 'id = "AMC'), "<string>", "not valid TOML"),
]


@pytest.mark.parametrize(("text", "key", "reason"), BAD)
def test_refusals_name_key_and_reason(text: str, key: str, reason: str) -> None:
    with pytest.raises(CatalogError) as caught:
        parse_catalog(text, "cat.toml" if key != "<string>" else "<string>")
    message = str(caught.value)
    assert message.startswith(("cat.toml: ", "<string>: ")), message
    assert key in message and reason in message, message


def test_duplicate_event_ids() -> None:
    text = (
        GOOD + '\n[[theater.event]]\nid = "e1"\ntitle = "Two"\nstarts_at = "2026-12-04T10:00:00"\n'
    )
    with pytest.raises(CatalogError, match=r"theater\[2\]\.event\[1\]\.id: duplicate"):
        parse_catalog(text)


def test_max_held_seats_per_client_defaults_and_is_checked() -> None:
    from ticketing.settings import MAX_HELD_SEATS_PER_CLIENT

    theater = '[[theater]]\nid = "T"\nname = "T"\ncity = "C"\nrows = 2\nseats_per_row = 2\n'
    assert parse_catalog(theater).max_held_seats_per_client == MAX_HELD_SEATS_PER_CLIENT
    assert (
        parse_catalog("max_held_seats_per_client = 40\n" + theater).max_held_seats_per_client == 40
    )
    with pytest.raises(CatalogError, match="max_held_seats_per_client"):
        parse_catalog("max_seats_per_booking = 5\nmax_held_seats_per_client = 4\n" + theater)


def test_booking_quota_keys_default_and_are_checked() -> None:
    theater = '[[theater]]\nid = "A"\nname = "A"\ncity = "B"\nrows = 1\nseats_per_row = 1\n'
    catalog = parse_catalog(theater)
    assert catalog.max_booked_seats_per_client == MAX_BOOKED_SEATS_PER_CLIENT
    assert catalog.booking_quota_window == BOOKING_QUOTA_WINDOW
    assert catalog.quota_exempt == ()
    keys = "max_booked_seats_per_client = 40\nbooking_quota_window = 60\n"
    keys += 'quota_exempt = ["203.0.113.7", "10.0.0.0/8", "::1"]\n'
    custom = parse_catalog(keys + theater)
    assert (custom.max_booked_seats_per_client, custom.booking_quota_window) == (40, 60.0)
    assert custom.quota_exempt == ("203.0.113.7/32", "10.0.0.0/8", "::1/128")
    assert str(custom.quota_exempt_networks[1]) == "10.0.0.0/8"
    for bad, key in [
        ("max_booked_seats_per_client = 4", "max_booked_seats_per_client"),
        ("booking_quota_window = 0", "booking_quota_window"),
        ('quota_exempt = "10.0.0.0/8"', "quota_exempt"),
        ('quota_exempt = ["10.0.0.300"]', r"quota_exempt\[0\]"),
    ]:
        with pytest.raises(CatalogError, match=key):
            parse_catalog(bad + "\n" + theater)
