"""Scenario (e) read by a real headless Chromium: the script fills the stock line and the store widget."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from promowatch.config import load_profile
from promowatch.demo.scenarios import DEFAULT_START, scenario
from promowatch.demo.shop import DemoShop

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.mark.parametrize(
    ("day", "stock", "orderable"),
    [
        pytest.param(3, "En stock", True, id="day3-in-stock"),
        pytest.param(8, "Épuisé", False, id="day8-sold-out-online"),
    ],
)
def test_live_stock_filled_by_script(browser: Any, day: int, stock: str, orderable: bool) -> None:
    profile = load_profile("demo-shop")
    item = scenario("e")
    with DemoShop(DEFAULT_START) as shop:
        shop.set_clock(DEFAULT_START + timedelta(days=day, hours=1))
        tab = browser.new_page()
        try:
            hosts = set()
            tab.on("request", lambda request: hosts.add(request.url.split("/")[2]))
            tab.goto(shop.url + item.path)
            tab.wait_for_selector(profile.browser.wait_for or "", timeout=profile.browser.timeout_ms)
            line = tab.text_content(profile.offer.availability or "")
            button = tab.query_selector(profile.offer.buy_button or "")
            enabled = button.is_enabled() if button is not None else None
            summary = tab.text_content(".store-availability .store-summary") or ""
            rows = len(tab.query_selector_all(".store-availability .store-row"))
            tab.click("#cookie-accept")
            banner_hidden = tab.is_hidden("#cookie-banner")
        finally:
            tab.close()
        assert shop.requests[f"/api/stock/{item.sku}"] == 1
    assert line == stock
    assert enabled is orderable
    assert summary.startswith("Disponible dans ") and summary.endswith(f"sur {len(shop.stores)}")
    assert rows == 6
    assert banner_hidden
    assert hosts == {shop.url.removeprefix("http://")}
