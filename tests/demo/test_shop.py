"""The demo shop over real HTTP on 127.0.0.1: each scenario served as prompts/demo.md promises, on its days."""

from __future__ import annotations

import gzip
import http.client
import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import pytest
from parsel import Selector

from promowatch.config import load_profile
from promowatch.demo.scenarios import DEFAULT_START, SCENARIOS, canary_path, scenario
from promowatch.demo.shop import DemoShop, PortInUseError

PROFILE = load_profile("demo-shop")


@pytest.fixture(scope="module")
def shop() -> Iterator[DemoShop]:
    with DemoShop(DEFAULT_START, bench_products=5, bench_stores=80) as running:
        yield running


def fetch(
    shop: DemoShop, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(shop.url + path, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def page(shop: DemoShop, path: str, day: int) -> Selector:
    shop.set_clock(DEFAULT_START + timedelta(days=day, hours=2))
    status, _, body = fetch(shop, path)
    assert status == 200
    return Selector(text=body.decode())


def api(shop: DemoShop, path: str, day: int) -> Any:
    shop.set_clock(DEFAULT_START + timedelta(days=day, hours=2))
    status, headers, body = fetch(shop, path)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    return json.loads(body)


def main_product(selector: Selector) -> Selector:
    return selector.css(PROFILE.offer.product_block or "")[0]


def jsonld_product(selector: Selector) -> dict[str, Any]:
    for script in selector.css('script[type="application/ld+json"]::text').getall():
        data = json.loads(script)
        if data.get("@type") == "Product":
            return data
    raise AssertionError("no JSON-LD Product")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        pytest.param(0, {"b": "199.–", "d": "49.90", "e": "349.–", "f": "119.–"}, id="day0"),
        pytest.param(
            3, {"a": "499.–", "b": "199.–", "d": "49.90", "e": "349.–", "f": "119.–"}, id="day3-bait"
        ),
        pytest.param(
            10,
            {"a": "499.–", "b": "199.–", "c": "279.–", "d": "49.90", "e": "349.–", "f": "119.–"},
            id="day10-honest",
        ),
        pytest.param(14, {}, id="day14-none"),
    ],
)
def test_promotions_page_by_day(shop: DemoShop, day: int, expected: dict[str, str]) -> None:
    """Only promotions whose window contains the simulated now; read with the profile's selectors."""
    selectors = PROFILE.promotions
    assert selectors.urls == ("/promotions",)
    doc = page(shop, "/promotions", day)
    assert doc.css("h1::text").get() == "Actions de la semaine"
    cards = {}
    for card in doc.css(selectors.item or ""):
        cards[card.css(selectors.link or "").get("")] = card
    paths = {s.path: s.letter for s in SCENARIOS}
    assert {paths[link] for link in cards} == set(expected)
    for link, card in cards.items():
        letter = paths[link]
        assert card.css(f"{selectors.price}::text").get() == expected[letter]
        assert card.css(f"{selectors.regular_price}::text").get("").startswith("au lieu de ")
        assert card.css(selectors.title or "").xpath("string()").get()
        valid_from = card.css(selectors.valid_from or "").get("")
        valid_until = card.css(selectors.valid_until or "").get("")
        assert valid_from <= (DEFAULT_START + timedelta(days=day)).date().isoformat() <= valid_until
        assert "Valable du" in card.css(".validity").xpath("string()").get("")


def test_bait_validity_text(shop: DemoShop) -> None:
    card = page(shop, "/promotions", 5).css(f'article.promo-card[data-sku="{scenario("a").sku}"]')
    assert (
        " ".join(card.css(".validity").xpath("string()").get("").split()) == "Valable du 05.11. au 15.11.2026"
    )
    assert card.css("time.valid-from::attr(datetime)").get() == "2026-11-05"


