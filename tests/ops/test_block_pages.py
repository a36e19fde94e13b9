"""Block and captcha pages are told apart from shop pages that merely carry an anti-bot script."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from promowatch.config import parse_profile
from promowatch.domain import Availability
from promowatch.extract.blocked import block_reason
from promowatch.extract.offer import extract_offer
from spiders.offers import without_product
from tests.ops.faultserver import product

# a real-sized product page (the corpus pages are 50-500 KB) with the reCAPTCHA of its review form
PRODUCT = (
    b"<html><head><title>Bosch PSR 1800 - Acme</title>"
    b'<script src="https://www.gstatic.com/recaptcha/api2/v1/recaptcha__en.js"></script></head><body>'
    + b"<div class='product'><h1>Bosch PSR 1800</h1><span class='price'>129.-</span></div>" * 400
    + b'<form class="review"><div class="g-recaptcha"></div></form></body></html>'
)


@pytest.mark.parametrize(
    ("status", "body", "blocked"),
    [
        pytest.param(200, PRODUCT, False, id="product-page-with-recaptcha-script"),
        pytest.param(
            200,
            b"<html><head><title>Just a moment...</title></head><body>Checking your browser</body></html>",
            True,
            id="cloudflare-interstitial",
        ),
        pytest.param(
            200,
            b'<html><body><div class="g-recaptcha" data-sitekey="x"></div></body></html>',
            True,
            id="small-captcha-page",
        ),
        pytest.param(
            403,
            b"<html><script src='https://ct.captcha-delivery.com/c.js'></script>" + b" " * 40000,
            True,
            id="datadome-403",
        ),
        pytest.param(
            200, b"<html><body><h1>Access Denied</h1>Reference #18.abc</body></html>", True, id="akamai"
        ),
        pytest.param(200, b"<html><body>Zugriff verweigert</body></html>", True, id="german"),
        pytest.param(200, "<p>Accès refusé</p>".encode(), True, id="french"),
        pytest.param(
            200,
            b"<html><body><svg><title>logo</title></svg><p>Please verify you are a human</p></body></html>",
            True,
            id="verify-human",
        ),
        pytest.param(401, b"", True, id="auth-required"),
        pytest.param(
            200, b"<html><body><h1>Kaffeemaschine</h1>Ausverkauft</body></html>", False, id="sold-out"
        ),
    ],
)
def test_is_block_page(status: int, body: bytes, blocked: bool) -> None:
    assert (block_reason(status, body) is not None) is blocked


@pytest.mark.parametrize(
    "marker",
    [
        b'<div class="g-recaptcha">',
        b'<div class="h-captcha">',
        b"https://hcaptcha.com/1/api.js",
        b"https://www.google.com/recaptcha/api.js",
        b'<div id="cf-challenge-running">',
        b"/cdn-cgi/challenge-platform/h/b/orchestrate",
        b'<div class="cf-browser-verification">',
        b"https://geo.captcha-delivery.com/captcha/",
        b"window.datadome = {}",
        b'<div id="px-captcha">',
        b"window._pxCaptcha = 1",
    ],
)
def test_every_anti_bot_script_marks_a_small_page(marker: bytes) -> None:
    # the plain-bytes words looked for first must not let any of the script markers through
    assert block_reason(200, b"<html><body>" + marker + b"</body></html>") is not None


# Interstitials as shops serve them instead of a product page, status 200. Sources: the German one is the page an
# unseen Swiss shop served for every 37th product page (issue 18); the others follow the wording of the captcha
# and bot-check pages of Cloudflare, DataDome, PerimeterX and Akamai in each language, cut to their text.
def interstitial(title: str, text: str, extra: str = "") -> bytes:
    return (
        f'<!doctype html><html><head><meta charset="utf-8"><title>{title}</title></head><body><main>'
        f'<h1>{title}</h1><p>{text}</p>{extra}<form method="post" action="/verify">'
        '<input type="hidden" name="t" value="1"><button>OK</button></form></main></body></html>'
    ).encode()


CHALLENGES = [
    pytest.param(
        interstitial("Sicherheitsüberprüfung", "Bitte bestätigen Sie, dass Sie kein Roboter sind."),
        id="de-issue-18",
    ),
    pytest.param(interstitial("Sicherheitsüberprüfung", "Einen Moment bitte."), id="de-title-only"),
    pytest.param(interstitial("Shop", "Bitte bestätigen Sie, dass Sie ein Mensch sind."), id="de-human"),
    pytest.param(interstitial("Vérification de sécurité", "Un instant…"), id="fr-title"),
    pytest.param(interstitial("Boutique", "Êtes-vous un robot ? Cochez la case."), id="fr-robot"),
    pytest.param(interstitial("Boutique", "Confirmez que vous n'êtes pas un robot."), id="fr-not-a-robot"),
    pytest.param(interstitial("Verifica di sicurezza", "Attendere prego."), id="it-title"),
    pytest.param(interstitial("Negozio", "Conferma che non sei un robot."), id="it-robot"),
    pytest.param(interstitial("Verificación de seguridad", "Un momento."), id="es-title"),
    pytest.param(interstitial("Tienda", "Confirma que no eres un robot."), id="es-robot"),
    pytest.param(interstitial("Beveiligingscontrole", "Even geduld."), id="nl-title"),
    pytest.param(interstitial("Winkel", "Bevestig dat je geen robot bent."), id="nl-robot"),
    pytest.param(
        interstitial("Robot Check", "Type the characters you see in this image."), id="en-robot-check"
    ),
    pytest.param(
        interstitial("Pardon Our Interruption", "Something about your browser made us think"), id="en-imperva"
    ),
    pytest.param(
        interstitial("Shop", "Bitte warten.", '<iframe src="/challenge/frame"></iframe>'),
        id="no-product-a-frame",
    ),
]


@pytest.mark.parametrize("body", CHALLENGES)
def test_captcha_pages_in_every_language_are_block_pages(body: bytes) -> None:
    assert block_reason(200, body, product_page=True) is not None


# Pages that are not block pages although they are small, say "robot", or carry a form.
NOT_BLOCKED = [
    pytest.param(product("Kaffeemaschine", "SKU-1"), True, id="small-product-page"),
    pytest.param(product("Saugroboter R2", "SKU-2", "Ausverkauft"), True, id="robot-vacuum-sold-out"),
    pytest.param(
        b"<html><head><title>Roboter-Rasenm\xc3\xa4her</title></head><body><h1>Roboter</h1>"
        b"<p class=price>CHF 899.-</p><form action=/newsletter><input name=email></form></body></html>",
        True,
        id="price-and-newsletter-form",
    ),
    pytest.param(
        b"<html><head><title>Aktionen</title></head><body><form action=/suche><input name=q></form></body></html>",
        False,
        id="promotions-page-with-search-form",
    ),
    pytest.param(b'[{"store_id": "s1", "stock": 0}]', False, id="store-api-json"),
]


@pytest.mark.parametrize(("body", "product_page"), NOT_BLOCKED)
def test_shop_pages_are_not_block_pages(body: bytes, product_page: bool) -> None:
    assert block_reason(200, body, product_page=product_page) is None


CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "pages"


@pytest.mark.skipif(not CORPUS.is_dir(), reason="the corpus of real product pages is not beside the project")
def test_no_real_product_page_is_taken_for_a_block_page() -> None:
    flagged = [
        page.name
        for page in sorted(CORPUS.glob("*.html.gz"))
        if block_reason(200, gzip.decompress(page.read_bytes()), product_page=True) is not None
    ]
    assert flagged == []


def test_a_page_without_any_product_tells_nothing_of_ordering_nor_of_its_name() -> None:
    # the shop: a profile buy button missing from a page that is no product page read as orderable=false
    profile = parse_profile(
        {"slug": "x", "offer": {"buy_button": "button.add-to-cart", "price": ".price"}}, "x"
    )
    page = interstitial("Bitte warten", "Ihre Anfrage wird geprüft.")
    offer = without_product(extract_offer(page, "http://127.0.0.1/p/1", profile))
    assert (offer.availability, offer.orderable, offer.title) == (Availability.UNKNOWN, None, None)
    # a product page keeps what it says
    real = without_product(extract_offer(product("Kaffeemaschine", "SKU-1"), "http://127.0.0.1/p/1", profile))
    assert (real.title, real.orderable) == ("Kaffeemaschine", True)
