"""``promowatch profile test``: on a deliberately broken copy of each demo profile it names every broken key and
exits 1; on the intact profiles it exits 0. Real crawls of the two demo shops on 127.0.0.1."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import pytest

from promowatch.config import BUNDLED_SITES, StoreApi, WatchedRetailer, load_profile
from promowatch.demo.elektro.shop import ElektroShop
from promowatch.demo.scenarios import DEFAULT_START
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import both_watchlist
from promowatch.domain import Availability
from promowatch.onboarding.fetch import PreviewPlan
from promowatch.onboarding.preview import (
    Page,
    check_offers,
    check_promotions,
    check_store_list,
    check_store_stock,
)
from promowatch.rules.thresholds import Thresholds


@pytest.fixture(scope="module")
def shops() -> Iterator[tuple[str, str]]:
    with DemoShop(DEFAULT_START) as demo, ElektroShop(DEFAULT_START, captcha_every=0) as elektro:
        for shop in (demo, elektro):
            shop.set_clock(DEFAULT_START + timedelta(days=3, hours=9))  # promotions of both shops running
        yield demo.url, elektro.url


@dataclass(frozen=True)
class Broken:
    profile: str
    edits: tuple[tuple[str, str], ...]  # (line in the bundled profile, the line that replaces it)
    errors: tuple[str, ...]  # the start of each error line that must name the broken key


BROKEN = {
    "demo-shop": Broken(
        "demo-shop",
        (
            ('price = ".promo-price .price"', 'price = ".promo-price .prix"'),
            ('price = ".product-main .price-box .price"', 'price = ".product-main .price-box .prix"'),
            ('postcode = "postcode"', 'postcode = "zip"'),
            ('low = "limited", ', ""),
        ),
        (
            "error: [promotions] price: selected nothing on",
            "error: [offer] price: selected nothing on 3 of 3 product page(s)",
            "error: [stores] postcode: 'zip' found nothing in 52 of 52 stores",
            "error: [stock] status_map: status 'low'",
        ),
    ),
    "demo-elektro": Broken(
        "demo-elektro",
        (
            ('item = "li.angebot-kachel"', 'item = "li.angebots-kachel"'),
            ('availability = ".kaufbox .lieferstatus"', 'availability = ".kaufbox .status"'),
            ('list_path = "$"', 'list_path = "maerkte"'),
            (', rot = "out_of_stock" }', " }"),
        ),
        (
            "error: [promotions] item: selected nothing on",
            "error: [offer] availability: selected nothing on",
            "error: [stores] list_path: found no list at 'maerkte' (the answer is a top-level array",
            "error: [stock] status_map: status 'rot'",
        ),
    ),
}


def profile_test(where: Path, slug: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", "profile", "test", slug, "-w", str(where / "w.toml")],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )


def watchlist(where: Path, shops: tuple[str, str]) -> None:
    (where / "w.toml").write_text(both_watchlist(*shops, "http://127.0.0.1:9/inbox"))


@pytest.mark.parametrize("slug", ["demo-shop", "demo-elektro"])
def test_intact_profile_reads_every_section(slug: str, shops: tuple[str, str], tmp_path: Path) -> None:
    watchlist(tmp_path, shops)
    result = profile_test(tmp_path, slug)
    assert result.returncode == 0, result.stdout + result.stderr
    for section in ("[promotions]", "[offer]", "[stores]", "[stock]"):
        assert section in result.stdout
    assert "error:" not in result.stdout


@pytest.mark.parametrize("case", BROKEN.values(), ids=BROKEN.keys())
def test_broken_profile_names_every_broken_key(case: Broken, shops: tuple[str, str], tmp_path: Path) -> None:
    text = (BUNDLED_SITES / f"{case.profile}.toml").read_text()
    for line, replacement in case.edits:
        assert line in text, line  # the bundled profile changed: the test breaks nothing any more
        text = text.replace(line, replacement, 1)
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / f"{case.profile}.toml").write_text(text)  # found before the bundled one
    watchlist(tmp_path, shops)
    result = profile_test(tmp_path, case.profile)
    errors = [line for line in result.stdout.splitlines() if line.startswith("error: ")]
    for expected in case.errors:
        assert any(line.startswith(expected) for line in errors), (expected, result.stdout)
    assert len(errors) == len(case.errors), errors  # nothing intact is blamed
    assert result.returncode == 1
    assert "Traceback" not in result.stderr


BARE_ARRAY = (
    b'[{"id": 1, "name": "Lausanne Flon", "plz": "1003"}, {"id": 2, "name": "Renens", "plz": "1020"}]'
)


@pytest.mark.parametrize(
    ("api", "body", "error"),
    [
        pytest.param(
            StoreApi(list_url="/s", list_path="stores", postcode="plz"),
            BARE_ARRAY,
            "[stores] list_path: found no list at 'stores' (the answer is a top-level array: write \"$\")",
            id="bare-array-read-through-a-key",
        ),
        pytest.param(
            StoreApi(list_url="/s", name="title", postcode="plz"),
            BARE_ARRAY,
            "[stores] name: 'title' found nothing in 2 of 2 stores",
            id="names-found-nowhere",
        ),
        pytest.param(
            StoreApi(list_url="/s", list_path="data.stores"),
            b'{"data": {"stores": []}}',
            "[stores] list_path: the list at 'data.stores' is empty",
            id="empty-list",
        ),
        pytest.param(
            StoreApi(list_url="/s"),
            b"<html>maintenance</html>",
            "[stores] list_path: the answer is not JSON",
            id="not-json",
        ),
    ],
)
def test_store_list_errors_name_the_key(api: StoreApi, body: bytes, error: str) -> None:
    section = check_store_list(Page("http://127.0.0.1/s", 200, body), api)
    assert any(line.startswith(error) for line in section.errors), section.errors


def test_unmapped_status_is_an_error_even_with_a_quantity() -> None:
    """A quantity still gives a state, but a status word the map misses is a profile to complete."""
    api = StoreApi(
        stock_url="/st/{sku}",
        stock_quantity="qty",
        stock_status="level",
        status_map={"green": Availability.IN_STOCK, "red": Availability.OUT_OF_STOCK},
    )
    body = b'[{"store_id": 1, "qty": 3, "level": "amber"}, {"store_id": 2, "qty": 0, "level": "red"}]'
    section = check_store_stock(Page("http://127.0.0.1/st/1", 200, body), api)
    assert section.errors == ["[stock] status_map: status 'amber' (1 store(s)) matches no pattern"]


CARDS = (
    b'<ul><li class="card"><a href="/p/1">Kettle</a><span class="was">59.90</span><b class="now">Kettle</b></li>'
    b'<li class="card"><a href="/p/2">Toaster</a><b class="now">39.90</b></li></ul>'
)


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        pytest.param(
            {"price": ".now"},
            ["[promotions] price: selected text that reads as no amount on 1 of 2 cards"],
            id="price-selects-a-title-on-one-card",
        ),
        pytest.param(
            {"price": ".now", "regular_price": ".was"},
            ["[promotions] price: selected text that reads as no amount on 1 of 2 cards"],
            id="reference-on-one-card-is-no-error",
        ),
        pytest.param(
            {"item": "li.tile"},
            ["[promotions] item: selected nothing on http://127.0.0.1/promotions"],
            id="no-card",
        ),
        pytest.param(
            {"price": ".now", "link": "a.product::attr(href)"},
            [
                "[promotions] link: selected nothing on 2 of 2 cards",
                "[promotions] price: selected text that reads as no amount on 1 of 2 cards",
            ],
            id="link-nowhere",
        ),
    ],
)
def test_promotion_card_errors_name_the_key(changes: dict[str, str], errors: list[str]) -> None:
    profile = load_profile("demo-shop")
    selectors = replace(
        profile.promotions,
        item="li.card",
        link="a::attr(href)",
        title="a",
        valid_from=None,
        valid_until=None,
        regular_price=None,
    )
    profile = replace(profile, promotions=replace(selectors, **changes))  # type: ignore[arg-type]
    section = check_promotions([Page("http://127.0.0.1/promotions", 200, CARDS)], profile)
    assert section.errors == errors


# ---------------------------------------------------------------- a key that reads nothing is an error

STOCK_API = StoreApi(stock_url="/st/{sku}", stock_status="level")


@pytest.mark.parametrize(
    ("api", "body", "errors"),
    [
        pytest.param(
            STOCK_API,
            b'[{"store_id": 1, "level": "green"}, {"store_id": 2, "level": "red"}]',
            [
                "[stock] status_map: status 'green' (1 store(s)) matches no pattern",
                "[stock] status_map: status 'red' (1 store(s)) matches no pattern",
                "[stock] stock_status: every one of the 2 store(s) reads unknown",
            ],
            id="status-without-status-map",
        ),
        pytest.param(
            replace(STOCK_API, stock_status=None, stock_quantity="qty"),
            b'[{"store_id": 1, "qty": "many"}, {"store_id": 2, "qty": "few"}]',
            ["[stock] stock_quantity: every one of the 2 store(s) reads unknown"],
            id="quantity-that-is-no-number",
        ),
        pytest.param(
            replace(STOCK_API, status_map={"green": Availability.IN_STOCK}),
            b'[{"store_id": 1, "level": "green"}, {"store_id": 2, "level": "red"}]',
            ["[stock] status_map: status 'red' (1 store(s)) matches no pattern"],
            id="one-status-unmapped",
        ),
    ],
)
def test_stock_that_reads_unknown_is_an_error(api: StoreApi, body: bytes, errors: list[str]) -> None:
    section = check_store_stock(Page("http://127.0.0.1/st/1", 200, body), api)
    assert section.errors == errors


# a product page whose JSON-LD gives the price, so a profile selector that reads nothing is not hidden by an
# empty price; the badge and stock line are as Swiss and German shops write them (demo shops' wording)
PRODUCT = (
    b'<html><head><script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product",'
    b' "name": "Kettle", "sku": "K1", "offers": {"@type": "Offer", "price": "39.90", "priceCurrency": "CHF"}}'
    b'</script></head><body><main><h1>Kettle</h1><span class="badge">Aktion</span>'
    b'<span class="price">CHF 39.90</span><p class="stock">Frag im Laden nach</p></main></body></html>'
)


@pytest.mark.parametrize(
    ("offer", "error"),
    [
        pytest.param(
            {"price": ".badge"},
            "[offer] price: read nothing on 1 of 1 product page(s): selected text that reads as no amount on 1",
            id="price-selects-a-badge",
        ),
        pytest.param(
            {"price": ".price", "regular_price": ".badge"},
            "[offer] regular_price: read nothing on 1 of 1 product page(s): selected text that reads as no "
            "amount on 1",
            id="regular-price-selects-a-badge",
        ),
        pytest.param(
            {"price": ".price", "availability": ".stock", "availability_map": {}},
            "[offer] availability_map: stock line 'Frag im Laden nach' on http://127.0.0.1/p/k1 matches no "
            "pattern (the profile has no availability_map)",
            id="stock-line-unread-without-availability-map",
        ),
        pytest.param(
            {"price": ".price", "availability": ".stock", "availability_map": {}},
            "[offer] availability: read nothing on 1 of 1 product page(s): selected text that reads as no "
            "state on 1",
            id="availability-reads-unknown",
        ),
    ],
)
def test_offer_key_that_reads_nothing_is_an_error(offer: dict[str, object], error: str) -> None:
    profile = load_profile("demo-shop")
    blank = type(profile.offer)()
    profile = replace(profile, offer=replace(blank, **offer))  # type: ignore[arg-type]
    section = check_offers([Page("http://127.0.0.1/p/k1", 200, PRODUCT)], profile)
    assert error in section.errors, section.errors


# ---------------------------------------------------------------- the preview asks only the shop's own hosts

SHOP = "http://127.0.0.1:8401"


@pytest.mark.parametrize(
    ("allowed_hosts", "url", "fetched"),
    [
        pytest.param((), SHOP + "/api/stores", True, id="base-url-host"),
        pytest.param((), "http://127.0.0.1:8402/api/stores", False, id="other-port-same-address"),
        pytest.param(("127.0.0.1:8402",), "http://127.0.0.1:8402/api/stores", True, id="allowed-host-port"),
        pytest.param(
            ("api.shop.test",), "https://api.shop.test/stores", True, id="allowed-host-default-port"
        ),
        pytest.param(
            ("api.shop.test",), "https://api.shop.test:8443/stores", False, id="allowed-host-other-port"
        ),
        pytest.param(("api.shop.test",), "http://169.254.169.254/latest", False, id="metadata-service"),
    ],
)
def test_preview_fetches_on_the_hosts_the_crawl_allows(
    allowed_hosts: tuple[str, ...], url: str, fetched: bool
) -> None:
    """A store API on a host of the profile's ``allowed_hosts`` is fetched, as the crawl fetches it."""
    profile = replace(load_profile("demo-shop"), allowed_hosts=allowed_hosts)
    retailer = WatchedRetailer("demo-shop", profile, SHOP, True, (), (), None, "ch", Thresholds())
    plan = PreviewPlan(retailer)
    assert plan._on_host(url) is fetched
    assert plan.offsite == ([] if fetched else [url])
