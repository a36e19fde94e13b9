"""Pure scenario data: what each product looks like on each simulated day (source: prompts/demo.md)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from promowatch.demo.catalogue import (
    DELIVERY_TEXT,
    PRODUCTS,
    STORES,
    OnlineStock,
    Product,
    ean13,
    stores_for,
)
from promowatch.demo.pages import chf
from promowatch.demo.scenarios import (
    DEFAULT_START,
    SCENARIOS,
    offer_on,
    promotions_on,
    scenario,
    store_levels,
)
from promowatch.extract.delivery import parse_delivery

BY_SKU = {p.sku: p for p in PRODUCTS}


def product(letter: str) -> Product:
    return BY_SKU[scenario(letter).sku]


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        pytest.param("499", "499.–", id="whole-francs"),
        pytest.param("1299", "1’299.–", id="thousands-apostrophe"),
        pytest.param("59.90", "59.90", id="centimes"),
        pytest.param("12345.05", "12’345.05", id="thousands-and-centimes"),
    ],
)
def test_swiss_price_format(amount: str, shown: str) -> None:
    """Swiss shop style from the brief: 499.–, 1’299.–."""
    assert chf(Decimal(amount)) == shown


@pytest.mark.parametrize(
    ("letter", "day", "price", "regular", "online"),
    [
        pytest.param("a", 0, "549", None, OnlineStock.STORE_ONLY, id="a-day0-charged-549"),
        pytest.param("a", 2, "549", None, OnlineStock.STORE_ONLY, id="a-day2-still-549"),
        pytest.param("a", 3, "499", "999", OnlineStock.NOT_ONLINE, id="a-day3-bait-starts"),
        pytest.param("a", 8, "499", "999", OnlineStock.NOT_ONLINE, id="a-day8-still-not-online"),
        pytest.param("a", 9, "499", "999", OnlineStock.IN_STOCK, id="a-day9-back-online"),
        pytest.param("a", 13, "499", "999", OnlineStock.IN_STOCK, id="a-day13-bait-ends"),
        pytest.param("b", 1, "199", "299", OnlineStock.IN_STOCK, id="b-day1-in-stock"),
        pytest.param("b", 2, "199", "299", OnlineStock.SOLD_OUT, id="b-day2-sold-out"),
        pytest.param("b", 5, "199", "299", OnlineStock.SOLD_OUT, id="b-day5-sold-out"),
        pytest.param("b", 6, "199", "299", OnlineStock.IN_STOCK, id="b-day6-restocked"),
        pytest.param("c", 9, "349", None, OnlineStock.IN_STOCK, id="c-day9-reference-charged"),
        pytest.param("c", 10, "279", "349", OnlineStock.IN_STOCK, id="c-day10-promotion"),
        pytest.param("d", 4, "59.90", "79.90", OnlineStock.IN_STOCK, id="d-page-charges-59.90"),
        pytest.param("f", 4, "119", "169", OnlineStock.SOLD_OUT, id="f-sold-out"),
    ],
)
def test_offer_by_day(letter: str, day: int, price: str, regular: str | None, online: OnlineStock) -> None:
    offer = offer_on(product(letter), day)
    assert offer.price == Decimal(price)
    assert offer.regular_price == (Decimal(regular) if regular else None)
    assert offer.online is online


@pytest.mark.parametrize(
    ("letter", "day", "line"),
    [
        pytest.param("a", 8, None, id="a-not-online-no-promise"),
        pytest.param("a", 9, "Livraison sous 2 à 4 jours ouvrables", id="a-day9-first-promise"),
        pytest.param("a", 10, "Livraison sous 5 à 7 jours ouvrables", id="a-day10-three-days-later"),
        pytest.param("a", 13, "Livraison sous 14 à 16 jours ouvrables", id="a-day13-still-slipping"),
        pytest.param("c", 11, DELIVERY_TEXT, id="c-the-usual-line"),
        pytest.param("b", 4, None, id="b-sold-out-no-promise"),
    ],
)
def test_delivery_line_by_day(letter: str, day: int, line: str | None) -> None:
    """(a) back online from day 9: the working days it promises grow by three each day (a rolling promise)."""
    assert offer_on(product(letter), day).delivery == line


def test_the_bait_promise_slips_later_every_day() -> None:
    latest = [
        promise.latest
        for day in range(9, 14)
        if (
            promise := parse_delivery(
                offer_on(product("a"), day).delivery, DEFAULT_START + timedelta(days=day)
            )
        )
    ]
    assert len(latest) == 5 and all(b is not None and a is not None and b > a for a, b in pairwise(latest))


def test_reference_price_of_bait_never_charged() -> None:
    """(a): 999.– is only ever shown struck through, never charged."""
    assert all(offer_on(product("a"), day).price != Decimal("999") for day in range(-5, 20))


@pytest.mark.parametrize(
    ("letter", "days", "low", "high"),
    [
        pytest.param("a", range(3, 14), 0.90, 1.0, id="a-stores-empty-whole-promotion"),
        pytest.param("b", range(2, 6), 0.90, 1.0, id="b-stores-empty-days-2-5"),
        pytest.param("b", range(6, 14), 0.0, 0.10, id="b-stores-restocked"),
        pytest.param("c", range(14), 0.0, 0.05, id="c-honest-stores-stocked"),
    ],
)
def test_store_zero_share(letter: str, days: range, low: float, high: float) -> None:
    item = product(letter)
    for day in days:
        levels = store_levels(item.sku, day, offer_on(item, day).store_zero_share, STORES)
        share = sum(level.quantity == 0 for level in levels) / len(levels)
        assert low <= share <= high, (day, share)
        assert all((level.status == "none") == (level.quantity == 0) for level in levels)


@pytest.mark.parametrize(
    ("day", "letters"),
    [
        pytest.param(0, "bdef", id="day0"),
        pytest.param(3, "abdef", id="day3-bait-advertised"),
        pytest.param(10, "abcdef", id="day10-honest-promotion-too"),
        pytest.param(14, "", id="day14-all-over"),
        pytest.param(-1, "", id="before-start"),
    ],
)
def test_promotions_running(day: int, letters: str) -> None:
    running = {r.product.sku for r in promotions_on(DEFAULT_START, day)}
    assert running == {scenario(letter).sku for letter in letters}


def test_scenarios_are_distinct_products() -> None:
    assert [s.letter for s in SCENARIOS] == list("abcdef")
    assert len({s.sku for s in SCENARIOS}) == len({s.path for s in SCENARIOS}) == 6


@pytest.mark.parametrize(
    "count",
    [pytest.param(10, id="fewer"), pytest.param(50, id="fifty"), pytest.param(200, id="more-than-real")],
)
def test_bench_store_count(count: int) -> None:
    stores = stores_for(count)
    assert len(stores) == count
    assert len({s.store_id for s in stores}) == count


def test_gtins_have_valid_check_digits() -> None:
    for item in PRODUCTS:
        assert len(item.gtin) == 13
        assert ean13(item.gtin[:12]) == item.gtin
