"""The visible buy box decides (issue 18): "currently not available / deliverable / orderable" beside a
disabled or missing add-to-cart is out of stock and unorderable whatever the structured data says; beside an
enabled one it contradicts and stays unknown; a shipping limit ("nicht lieferbar nach Österreich") is no stock
state. The buy boxes are hand-written after the shops named in each row; the first row is the page of the
issue (a German-language Swiss shop whose JSON-LD said InStock)."""

from __future__ import annotations

import json

import pytest

from promowatch.domain import Availability, Offer, SignalSource
from promowatch.extract import extract_offer
from promowatch.extract.phrases import normalise_text, phrase_book

URL = "https://www.shop.example/p/kv-1001"
_CHROME = {
    "de": ("Warenkorb", "Gratis Lieferung ab CHF 50.–", "Das könnte Ihnen auch gefallen"),
    "fr": ("Panier", "Livraison gratuite dès CHF 50.–", "Vous aimerez aussi"),
    "it": ("Carrello", "Spedizione gratuita da CHF 50.–", "Potrebbe interessarti anche"),
    "en": ("Basket", "Free delivery over £50", "You may also like"),
    "nl": ("Winkelwagen", "Gratis verzending vanaf € 50", "Misschien ook iets voor jou"),
    "es": ("Carrito", "Envío gratis desde 50 €", "También te puede gustar"),
}


def shop_page(lang: str, buy_box: str, *, price: str = "499.00", currency: str = "CHF") -> bytes:
    """A product page: header basket, product block (title, price, buy box), related products in stock."""
    cart, footer, related = _CHROME[lang]
    jsonld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Kaffeevollautomat Barista X",
        "sku": "KV-1001",
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": currency,
            "availability": "https://schema.org/InStock",
        },
    }
    return f"""<!doctype html><html lang="{lang}"><head><meta charset="utf-8">
<title>Kaffeevollautomat Barista X</title>
<script type="application/ld+json">{json.dumps(jsonld)}</script></head><body>
<header class="site-header"><a href="/"><img src="/logo.svg" alt="Shop"></a> <a href="/cart">{cart} (0)</a></header>
<main><div class="product-detail"><div class="gallery"><img src="/img/kv-1001.jpg" alt=""></div>
<div class="product-info"><h1 class="product-title">Kaffeevollautomat Barista X</h1>
<div class="price-box"><span class="price">{currency} {price}</span></div>
{buy_box}
</div></div>
<section class="related-products"><h2>{related}</h2><div class="tile"><a href="/p/kv-2002">Barista Y</a>
<span class="price">{currency} 699.00</span></div></section></main>
<footer class="site-footer">{footer}</footer></body></html>""".encode()


def _stock_line(text: str, button: str) -> str:
    return f'<div class="availability"><span class="delivery-status">{text}</span></div>\n{button}'


def _button(label: str, state: str) -> str:
    """An add-to-cart button that is enabled, disabled, or not rendered at all ("missing")."""
    if state == "missing":
        return ""
    disabled = " disabled" if state == "disabled" else ""
    return f'<form action="/cart/add" method="post"><button type="submit" class="btn add-to-cart"{disabled}>{label}</button></form>'


def _states(offer: Offer, source: SignalSource) -> list[str | None]:
    return [s.value for s in offer.signals if s.field == "availability" and s.source is source]


# ---------------------------------------------------------------- a buy box that cannot be used


