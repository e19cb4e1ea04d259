"""The catalog's replicated forms: events' ``sales``, theaters as log tables and back, and
the two listings (the contract's, without cancelled events; ``list_catalog``'s, with them)."""

from __future__ import annotations

import json

import pytest
import serpent
from conftest import CATALOGS

from ticketing.catalog import (
    CANCELLED,
    OPEN,
    STOPPED,
    CatalogError,
    Event,
    Theater,
    event_from_table,
    load_catalog,
    parse_catalog,
    theater_from_table,
)
from ticketing.errors import SalesClosed, UnknownEvent

CATALOG_FILES = sorted(CATALOGS.glob("*.toml"))
ALL_THEATERS = [
    pytest.param(theater, id=f"{name}:{theater.id}")
    for name, catalog in [("default", load_catalog())]
    + [(p.stem, load_catalog(p)) for p in CATALOG_FILES]
    for theater in catalog.theaters
]

PROGRAMME = """
[[theater]]
id = "AMC"
name = "AMC"
city = "Boston"
rows = 3
seats_per_row = 5
cluster = "east"
lock_group = 2
[[theater.event]]
id = "on"
title = "On sale"
starts_at = "2026-12-01T19:00:00"
[[theater.event]]
id = "paused"
title = "Paused"
starts_at = 2026-12-02T19:00:00
sales = "stopped"
[[theater.event]]
id = "off"
title = "Called off"
starts_at = "2026-12-03T19:00:00"
sales = "cancelled"
[[theater.event]]
id = "open"
title = "Said open"
starts_at = "2026-12-04T19:00:00"
sales = "open"
"""
THEATER = parse_catalog(PROGRAMME).theaters[0]


def test_sales_is_read_and_defaults_to_open() -> None:
    assert [(e.id, e.sales) for e in THEATER.events] == [
        ("on", OPEN),
        ("paused", STOPPED),
        ("off", CANCELLED),
        ("open", OPEN),
    ]
    assert THEATER.event("paused").starts_at == "2026-12-02T19:00:00"  # an unquoted date-time


@pytest.mark.parametrize("bad", ['"closed"', '"OPEN"', '""', "1", "true", '["open"]'])
def test_a_bad_sales_is_refused_naming_the_key(bad: str) -> None:
    text = PROGRAMME.replace('sales = "stopped"', f"sales = {bad}")
    with pytest.raises(CatalogError, match=r"theater\[0\]\.event\[1\]\.sales: must be one of"):
        parse_catalog(text, "programme.toml")


def test_on_sale_says_why_not() -> None:
    assert THEATER.on_sale("on").id == "on"
    with pytest.raises(SalesClosed, match="stopped for now"):
        THEATER.on_sale("paused")
    with pytest.raises(SalesClosed, match=r"cancelled.*refunds"):
        THEATER.on_sale("off")
    with pytest.raises(UnknownEvent) as unknown:
        THEATER.on_sale("nope")
    assert not isinstance(unknown.value, SalesClosed)
    assert issubclass(SalesClosed, UnknownEvent)  # a contract-only caller sees an unknown event


@pytest.mark.parametrize("theater", [*ALL_THEATERS, pytest.param(THEATER, id="programme")])
def test_tables_round_trip(theater: Theater) -> None:
    table = theater.to_table()
    assert theater_from_table(table, "test") == theater
    for wire in (json.loads(json.dumps(table)), serpent.loads(serpent.dumps(table))):
        again = theater_from_table(wire, "test")
        assert again == theater and again.seat_map == theater.seat_map
        assert again.to_table() == table
    for event in theater.events:
        assert event_from_table(event.to_table(), "test") == event
    assert ("lock_group" in table) == (theater.lock_group is not None)


def test_a_table_without_cluster_is_its_own_cluster() -> None:
    table = {k: v for k, v in THEATER.to_table().items() if k != "cluster"}
    assert theater_from_table(table, "test").cluster == "AMC"


@pytest.mark.parametrize(
    ("table", "key"),
    [
        (None, "theater: must be a table"),
        ({**THEATER.to_table(), "seats": 15}, "theater.seats: unknown key"),
        ({**THEATER.to_table(), "rows": 0}, "theater.rows"),
        ({**THEATER.to_table(), "lock_group": 0}, "theater.lock_group"),
        ({**THEATER.to_table(), "event": [{"id": "x"}]}, r"theater.event\[0\].title: missing"),
    ],
)
def test_a_bad_table_names_its_source_and_key(table: object, key: str) -> None:
    with pytest.raises(CatalogError, match=rf"^the manager: {key}"):
        theater_from_table(table, "the manager")


def test_event_from_table_refusals() -> None:
    with pytest.raises(CatalogError, match="event: must be a table"):
        event_from_table(["id"], "command")
    with pytest.raises(CatalogError, match=r"event\.sales"):
        event_from_table({**Event("x", "X", "2026-12-01T19:00").to_table(), "sales": "?"}, "c")
    with pytest.raises(CatalogError, match=r"event\.starts_at: needs a time of day"):
        event_from_table({"id": "x", "title": "X", "starts_at": "2026-12-01"}, "command")


def test_to_plain_is_the_contracts_shape_without_cancelled_events() -> None:
    plain = THEATER.to_plain()
    assert plain == {
        "theater": "AMC",
        "name": "AMC",
        "city": "Boston",
        "seats": 15,
        "events": [
            {"event": "on", "title": "On sale", "starts_at": "2026-12-01T19:00:00"},
            {"event": "paused", "title": "Paused", "starts_at": "2026-12-02T19:00:00"},
            {"event": "open", "title": "Said open", "starts_at": "2026-12-04T19:00:00"},
        ],
    }
    catalog = parse_catalog(PROGRAMME)
    assert catalog.to_plain() == [plain]


@pytest.mark.parametrize("theater", ALL_THEATERS)
def test_every_listing_keeps_the_contracts_keys_exactly(theater: Theater) -> None:
    plain = theater.to_plain()
    assert set(plain) == {"theater", "name", "city", "seats", "events"}
    assert all(set(event) == {"event", "title", "starts_at"} for event in plain["events"])
    listing = theater.to_listing()
    assert set(listing) == {*plain, "rows", "seats_per_row"}
    assert all(set(e) == {"event", "title", "starts_at", "sales"} for e in listing["events"])
    assert len(listing["events"]) == len(theater.events)


def test_to_listing_has_every_event_with_its_sales() -> None:
    listing = THEATER.to_listing()
    assert {k: v for k, v in listing.items() if k != "events"} == {
        "theater": "AMC",
        "name": "AMC",
        "city": "Boston",
        "seats": 15,
        "rows": 3,
        "seats_per_row": 5,
    }
    assert [(e["event"], e["sales"]) for e in listing["events"]] == [
        ("on", OPEN),
        ("paused", STOPPED),
        ("off", CANCELLED),
        ("open", OPEN),
    ]
    assert listing["events"][2] == {
        "event": "off",
        "title": "Called off",
        "starts_at": "2026-12-03T19:00:00",
        "sales": "cancelled",
    }