@pytest.mark.parametrize(
    ("letter", "day", "price", "regular", "stock", "orderable", "schema"),
    [
        pytest.param(
            "a",
            1,
            "549.–",
            None,
            "Disponible uniquement en magasin",
            False,
            "InStoreOnly",
            id="a-day1-no-promotion",
        ),
        pytest.param(
            "a",
            4,
            "499.–",
            "au lieu de 999.–",
            "Actuellement pas disponible en ligne",
            False,
            "OutOfStock",
            id="a-day4-bait",
        ),
        pytest.param("b", 1, "199.–", "au lieu de 299.–", "En stock", True, "InStock", id="b-day1-in-stock"),
        pytest.param(
            "b", 3, "199.–", "au lieu de 299.–", "Épuisé", False, "OutOfStock", id="b-day3-sold-out"
        ),
        pytest.param("b", 6, "199.–", "au lieu de 299.–", "En stock", True, "InStock", id="b-day6-restock"),
        pytest.param("c", 2, "349.–", None, "En stock", True, "InStock", id="c-day2-reference-charged"),
        pytest.param(
            "c", 11, "279.–", "au lieu de 349.–", "En stock", True, "InStock", id="c-day11-promotion"
        ),
        pytest.param(
            "d", 0, "59.90", "au lieu de 79.90", "En stock", True, "InStock", id="d-page-charges-more"
        ),
        pytest.param(
            "f", 0, "119.–", "au lieu de 169.–", "Épuisé", False, "InStock", id="f-jsonld-contradicts"
        ),
    ],
)
def test_product_page_by_day(
    shop: DemoShop,
    letter: str,
    day: int,
    price: str,
    regular: str | None,
    stock: str,
    orderable: bool,
    schema: str,
) -> None:
    offer = PROFILE.offer
    item = scenario(letter)
    doc = page(shop, item.path, day)
    block = main_product(doc)
    for trap in offer.exclude:  # the traps are really there, inside the product block
        assert block.css(trap)
    assert block.css(f"{offer.title}::text").get() == item.title
    assert block.css(f"{offer.sku}::text").get() == item.sku
    assert len(block.css(f"{offer.gtin}::text").get("")) == 13
    assert block.css(f"{offer.price}::text").get() == price
    assert block.css(f"{offer.regular_price}::text").get() == regular
    assert block.css(f"{offer.currency}::text").get() == "CHF"
    assert block.css(f"{offer.availability}::text").get() == stock
    button = block.css(offer.buy_button or "")
    assert len(button) == 1
    assert (button.attrib.get("disabled") is None) == orderable
    assert bool(block.css(f"{offer.delivery}::text").get()) == orderable
    data = jsonld_product(doc)
    assert data["sku"] == item.sku and data["gtin13"] == block.css(f"{offer.gtin}::text").get()
    assert data["offers"]["priceCurrency"] == "CHF"
    assert Decimal(data["offers"]["price"]) == Decimal(price.replace(".–", ""))
    assert data["offers"]["availability"] == f"https://schema.org/{schema}"


def test_saving_badge_and_related_traps(shop: DemoShop) -> None:
    block = main_product(page(shop, scenario("a").path, 4))
    assert block.css(".badge-saving::text").get() == "économisez 500.–"
    related = block.css(".related-products")
    assert related.css("h2::text").get() == "Vous aimerez aussi"
    assert len(related.css(".product-card .price")) == 4
    assert len(related.css(".product-card .stock-line")) == 4


def test_javascript_product_has_nothing_for_http(shop: DemoShop) -> None:
    """(e): static HTML says "chargement…", has no buy button and no JSON-LD availability."""
    item = scenario("e")
    doc = page(shop, item.path, 4)
    block = main_product(doc)
    line = block.css(PROFILE.offer.availability or "")
    assert line.css("::text").get() == "chargement…"
    assert line.attrib["data-state"] == "loading"
    assert not block.css(PROFILE.offer.buy_button or "")
    assert not doc.css(PROFILE.browser.wait_for or "")
    assert "availability" not in jsonld_product(doc)["offers"]
    assert block.attrib["data-live-stock"] == item.sku
    script = fetch(shop, "/static/shop.js")[2].decode()
    assert "/api/stock/" in script and "data-state" in script


def test_server_rendered_pages_match_the_browser_wait(shop: DemoShop) -> None:
    assert page(shop, scenario("b").path, 0).css(PROFILE.browser.wait_for or "")


def test_page_chrome(shop: DemoShop) -> None:
    """Header, search, menu with Promotions, cookie banner, breadcrumbs, footer; realistic size."""
    shop.set_clock(DEFAULT_START)
    status, _, body = fetch(shop, scenario("a").path)
    assert status == 200 and 15_000 <= len(body) <= 40_000
    doc = Selector(text=body.decode())
    assert doc.css("header.site-header img[src='/static/logo.svg']")
    assert doc.css("form[role=search] input[name=q]")
    assert "Promotions" in doc.css("nav.main-nav a::text").getall()
    assert doc.css("div#cookie-banner button#cookie-accept")
    assert doc.css("nav.breadcrumbs li")
    assert len(doc.css("footer.site-footer a")) >= 15


