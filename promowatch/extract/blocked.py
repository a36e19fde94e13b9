"""Block pages: a captcha, bot check or "access denied" page that a shop serves instead of the page asked for.

Such a page says nothing about the product, so a look that met one is ``unknown`` with the reason
:data:`BLOCKED_REASON` (design.md invariant 1), and its title never names the product. Pure: bytes in, a reason
out; the crawl's middleware (promowatch/crawl/middlewares.py) and the health check (promowatch/health.py) use it.

Three kinds of evidence, each enough on its own:
- the words only a challenge says, anywhere in the page ("verify you are a human", "kein Roboter sind"), or in
  its title ("Sicherheitsüberprüfung", "Just a moment...");
- an anti-bot vendor's script (reCAPTCHA, hCaptcha, Cloudflare, DataDome, PerimeterX) on a small page or an
  error answer: real product pages carry these scripts too (a reCAPTCHA on the review form);
- for a product page only: none of a product's structure (no product data, no price, no basket) but a form,
  frame or challenge in its place.
"""

from __future__ import annotations

import re

# Stored as the start of the reason of every look that met a block page; the health check counts them by it.
BLOCKED_REASON = "blocked"

# Words only a block or challenge page says, looked for as plain bytes in the lowered page (bytes.lower() lowers
# ASCII only: "Êtes-vous" is looked for as "tes-vous"). One alternation tried at every position costs more.
BLOCK_PHRASES = (
    # en
    b"are you a human",
    b"are you a robot",
    b"you are human",
    b"you are a human",
    b"you are not a robot",
    b"you're not a robot",
    b"i'm not a robot",
    b"unusual traffic",
    b"you have been blocked",
    b"request blocked",
    b"access denied",
    # de
    b"zugriff verweigert",
    b"kein roboter sind",
    b"kein roboter bist",
    b"ich bin kein roboter",
    b"dass sie ein mensch sind",
    "ungewöhnlichen datenverkehr".encode(),
    # fr
    b"acces refus",
    "accès refus".encode(),
    "n'êtes pas un robot".encode(),
    "n’êtes pas un robot".encode(),
    b"tes-vous un robot",
    b"tes-vous un humain",
    "vous êtes humain".encode(),
    "vous êtes un humain".encode(),
    # it
    b"non sei un robot",
    b"non sono un robot",
    b"non essere un robot",
    b"accesso negato",
    # es
    b"no eres un robot",
    b"no soy un robot",
    b"acceso denegado",
    # nl
    b"geen robot bent",
    b"ik ben geen robot",
    b"een mens bent",
    b"toegang geweigerd",
)
# Words a challenge page puts in its title; in a shop page's title they would be odd, in its body they are not
# (a "security check" of a child seat): there they count only on a page with none of a product's structure.
CHALLENGE_WORDS = (
    b"captcha",
    b"attention required",
    b"just a moment",
    b"security check",
    b"security verification",
    b"robot check",
    b"bot check",
    b"pardon our interruption",
    "sicherheitsüberprüfung".encode(),
    b"sicherheitsabfrage",
    b"sicherheitscheck",
    "vérification de sécurité".encode(),
    b"verification de securite",
    b"verifica di sicurezza",
    b"controllo di sicurezza",
    "verificación de seguridad".encode(),
    "comprobación de seguridad".encode(),
    b"beveiligingscontrole",
    b"veiligheidscontrole",
)
_TITLE = re.compile(rb"<title[^>]*>([^<]{0,200})")
# Anti-bot scripts (reCAPTCHA/hCaptcha, Cloudflare, DataDome, PerimeterX). Real product pages include them too
# (a reCAPTCHA on the review form, Cloudflare's bot script), so they only mark a small page or an error answer:
# an interstitial, not a shop page that carries the script.
BLOCK_SCRIPTS = re.compile(
    rb"g-recaptcha|h-captcha|hcaptcha\.com|recaptcha/api|cf-challenge|challenge-platform|cf-browser-verification"
    rb"|captcha-delivery|datadome|px-captcha|_pxcaptcha"
)
# every alternative of BLOCK_SCRIPTS holds one of these: looked for as plain bytes first, the alternation (tried at
# every position) runs only on the few pages that hold one
BLOCK_SCRIPT_WORDS = (b"captcha", b"challenge", b"cf-browser-verification", b"datadome")
BLOCK_SCAN_BYTES = 64 * 1024
INTERSTITIAL_BYTES = 24 * 1024  # challenge pages are small; product pages are not

# What any product page has at least one of: product data, a price, a basket (in the bundled languages).
PRODUCT_MARKERS = (
    b"schema.org/product",
    b'"product"',
    b'itemprop="price',
    b"itemprop='price",
    b"product:price",
    b"og:price",
    b"cart",
    b"basket",
    b"warenkorb",
    b"panier",
    b"carrello",
    b"cesta",
    b"winkelwagen",
    b"kaufen",
    b"acheter",
    b"acquista",
    b"comprar",
)
_PRICE = re.compile(
    rb"(?:chf|eur|usd|gbp|fr\.|\xe2\x82\xac|\$|\xc2\xa3)\s?\d|\d[.,]\d\d\s?(?:chf|eur|\xe2\x82\xac)|\d\.[-\xe2]"
)
# what stands in a product's place on a challenge page
_CHALLENGE_PARTS = (b"<form", b"<iframe", b"captcha", b"challenge")


def block_reason(status: int, body: bytes, *, product_page: bool = False) -> str | None:
    """Why the response is a block or challenge page rather than the shop's page, or None when it is not.

    ``product_page``: the page was asked for as a product page, so a page with none of a product's structure
    and a form or challenge in its place is a block page too."""
    if status in (401, 407):
        return f"HTTP {status}: the shop asks for credentials"
    head = body[:BLOCK_SCAN_BYTES].lower()  # lower once: a case-insensitive regex costs 5x on every page
    title_match = _TITLE.search(head)
    title = title_match.group(1) if title_match else b""
    if title_match is not None and any(word in title for word in CHALLENGE_WORDS):
        # bytes.lower() keeps every byte in its place: the title as the page writes it
        return f"the page's title says '{_text(body[title_match.start(1) : title_match.end(1)])[:80]}'"
    if status < 400 and len(body) > BLOCK_SCAN_BYTES:
        # a page this big is the shop's own (challenge pages are a few kB): what its text says of robots or
        # denied access is about its products, and looking costs a millisecond on every page
        return None
    phrase = next((p for p in BLOCK_PHRASES if p in head), None)
    if phrase is not None:
        return f"the page says '{_text(phrase)}'"
    if (
        (status >= 400 or len(body) < INTERSTITIAL_BYTES)
        and any(w in head for w in BLOCK_SCRIPT_WORDS)
        and (script := BLOCK_SCRIPTS.search(head)) is not None
    ):
        return f"an anti-bot page ({_text(script.group())})"
    if product_page and status < 300 and not _has_product_structure(head):
        word = next((w for w in CHALLENGE_WORDS if w in head), None)
        part = next((p for p in _CHALLENGE_PARTS if p in head), None)
        if word is not None or part is not None:
            shown = _text(word) if word is not None else _text(part or b"").strip("<")
            return f"no product on the page, a {shown} in its place"
    return None


def _has_product_structure(head: bytes) -> bool:
    return any(marker in head for marker in PRODUCT_MARKERS) or _PRICE.search(head) is not None


def _text(raw: bytes) -> str:
    return " ".join(raw.decode("utf-8", "replace").split())