@pytest.mark.parametrize(
    ("lang", "stock", "label", "button"),
    [
        pytest.param(
            "de", "Zurzeit nicht lieferbar", "In den Warenkorb", "disabled", id="de-ch-issue-18-zurzeit"
        ),
        pytest.param(
            "de", "Derzeit nicht lieferbar", "In den Warenkorb", "missing", id="de-derzeit-no-button"
        ),
        pytest.param(
            "de",
            "Dieser Artikel ist zurzeit leider nicht bestellbar",
            "In den Warenkorb",
            "disabled",
            id="de-zurzeit-leider-nicht-bestellbar",
        ),
        pytest.param(
            "de", "Momentan nicht erhältlich", "In den Warenkorb", "disabled", id="de-momentan-erhaeltlich"
        ),
        pytest.param(
            "fr", "Actuellement non livrable", "Ajouter au panier", "disabled", id="fr-ch-non-livrable"
        ),
        pytest.param(
            "fr",
            "Non commandable pour le moment",
            "Ajouter au panier",
            "missing",
            id="fr-non-commandable-no-button",
        ),
        pytest.param(
            "it",
            "Al momento non ordinabile",
            "Aggiungi al carrello",
            "disabled",
            id="it-ticino-non-ordinabile",
        ),
        pytest.param(
            "it", "Attualmente non consegnabile", "Aggiungi al carrello", "missing", id="it-non-consegnabile"
        ),
        pytest.param(
            "en", "Not available at the moment", "Add to basket", "disabled", id="en-uk-at-the-moment"
        ),
        pytest.param(
            "en", "Currently not available", "Add to basket", "missing", id="en-currently-not-available"
        ),
        pytest.param("nl", "Momenteel niet leverbaar", "In winkelwagen", "disabled", id="nl-momenteel"),
        pytest.param(
            "es", "No está disponible en este momento", "Añadir al carrito", "disabled", id="es-momento"
        ),
    ],
)
def test_currently_unavailable_beside_an_unusable_buy_box_is_out_of_stock(
    lang: str, stock: str, label: str, button: str
) -> None:
    offer = extract_offer(shop_page(lang, _stock_line(stock, _button(label, button))), URL)
    assert (offer.availability, offer.orderable) == (Availability.OUT_OF_STOCK, False)
    # the structured data and the visible page stay on record side by side
    assert _states(offer, SignalSource.JSONLD) == ["in_stock"]
    assert _states(offer, SignalSource.TEXT) == ["temporarily_unavailable"]


def test_issue_18_page_records_the_disabled_button() -> None:
    offer = extract_offer(
        shop_page("de", _stock_line("Zurzeit nicht lieferbar", _button("In den Warenkorb", "disabled"))), URL
    )
    buttons = [(s.raw, s.value) for s in offer.signals if s.source is SignalSource.BUTTON]
    assert (offer.availability, offer.orderable, offer.reason) == (Availability.OUT_OF_STOCK, False, None)
    assert buttons == [("in den warenkorb", "False")]


def test_currently_unavailable_wins_over_a_size_chooser() -> None:
    """A disabled button beside a size chooser waits for a choice, unless the stock line says it cannot be had."""
    chooser = (
        '<div class="size-select"><select><option>Grösse wählen</option><option>M</option></select></div>'
    )
    buy_box = chooser + _stock_line("Zurzeit nicht lieferbar", _button("In den Warenkorb", "disabled"))
    offer = extract_offer(shop_page("de", buy_box), URL)
    assert (offer.availability, offer.orderable) == (Availability.OUT_OF_STOCK, False)


# ---------------------------------------------------------------- words against an enabled add-to-cart


@pytest.mark.parametrize(
    ("lang", "stock", "label"),
    [
        pytest.param("de", "Zurzeit nicht lieferbar", "In den Warenkorb", id="de-zurzeit-enabled"),
        pytest.param("fr", "Actuellement non livrable", "Ajouter au panier", id="fr-actuellement-enabled"),
        pytest.param("it", "Al momento non ordinabile", "Aggiungi al carrello", id="it-al-momento-enabled"),
        pytest.param("en", "Not available at the moment", "Add to basket", id="en-at-the-moment-enabled"),
    ],
)
def test_currently_unavailable_beside_an_enabled_button_stays_unknown(
    lang: str, stock: str, label: str
) -> None:
    """Corpus rule: an enabled add-to-cart counts only with no contrary visible text; the two contradict."""
    offer = extract_offer(shop_page(lang, _stock_line(stock, _button(label, "enabled"))), URL)
    assert (offer.availability, offer.orderable) == (Availability.UNKNOWN, None)
    assert offer.reason is not None and "conflicting visible signals" in offer.reason
    assert _states(offer, SignalSource.TEXT) == ["temporarily_unavailable"]
    assert [s.value for s in offer.signals if s.source is SignalSource.BUTTON] == ["True"]


# ---------------------------------------------------------------- shipping limits are not stock states


