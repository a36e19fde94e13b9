"""Scenario (e) of the real demo shop (promowatch/demo) crawled by `promowatch crawl` in a subprocess: its stock
line and buy button are filled in by shop.js from /api/stock/{sku}, so a copy of the bundled demo-shop profile
with render = "browser" reads them and the same profile with render = "http" says unknown."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from promowatch.demo.scenarios import DEFAULT_START, scenario
from promowatch.demo.shop import DemoShop
from tests.browser.crawling import crawl, observations, write_demo_watchlist


@pytest.mark.parametrize(
    ("render", "day", "availability", "orderable"),
    [
        # scenario (e), promowatch/demo/scenarios.py: in stock, sold out online on days 8-9
        pytest.param("browser", 3, "in_stock", True, id="browser-day3-in-stock"),
        pytest.param("browser", 8, "out_of_stock", False, id="browser-day8-sold-out-online"),
        # the static HTML says "chargement…", mapped to unknown by the profile: HTTP cannot tell (whether its
        # missing buy button means "not orderable" is extraction's call, not asserted here)
        pytest.param("http", 3, "unknown", None, id="http-day3-unknown"),
        pytest.param("http", 8, "unknown", None, id="http-day8-unknown"),
    ],
)
def test_scenario_e_is_read_in_the_browser_only(
    tmp_path: Path, render: str, day: int, availability: str, orderable: bool | None
) -> None:
    item = scenario("e")
    moment = DEFAULT_START + timedelta(days=day, hours=2)
    with DemoShop(DEFAULT_START) as shop:
        shop.set_clock(moment)
        watchlist = write_demo_watchlist(tmp_path, shop.url, [item.path], render=render, stores=False)
        result = crawl(watchlist, tmp_path / "data", now=moment.isoformat())
        stock_calls = shop.requests[f"/api/stock/{item.sku}"]
    assert result.returncode == 0, result.stderr[-2000:]
    seen = observations(tmp_path / "data")[item.path]
    assert (seen["availability"], seen["render"]) == (availability, render)
    if render == "browser":
        assert seen["orderable"] is orderable
        assert seen["screenshot_sha256"] is not None  # the demo profile keeps a full-page screenshot
        assert seen["wait"].startswith(".product-main .stock-line[data-state=loaded] after ")
        assert stock_calls == 1  # the page's own script asked the stock API, once
    else:
        assert stock_calls == 0
