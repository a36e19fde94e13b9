"""Browser rendering for real: Debian's Chromium through scrapy-playwright, crawls in a subprocess against
tests/browser/jsshop.py (the demo shop's scenario (e) pages: a stock line only JavaScript fills in)."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from PIL import Image
from sqlalchemy import func, select

from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.models import EvidenceBlob
from promowatch.evidence.blobs import BlobStore
from tests.browser.crawling import Shop, crawl, crawl_command, observations, write_watchlist
from tests.browser.jsshop import JsShop

PHOTO_COLOUR = (0xA0, 0x52, 0x2D)  # the fill of jsshop.PHOTO
BROWSER_NAMES = ("chromium", "chrome", "headless_shell", "node")

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shop() -> Iterator[JsShop]:
    server = JsShop().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def mixed_crawl(shop: JsShop, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One crawl of five retailers over the same pages, each with another render mode or wait condition."""
    root = tmp_path_factory.mktemp("mixed")
    shops = [
        Shop("by-http", "http", ("/p/js/1?via=http", "/p/js/10?via=http")),
        Shop(
            "by-browser",
            "browser",
            ("/p/js/1", "/p/js/10", "/p/never/2", "/p/same/3", "/p/same/4", "/p/slowimg/41"),
        ),
        Shop("by-auto", "auto", ("/p/js/1?via=auto", "/p/js/10?via=auto")),
        Shop("endless", "browser", ("/p/stream/5",), timeout_ms=2000),
        Shop("endless-idle", "browser", ("/p/stream/6",), wait="", timeout_ms=2000),
    ]
    started = time.monotonic()
    result = crawl(write_watchlist(root, shop.url, shops), root / "data")
    return {
        "result": result,
        "seconds": time.monotonic() - started,
        "observations": observations(root / "data"),
        "data": root / "data",
    }


@pytest.mark.parametrize(
    ("path", "availability", "orderable", "render"),
    [
        # scenario (e): static HTML says "chargement…" with a placeholder button: HTTP cannot tell whether it
        # is in stock nor whether it can be ordered, and says so
        pytest.param("/p/js/1?via=http", "unknown", None, "http", id="http-reads-placeholder-as-unknown"),
        pytest.param("/p/js/10?via=http", "unknown", None, "http", id="http-out-of-stock-page-also-unknown"),
        pytest.param("/p/js/1", "in_stock", True, "browser", id="browser-reads-js-in-stock"),
        pytest.param("/p/js/10", "out_of_stock", False, "browser", id="browser-reads-js-out-of-stock"),
        pytest.param("/p/js/1?via=auto", "in_stock", True, "browser", id="auto-falls-back-to-browser"),
        pytest.param(
            "/p/js/10?via=auto", "out_of_stock", False, "browser", id="auto-out-of-stock-via-browser"
        ),
    ],
)
def test_javascript_stock_line_is_read_only_in_the_browser(
    mixed_crawl: dict[str, Any], path: str, availability: str, orderable: bool, render: str
) -> None:
    assert mixed_crawl["result"].returncode == 0, mixed_crawl["result"].stderr[-2000:]
    seen = mixed_crawl["observations"][path]
    assert (seen["availability"], seen["orderable"], seen["render"]) == (availability, orderable, render)


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        pytest.param(
            "/p/never/2", "wait for #stock[data-status] timed out after 3000 ms", id="stock-never-filled"
        ),
        pytest.param(
            "/p/stream/5", "wait for #stock[data-status] timed out after 2000 ms", id="endless-requests"
        ),
    ],
)
def test_a_wait_that_times_out_is_unknown_with_the_reason(
    mixed_crawl: dict[str, Any], path: str, reason: str
) -> None:
    seen = mixed_crawl["observations"][path]
    # unknown, never out of stock; the disabled placeholder button does not make it unorderable either
    assert (seen["availability"], seen["orderable"], seen["reason"], seen["wait"]) == (
        "unknown",
        None,
        reason,
        reason,
    )
    assert seen["screenshot_sha256"] is not None  # what the page showed when the wait gave up is kept


def test_without_a_condition_a_page_that_never_goes_idle_is_read_once_loaded(
    mixed_crawl: dict[str, Any],
) -> None:
    # no wait for network idle: the page is read when its document has loaded, as the static page it still is
    seen = mixed_crawl["observations"]["/p/stream/6"]
    assert seen["wait"].startswith("the document loaded after ")
    assert (seen["availability"], seen["orderable"]) == ("unknown", None)
    assert seen["reason"].startswith("the stock line is still loading")


def test_endless_requests_are_bounded_by_the_timeout(mixed_crawl: dict[str, Any], shop: JsShop) -> None:
    # the streaming pages made requests for their whole 2 s, and the crawl did not wait longer than that
    assert shop.hits("/api/ping") > 20
    assert mixed_crawl["seconds"] < 60