@pytest.mark.parametrize(
    ("lang", "stock", "label", "delivery"),
    [
        pytest.param(
            "de",
            "Nicht lieferbar nach Österreich. Lieferzeit 2-3 Werktage",
            "In den Warenkorb",
            "lieferzeit 2-3 werktage",
            id="de-ch-nicht-lieferbar-nach-oesterreich",
        ),
        pytest.param(
            "de",
            "Zurzeit nicht lieferbar nach Liechtenstein",
            "In den Warenkorb",
            None,
            id="de-zurzeit-nicht-lieferbar-nach-liechtenstein",
        ),
        pytest.param("fr", "Non livrable en Corse", "Ajouter au panier", None, id="fr-non-livrable-en-corse"),
        pytest.param(
            "en",
            "We do not ship to P.O. boxes or overseas addresses.",
            "Add to basket",
            None,
            id="en-no-shipping-to-po-boxes",
        ),
    ],
)
def test_a_shipping_limit_leaves_an_enabled_buy_box_in_stock(
    lang: str, stock: str, label: str, delivery: str | None
) -> None:
    offer = extract_offer(shop_page(lang, _stock_line(stock, _button(label, "enabled"))), URL)
    assert (offer.availability, offer.orderable, offer.delivery) == (Availability.IN_STOCK, True, delivery)


# ---------------------------------------------------------------- the phrase class in every bundled language


@pytest.mark.parametrize(
    "line",
    [
        pytest.param("Zurzeit nicht lieferbar", id="de-zurzeit"),
        pytest.param("Z.Zt. nicht lieferbar", id="de-z-zt"),
        pytest.param("Aktuell nicht bestellbar", id="de-aktuell-bestellbar"),
        pytest.param("Non livrable pour l'instant", id="fr-pour-l-instant"),
        pytest.param("Temporaneamente non ordinabile", id="it-temporaneamente"),
        pytest.param("This item is not available right now", id="en-right-now"),
        pytest.param("Unavailable at this time", id="en-at-this-time"),
        pytest.param("Op dit moment niet leverbaar", id="nl-op-dit-moment"),
        pytest.param("Temporalmente no está disponible", id="es-temporalmente"),
        pytest.param("Não está disponível no momento", id="pt-no-momento"),
        pytest.param("Chwilowo niedostępna", id="pl-chwilowo"),
        pytest.param("Momentálně nedostupný", id="cs-momentalne"),
        pytest.param("Momentálne nie je k dispozícii", id="sk-momentalne"),
        pytest.param("Momentan nu este disponibil", id="ro-momentan"),
        pytest.param("Tillfälligt inte tillgänglig", id="sv-tillfalligt"),
        pytest.param("Временно недоступен", id="ru-vremenno"),
        pytest.param("המוצר כרגע לא זמין", id="he-karega"),
        pytest.param("현재 품절", id="ko-hyeonjae"),
        pytest.param("現在在庫切れ", id="ja-genzai"),
        pytest.param("目前缺貨", id="zh-muqian"),
    ],
)
def test_currently_with_not_available_is_one_temporary_stock_state(line: str) -> None:
    hits = phrase_book().find(normalise_text(f"Art. 4711 | {line} | CHF 499.–"))
    assert [h.category for h in hits] == ["temporarily_unavailable"], hits


@pytest.mark.parametrize(
    ("line", "categories"),
    [
        # a channel named: the item is refused online, not out of stock
        pytest.param(
            "Zurzeit nicht online bestellbar", ["currently", "not_deliverable"], id="de-online-refusal"
        ),
        pytest.param(
            "Currently unavailable online", ["currently", "not_deliverable"], id="en-online-refusal"
        ),
        # delivery times stay delivery text
        pytest.param("Derzeit: Lieferzeit 2-3 Werktage", ["currently", "delivery"], id="de-lieferzeit"),
        # a sentence apart: not one statement
        pytest.param(
            "Aktuell im Angebot. Nicht erhältlich in Filialen",
            ["currently", "unavailable"],
            id="de-sentences",
        ),
    ],
)
def test_currently_does_not_join_what_is_no_stock_state(line: str, categories: list[str]) -> None:
    hits = phrase_book().find(normalise_text(line))
    assert [h.category for h in hits] == categories, hits
