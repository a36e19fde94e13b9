"""extract_offer on hand-written pages modelled on real shops: one case per signal source and per trap."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from promowatch.config import parse_profile
from promowatch.domain import Availability, Offer, SignalSource
from promowatch.extract import extract_offer

URL = "https://shop.example.ch/fr/p/machine-a-cafe-esam-4711"


def page(product: str, *, head: str = "", jsonld: object | None = None, after: str = "") -> bytes:
    """A shop page: header menu, cookie banner, the product block, related products, footer."""
    script = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    return f"""<!doctype html><html lang="fr"><head><meta charset="utf-8">{head}{script}</head><body>
<header class="site-header"><nav><a href="/promo">Promotions</a> <a href="/stock">Produits en stock</a>
 <a href="/cart" class="cart-link">Panier (0) CHF 0.–</a></nav></header>
<div id="cookie-banner" class="cookie-consent">Nous utilisons des cookies. <button>Accepter</button></div>
<main><div class="product-detail">{product}</div>
<section class="related-products"><h2>Vous aimerez aussi</h2>
 <div class="tile"><span class="price">CHF 89.–</span> <span>En stock</span> <button>Ajouter au panier</button></div>
 <div class="tile"><span class="price">CHF 19.90</span> <del>CHF 29.90</del> <span>Épuisé</span></div>
</section></main>
<footer class="site-footer">Livraison gratuite dès CHF 50.– · Retour sous 30 jours · Rupture de stock? Contactez-nous</footer>
{after}</body></html>""".encode()


BUY_BOX_FR = """<h1>Machine à café ESAM 4711</h1>
<div class="buy-box"><span class="price">CHF 499.–</span> <span class="price-old">au lieu de <del>999.–</del></span>
<span class="saving">Économisez 500.–</span> <p class="stock">En stock, livré en 2 jours</p>
<button class="btn add-to-cart">Ajouter au panier</button></div>"""


def values(offer: Offer, field: str, source: SignalSource | None = None) -> list[str | None]:
    return [s.value for s in offer.signals if s.field == field and (source is None or s.source is source)]


def test_swiss_french_buy_box_ignores_header_banner_related_and_footer() -> None:
    """Swiss French shop: 499.– au lieu de 999.– in the buy box; related tiles and footer say other things."""
    offer = extract_offer(page(BUY_BOX_FR), URL)
    assert (offer.price, offer.currency, offer.regular_price) == (Decimal("499.00"), "CHF", Decimal("999.00"))
    assert offer.availability is Availability.IN_STOCK
    assert offer.orderable is True
    assert offer.title == "Machine à café ESAM 4711"
    assert offer.delivery and "livré en 2 jours" in offer.delivery
    assert "out_of_stock" not in values(offer, "availability") and "sold_out" not in values(
        offer, "availability"
    )


def test_visible_epuise_overrides_jsonld_in_stock_and_both_are_recorded() -> None:
    """Retailer forgot to update JSON-LD: it says InStock, the buy box says Épuisé."""
    product = """<h1>Machine à café ESAM 4711</h1><div class="buy-box"><span class="price">CHF 499.–</span>
    <p class="availability">Épuisé</p><button class="btn" disabled>Ajouter au panier</button></div>"""
    jsonld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Machine à café ESAM 4711",
        "offers": {
            "@type": "Offer",
            "price": "499.00",
            "priceCurrency": "CHF",
            "availability": "https://schema.org/InStock",
        },
    }
    offer = extract_offer(page(product, jsonld=jsonld), URL)
    assert offer.availability is Availability.OUT_OF_STOCK
    assert offer.orderable is False
    assert "in_stock" in values(offer, "availability", SignalSource.JSONLD)
    assert "sold_out" in values(offer, "availability", SignalSource.TEXT)


def test_main_product_chosen_by_url_not_the_first_jsonld_block() -> None:
    """Two Product blocks: the first is a related accessory (own URL), the second is the page's product."""
    related = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Détartrant 3 pièces",
        "url": "https://shop.example.ch/fr/p/detartrant-12",
        "offers": {
            "@type": "Offer",
            "price": "19.90",
            "priceCurrency": "CHF",
            "availability": "https://schema.org/OutOfStock",
        },
    }
    main = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "ESAM 4711",
        "url": URL,
        "sku": "4711",
        "offers": {
            "@type": "Offer",
            "price": "499.00",
            "priceCurrency": "CHF",
            "availability": "https://schema.org/InStock",
        },
    }
    product = "<h1>ESAM 4711</h1>"
    head = f'<script type="application/ld+json">{json.dumps(related)}</script>'
    offer = extract_offer(page(product, head=head, jsonld=main), URL)
    assert (offer.price, offer.sku, offer.availability) == (Decimal("499.00"), "4711", Availability.IN_STOCK)
    chosen = values(offer, "product", SignalSource.JSONLD)
    assert chosen and "URL" in (chosen[0] or "")


