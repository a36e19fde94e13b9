"""The bundled demo-shop profile and the demo watchlist validate against config.py's strict schema."""

from __future__ import annotations

import tomllib

import pytest

from promowatch.config import load_profile, parse_watchlist
from promowatch.demo.scenarios import scenario
from promowatch.demo.watchlist import apprise_json_url, demo_watchlist
from promowatch.domain import Availability


def test_profile_loads() -> None:
    profile = load_profile("demo-shop")
    assert (profile.slug, profile.country, profile.currency, profile.language) == (
        "demo-shop",
        "CH",
        "CHF",
        "fr",
    )
    assert profile.stores.stock_url == "/api/stock/{sku}"
    assert profile.stores.status_map == {
        "available": Availability.IN_STOCK,
        "low": Availability.LIMITED,
        "none": Availability.OUT_OF_STOCK,
    }
    assert profile.browser.wait_for and profile.canary


@pytest.mark.parametrize(
    ("hook", "expected"),
    [
        pytest.param("http://127.0.0.1:8099/hook", "json://127.0.0.1:8099/hook", id="http"),
        pytest.param("https://127.0.0.1:8099/hook", "jsons://127.0.0.1:8099/hook", id="https"),
        pytest.param("json://127.0.0.1:8099/hook", "json://127.0.0.1:8099/hook", id="already-apprise"),
    ],
)
def test_hook_url(hook: str, expected: str) -> None:
    assert apprise_json_url(hook) == expected


def test_demo_watchlist_validates() -> None:
    text = demo_watchlist("http://127.0.0.1:8765/", "http://127.0.0.1:8099/hook")
    watchlist = parse_watchlist(tomllib.loads(text), "demo-watchlist.toml")
    (retailer,) = watchlist.retailers
    assert (retailer.slug, retailer.base_url, retailer.sweep) == ("demo-shop", "http://127.0.0.1:8765", True)
    assert retailer.reference_rule == "ch"
    consumer, watchdog = watchlist.subscriptions
    assert consumer.tags == ("consumer",) and consumer.language == "fr"
    assert consumer.urls == ("json://127.0.0.1:8099/hook",)
    assert consumer.products == ("http://127.0.0.1:8765" + scenario("b").path,)
    assert consumer.events == ("restock", "stockout")
    assert watchdog.tags == ("watchdog",) and watchdog.all_findings and watchdog.language == "fr"


def test_watchdog_can_have_its_own_hook() -> None:
    text = demo_watchlist("http://127.0.0.1:8765", "json://127.0.0.1:1/a", "json://127.0.0.1:1/b")
    consumer, watchdog = parse_watchlist(tomllib.loads(text), "w.toml").subscriptions
    assert (consumer.urls, watchdog.urls) == (("json://127.0.0.1:1/a",), ("json://127.0.0.1:1/b",))