@pytest.mark.parametrize(
    "path",
    [
        pytest.param(scenario("a").path, id="product"),
        pytest.param("/promotions", id="promotions"),
        pytest.param("/", id="home"),
        pytest.param("/c/machines-a-cafe", id="category"),
        pytest.param("/p/bench-2", id="bench"),
    ],
)
def test_no_external_resources(shop: DemoShop, path: str) -> None:
    doc = page(shop, path, 3)
    for ref in doc.xpath("//@src | //@href | //@action").getall():
        host = urlsplit(ref).netloc
        assert host in ("", urlsplit(shop.url).netloc), ref
    for ref in doc.xpath("//@src | //link/@href").getall():
        status, _, _ = fetch(shop, urlsplit(ref).path)
        assert status == 200, ref


@pytest.mark.parametrize(
    ("letter", "day", "low", "high", "online"),
    [
        pytest.param("a", 3, 0.90, 1.0, "not_online", id="a-day3-stores-empty"),
        pytest.param("a", 8, 0.90, 1.0, "not_online", id="a-day8-stores-empty"),
        pytest.param("a", 13, 0.90, 1.0, "in_stock", id="a-day13-online-again-stores-empty"),
        pytest.param("b", 4, 0.90, 1.0, "sold_out", id="b-day4-nearly-all-empty"),
        pytest.param("b", 7, 0.0, 0.10, "in_stock", id="b-day7-restocked"),
        pytest.param("c", 11, 0.0, 0.05, "in_stock", id="c-stocked"),
    ],
)
def test_stock_api(shop: DemoShop, letter: str, day: int, low: float, high: float, online: str) -> None:
    stores = api(shop, "/api/stores", day)["stores"]
    data = api(shop, f"/api/stock/{scenario(letter).sku}", day)
    entries = data[PROFILE.stores.stock_path]
    assert {e["store_id"] for e in entries} == {s["id"] for s in stores}
    assert len(entries) == 80  # bench_stores, since this shop serves bench products
    empty = sum(e["quantity"] == 0 for e in entries) / len(entries)
    assert low <= empty <= high
    for entry in entries:
        assert entry["status"] == (
            "none" if entry["quantity"] == 0 else "low" if entry["quantity"] <= 3 else "available"
        )
    assert data["online"]["status"] == online
    assert data["updated_at"].startswith((DEFAULT_START + timedelta(days=day)).date().isoformat())
    one = entries[7]
    single = api(shop, f"/api/stores/{one['store_id']}/stock/{scenario(letter).sku}", day)
    assert (single["quantity"], single["status"]) == (one["quantity"], one["status"])


def test_store_list(shop: DemoShop) -> None:
    with DemoShop(DEFAULT_START) as plain:
        stores = json.loads(fetch(plain, PROFILE.stores.list_url or "")[2])[PROFILE.stores.list_path]
    assert 45 <= len(stores) <= 60
    for store in stores:
        assert set(store) == {"id", "name", "postcode", "city", "lat", "lon"}
        assert 45.8 < store["lat"] < 47.6 and 5.9 < store["lon"] < 7.6  # western Switzerland


def test_unknown_sku_is_404(shop: DemoShop) -> None:
    assert fetch(shop, "/api/stock/1234567")[0] == 404
    assert fetch(shop, "/p/no-such-product-1")[0] == 404


