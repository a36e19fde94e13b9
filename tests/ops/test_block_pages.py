"""Block and captcha pages are told apart from shop pages that merely carry an anti-bot script."""

from __future__ import annotations

import pytest

from spiders.middlewares import is_block_page

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
    assert is_block_page(status, body) is blocked


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
    assert is_block_page(200, b"<html><body>" + marker + b"</body></html>")
