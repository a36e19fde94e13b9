"""The German demo shop (promowatch/demo/elektro): its traps are on the pages as real shops have them, and its
profile (promowatch/sites/demo-elektro.toml) reads them; the truth table's scoring is strict."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from urllib.request import urlopen

import pytest

from notify.messages import TEMPLATES
from promowatch.config import load_profile
from promowatch.demo.elektro.catalogue import CAPTCHA_EVERY, TRACKING, article
from promowatch.demo.elektro.pages import euro
from promowatch.demo.elektro.shop import ElektroShop
from promowatch.demo.scenarios import DEFAULT_START
from promowatch.demo.truth import (
    ELEKTRO,
    FoundFinding,
    Received,
    StoredProduct,
    score_retailer,
)
from promowatch.extract.promotions import parse_promotions
from promowatch.extract.stores import parse_store_list, parse_store_stock

PROFILE = load_profile("demo-elektro")


def get(shop: ElektroShop, path: str, day: int) -> bytes:
    shop.set_clock(DEFAULT_START + timedelta(days=day, hours=3))
    with urlopen(shop.url + path) as response:
        return bytes(response.read())


@pytest.fixture(scope="module")
def shop() -> Iterator[ElektroShop]:
    with ElektroShop(DEFAULT_START, captcha_every=0) as running:
        yield running


@pytest.mark.parametrize(
    ("amount", "shown"),
    [pytest.param("499", "499,00 €", id="whole"), pytest.param("1299.5", "1.299,50 €", id="thousands")],
)
def test_german_price_format(amount: str, shown: str) -> None:
    assert euro(Decimal(amount)) == shown


@pytest.mark.parametrize(
    ("day", "header", "cards"),
    [
        pytest.param(1, None, {}, id="before-the-first-listing"),
        pytest.param(
            2,
            "Angebote vom 04.11. bis 10.11.",
            {"g": "10.11.2026", "h": "17.11.2026", "l": "10.11.2026"},
            id="listing-a-two-week-card-says-second-weeks-end",
        ),
        pytest.param(
            9,
            "Angebote vom 11.11. bis 17.11.",
            {"g": "17.11.2026", "h": "17.11.2026", "i": "17.11.2026", "j": "17.11.2026", "k": "17.11.2026"},
            id="listing-b",
        ),
    ],
)
def test_weekly_listing_cards_state_only_an_end(
    shop: ElektroShop, day: int, header: str | None, cards: dict[str, str]
) -> None:
    html = get(shop, "/wochenangebote", day).decode()
    if header:
        assert header in html
    for letter, until in cards.items():
        assert f'href="{article(letter).path}{TRACKING}"' in html
        assert f"gültig bis {until}" in html
    promotions = parse_promotions(html.encode(), shop.url + "/wochenangebote", PROFILE.promotions, "EUR")
    assert len(promotions) == len(cards)
    # the cards state only an end; the start is the listing header's (listing_valid_from), at the day's start
    starts = {p.valid_from for p in promotions}
    assert all(p.window_basis == "listing" and p.valid_until is not None for p in promotions)
    if header:
        day_month = header.split()[2]  # "04.11."
        assert {f"{s:%d.%m.}" for s in starts} == {day_month}


@pytest.mark.parametrize(
    ("letter", "day", "line", "button"),
    [
        pytest.param(
            "g", 4, "Zurzeit nicht lieferbar", "disabled>In den Warenkorb", id="bait-not-deliverable"
        ),
        pytest.param("h", 6, "Zurzeit nicht lieferbar", "disabled>In den Warenkorb", id="sell-out"),
        pytest.param("h", 8, "Sofort lieferbar", 'type="submit">In den Warenkorb', id="restocked"),
        pytest.param("l", 3, "Erscheint am 20.11.2026", ">Vorbestellen<", id="pre-order"),
        pytest.param("m", 6, "Nur im Markt erhältlich", "Markt finden", id="store-only"),
    ],
)
def test_product_page_buy_box(shop: ElektroShop, letter: str, day: int, line: str, button: str) -> None:
    html = get(shop, article(letter).path, day).decode()
    assert f'<p class="lieferstatus">{line}</p>' in html
    assert button in html
    assert f'<link rel="canonical" href="{shop.url}{article(letter).path}">' in html


def test_bait_json_ld_says_in_stock_over_the_visible_text(shop: ElektroShop) -> None:
    html = get(shop, article("g").path, 4).decode()
    assert '"availability": "https://schema.org/InStock"' in html and "Zurzeit nicht lieferbar" in html


def test_markets_are_a_top_level_array_the_profile_reads(shop: ElektroShop) -> None:
    body = get(shop, "/api/maerkte", 0)
    assert isinstance(json.loads(body), list)
    stores = parse_store_list(body, PROFILE.stores)
    assert len(stores) == 20 and stores[0].postcode == "10117"
    stock = parse_store_stock(get(shop, "/api/bestand/" + article("h").number, 6), PROFILE.stores)
    assert all(s.quantity == 0 for s in stock)  # the sell-out empties every market


def test_every_nth_product_request_gets_the_captcha() -> None:
    with ElektroShop(DEFAULT_START) as shop:
        pages = [get(shop, article("n").path, 0).decode() for _ in range(2 * CAPTCHA_EVERY)]
    blocked = [n for n, html in enumerate(pages, start=1) if "Sicherheitsüberprüfung" in html]
    assert blocked == [CAPTCHA_EVERY, 2 * CAPTCHA_EVERY]
    assert "Bitte bestätigen Sie, dass Sie kein Roboter sind" in pages[CAPTCHA_EVERY - 1]


# ---------------------------------------------------------------- scoring


def url(letter: str) -> str:
    return "http://127.0.0.1:1" + article(letter).path


PERFECT = [FoundFinding("demo-elektro", url(f.letter), f.rule, f.opened, f.closed) for f in ELEKTRO.findings]


def title(kind: str, letter: str) -> str:
    """The German title the notifier gives this event (its own template)."""
    return TEMPLATES["de"][kind][0].format(product=article(letter).title)


RECEIVED = [
    Received(5, "/demo-elektro/consumer", title("stockout", "h")),
    Received(8, "/demo-elektro/consumer", title("restock", "h")),
]
PRODUCTS = [StoredProduct("demo-elektro", url(letter), True) for letter in "ghijklmn"]


def test_perfect_outcome_scores_perfectly() -> None:
    rows = score_retailer(ELEKTRO, PERFECT, RECEIVED, PRODUCTS)
    assert [r.check for r in rows if not r.ok] == []


@pytest.mark.parametrize(
    ("findings", "received", "products", "wrong"),
    [
        pytest.param(PERFECT[1:], RECEIVED, PRODUCTS, "(g) unorderable_online", id="missed-finding"),
        pytest.param(
            [*PERFECT[:-1], FoundFinding("demo-elektro", url("k"), "reference_price_unsupported", 10, None)],
            RECEIVED,
            PRODUCTS,
            "(k) reference_price_unsupported",
            id="opened-a-day-late",
        ),
        pytest.param(
            [*PERFECT, FoundFinding("demo-elektro", url("j"), "price_mismatch", 2, None)],
            RECEIVED,
            PRODUCTS,
            "honest promotion (j): nothing to find",
            id="finding-on-honest-promotion",
        ),
        pytest.param(
            [*PERFECT, FoundFinding("demo-elektro", url("h"), "reference_price_unsupported", 9, None)],
            RECEIVED,
            PRODUCTS,
            "a promotion advertised in two weekly listings is one promotion: its reference price was charged",
            id="two-week-promotion-split",
        ),
        pytest.param(
            [*PERFECT, FoundFinding("demo-elektro", url("i"), "price_mismatch", 2, None)],
            RECEIVED,
            PRODUCTS,
            "no finding opens before its promotion was first advertised",
            id="before-first-sighting",
        ),
        pytest.param(
            PERFECT,
            [*RECEIVED, Received(6, "/demo-elektro/consumer", title("stockout", "m"))],
            PRODUCTS,
            "store-only item (m): 'Nur im Markt erhältlich' is not sold out",
            id="store-only-stockout",
        ),
        pytest.param(PERFECT, RECEIVED[:1], PRODUCTS, "(h) restock to the consumer", id="missed-restock"),
        pytest.param(
            PERFECT,
            [
                *RECEIVED,
                Received(
                    3,
                    "/demo-elektro/consumer",
                    TEMPLATES["de"]["stockout"][0].format(product="Sicherheitsüberprüfung"),
                ),
            ],
            PRODUCTS,
            "no notification names a block page",
            id="captcha-named",
        ),
        pytest.param(
            PERFECT,
            RECEIVED,
            [*PRODUCTS, StoredProduct("demo-elektro", url("h") + TRACKING, True)],
            "no second product from a tracking parameter",
            id="tracking-parameter-product",
        ),
    ],
)
def test_scoring_catches(
    findings: list[FoundFinding], received: list[Received], products: list[StoredProduct], wrong: str
) -> None:
    rows = score_retailer(ELEKTRO, findings, received, products)
    assert wrong in [r.check for r in rows if not r.ok]
