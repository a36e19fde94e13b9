"""Issue 24's acceptance, end to end in Debian's Chromium: the demo shop crawled over simulated days, then
`promowatch serve` over its data directory, driven like a person would.

The demo runs once for the module (about a minute on 2 cores); each test opens its own tab.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from promowatch.datadir import DataDir
from promowatch.db.engine import close_database, open_database
from promowatch.db.models import Product, Promotion, Retailer
from promowatch.demo.catalogue import product_by_sku
from promowatch.demo.run import CHECK_HOUR, DEMO_START, Inbox, run_day
from promowatch.demo.scenarios import scenario
from promowatch.demo.shop import DemoShop
from promowatch.domain import utcnow
from tests.web.conftest import HOSTILE_TITLE

# the demo's crawl (module setup) counts against the first test's time
pytestmark = [pytest.mark.browser, pytest.mark.timeout(1200)]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DAYS = 8  # the bait (scenario a) runs from day 3; its unorderable_online finding opens on day 5
NOW = DEMO_START + timedelta(days=DAYS - 1) + CHECK_HOUR


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _add_hostile_promotion(data: DataDir) -> int:
    """A promotion whose title is markup, as a hostile or careless shop could write it."""
    sessions = open_database(data.db_url)
    with sessions() as s:
        retailer = s.query(Retailer).filter_by(slug="demo-shop").one()
        product = Product(retailer_id=retailer.id, url="http://127.0.0.1:9/p/hostile", name=HOSTILE_TITLE)
        s.add(product)
        s.flush()
        promotion = Promotion(
            key="hostile",
            retailer_id=retailer.id,
            product_id=product.id,
            title=HOSTILE_TITLE,
            advertised_price=Decimal("9.90"),
            currency="CHF",
            valid_from=NOW - timedelta(days=1),
            valid_until=NOW + timedelta(days=3),
            origin="watchlist",
            window_basis="entered",
            created_at=utcnow(),
        )
        s.add(promotion)
        s.commit()
        promotion_id = promotion.id
    close_database(sessions)
    return promotion_id


@pytest.fixture(scope="module")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from promowatch.demo.watchlist import demo_watchlist

    root = tmp_path_factory.mktemp("demo")
    inbox = Inbox()
    with DemoShop(DEMO_START) as shop, inbox.serving():
        watchlist = root / "watchlist.toml"
        watchlist.write_text(demo_watchlist(shop.url, inbox.url))
        for day in range(DAYS):
            now = DEMO_START + timedelta(days=day) + CHECK_HOUR
            shop.set_clock(now)
            result = run_day(watchlist, root, now)
            assert result.returncode in (0, 1), result.stderr[-3000:]
    data = DataDir.resolve(str(root))
    return {"data": data, "hostile": _add_hostile_promotion(data)}


@pytest.fixture(scope="module")
def server(demo_data: dict[str, Any]) -> Iterator[str]:
    port = _free_port()
    command = [sys.executable, "-m", "promowatch.cli", "serve", "--data-dir", str(demo_data["data"].root)]
    process = subprocess.Popen([*command, "--port", str(port), "--now", NOW.isoformat()])
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def tab(browser: Any) -> Iterator[Any]:
    context = browser.new_context(accept_downloads=True)
    page = context.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


def bait_title() -> str:
    return product_by_sku()[scenario("a").sku].title


def test_overview_to_bait_promotion_chart_findings_and_case(tab: Any, server: str, tmp_path: Path) -> None:
    tab.goto(server + "/")
    assert tab.locator("h1").inner_text() == "Overview"
    tab.get_by_role("link", name=bait_title()).first.click()
    assert tab.locator("#promotion-title").inner_text() == bait_title()
    tab.wait_for_selector("#chart.drawn canvas", timeout=15000)
    assert int(tab.locator("#chart").get_attribute("data-points") or 0) >= DAYS - 3
    findings = tab.locator("article.finding h3 a").all_inner_texts()
    assert "unorderable_online" in findings
    export = tab.locator("article.finding", has_text="unorderable_online").get_by_role(
        "button", name="Export case"
    )
    # the bundle holds charts and a PDF: seconds of work, a minute on a busy machine
    with tab.expect_download(timeout=300_000) as download_info:
        export.click(timeout=300_000)
    bundle = tmp_path / download_info.value.suggested_filename
    download_info.value.save_as(bundle)
    verified = subprocess.run(
        [sys.executable, "-m", "promowatch.cli", "case", "verify", str(bundle)],
        capture_output=True,
        text=True,
    )
    assert verified.returncode == 0, verified.stdout[-2000:]


def test_subscription_receives_its_test_notification(tab: Any, server: str) -> None:
    inbox = Inbox()
    secret_path = "/hook-9f3c2"
    with inbox.serving():
        tab.goto(server + "/subscriptions")
        tab.fill("input[name=name]", "bait watch")
        tab.select_option("select[name=promotion_id]", label=f"{bait_title()} (demo-shop)")
        tab.fill("input[name=postcode]", "1003")
        tab.fill("input[name=radius_km]", "20")
        tab.select_option("select[name=language]", "fr")
        tab.fill("input[name=url]", inbox.url + secret_path)
        tab.get_by_role("button", name="Subscribe and send a test").click()
        tab.wait_for_selector("tr.created")
    assert [m["path"] for m in inbox.messages] == [secret_path]
    row = tab.locator("tr.created").inner_text()
    assert "json://***" in row and "ok: delivered" in row
    assert secret_path not in tab.content()


def test_markup_in_a_title_renders_as_text(tab: Any, server: str, demo_data: dict[str, Any]) -> None:
    tab.goto(f"{server}/promotions/{demo_data['hostile']}")
    assert tab.locator("#promotion-title").inner_text() == HOSTILE_TITLE
    assert tab.locator("#promotion-title img").count() == 0
    tab.goto(server + "/promotions")
    assert tab.get_by_role("link", name=HOSTILE_TITLE).count() == 1
    assert tab.dialogs == []