def test_graph_with_item_list_and_product() -> None:
    """@graph holding a BreadcrumbList, an ItemList of other products and the Product itself."""
    graph = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "BreadcrumbList", "itemListElement": []},
            {
                "@type": "ItemList",
                "itemListElement": [
                    {
                        "@type": "ListItem",
                        "item": {"@type": "Product", "name": "Autre", "offers": {"price": "5.00"}},
                    }
                ],
            },
            {
                "@type": "Product",
                "name": "ESAM 4711",
                "offers": {
                    "@type": "Offer",
                    "price": 499,
                    "priceCurrency": "CHF",
                    "availability": "http://schema.org/InStock",
                },
            },
        ],
    }
    offer = extract_offer(page("<h1>ESAM 4711</h1>", jsonld=graph), URL)
    assert (offer.price, offer.availability) == (Decimal("499.00"), Availability.IN_STOCK)


def test_aggregate_offer_low_price() -> None:
    """Marketplace-style AggregateOffer: lowPrice is what the buyer pays from."""
    jsonld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Casque X",
        "offers": {
            "@type": "AggregateOffer",
            "lowPrice": "79.00",
            "highPrice": "99.00",
            "priceCurrency": "EUR",
            "offerCount": 4,
            "availability": "InStock",
        },
    }
    offer = extract_offer(page("<h1>Casque X</h1>", jsonld=jsonld), URL)
    assert (offer.price, offer.currency, offer.availability) == (
        Decimal("79.00"),
        "EUR",
        Availability.IN_STOCK,
    )


def test_variant_named_in_the_url_is_the_offer() -> None:
    """ProductGroup with two sizes; the URL's ?variant= names the 1 kg bag, which is sold out."""
    jsonld = {
        "@context": "https://schema.org",
        "@type": "ProductGroup",
        "name": "Café en grains",
        "hasVariant": [
            {
                "@type": "Product",
                "sku": "CAF-500",
                "offers": {
                    "@type": "Offer",
                    "price": "9.90",
                    "priceCurrency": "CHF",
                    "availability": "https://schema.org/InStock",
                },
            },
            {
                "@type": "Product",
                "sku": "CAF-1000",
                "offers": {
                    "@type": "Offer",
                    "price": "17.90",
                    "priceCurrency": "CHF",
                    "availability": "https://schema.org/SoldOut",
                },
            },
        ],
    }
    offer = extract_offer(page("<h1>Café en grains</h1>", jsonld=jsonld), URL + "?variant=CAF-1000")
    assert (offer.price, offer.sku, offer.availability) == (
        Decimal("17.90"),
        "CAF-1000",
        Availability.OUT_OF_STOCK,
    )
    assert any("variant named in the URL" in (v or "") for v in values(offer, "offer"))


def test_price_zero_placeholder_is_not_a_price() -> None:
    """JSON-LD price 0 (a template placeholder, as on peb-c9f80eb2d0): the visible price is used."""
    jsonld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "ESAM 4711",
        "offers": {"@type": "Offer", "price": "0", "priceCurrency": "CHF"},
    }
    product = '<h1>ESAM 4711</h1><span class="product-price">CHF 549.–</span>'
    offer = extract_offer(page(product, jsonld=jsonld), URL)
    assert offer.price == Decimal("549.00")
    assert None in values(offer, "price", SignalSource.JSONLD)


