"""``promowatch profile new``: a profile drafted from one product page and the promotions page of each demo
retailer reads what the bundled, hand-written profile reads, on every product page over two simulated weeks,
and its ``[promotions]`` and ``[stores]`` sections read the same promotions, stores and stock."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.request import urlopen

import pytest

from promowatch.config import SiteProfile, load_profile, load_toml, parse_profile
from promowatch.demo.catalogue import PRODUCTS
from promowatch.demo.elektro.catalogue import ARTICLES
from promowatch.demo.elektro.shop import ElektroShop
from promowatch.demo.scenarios import DEFAULT_START
from promowatch.demo.shop import DemoShop
from promowatch.domain import Availability
from promowatch.extract import extract_offer
from promowatch.extract.page import parse_html
from promowatch.extract.promotions import parse_promotions
from promowatch.extract.stores import parse_store_list, parse_store_stock
from promowatch.onboarding.css import relative_selector, semantic_names
from promowatch.onboarding.draft import ProfileDraft, Section, render_profile
from promowatch.onboarding.offer import stock_pattern
from promowatch.onboarding.promotions import draft_promotions, promotion_cards
from promowatch.onboarding.stores import JsonAnswer, draft_stores, status_state

FIELDS = (
    "title",
    "sku",
    "gtin",
    "price",
    "currency",
    "regular_price",
    "availability",
    "orderable",
    "delivery",
)
DAYS = range(15)
MAX_EDITS = 3


@dataclass(frozen=True)
class Retailer:
    slug: str
    product: str  # the one product page the profile is drafted from: on promotion, as a user would pick
    promotions: str
    paths: tuple[str, ...]
    skus: tuple[str, ...]
    hour: int
    apis: tuple[str, ...] = ()  # extra `profile new` options naming JSON APIs


DEMO = Retailer(
    "demo-shop",
    "/p/samsung-galaxy-tab-s9-fe-128-go-7212375",  # scenario e: its stock comes from the store API by script
    "/promotions",
    tuple(p.path for p in PRODUCTS),
    tuple(p.sku for p in PRODUCTS),
    9,
)
# no page of the German shop fetches its store API (the market finder is a plain list): a user names the two
# JSON URLs the browser's network tab shows
ELEKTRO = Retailer(
    "demo-elektro",
    "/artikel/ninja-foodi-dual-zone-af300eu-heissluftfritteuse-100522",
    "/wochenangebote",
    tuple(a.path for a in ARTICLES),
    tuple(a.number for a in ARTICLES),
    3,
    ("--stores", "/api/maerkte", "--stock", "/api/bestand/100522"),
)


def get(url: str) -> bytes:
    with urlopen(url) as response:
        return bytes(response.read())


def draft(shop_url: str, retailer: Retailer, tmp_path: Path, *extra: str) -> str:
    """Run ``promowatch profile new`` as a user does and return the profile's text."""
    out = tmp_path / f"{retailer.slug}.toml"
    options = [shop_url + v if v.startswith("/") else v for v in retailer.apis]
    command = [
        sys.executable,
        "-m",
        "promowatch.cli",
        "profile",
        "new",
        shop_url + retailer.product,
        "--promotions",
        shop_url + retailer.promotions,
        "--slug",
        retailer.slug,
        "--out",
        str(out),
        *options,
        *extra,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    return out.read_text(encoding="utf-8")


def edited(text: str, edits: dict[str, str]) -> tuple[SiteProfile, int]:
    """The profile after replacing whole lines (``old line -> new line``), and how many lines changed."""
    lines = text.splitlines()
    count = 0
    for old, new in edits.items():
        index = lines.index(old)
        lines[index] = new
        count += 1
    return parse_profile(load_toml_text("\n".join(lines)), "drafted"), count


def load_toml_text(text: str) -> dict[str, Any]:
    import tomllib

    return tomllib.loads(text)


def set_day(shop: DemoShop | ElektroShop, day: int, hour: int) -> None:
    shop.set_clock(DEFAULT_START + timedelta(days=day, hours=hour))


def assert_offers_as_bundled(shop: DemoShop | ElektroShop, retailer: Retailer, drafted: SiteProfile) -> None:
    bundled = load_profile(retailer.slug)
    differences = []
    for day in DAYS:
        set_day(shop, day, retailer.hour)
        for path in retailer.paths:
            body = get(shop.url + path)
            mine = extract_offer(body, shop.url + path, drafted).to_json()
            theirs = extract_offer(body, shop.url + path, bundled).to_json()
            differences += [(day, path, k, mine[k], theirs[k]) for k in FIELDS if mine[k] != theirs[k]]
    assert differences == []


def assert_promotions_as_bundled(
    shop: DemoShop | ElektroShop, retailer: Retailer, drafted: SiteProfile
) -> None:
    bundled = load_profile(retailer.slug)
    seen = 0
    for day in DAYS:
        set_day(shop, day, retailer.hour)
        page = shop.url + drafted.promotions.urls[0]
        body = get(page)
        now = DEFAULT_START + timedelta(days=day)
        mine = parse_promotions(body, page, drafted.promotions, drafted.currency, seen_at=now)
        theirs = parse_promotions(body, page, bundled.promotions, bundled.currency, seen_at=now)
        assert mine == theirs, day
        seen += len(mine)
    assert seen > 0


def assert_stores_as_bundled(shop: DemoShop | ElektroShop, retailer: Retailer, drafted: SiteProfile) -> None:
    bundled = load_profile(retailer.slug)
    assert drafted.stores.list_url is not None and drafted.stores.stock_url is not None
    body = get(shop.url + drafted.stores.list_url)
    stores = parse_store_list(body, drafted.stores)
    assert stores == parse_store_list(body, bundled.stores)
    assert all(s.name != s.store_id and s.postcode for s in stores)
    for day in (2, 5, 9):
        set_day(shop, day, retailer.hour)
        for sku in retailer.skus:
            mine = get(shop.url + drafted.stores.stock_url.format(sku=sku))
            theirs = get(shop.url + (bundled.stores.stock_url or "").format(sku=sku))
            assert parse_store_stock(mine, drafted.stores) == parse_store_stock(theirs, bundled.stores), (
                day,
                sku,
            )


@pytest.fixture(scope="module")
def demo_shop() -> Iterator[DemoShop]:
    with DemoShop(DEFAULT_START) as shop:
        set_day(shop, 2, DEMO.hour)
        yield shop


@pytest.fixture(scope="module")
def elektro_shop() -> Iterator[ElektroShop]:
    with ElektroShop(DEFAULT_START, captcha_every=0) as shop:
        set_day(shop, 2, ELEKTRO.hour)
        yield shop


def test_elektro_profile_drafted_reads_as_the_hand_written_one(
    elektro_shop: ElektroShop, tmp_path: Path
) -> None:
    text = draft(elektro_shop.url, ELEKTRO, tmp_path)
    drafted, edits = edited(text, {})
    assert edits <= MAX_EDITS
    assert_offers_as_bundled(elektro_shop, ELEKTRO, drafted)
    assert_promotions_as_bundled(elektro_shop, ELEKTRO, drafted)
    assert_stores_as_bundled(elektro_shop, ELEKTRO, drafted)


def test_demo_shop_profile_drafted_over_http_reads_products_and_promotions(
    demo_shop: DemoShop, tmp_path: Path
) -> None:
    set_day(demo_shop, 2, DEMO.hour)
    text = draft(demo_shop.url, DEMO, tmp_path)
    drafted, edits = edited(text, {})
    assert edits <= MAX_EDITS
    assert_offers_as_bundled(demo_shop, DEMO, drafted)
    assert_promotions_as_bundled(demo_shop, DEMO, drafted)
    # no JSON was seen without the browser: the section says how to get it, and nothing wrong is written
    assert drafted.stores.list_url is None
    assert "--browser" in text


@pytest.mark.browser
def test_demo_shop_profile_drafted_in_the_browser_maps_its_store_api(
    demo_shop: DemoShop, tmp_path: Path
) -> None:
    set_day(demo_shop, 2, DEMO.hour)
    text = draft(demo_shop.url, DEMO, tmp_path, "--browser")
    drafted, edits = edited(text, {})
    assert edits <= MAX_EDITS
    assert_stores_as_bundled(demo_shop, DEMO, drafted)
    assert_offers_as_bundled(demo_shop, DEMO, drafted)


# ---------------------------------------------------------------- pure functions on small fragments


@pytest.mark.parametrize(
    ("classes", "names"),
    [
        pytest.param("stock-line stock-sold_out", ["stock-line"], id="state-modifier-dropped"),
        pytest.param("btn btn-cart is-active", ["btn", "btn-cart"], id="is-prefix-dropped"),
        pytest.param("card css-1x2y3z4a", ["card"], id="generated-hash-dropped"),
        pytest.param("tile tile--highlight", ["tile"], id="bem-modifier-dropped"),
    ],
)
def test_semantic_class_names(classes: str, names: list[str]) -> None:
    assert semantic_names(classes) == names


@pytest.mark.parametrize(
    ("html", "target", "expected"),
    [
        pytest.param(
            '<div id="b"><p class="price">1</p><p class="price old">2</p></div>',
            "//p[2]",
            ".old",
            id="the-class-only-it-has",
        ),
        pytest.param(
            '<div id="b"><div class="box"><s>2</s></div><div class="other"><s>3</s></div></div>',
            "//div[@class='box']/s",
            ".box s",
            id="bare-tag-scoped-under-a-named-parent",
        ),
        pytest.param(
            '<div id="b"><h1>T</h1><h1 class="product-title">P</h1></div>',
            "//h1[2]",
            ".product-title",
            id="class-before-bare-tag",
        ),
    ],
)
def test_relative_selector_picks_only_the_element(html: str, target: str, expected: str) -> None:
    root = parse_html(f"<html><body>{html}</body></html>".encode())
    block = root.xpath("//div[@id='b']")[0]
    assert relative_selector(root.xpath(target)[0], block) == expected


CARDS = (
    '<nav><ul><li class="chip"><a href="/c/1">A</a></li><li class="chip"><a href="/c/2">B</a></li>'
    '<li class="chip"><a href="/c/3">C</a></li></ul></nav>'
    '<div class="grid">{cards}</div>{after}'
)
CARD = '<div class="offer"><a class="go" href="/p/{n}"><h3>Item {n}</h3></a><span class="price-now">{n}9.90 €</span>{more}</div>'


@pytest.mark.parametrize(
    ("more", "after", "expected"),
    [
        pytest.param(
            '<s class="price-was">99.90 €</s><p class="until">gültig bis 10.11.2026</p>',
            '<a rel="next" href="?page=2">2</a>',
            {
                "item": ".offer",
                "link": ".go::attr(href)",
                "price": ".price-now",
                "regular_price": ".price-was",
                "valid_until": ".until",
                "next_page": "a[rel=next]::attr(href)",
            },
            id="rel-next-and-until-text",
        ),
        pytest.param(
            "",
            '<a class="pager-next" href="?p=2">weiter</a>',
            {
                "item": ".offer",
                "price": ".price-now",
                "regular_price": None,
                "next_page": ".pager-next::attr(href)",
            },
            id="next-by-its-word",
        ),
    ],
)
def test_promotion_cards_and_their_fields(more: str, after: str, expected: dict[str, str | None]) -> None:
    cards = "".join(CARD.format(n=n, more=more) for n in range(1, 4))
    html = f"<html><body>{CARDS.format(cards=cards, after=after)}</body></html>".encode()
    assert len(promotion_cards(parse_html(html))) == 3  # the chips have links but no price
    section = draft_promotions(html, "http://shop.test/angebote")
    written = {e.key: e.value for e in section.entries if e.sure}
    for key, value in expected.items():
        assert written.get(key) == value, key


@pytest.mark.parametrize(
    ("value", "state"),
    [
        pytest.param("gruen", Availability.IN_STOCK, id="traffic-light-de"),
        pytest.param("LOW", Availability.LIMITED, id="any-case"),
        pytest.param("out_of_stock", Availability.OUT_OF_STOCK, id="snake-case"),
        pytest.param("InStock", Availability.IN_STOCK, id="schema-org-word"),
        pytest.param("maybe", None, id="unknown-word-left-to-a-person"),
    ],
)
def test_status_words(value: str, state: Availability | None) -> None:
    assert status_state(value) == state


def test_stores_from_a_bare_array_and_a_stock_answer() -> None:
    """A bare top-level array is ``list_path = "$"``; the stock's store ids are checked against the list's, and
    a status with no plain meaning is a commented note, not a guess."""
    markets = [
        {"filialId": "7", "bezeichnung": "Markt Bern", "anschrift": {"plz": "3011"}, "lat": 46.9, "lng": 7.4}
    ]
    stock = {
        "stand": "2026-11-04T10:00:00Z",
        "bestand": [
            {"filialId": "7", "anzahl": 0, "status": "rot"},
            {"filialId": "7", "anzahl": 1, "status": "vielleicht"},
        ],
    }
    section = draft_stores(
        [JsonAnswer("http://s.test/api/filialen", markets), JsonAnswer("http://s.test/api/lager/X1", stock)],
        sku="X1",
        host="s.test",
    )
    written = {e.key: e.value for e in section.entries if e.sure}
    assert written["list_path"] == "$"
    assert (written["id"], written["name"], written["postcode"]) == (
        "filialId",
        "bezeichnung",
        "anschrift.plz",
    )
    assert written["stock_url"] == "/api/lager/{sku}"
    assert (written["stock_path"], written["stock_store_id"], written["stock_quantity"]) == (
        "bestand",
        "filialId",
        "anzahl",
    )
    assert written["stock_time"] == "stand"
    assert written["status_map"] == {"rot": "out_of_stock"}  # one light of the three: the others unguessed
    assert any("vielleicht" in note for note in section.notes)
    profile = parse_profile(load_toml_text(render_profile(ProfileDraft([_slug(), section]))), "drafted")
    stores = parse_store_list(json.dumps(markets).encode(), profile.stores)
    assert [(s.store_id, s.name, s.postcode) for s in stores] == [("7", "Markt Bern", "3011")]


def _slug() -> Section:
    top = Section("")
    top.add("slug", "drafted")
    return top


def test_rendered_profile_loads_and_keeps_suggestions_commented() -> None:
    offer = Section("offer")
    offer.add("price", ".price", "reads '1.–'")
    offer.add("regular_price", None, "no reference price on this page")
    stock = Section("offer.availability_map")
    stock.add(stock_pattern("Plus que 3 articles"), "limited", "check")
    stock.add("^Bientôt", "unknown", "write its state", sure=False)
    text = render_profile(ProfileDraft([_slug(), offer, stock]))
    assert "# regular_price: no reference price on this page" in text
    assert '# "^Bientôt" = "unknown"' in text
    profile = parse_profile(load_toml_text(text), "drafted")
    assert profile.offer.price == ".price" and profile.offer.regular_price is None
    assert dict(profile.offer.availability_map) == {"^Plus que \\d+ articles": Availability.LIMITED}


def test_load_toml_is_the_loader_profiles_use(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text(render_profile(ProfileDraft([_slug()])), encoding="utf-8")
    assert parse_profile(load_toml(path), "x").slug == "drafted"


# ---------------------------------------------------------------- the browser stays on the page's origin

STORES_JSON = json.dumps(
    [
        {"id": 1, "name": "Lausanne Flon", "postcode": "1003", "lat": 46.52, "lon": 6.63},
        {"id": 2, "name": "Renens", "postcode": "1020", "lat": 46.54, "lon": 6.59},
    ]
).encode()


class _Recorded(BaseHTTPRequestHandler):
    """Answers every GET with the server's ``body`` and keeps the paths asked for."""

    def do_GET(self) -> None:
        server: Any = self.server
        server.asked.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", server.content_type)
        self.send_header("Access-Control-Allow-Origin", "*")  # the browser would hand the answer to the page
        self.end_headers()
        self.wfile.write(server.body)

    def log_message(self, *args: Any) -> None:
        pass


@contextmanager
def _serving(body: bytes, content_type: str) -> Iterator[tuple[str, list[str]]]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Recorded)
    server.body, server.content_type, server.asked = body, content_type, []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.asked
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.browser
def test_browser_reads_no_other_service_on_the_same_address(tmp_path: Path) -> None:
    """A shop on 127.0.0.1:A whose page script asks 127.0.0.1:B (another local service, e.g. an admin API) for
    JSON: the request is refused in the browser, so nothing of B's answer reaches the draft."""
    with _serving(STORES_JSON, "application/json") as (other, asked):
        page = (
            "<html><head><title>Kettle</title></head><body><h1>Kettle</h1><span class='price'>CHF 39.90</span>"
            f"<script>fetch('{other}/api/stores').then(r => r.json())</script></body></html>"
        ).encode()
        with _serving(page, "text/html; charset=utf-8") as (shop, _):
            out = tmp_path / "local.toml"
            command = [
                *(sys.executable, "-m", "promowatch.cli", "profile", "new", shop + "/p/kettle"),
                *("--slug", "local", "--out", str(out), "--browser"),
            ]
            done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    assert asked == []
    drafted = parse_profile(load_toml_text(out.read_text(encoding="utf-8")), "drafted")
    assert drafted.stores.list_url is None