def test_screenshot_is_stored_once_per_distinct_image(mixed_crawl: dict[str, Any]) -> None:
    seen = mixed_crawl["observations"]
    same = {seen["/p/same/3"]["screenshot_sha256"], seen["/p/same/4"]["screenshot_sha256"]}
    assert len(same) == 1 and None not in same
    shot = same.pop()
    assert shot != seen["/p/js/1"]["screenshot_sha256"]
    data = DataDir.resolve(str(mixed_crawl["data"]), None)
    assert BlobStore(data.blobs).get(shot)[:8] == b"\x89PNG\r\n\x1a\n"
    with open_database(data.db_url)() as session:
        rows = session.scalar(
            select(func.count()).select_from(EvidenceBlob).where(EvidenceBlob.sha256 == shot)
        )
    assert rows == 1


def test_the_screenshot_shows_the_pictures_and_pages_without_one_never_ask_for_them(
    mixed_crawl: dict[str, Any], shop: JsShop, tmp_path: Path
) -> None:
    # a screenshot is the evidence of what the shopper saw: the profile's image blocking does not apply to it
    data = DataDir.resolve(str(mixed_crawl["data"]), None)
    for path in ("/p/js/1", "/p/slowimg/41"):  # the second picture arrives after the page is ready
        png = BlobStore(data.blobs).get(mixed_crawl["observations"][path]["screenshot_sha256"])
        colours = Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 16) or []
        assert any(colour == PHOTO_COLOUR for _, colour in colours), path
    # without a screenshot, pictures are not even asked for
    shops = [Shop("no-shot", "browser", ("/p/js/31", "/p/js/32"), screenshot=False)]
    result = crawl(write_watchlist(tmp_path, shop.url, shops), tmp_path / "data")
    assert result.returncode == 0, result.stderr
    seen = observations(tmp_path / "data")
    assert [seen[p]["availability"] for p in ("/p/js/31", "/p/js/32")] == ["in_stock", "in_stock"]
    assert shop.hits("/img/31.svg") == shop.hits("/img/32.svg") == 0
    assert shop.hits("/img/1.svg") >= 1  # the mixed crawl's screenshot pages did


def test_a_killed_browser_is_relaunched_and_the_remaining_pages_are_read(
    shop: JsShop, tmp_path: Path
) -> None:
    products = tuple(f"/p/js/{n}?delay=150&via=kill" for n in range(1, 31))
    watchlist = write_watchlist(tmp_path, shop.url, [Shop("killed", "browser", products, screenshot=False)])
    before = shop.hits("/api/stock")
    process = psutil.Popen(crawl_command(watchlist, tmp_path / "data"))
    killed = 0
    deadline = time.monotonic() + 120
    while process.poll() is None and time.monotonic() < deadline:
        if not killed and shop.hits("/api/stock") - before >= 8:
            for child in process.children(recursive=True):
                if any(name in child.name().lower() for name in ("chromium", "chrome")):
                    child.kill()
                    killed += 1
        time.sleep(0.02)
    assert process.wait(timeout=60) == 0
    assert killed > 0
    seen = observations(tmp_path / "data")
    assert len(seen) == 30
    read = [path for path, s in seen.items() if s["availability"] in ("in_stock", "out_of_stock")]
    assert len(read) == 30, {p: s["reason"] for p, s in seen.items() if p not in read}


def test_http_only_crawl_never_starts_a_browser(shop: JsShop, tmp_path: Path) -> None:
    watchlist = write_watchlist(tmp_path, shop.url, [Shop("plain", "http", ("/p/js/1", "/p/js/2"))])
    process = psutil.Popen(crawl_command(watchlist, tmp_path / "data"))
    started: set[str] = set()
    while process.poll() is None:
        for child in process.children(recursive=True):
            try:
                name = child.name().lower()
            except psutil.NoSuchProcess:
                continue
            if any(browser in name for browser in BROWSER_NAMES):
                started.add(name)
        time.sleep(0.01)
    assert process.returncode == 0
    assert started == set()
    assert {s["render"] for s in observations(tmp_path / "data").values()} == {"http"}


def test_missing_chromium_gives_unknown_with_a_clear_reason(shop: JsShop, tmp_path: Path) -> None:
    watchlist = write_watchlist(tmp_path, shop.url, [Shop("nobrowser", "browser", ("/p/js/1",))])
    result = crawl(watchlist, tmp_path / "data", env={"PROMOWATCH_CHROMIUM": str(tmp_path / "no-chromium")})
    assert result.returncode in (0, 1), result.stderr[-2000:]
    (seen,) = observations(tmp_path / "data").values()
    assert seen["availability"] == "unknown"
    assert seen["reason"].startswith(f"BrowserNotFound: no Chromium at {tmp_path / 'no-chromium'}")