def test_disabled_add_to_cart_is_not_in_stock() -> None:
    """A greyed-out add-to-cart and no stock statement: not orderable, and never read as in stock."""
    product = """<h1>ESAM 4711</h1><span class="price">CHF 499.–</span>
    <button class="add-to-cart" disabled="disabled">Ajouter au panier</button>"""
    offer = extract_offer(page(product), URL)
    assert offer.availability is Availability.UNKNOWN and offer.reason
    assert offer.orderable is False


def test_in_store_only_is_not_orderable() -> None:
    """schema.org InStoreOnly: in stock somewhere, but it cannot be ordered online."""
    jsonld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "ESAM 4711",
        "offers": {
            "@type": "Offer",
            "price": "499",
            "priceCurrency": "CHF",
            "availability": "https://schema.org/InStoreOnly",
        },
    }
    offer = extract_offer(page("<h1>ESAM 4711</h1>", jsonld=jsonld), URL)
    assert offer.availability is Availability.IN_STOCK
    assert offer.orderable is False


@pytest.mark.parametrize(
    ("product", "availability", "orderable", "regular"),
    [
        pytest.param(
            """<h1>Kaffeevollautomat ESAM</h1><span class="price">CHF 1'099.–</span>
            <span class="old-price">statt 1'299.–</span><p>Nur noch 2 Stück auf Lager</p>
            <button class="add-to-cart">In den Warenkorb</button>""",
            Availability.LIMITED,
            True,
            "1299.00",
            id="de-swiss-only-2-left (Swiss German shop)",
        ),
        pytest.param(
            """<h1>Kaffeevollautomat ESAM</h1><span class="price">€ 899,00</span>
            <p class="availability">Leider ausverkauft</p>""",
            Availability.OUT_OF_STOCK,
            False,
            None,
            id="de-ausverkauft (German shop)",
        ),
        pytest.param(
            """<h1>Macchina da caffè ESAM</h1><span class="price">CHF 499.–</span>
            <span>invece di CHF 999.–</span><p class="stock">Esaurito</p>""",
            Availability.OUT_OF_STOCK,
            False,
            "999.00",
            id="it-esaurito-invece-di (Ticino shop)",
        ),
        pytest.param(
            """<h1>Macchina da caffè ESAM</h1><span class="price">€ 499,00</span>
            <p>Disponibilità immediata</p><button class="btn">Aggiungi al carrello</button>""",
            Availability.IN_STOCK,
            True,
            None,
            id="it-disponibilita-immediata (Italian shop)",
        ),
        pytest.param(
            """<h1>Espresso Machine</h1><span class="price">$499.00</span>
            <span class="was-price">Was $999.00</span><div class="stock">Sold out</div>""",
            Availability.OUT_OF_STOCK,
            False,
            "999.00",
            id="en-sold-out-was (US shop)",
        ),
        pytest.param(
            """<h1>Espresso Machine</h1><span class="price">£499.00</span>
            <p>Pre-order now: ships in 3 weeks</p>""",
            Availability.PREORDER,
            True,
            None,
            id="en-preorder (UK shop)",
        ),
        pytest.param(
            """<h1>Machine à café</h1><span class="price">CHF 499.–</span>
            <p>Disponible uniquement en magasin</p>""",
            Availability.IN_STOCK,
            False,
            None,
            id="fr-store-only (Swiss French shop)",
        ),
        pytest.param(
            """<h1>Machine à café</h1><span class="price">CHF 499.–</span>
            <p class="stock">Ce produit n'est plus disponible</p>""",
            Availability.DISCONTINUED,
            False,
            None,
            id="fr-discontinued (Swiss French shop)",
        ),
    ],
)
def test_visible_text_in_several_languages(
    product: str, availability: Availability, orderable: bool, regular: str | None
) -> None:
    offer = extract_offer(page(product), URL)
    assert offer.availability is availability, offer.reason
    assert offer.orderable is orderable
    assert offer.regular_price == (Decimal(regular) if regular else None)


