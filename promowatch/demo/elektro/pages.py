"""HTML and JSON of the German demo shop: pure rendering from the catalogue and one day's state.

Its structure differs from the first shop's on purpose: JSON-LD in the head, ``<link rel="canonical">``, a buy
box with a status line and a basket button, listing cards that state only "gültig bis", product links with
a tracking parameter, and an accessories block with its own prices and status lines.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from decimal import Decimal
from html import escape
from typing import Any

from promowatch.demo.elektro.catalogue import (
    ARTICLES,
    LISTING_PATH,
    MARKETS,
    SHOP_NAME,
    TRACKING,
    Article,
    Card,
    DayState,
    Listing,
    MarketStock,
    Stock,
)

_SCHEMA = {
    Stock.IN_STOCK: "https://schema.org/InStock",
    Stock.NOT_DELIVERABLE: "https://schema.org/OutOfStock",
    Stock.PREORDER: "https://schema.org/PreOrder",
    Stock.STORE_ONLY: "https://schema.org/InStoreOnly",
}


def euro(amount: Decimal) -> str:
    """German style: ``1.299,00 €``."""
    whole, cents = divmod(amount.quantize(Decimal("0.01")), 1)
    return f"{int(whole):,}".replace(",", ".") + f",{int(cents * 100):02d} €"


def dotted(day: date, *, year: bool = True) -> str:
    return day.strftime("%d.%m.%Y" if year else "%d.%m.")


def _layout(title: str, body: str, head: str = "") -> str:
    return (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title>{head}</head><body>"
        '<header class="kopfbereich"><a class="marke" href="/">' + SHOP_NAME + "</a>"
        '<nav class="hauptnavigation"><a href="/">Startseite</a> '
        f'<a href="{LISTING_PATH}">Wochenangebote</a> <a href="/maerkte">Märkte</a></nav></header>'
        f'<main id="inhalt">{body}</main>'
        '<footer class="fussbereich"><p>Alle Preise in Euro inkl. MwSt., zzgl. Versandkosten. Angebote nur solange '
        f"der Vorrat reicht.</p><p>© 2026 {SHOP_NAME} GmbH, Demostraße 1, 10117 Berlin</p></footer>"
        "</body></html>"
    )


def _status(state: DayState) -> tuple[str, str, str]:
    """(status line, basket control HTML, delivery line) of the buy box."""
    if state.stock is Stock.IN_STOCK:
        return (
            "Sofort lieferbar",
            '<button class="btn-warenkorb" type="submit">In den Warenkorb</button>',
            "Lieferzeit: 1–3 Werktage",
        )
    if state.stock is Stock.NOT_DELIVERABLE:
        return (
            "Zurzeit nicht lieferbar",
            '<button class="btn-warenkorb" type="submit" disabled>In den Warenkorb</button>',
            "",
        )
    if state.stock is Stock.PREORDER:
        release = state.article.release
        assert release is not None
        return (
            f"Erscheint am {dotted(release)}",
            '<button class="btn-warenkorb btn-vorbestellen" type="submit">Vorbestellen</button>',
            "Lieferung zum Erscheinungstermin",
        )
    return "Nur im Markt erhältlich", '<a class="link-markt" href="/maerkte">Markt finden</a>', ""


def _jsonld(base_url: str, state: DayState) -> str:
    item = state.article
    availability = "https://schema.org/InStock" if item.jsonld_in_stock else _SCHEMA[state.stock]
    data: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": item.title,
        "sku": item.number,
        "gtin13": item.gtin,
        "brand": {"@type": "Brand", "name": item.brand},
        "url": base_url + item.path,
        "offers": {
            "@type": "Offer",
            "price": str(state.price),
            "priceCurrency": "EUR",
            "availability": availability,
            "url": base_url + item.path,
        },
    }
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def product_page(base_url: str, state: DayState, accessory: DayState) -> str:
    item = state.article
    line, control, delivery = _status(state)
    was = (
        f' <span class="preis-statt">statt <s>{euro(state.regular_price)}</s></span>'
        if state.regular_price is not None
        else ""
    )
    acc_line, _, _ = _status(accessory)
    body = (
        f'<nav class="brotkrumen"><a href="/">Startseite</a> › {escape(item.brand)}</nav>'
        f'<section class="artikel" data-artikelnummer="{item.number}">'
        f'<h1 class="artikel-name">{escape(item.title)}</h1>'
        f'<p class="artikel-meta">Art.-Nr. <span class="artnr">{item.number}</span> · '
        f'EAN <span class="ean">{item.gtin}</span></p>'
        f'<div class="preisbox"><span class="preis-aktuell">{euro(state.price)}</span>{was}'
        " <small>inkl. MwSt., zzgl. Versand</small></div>"
        f'<form class="kaufbox" action="/warenkorb" method="post"><p class="lieferstatus">{line}</p>'
        f'<input type="hidden" name="artnr" value="{item.number}">{control}'
        + (f'<p class="lieferzeit">{delivery}</p>' if delivery else "")
        + "</form>"
        '<p class="marktverfuegbarkeit"><a href="/maerkte">Verfügbarkeit im Markt prüfen</a></p>'
        "</section>"
        '<aside class="zubehoer"><h2>Passendes Zubehör</h2><div class="zubehoer-kachel">'
        f'<a href="{accessory.article.path}">{escape(accessory.article.title)}</a>'
        f'<span class="preis-aktuell">{euro(accessory.price)}</span><p class="lieferstatus">{acc_line}</p>'
        "</div></aside>"
    )
    head = f'<link rel="canonical" href="{base_url}{item.path}">' + _jsonld(base_url, state)
    return _layout(f"{item.title} | {SHOP_NAME}", body, head)


def listing_page(start: date, listing: Listing | None, cards: list[tuple[Article, Card]]) -> str:
    """The weekly listing online on a day; ``start`` is day 0's date."""
    if listing is None:
        body = '<h1 class="kw-titel">Wochenangebote</h1><p class="hinweis">Die neuen Angebote gibt es ab Mittwoch.</p>'
        return _layout(f"Wochenangebote | {SHOP_NAME}", body)
    tiles = []
    for item, card in cards:
        was = (
            f'<span class="streichpreis">statt {euro(card.regular_price)}</span>'
            if card.regular_price
            else ""
        )
        until = start + timedelta(days=card.until_day)
        tiles.append(
            '<li class="angebot-kachel">'
            f'<a class="kachel-link" href="{item.path}{TRACKING}"><h2 class="kachel-name">{escape(item.title)}</h2></a>'
            f'<div class="kachel-preis"><span class="aktionspreis">{euro(card.price)}</span> {was}</div>'
            f'<p class="kachel-gueltig">gültig bis {dotted(until)}</p></li>'
        )
    first, last = start + timedelta(days=listing.first_day), start + timedelta(days=listing.last_day)
    body = (
        f'<h1 class="kw-titel">Angebote vom {dotted(first, year=False)} bis {dotted(last, year=False)}</h1>'
        f'<ul class="angebote-raster">{"".join(tiles)}</ul>'
    )
    return _layout(f"Wochenangebote | {SHOP_NAME}", body)