def test_clock_endpoint(shop: DemoShop) -> None:
    """POST /_admin/clock moves the clock the pages render from."""
    request = urllib.request.Request(
        shop.url + "/_admin/clock",
        data=json.dumps({"now": "2026-11-05T09:30:00Z"}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read()) == {"now": "2026-11-05T09:30:00Z", "day": 3}
    assert shop.now == DEFAULT_START + timedelta(days=3, hours=2, minutes=30)
    status, headers, body = fetch(shop, scenario("a").path)
    assert status == 200 and "499.–" in body.decode()
    assert headers["Date"] == "Thu, 05 Nov 2026 09:30:00 GMT"
    assert json.loads(fetch(shop, "/_admin/clock")[2])["day"] == 3
    bad = urllib.request.Request(shop.url + "/_admin/clock", data=b'{"now": "soon"}', method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(bad, timeout=5)
    assert error.value.code == 400
    assert shop.day == 3


def test_set_clock_needs_timezone(shop: DemoShop) -> None:
    with pytest.raises(ValueError, match="timezone"):
        shop.set_clock(DEFAULT_START.replace(tzinfo=None))


def test_robots(shop: DemoShop) -> None:
    status, _, body = fetch(shop, "/robots.txt")
    lines = body.decode().splitlines()
    assert status == 200
    for path in ("/_admin", "/checkout", "/panier"):
        assert f"Disallow: {path}" in lines


def test_port_in_use() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(PortInUseError) as error:
            DemoShop(DEFAULT_START, port=port).start()
    assert isinstance(error.value, OSError)
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "already in use" in message and "\n" not in message


def test_bench_pages(shop: DemoShop) -> None:
    doc = page(shop, "/p/bench-4", 1)
    data = jsonld_product(doc)
    assert data["sku"] == "9000004"
    assert main_product(doc).css(f"{PROFILE.offer.price}::text").get()
    assert fetch(shop, "/p/bench-5")[0] == 404  # only bench_products pages exist
    assert fetch(shop, "/p/bench-04")[0] == 404
    states = {api(shop, "/api/stock/9000004", day)["online"]["status"] for day in range(10)}
    assert len(states) > 1  # stock varies with the clock


def test_conditional_requests(shop: DemoShop) -> None:
    path = scenario("c").path
    shop.set_clock(DEFAULT_START + timedelta(days=1))
    _, headers, _ = fetch(shop, path)
    etag, modified = headers["ETag"], headers["Last-Modified"]
    assert fetch(shop, path, {"If-None-Match": etag})[0] == 304
    assert fetch(shop, path, {"If-Modified-Since": modified})[0] == 304
    shop.set_clock(DEFAULT_START + timedelta(days=1, hours=5))  # same day: same page
    assert fetch(shop, path, {"If-None-Match": etag})[0] == 304
    shop.set_clock(DEFAULT_START + timedelta(days=10))  # promotion started: page changed
    assert fetch(shop, path, {"If-None-Match": etag})[0] == 200
    assert fetch(shop, path, {"If-Modified-Since": modified})[0] == 200


def test_keep_alive_and_gzip(shop: DemoShop) -> None:
    shop.set_clock(DEFAULT_START)
    before = shop.requests["/promotions"]
    connection = http.client.HTTPConnection("127.0.0.1", urlsplit(shop.url).port, timeout=5)
    try:
        bodies = []
        for encoding in ("identity", "gzip", "identity"):
            connection.request("GET", "/promotions", headers={"Accept-Encoding": encoding})
            response = connection.getresponse()
            body = response.read()
            bodies.append(gzip.decompress(body) if response.getheader("Content-Encoding") == "gzip" else body)
            assert response.getheader("Connection") == "keep-alive"
        assert bodies[0] == bodies[1] == bodies[2]
    finally:
        connection.close()
    assert shop.requests["/promotions"] == before + 3


def test_canary_is_always_available(shop: DemoShop) -> None:
    assert PROFILE.canary == canary_path()
    for day in (0, 6, 13):
        block = main_product(page(shop, canary_path(), day))
        assert block.css(f"{PROFILE.offer.availability}::text").get() == "En stock"


@pytest.mark.parametrize(
    ("clock", "data_time"),
    [
        pytest.param("2026-11-03T08:00:00+00:00", "2026-11-03T08:00:00Z", id="on-the-minute"),
        pytest.param("2026-11-03T08:07:31+00:00", "2026-11-03T08:05:00Z", id="lags-to-5-minutes"),
        pytest.param("2026-11-03T17:44:59+00:00", "2026-11-03T17:40:00Z", id="same-day-later"),
    ],
)
def test_stock_data_time_follows_clock(shop: DemoShop, clock: str, data_time: str) -> None:
    """updated_at is the shop's own data time, from the simulated clock, never the wall clock."""
    shop.set_clock(datetime.fromisoformat(clock))
    data = json.loads(fetch(shop, f"/api/stock/{scenario('b').sku}")[2])
    assert data["updated_at"] == data_time


def test_prerender_fills_the_day() -> None:
    with DemoShop(DEFAULT_START, bench_products=3) as fresh:
        fresh.set_clock(DEFAULT_START + timedelta(days=6))
        count = fresh.prerender()
        assert count == len({s.path for s in SCENARIOS}) + 10 + 3  # scenarios, ordinary products, bench pages
        assert fetch(fresh, "/p/bench-2")[0] == 200
        assert sum(fresh.requests.values()) == 1  # pre-rendering is not a hit