@pytest.mark.parametrize(
    "product",
    [
        pytest.param(
            """<h1>ESAM</h1><div class="price-box"><span class="price">CHF 499.–</span>
            <span class="price saving">Économisez 500.–</span></div>""",
            id="fr-economisez",
        ),
        pytest.param(
            """<h1>ESAM</h1><div class="price-box"><span class="price">CHF 499.–</span>
            <span class="price">Sie sparen CHF 500.–</span></div>""",
            id="de-sie-sparen",
        ),
        pytest.param(
            """<h1>ESAM</h1><div class="price-box"><span class="price">$499.00</span>
            <span class="price">Save $500.00</span></div>""",
            id="en-save",
        ),
        pytest.param(
            """<h1>ESAM</h1><div class="price-box"><span class="price">CHF 499.–</span>
            <span class="price">ou CHF 41.60 / mois</span></div>""",
            id="fr-instalment",
        ),
    ],
)
def test_savings_and_instalments_are_never_prices(product: str) -> None:
    offer = extract_offer(page(product), URL)
    assert offer.price == Decimal("499.00")
    assert offer.regular_price is None


def test_conflicting_visible_signals_give_unknown_with_reason() -> None:
    """The buy box says both "En stock" and "Épuisé" (a template left visible): nothing settles it."""
    product = """<h1>ESAM</h1><span class="price">CHF 499.–</span><p>En stock</p><p>Épuisé</p>"""
    offer = extract_offer(page(product), URL)
    assert offer.availability is Availability.UNKNOWN
    assert offer.reason and "conflicting" in offer.reason


def test_hidden_sold_out_template_is_ignored() -> None:
    """Shopify-like page: a hidden "Sold out" label waits for JavaScript; the visible box says add to cart."""
    product = """<h1>ESAM</h1><span class="price">$59.00</span><span class="sold-out hidden">Sold out</span>
    <p style="display:none">Out of stock</p><button class="add-to-cart">Add to Cart</button>"""
    offer = extract_offer(page(product), URL)
    assert (offer.availability, offer.orderable) == (Availability.IN_STOCK, True)


def test_nothing_said_is_unknown_not_out_of_stock() -> None:
    offer = extract_offer(page("<h1>ESAM</h1><span class='price'>CHF 499.–</span>"), URL)
    assert offer.availability is Availability.UNKNOWN
    assert offer.orderable is None
    assert offer.reason == "no availability signal on the page"


def test_microdata_and_opengraph() -> None:
    """Microdata Product with an Offer (bestbuy-style) and OpenGraph product tags."""
    product = """<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Router AX</h1>
    <div itemprop="offers" itemscope itemtype="http://schema.org/Offer">
    <meta itemprop="priceCurrency" content="USD"><span itemprop="price" content="159.99">$159.99</span>
    <link itemprop="availability" href="http://schema.org/InStock"></div></div>"""
    head = '<meta property="og:title" content="Router AX"><meta property="product:availability" content="instock">'
    offer = extract_offer(page(product, head=head), URL)
    assert (offer.price, offer.currency, offer.availability) == (
        Decimal("159.99"),
        "USD",
        Availability.IN_STOCK,
    )
    assert values(offer, "availability", SignalSource.MICRODATA) == ["in_stock"]
    assert values(offer, "availability", SignalSource.OPENGRAPH) == ["in_stock"]


def test_jsonld_reference_price_from_price_specification() -> None:
    jsonld = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "ESAM",
        "offers": {
            "@type": "Offer",
            "price": "499.00",
            "priceCurrency": "CHF",
            "availability": "https://schema.org/InStock",
            "priceSpecification": [
                {
                    "@type": "UnitPriceSpecification",
                    "price": "999.00",
                    "priceCurrency": "CHF",
                    "priceType": "https://schema.org/StrikethroughPrice",
                }
            ],
        },
    }
    offer = extract_offer(page("<h1>ESAM</h1>", jsonld=jsonld), URL)
    assert (offer.price, offer.regular_price) == (Decimal("499.00"), Decimal("999.00"))


