"""Auctions, classified ads, price comparisons, script-enabled add-to-cart and pages saved with a dialog open.

Each snippet is written by hand after the kind of page named in its id; none is copied from a shop.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from promowatch.domain import Availability
from promowatch.extract import extract_offer
from promowatch.extract.listing import ListingKind, current_bid, listing_of
from promowatch.extract.phrases import normalise_text, phrase_book

URL = "https://market.example.test/item/4711"


def shop_page(body: str, jsonld: object | None = None) -> bytes:
    script = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    return f"""<!doctype html><html><head><meta charset="utf-8">{script}</head><body>
<header class="site-header"><nav><a href="/">Home</a></nav></header>
<main>{body}</main><footer class="site-footer">Help · Contact</footer></body></html>""".encode()


def product_ld(price: str, availability: str = "InStock", currency: str = "USD") -> dict[str, object]:
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Vintage leather bag",
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": currency,
            "availability": f"https://schema.org/{availability}",
        },
    }


CASES = [
    pytest.param(
        """<h1>Vintage leather bag</h1><div class="lot"><p>Estimate $600 - $1,600</p>
        <p><span class="bid">$400</span> 5 bids</p><p>Starting price $90</p>
        <label>Your maximum bid:</label><input name="max"><button class="btn">Place bid</button></div>""",
        product_ld("90"),
        (Decimal("400.00"), Availability.IN_STOCK, False),
        id="open-auction-lot-price-is-the-bid-so-far (weekly online auction house lot page)",
    ),
    pytest.param(
        """<h1>Pony cart harness</h1><div class="vi-box"><p>Bidding has ended on this item.</p>
        <p>Winning bid: <span class="price">£5,100.00</span> [47 bids]</p></div>""",
        product_ld("5100.0", currency="GBP"),
        (Decimal("5100.00"), Availability.OUT_OF_STOCK, False),
        id="ended-auction-is-gone (marketplace auction listing after its end)",
    ),
    pytest.param(
        """<h1>Fernbedienung TV</h1><div class="detail"><span class="price">€ 20,-</span>
        <span>Verhandlungsbasis</span><dl><dt>Anzeigentyp:</dt><dd>Privates Angebot</dd></dl>
        <a class="btn">Nachricht schreiben</a></div>""",
        None,
        (Decimal("20.00"), Availability.IN_STOCK, False),
        id="private-classified-de (Austrian classifieds ad)",
    ),
    pytest.param(
        """<h1>Oak dresser - $225</h1><section class="body"><span class="price">$225</span>
        <p>Solid oak, rustic finish.</p><button class="reply-button">reply</button>
        <p>show contact info</p><p>post id: 6228494422</p></section>""",
        None,
        (Decimal("225.00"), Availability.IN_STOCK, False),
        id="classified-en (US city classifieds post)",
    ),
    pytest.param(
        """<h1>Suzuki Alto VXR 2010</h1><div class="listing-detail"><span class="price">Rs 635,000</span>
        <p>Chat with seller</p><p>Show number</p><p>Ad ID 1024643167 · Report this ad</p></div>""",
        product_ld("635000", currency="PKR"),
        (Decimal("635000.00"), Availability.IN_STOCK, False),
        id="classified-car-with-jsonld-instock (South Asian car classifieds)",
    ),
    pytest.param(
        """<h1>Ceiling fan 1250 mm</h1><div class="prc"><span class="price">₹2,433</span>
        <a class="btn">See Prices</a><a>Price alert</a></div>""",
        product_ld("2433", currency="INR"),
        (Decimal("2433.00"), Availability.IN_STOCK, False),
        id="price-comparison-sends-to-other-shops (Indian price comparison site)",
    ),
    pytest.param(
        """<h1>Bomber jacket</h1><div class="product-detail"><span class="price">$24.99</span>
        <ul class="size-swatches"><li class="swatch">S</li><li class="swatch">M</li></ul>
        <button type="submit" class="btn bag disabled" id="btn-addToBag">Add to bag</button></div>""",
        product_ld("24.99"),
        (Decimal("24.99"), Availability.IN_STOCK, True),
        id="add-to-bag-disabled-until-a-size-is-chosen (fashion chain product page)",
    ),
    pytest.param(
        """<h1>Bomber jacket</h1><div class="product-detail"><span class="price">$24.99</span>
        <ul class="size-swatches"><li class="swatch">S</li></ul><p class="stock">Sold out</p>
        <button type="submit" class="btn bag disabled" id="btn-addToBag">Add to bag</button></div>""",
        product_ld("24.99"),
        (Decimal("24.99"), Availability.OUT_OF_STOCK, False),
        id="size-picker-does-not-hide-a-sold-out-line (fashion chain, sold out)",
    ),
    pytest.param(
        """<h1>Conjunto de banquetas</h1><div class="product"><span class="price">R$ 689,99</span>
        <span class="dynamic_option_size_description"></span>
        <button disabled="disabled" class="bt AddToCart" style="opacity: 0.5"><span>Comprar</span></button></div>""",
        product_ld("689.99", currency="BRL"),
        (Decimal("689.99"), Availability.IN_STOCK, True),
        id="comprar-disabled-by-default-jsonld-instock (Brazilian furniture shop)",
    ),
    pytest.param(
        """<h1>Mont Blanc Legend 200ml</h1><div class="product"><p>המוצר אינו במלאי</p></div>""",
        product_ld("0", "OutOfStock", "ILS"),
        (None, Availability.OUT_OF_STOCK, False),
        id="he-not-in-stock (Israeli perfume shop)",
    ),
    pytest.param(
        """<h1>Kávovar</h1><div class="product"><span class="price">199,00 €</span>
        <p>Momentálne nie je možné produkt kúpiť, ale je možné ho rezervovať.</p>
        <button class="btn" disabled>Do košíka</button></div>""",
        product_ld("199.00", currency="EUR"),
        (Decimal("199.00"), Availability.OUT_OF_STOCK, False),
        id="sk-cannot-be-bought-now (Slovak electronics shop, reservation only)",
    ),
]


@pytest.mark.parametrize(("body", "jsonld", "expected"), CASES)
def test_listing_kind_decides_availability_and_orderable(
    body: str, jsonld: object | None, expected: tuple[Decimal | None, Availability, bool | None]
) -> None:
    offer = extract_offer(shop_page(body, jsonld), URL)
    assert (offer.price, offer.availability, offer.orderable) == expected, offer.signals


def test_page_saved_with_a_dialog_open_is_still_read() -> None:
    """Marketplace item page saved while a sign-in dialog was open: scripts set aria-hidden on the page."""
    body = b"""<!doctype html><html><body><div id="Head" aria-hidden="true">
    <div id="CenterPanel" aria-hidden="true"><h1>Shiatsu massage chair</h1>
    <span class="price">US $649.99</span><p>In stock</p><button class="btn">Add to cart</button></div>
    <ul class="carousel"><li aria-hidden="true"><span class="price">$12.00</span> Out of stock</li></ul>
    </div><div role="dialog">Sign in</div></body></html>"""
    offer = extract_offer(body, URL)
    assert (offer.price, offer.availability, offer.orderable) == (
        Decimal("649.99"),
        Availability.IN_STOCK,
        True,
    )


@pytest.mark.parametrize(
    ("line", "kind"),
    [
        pytest.param("$200 2 bids | starting price $150 | place bid", ListingKind.AUCTION, id="en-auction"),
        pytest.param("Bidding has ended on this item.", ListingKind.AUCTION_ENDED, id="en-ended"),
        pytest.param("Gebot abgeben | Aktuelles Gebot: 12,00 €", ListingKind.AUCTION, id="de-gebot"),
        pytest.param("Enchère actuelle : 35 €", ListingKind.AUCTION, id="fr-enchere"),
        pytest.param("Contacter le vendeur", ListingKind.CLASSIFIED, id="fr-classified"),
        pytest.param("Add to cart | In stock", ListingKind.SHOP, id="shop"),
    ],
)
def test_listing_kind_of_a_line(line: str, kind: ListingKind) -> None:
    assert listing_of(phrase_book().find(normalise_text(line))).kind is kind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("$400 5 bids | starting price $90", Decimal("400.00"), id="amount-then-bid-count"),
        pytest.param("current bid: | us $1,250.00", Decimal("1250.00"), id="current-bid-label"),
        pytest.param("£115.00 | reserve not met | [ 0 bids ]", None, id="no-bid-yet-keeps-starting-price"),
    ],
)
def test_current_bid(text: str, expected: Decimal | None) -> None:
    bid = current_bid(text, "US")
    assert (bid[0] if bid else None) == expected


@pytest.mark.parametrize(
    ("line", "category"),
    [
        pytest.param("有現貨，立即出貨", "in_stock", id="zh-tw-in-stock-inside-a-run"),
        pytest.param("此商品已售完", "sold_out", id="zh-sold-out-inside-a-run"),
        pytest.param("在庫切れです", "out_of_stock", id="ja-out-of-stock-with-particle"),
        pytest.param("Нет в наличии", "out_of_stock", id="ru-not-in-stock"),
        pytest.param("В наличии на складе", "in_stock", id="ru-in-stock"),
        pytest.param("Vabandame, antud toode pole hetkel saadaval", "out_of_stock", id="et-not-available"),
        pytest.param("Razpoložljivost: Dobavljivo", "in_stock", id="sl-deliverable"),
        pytest.param("Produto esgotado", "sold_out", id="pt-sold-out"),
        pytest.param("Agotado", "sold_out", id="es-sold-out"),
        pytest.param("Niet op voorraad", "out_of_stock", id="nl-not-in-stock"),
        pytest.param("Pieejamība: 4 gab", "in_stock", id="lv-pieces-available"),
    ],
)
def test_phrases_of_more_languages(line: str, category: str) -> None:
    hits = phrase_book().find(normalise_text(line))
    assert [h.category for h in hits if h.category not in ("delivery",)][:1] == [category], hits
