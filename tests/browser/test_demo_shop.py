"""Scenario (e) of the real demo shop (promowatch/demo) crawled by `promowatch crawl` in a subprocess: its stock
line and buy button are filled in by shop.js from /api/stock/{sku}, so a copy of the bundled demo-shop profile
with render = "browser" reads them and the same profile with render = "http" says unknown."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from promowatch.datadir import DataDir
from promowatch.demo.scenarios import DEFAULT_START, scenario
from promowatch.demo.shop import DemoShop
from tests.browser.crawling import crawl, observations, write_demo_watchlist

pytestmark = pytest.mark.browser


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


def test_cookie_banner_is_accepted_once_per_context(tmp_path: Path) -> None:
    # demo-shop.toml: actions = [{ click = "#cookie-accept" }]; the first page shows the banner and the click
    # accepts it, the next page of the same browser context does not show it and the click is skipped
    first, second = scenario("e"), scenario("a")
    moment = DEFAULT_START + timedelta(days=3, hours=2)
    with DemoShop(DEFAULT_START) as shop:
        shop.set_clock(moment)
        watchlist = write_demo_watchlist(
            tmp_path, shop.url, [first.path, second.path], concurrency=1, stores=False
        )
        result = crawl(watchlist, tmp_path / "data", now=moment.isoformat())
    assert result.returncode == 0, result.stderr[-2000:]
    seen = observations(tmp_path / "data")
    for item in (first, second):
        assert seen[item.path]["availability"] != "unknown", seen[item.path]
        assert seen[item.path]["wait"].endswith(("ms", "s")), seen[item.path]
    blobs = DataDir.resolve(str(tmp_path / "data"), None).blobs
    banners = [
        match.group(0)
        for blob in blobs.rglob("*")
        if blob.is_file()
        for match in re.finditer(rb"<div[^>]*id=\"cookie-banner\"[^>]*>", blob.read_bytes())
    ]
    # each page as served shows the banner; each page as rendered (the DOM kept as evidence) has it hidden:
    # the first by the click, the later ones (the profile's canary too) by the consent cookie the click set
    pages = len(seen)
    assert pages >= 2 and len(banners) == 2 * pages, banners
    assert sum(b" hidden" in tag for tag in banners) == pages, banners
