"""Store list and store stock from JSON APIs, as a profile's [stores] table describes them."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from promowatch.config import StoreApi
from promowatch.domain import Availability
from promowatch.extract.jsonpath import lookup
from promowatch.extract.stores import StoreDataError, parse_store_list, parse_store_stock, stock_state

API = StoreApi(
    list_url="/api/stores",
    list_path="stores",
    postcode="address.zip",
    city="address.city",
    latitude="geo.lat",
    longitude="geo.lon",
    stock_url="/api/stock/{sku}",
    stock_path="data.stores",
    stock_store_id="id",
    stock_quantity="qty",
    stock_status="state",
    stock_time="data.updated_at",
    status_map={
        "available": Availability.IN_STOCK,
        "low|few": Availability.LIMITED,
        "none|sold( out)?": Availability.OUT_OF_STOCK,
    },
)


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        pytest.param({"a": {"b": 1}}, "a.b", 1, id="nested-dict"),
        pytest.param({"a": [{"b": 1}, {"b": 2}]}, "a.1.b", 2, id="list-index"),
        pytest.param({"a": [1, 2]}, "a.-1", 2, id="negative-index"),
        pytest.param({"a": [1, 2]}, "a.5", None, id="index-out-of-range"),
        pytest.param({"a": 1}, "a.b", None, id="step-into-scalar"),
        pytest.param([1], "", [1], id="empty-path-is-root"),
    ],
)
def test_lookup(data: object, path: str, expected: object) -> None:
    assert lookup(data, path) == expected


def test_store_list_reads_nested_fields() -> None:
    # shaped like the Migros/Coop style store finders: address and geo as sub-objects
    body = json.dumps(
        {
            "stores": [
                {
                    "id": 17,
                    "name": "Lausanne Flon",
                    "address": {"zip": "1003", "city": "Lausanne"},
                    "geo": {"lat": 46.52, "lon": 6.63},
                },
                {"name": "no id: skipped"},
            ]
        }
    ).encode()
    [store] = parse_store_list(body, API)
    assert (store.store_id, store.postcode, store.city, store.latitude) == ("17", "1003", "Lausanne", 46.52)


@pytest.mark.parametrize(
    ("entry", "availability", "quantity"),
    [
        pytest.param(
            {"id": "1", "qty": 4, "state": "available"}, Availability.IN_STOCK, 4, id="mapped-status"
        ),
        pytest.param({"id": "1", "qty": 1, "state": "LOW"}, Availability.LIMITED, 1, id="status-any-case"),
        pytest.param({"id": "1", "qty": 0, "state": "none"}, Availability.OUT_OF_STOCK, 0, id="status-none"),
        pytest.param(
            {"id": "1", "state": "sold out"}, Availability.OUT_OF_STOCK, None, id="status-alternation"
        ),
        pytest.param(
            {"id": "1", "state": "unavailable"}, Availability.UNKNOWN, None, id="whole-word-not-substring"
        ),
        pytest.param({"id": "1", "qty": 0}, Availability.OUT_OF_STOCK, 0, id="quantity-zero-no-status"),
        pytest.param({"id": "1", "qty": 3}, Availability.IN_STOCK, 3, id="quantity-only"),
        pytest.param(
            {"id": "1", "state": "call us"}, Availability.UNKNOWN, None, id="unmapped-status-is-unknown"
        ),
        pytest.param(
            {"id": "1", "qty": "many"}, Availability.UNKNOWN, None, id="non-numeric-quantity-unknown"
        ),
        pytest.param({"id": "1", "qty": True}, Availability.UNKNOWN, None, id="boolean-is-not-a-quantity"),
    ],
)
def test_store_stock_states(
    entry: dict[str, object], availability: Availability, quantity: int | None
) -> None:
    body = json.dumps({"data": {"updated_at": "2026-11-05T06:00:00Z", "stores": [entry]}}).encode()
    [stock] = parse_store_stock(body, API)
    assert (stock.availability, stock.quantity) == (availability, quantity)
    assert stock.source_time == datetime(2026, 11, 5, 6, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"<html>captcha</html>", id="html-instead-of-json"),
        pytest.param(b'{"data": {"error": "maintenance"}}', id="no-list-at-path"),
        pytest.param(b"\xff\xfe", id="undecodable"),
    ],
)
def test_unreadable_stock_is_an_error_not_zero_stock(body: bytes) -> None:
    with pytest.raises(StoreDataError):
        parse_store_stock(body, API)


def test_a_backtracking_status_pattern_on_a_hostile_status_ends_unknown() -> None:
    # issue 19: a profile pattern such as (a+)+$ against a long status word from the shop's API backtracked
    # without end; the store's state is then unknown, within the pattern's timeout
    api = StoreApi(status_map={"(a+)+$": Availability.OUT_OF_STOCK})
    started = time.monotonic()
    assert stock_state("a" * 199 + "!", None, api) is Availability.UNKNOWN
    assert stock_state("a" * 5000, 3, api) is Availability.IN_STOCK  # no status word: the quantity decides
    assert time.monotonic() - started < 5
    assert stock_state("aaa", None, api) is Availability.OUT_OF_STOCK