PROFILE = {
    "slug": "demo-shop",
    "country": "CH",
    "currency": "CHF",
    "offer": {
        "product_block": "#pdp",
        "price": "#pdp .now::text",
        "regular_price": "#pdp .was",
        "availability": "#pdp .stock-line",
        "buy_button": "#pdp button.order",
        "availability_map": {"(?i)ab lager": "in_stock", "(?i)in \\d+ tagen": "backorder"},
    },
    "phrases": {"de": {"out_of_stock": ["leider weg"]}},
}


@pytest.mark.parametrize(
    ("stock_line", "button", "availability", "orderable"),
    [
        pytest.param(
            "Ab Lager",
            '<button class="order">Bestellen</button>',
            Availability.IN_STOCK,
            True,
            id="profile-map-ab-lager",
        ),
        pytest.param(
            "Lieferbar in 10 Tagen",
            '<button class="order">Bestellen</button>',
            Availability.BACKORDER,
            True,
            id="profile-map-backorder",
        ),
        pytest.param(
            "Leider weg",
            '<button class="order" disabled>Bestellen</button>',
            Availability.OUT_OF_STOCK,
            False,
            id="profile-phrase-leider-weg",
        ),
        pytest.param("Ab Lager", "", Availability.IN_STOCK, False, id="profile-button-missing"),
    ],
)
def test_profile_selectors_are_the_strongest_source(
    stock_line: str, button: str, availability: Availability, orderable: bool
) -> None:
    profile = parse_profile(PROFILE, "demo-shop.toml")
    body = f"""<html><body><div id="pdp"><h1>ESAM</h1><b class="now">1'099.–</b> <s class="was">1'299.–</s>
    <p class="stock-line">{stock_line}</p>{button}</div>
    <div class="teaser"><span class="price">CHF 5.–</span> Ausverkauft</div></body></html>""".encode()
    offer = extract_offer(body, URL, profile)
    assert (offer.price, offer.currency, offer.regular_price) == (
        Decimal("1099.00"),
        "CHF",
        Decimal("1299.00"),
    )
    assert (offer.availability, offer.orderable) == (availability, orderable)
    assert values(offer, "availability", SignalSource.PROFILE) == [str(availability)]


def test_an_excluded_section_is_left_out_with_everything_in_it() -> None:
    # The demo shop's store widget sits inside the product block; its profile excludes it. Its rows say
    # "Épuisé" for stores that have none: not the online stock, and no signal of it.
    profile = parse_profile(
        {"slug": "demo-shop", "offer": {"product_block": "#pdp", "exclude": [".stores"]}}, "demo-shop.toml"
    )
    body = """<html><body><div id="pdp"><h1>ESAM</h1><b class="price">CHF 499.–</b>
    <p>En stock</p><button type="submit">Ajouter au panier</button>
    <div class="stores"><h2>Disponibilité en magasin</h2>
    <ul><li><span>Lausanne Flon</span> <span>Épuisé</span></li><li><span>Prilly</span> <span>Épuisé</span></li></ul>
    </div></div></body></html>""".encode()
    offer = extract_offer(body, URL, profile)
    assert (offer.availability, offer.orderable) == (Availability.IN_STOCK, True)
    assert values(offer, "availability", SignalSource.TEXT) == ["in_stock"]


def test_declared_encoding_is_honoured() -> None:
    body = page("<h1>Café crème</h1><span class='price'>Fr. 4.50</span>").decode().encode("utf-8")
    latin = body.replace(b'charset="utf-8"', b'charset="utf-8"').decode("utf-8").encode("latin-1", "replace")
    offer = extract_offer(latin, URL, encoding="latin-1")
    assert offer.title == "Café crème" and offer.price == Decimal("4.50") and offer.currency == "CHF"