def home_page() -> str:
    links = "".join(f'<li><a href="{a.path}">{escape(a.title)}</a></li>' for a in ARTICLES)
    body = f'<h1>Willkommen bei {SHOP_NAME}</h1><ul class="sortiment">{links}</ul>'
    return _layout(SHOP_NAME, body)


def markets_page() -> str:
    rows = "".join(f"<li>{escape(m.name)}, {m.postcode} {escape(m.city)}</li>" for m in MARKETS)
    return _layout(f"Märkte | {SHOP_NAME}", f'<h1>Unsere Märkte</h1><ul class="maerkte">{rows}</ul>')


CAPTCHA_TITLE = "Sicherheitsüberprüfung"


def captcha_page() -> str:
    """The bot-check interstitial served with status 200 instead of a product page."""
    return (
        '<!doctype html><html lang="de"><head><meta charset="utf-8">'
        f"<title>{CAPTCHA_TITLE}</title></head><body>"
        f'<main class="pruefung"><h1>{CAPTCHA_TITLE}</h1>'
        "<p>Bitte bestätigen Sie, dass Sie kein Roboter sind.</p>"
        '<form method="post" action="/pruefung"><div class="captcha-feld" data-sitekey="demo-elektro"></div>'
        '<button type="submit">Weiter</button></form></main></body></html>'
    )


def not_found_page() -> str:
    return _layout(f"Seite nicht gefunden | {SHOP_NAME}", "<h1>Diese Seite gibt es leider nicht.</h1>")


def robots_txt() -> str:
    return "User-agent: *\nDisallow: /warenkorb\nDisallow: /pruefung\n"


def markets_json() -> list[dict[str, Any]]:
    """The market list: a top-level JSON array, as several German chains' store finders answer."""
    return [
        {
            "marktId": m.market_id,
            "name": m.name,
            "adresse": {"plz": m.postcode, "ort": m.city},
            "geo": {"lat": m.latitude, "lng": m.longitude},
        }
        for m in MARKETS
    ]


def stock_json(item: Article, levels: list[MarketStock], data_time: datetime) -> dict[str, Any]:
    return {
        "artikelnummer": item.number,
        "stand": data_time.isoformat().replace("+00:00", "Z"),
        "maerkte": [{"marktId": s.market.market_id, "menge": s.quantity, "ampel": s.light} for s in levels],
    }