def test_a_banner_a_script_adds_after_load_is_clicked_away_before_the_evidence(
    shop: JsShop, tmp_path: Path
) -> None:
    # jsshop.py /p/consent: the stock answer takes 400 ms, the consent banner arrives at 200 ms: not there when
    # the actions run at DOMContentLoaded, there when the wait ends
    actions = 'wait_for = "#stock[data-status]"\nactions = [{ click = "#consent-ok" }]'
    watchlist = write_watchlist(
        tmp_path, shop.url, [Shop("consent", "browser", ("/p/consent/1?delay=400",), wait=actions)]
    )
    result = crawl(watchlist, tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    seen = observations(tmp_path / "data")["/p/consent/1?delay=400"]
    assert seen["availability"] == "in_stock"
    blobs = DataDir.resolve(str(tmp_path / "data"), None).blobs
    rendered = [
        body
        for blob in blobs.rglob("*")
        if blob.is_file() and b'data-status="in_stock"' in (body := blob.read_bytes())
    ]
    assert len(rendered) == 1, "one rendered DOM kept as evidence"
    assert b'id="consent"' not in rendered[0]  # clicked away before the DOM and the screenshot were taken
    with open_database(DataDir.resolve(str(tmp_path / "data"), None).db_url)() as session:
        indexed = session.get(EvidenceBlob, hashlib.sha256(rendered[0]).hexdigest())
    assert indexed is not None and (indexed.size, indexed.media_type) == (len(rendered[0]), "text/html")


@pytest.mark.parametrize(
    ("actions", "availability"),
    [
        pytest.param(
            '[{ fill = ["#zip", "1003"] }, { wait = 50 }, { click = "#show" }]',
            "in_stock",
            id="fill-then-click",
        ),
        pytest.param(
            '[{ fill = ["#zip", "8001"] }, { click = "#show" }]', "out_of_stock", id="another-postcode"
        ),
        # clicked before the postcode is typed: the form answers for no postcode, as it would for a shopper
        pytest.param(
            '[{ click = "#show" }, { fill = ["#zip", "1003"] }]', "out_of_stock", id="order-matters"
        ),
    ],
)
def test_actions_run_in_order_before_the_wait(
    shop: JsShop, tmp_path: Path, actions: str, availability: str
) -> None:
    # jsshop.py /p/postcode: a store-availability form, filled and submitted by the profile's actions
    browser = f'wait_for = "#stock[data-status]"\nactions = {actions}'
    watchlist = write_watchlist(
        tmp_path, shop.url, [Shop("postcode", "browser", ("/p/postcode/1",), wait=browser)]
    )
    result = crawl(watchlist, tmp_path / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    assert observations(tmp_path / "data")["/p/postcode/1"]["availability"] == availability


@pytest.fixture(scope="module")
def waits_crawl(shop: JsShop, tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    """One crawl of retailers that each wait for something else (Playwright locators in the page)."""
    root = tmp_path_factory.mktemp("waits")
    shops = [
        Shop("text", "browser", ("/p/js/10",), wait='wait_text = "rupture  DE stock"', screenshot=False),
        Shop(
            "text-in-element",
            "browser",
            ("/p/js/1",),
            wait='wait_for = "main.product > #stock"\nwait_text = "En stock"',
            screenshot=False,
        ),
        # the page's script holds "En stock" as a string: text a shopper never sees does not end the wait
        Shop("text-in-script", "browser", ("/p/js/20",), wait='wait_text = "En stock"', timeout_ms=1500),
        Shop("moved", "browser", ("/p/moved/1", "/p/moved/30"), screenshot=False),
    ]
    result = crawl(write_watchlist(root, shop.url, shops), root / "data")
    assert result.returncode == 0, result.stderr[-2000:]
    return observations(root / "data")


@pytest.mark.parametrize(
    ("path", "availability", "wait"),
    [
        pytest.param(
            "/p/js/10", "out_of_stock", "text 'rupture  DE stock' after", id="text-any-case-and-spacing"
        ),
        pytest.param(
            "/p/js/1", "in_stock", "'En stock' in main.product > #stock after", id="text-in-element"
        ),
        pytest.param(
            "/p/js/20",
            "unknown",
            "wait for text 'En stock' timed out after 1500 ms",
            id="text-in-script-only",
        ),
        # the wait goes on in the document the page moved on to, and that is what is read
        pytest.param("/p/moved/1", "in_stock", "#stock[data-status] after", id="moved-on-in-stock"),
        pytest.param("/p/moved/30", "out_of_stock", "#stock[data-status] after", id="moved-on-out-of-stock"),
    ],
)
def test_waits_are_answered_by_the_page(
    waits_crawl: dict[str, dict[str, Any]], path: str, availability: str, wait: str
) -> None:
    seen = waits_crawl[path]
    assert seen["availability"] == availability
    assert seen["wait"].startswith(wait)
