"""Buy controls named by a sentence or one word, product parts in <aside>/<header>, labelled prices
("Now", "Deal of the Day"), add-on and shipping amounts, prices a page does not show, and currencies a page
declares elsewhere. Every snippet is hand-written after the kind of page named in its id."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from promowatch.domain import Availability
from promowatch.extract import extract_offer
from promowatch.extract.buybox import buy_controls
from promowatch.extract.page import is_skipped, parse_html, shown_text
from promowatch.extract.phrases import phrase_book

URL = "https://shop.example.com/p/item"


def page(product: str, *, head: str = "", wrapper: str = "main") -> bytes:
    return f"""<!doctype html><html><head><meta charset="utf-8">{head}</head><body>
<header class="site-header"><h1 class="logo"><a href="/"><img src="/logo.png" alt="Shop"></a></h1>
<nav><a href="/sale">Sale</a> <span>Out of stock items</span></nav></header>
<{wrapper}>{product}</{wrapper}>
<section class="related-products"><h2>You may also like</h2>
<div class="tile"><span class="price">$19.90</span> <span>Sold out</span></div></section>
<footer class="site-footer">Free shipping over $50</footer></body></html>""".encode()


def jsonld(data: object) -> str:
    return f'<script type="application/ld+json">{json.dumps(data)}</script>'


# ---------------------------------------------------------------- buy controls


@pytest.mark.parametrize(
    ("control", "expected"),
    [
        pytest.param(
            '<button id="addToBag" aria-label="Add to bag. This button will add the item to your bag and open'
            ' a dialog window. After opening press tab to move context to dialog.">Add To Bag</button>',
            ["add to bag add to bag"],
            id="apparel-shop-screen-reader-sentence-on-the-button",
        ),
        pytest.param(
            '<button class="btn" aria-label="Add to basket. Opens the mini basket showing every item you'
            ' have chosen so far."></button>',
            ["add to basket"],
            id="icon-button-named-only-by-a-long-aria-label",
        ),
        pytest.param(
            '<a class="deal-buy" id="buy-link" href="/cart/add/3f2a?deal_id=77">Buy'
            '<div class="loader"><span>Processing... please wait</span></div></a>',
            ["buyprocessing... please wait"],  # text_content joins the loader
            id="daily-deals-site-buy-link-to-the-cart",
        ),
        pytest.param('<button type="submit">Kaufen</button>', ["kaufen"], id="german-one-word-buy-button"),
        pytest.param(
            '<a href="/guides/how-to-buy">Buy</a>', [], id="buy-link-to-a-guide-is-no-order-control"
        ),
        pytest.param(
            '<a class="storecard" href="/storecard"><div class="title">Buy now, pay later.</div>'
            "<div>Pay it off in up to 24 months with the store credit card, subject to approval.</div></a>",
            [],
            id="store-card-banner-link-is-no-order-control",
        ),
        pytest.param(
            '<span>Add to cart to see price <button class="add-to-cart-price-info-link help-icon"></button></span>',
            [],
            id="outdoor-shop-map-price-help-icon-is-no-order-control",
        ),
    ],
)
def test_buy_controls_by_label(control: str, expected: list[str]) -> None:
    block = parse_html(f"<html><body><div>{control}</div></body></html>".encode()).find("body")
    found = buy_controls(block, phrase_book(), lambda element: True)
    assert [c.label for c in found] == expected


def test_one_word_buy_link_makes_a_deal_page_orderable() -> None:
    """A daily-deals page: "$19.99 $11.99", a "Buy" link to the cart, no stock wording."""
    product = """<section class="deal"><h1>Golf set (7-piece)</h1><div class="breakout-pricing">
    <span class="discount-value">40%</span><span class="value">$19.99</span><span class="price">$11.99</span>
    </div><a class="btn-buy-big" id="buy-link" href="/cart/add/3f2a?deal_id=77">Buy</a></section>"""
    offer = extract_offer(page(product), URL)
    assert (offer.availability, offer.orderable) == (Availability.IN_STOCK, True)


# ---------------------------------------------------------------- what is chrome and what is the product


@pytest.mark.parametrize(
    ("product", "wrapper", "price", "availability"),
    [
        pytest.param(
            """<section id="productDetail"><div class="header"><section id="prodSummary"><h1>Astrophysics in a
            Hurry</h1><p>by N. Tyson</p></section><aside id="prodInfoContainer"><form><p class="price">
            <span class="price current-price">$11.37</span> <span class="old-price">$18.95</span></p>
            <p>In stock</p><button>Add to cart</button></form></aside></div></section>""",
            "main",
            Decimal("11.37"),
            Availability.IN_STOCK,
            id="bookshop-buy-box-in-an-aside-beside-the-title-inside-a-header-div",
        ),
        pytest.param(
            """<div class="content-body" id="shopping-ads"><h1>Cheese slicer</h1><div class="price">US$11.99
            </div><div class="ready-to-ship">Ready to Ship <span>In Stock</span></div>
            <button>Add to cart</button></div>""",
            "main",
            Decimal("11.99"),
            Availability.IN_STOCK,
            id="b2b-marketplace-product-wrapped-in-an-ads-named-container",
        ),
        pytest.param(
            """<div class="scotch-panel-canvas" style="position:relative; -webkit-backface-visibility: hidden;">
            <h1>Atomic clock</h1><span class="special-price">$59.95</span> <span class="old-price">$94.95</span>
            <span class="in-stock">In stock</span><button>Add to Cart</button></div>""",
            "main",
            Decimal("59.95"),
            Availability.IN_STOCK,
            id="off-canvas-menu-wrapper-with-backface-visibility-hidden-is-shown",
        ),
    ],
)
def test_product_parts_named_like_chrome_are_read(
    product: str, wrapper: str, price: Decimal, availability: Availability
) -> None:
    offer = extract_offer(page(product, wrapper=wrapper), URL)
    assert (offer.price, offer.availability) == (price, availability)


@pytest.mark.parametrize(
    ("markup", "skipped"),
    [
        pytest.param('<div style="visibility: hidden">x</div>', True, id="visibility-hidden"),
        pytest.param('<div style="-webkit-backface-visibility: hidden">x</div>', False, id="backface-only"),
        pytest.param('<p id="onlyMortar" class="none">Only in store</p>', True, id="utility-class-none"),
        pytest.param(
            '<header class="site-header"><h1><a href="/"><img src="/l.png"></a></h1><nav>x</nav></header>',
            True,
            id="site-header-with-a-logo-h1-stays-chrome",
        ),
        pytest.param(
            '<header class="product-header"><h1>Trail shoe</h1></header>', False, id="product-title-header"
        ),
        pytest.param('<aside class="sidebar"><h3>Filter</h3></aside>', True, id="page-sidebar-aside"),
    ],
)
def test_skipped_markup(markup: str, skipped: bool) -> None:
    element = parse_html(f"<html><body>{markup}</body></html>".encode()).find("body")[0]
    assert is_skipped(element) is skipped


def test_template_store_only_line_hidden_by_class_none() -> None:
    """A French fashion shop: a hidden "only in store" template next to an enabled add-to-cart."""
    product = """<h1>Déguisement de fantôme</h1><div class="price">15,00€</div><p>En stock</p>
    <p id="onlyMortar" class="none">Ce produit est disponible uniquement en magasin.</p>
    <button>Ajouter au panier</button>"""
    offer = extract_offer(page(product), "https://www.boutique.example.fr/p/1")
    assert (offer.availability, offer.orderable) == (Availability.IN_STOCK, True)


def test_shown_text_leaves_scripts_out() -> None:
    element = parse_html(
        b"<html><body><div>QVC PRICE: <script>var price = 51;</script>$51.00</div></body></html>"
    )
    assert shown_text(element.find("body")[0]) == "QVC PRICE: $51.00"


# ---------------------------------------------------------------- labelled prices


@pytest.mark.parametrize(
    ("product", "price", "regular"),
    [
        pytest.param(
            """<h1>Mesh leggings</h1><h5 class="product-price--markdown">$64.95
            <script type="text/html"><span class="pct">%1 off</span></script></h5>
            <h5 class="product-price product-price--highlight">Now $52.00</h5><button>Add To Bag</button>""",
            Decimal("52.00"),
            Decimal("64.95"),
            id="apparel-shop-bare-amount-then-now-price",
        ),
        pytest.param(
            """<h1>Thermal camera</h1><div class="addons"><label><input type="checkbox" name="plan">
            Include <a href="#">4-Year Protection</a> for <span class="offer-price">$23.76</span></label></div>
            <table><tr><td>Price:</td><td><span class="a-text-strike">$119.99</span></td></tr>
            <tr id="priceblock_dealprice_row"><td>Deal of the Day:</td><td><span class="a-color-price">$89.00
            </span> &amp; FREE Shipping</td></tr></table><p>In Stock.</p><button>Add to Cart</button>""",
            Decimal("89.00"),
            Decimal("119.99"),
            id="marketplace-deal-of-the-day-after-struck-list-price-and-an-add-on-plan",
        ),
        pytest.param(
            """<h1>Knit top</h1><div class="pricingTable"><div class="qvcPrice"><label>QVC PRICE:</label>
            <span class="price strikeout">$51.00</span></div><script>var price = 51;</script>
            <div class="featuredPrice"><label>Featured Price:</label><span class="price">$46.44</span></div>
            <p class="shPrice"><label><span>+S&amp;H:</span> $3.00</label></p></div><button>Add to cart</button>""",
            Decimal("46.44"),
            Decimal("51.00"),
            id="tv-shopping-label-node-holding-a-struck-amount",
        ),
        pytest.param(
            """<h1>Science kit</h1><div class="price-box"><span class="price">$10.95</span></div>
            <p>RRP: $10.95 0 shares</p><button>Add to cart</button>""",
            Decimal("10.95"),
            None,
            id="rrp-label-followed-by-a-share-count",
        ),
    ],
)
def test_labelled_and_struck_prices(product: str, price: Decimal, regular: Decimal | None) -> None:
    offer = extract_offer(page(product), URL)
    assert (offer.price, offer.regular_price) == (price, regular)


def test_structured_price_not_shown_gives_way_to_the_visible_one() -> None:
    """A nursery shop: OpenGraph states the smallest pot's price, the product block another pair."""
    head = (
        '<meta property="og:price:amount" content="26.50"><meta property="og:price:currency" content="USD">'
    )
    product = """<div class="product-view"><h1>Japanese maple</h1><div class="price-box">
    <p class="old-price"><span class="price-label">Price:</span><span class="price">$119.00</span></p>
    <p class="special-price"><span class="price-label">Price:</span><span class="price">$94.00</span></p>
    </div><p>Ships in 3 days</p></div>"""
    offer = extract_offer(page(product, head=head), URL)
    assert (offer.price, offer.regular_price) == (Decimal("94.00"), Decimal("119.00"))


def test_raised_cents_are_cents() -> None:
    """A computer shop prints "$199<sup>00</sup>"; its microdata says 199."""
    product = """<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Laser printer</h1>
    <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><meta itemprop="price" content="199">
    <meta itemprop="priceCurrency" content="USD"></div></div>
    <div class="sticky"><div class="st_prodprice"><span>Price:</span><span class="st_finalpr">$199<sup>00</sup>
    </span> Free shipping Today!</div></div><button>Add to cart</button>"""
    offer = extract_offer(page(product), URL)
    assert offer.price == Decimal("199.00")


@pytest.mark.parametrize(
    ("product", "price"),
    [
        pytest.param(
            """<h1>בושם לגבר 200ml</h1><div class="shipping-price">דמי משלוח: 10 ₪</div>
            <div>המוצר אינו במלאי</div>""",
            None,
            id="israeli-shop-shipping-fee-on-a-sold-out-page",
        ),
        pytest.param(
            """<h1>Drill</h1><div class="delivery-price">Versand: 4,95 €</div><div class="price">49,95 €</div>
            <button>In den Warenkorb</button>""",
            Decimal("49.95"),
            id="german-shop-shipping-fee-before-the-price",
        ),
    ],
)
def test_shipping_fees_are_not_the_price(product: str, price: Decimal | None) -> None:
    offer = extract_offer(page(product), "https://shop.example.de/p/1")
    assert offer.price == price


def test_sold_out_page_without_a_shown_price_reports_none() -> None:
    """An Estonian DIY shop: "not available at the moment", no price in view, JSON-LD keeps 14.99 SoldOut."""
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Pult Bluetooth",
        "offers": {
            "@type": "Offer",
            "price": "14.99",
            "priceCurrency": "EUR",
            "availability": "http://schema.org/SoldOut",
        },
    }
    product = """<h1>Pult Bluetooth</h1><p>Vabandame, antud toode pole hetkel saadaval.</p>"""
    offer = extract_offer(page(product, head=jsonld(data)), "https://www.shop.example.ee/p/pult")
    assert (offer.price, offer.availability) == (None, Availability.OUT_OF_STOCK)
    assert any(s.field == "price" and s.raw.startswith("14.99") for s in offer.signals)


# ---------------------------------------------------------------- currency and stock wording


def test_dotted_dollar_amount_takes_the_currency_the_page_declares() -> None:
    """A Chilean ticket site on a .com domain: "$5.000", its JSON-LD event names CLP."""
    data = {
        "@context": "https://schema.org",
        "@type": "Event",
        "name": "Concierto",
        "offers": {"@type": "AggregateOffer", "lowPrice": "5000", "priceCurrency": "CLP"},
    }
    product = """<h1>Concierto</h1><div class="price">Precios: $5.000</div><button>Comprar entrada</button>"""
    offer = extract_offer(page(product, head=jsonld(data)), "https://www.tickets.example.com/evento/1")
    assert (offer.price, offer.currency) == (Decimal("5000.00"), "CLP")


def test_us_dollar_amount_keeps_usd_whatever_else_is_declared() -> None:
    data = {"@context": "https://schema.org", "@type": "Event", "offers": {"priceCurrency": "CAD"}}
    product = """<h1>Concert</h1><div class="price">$50.00</div><button>Buy now</button>"""
    offer = extract_offer(page(product, head=jsonld(data)), "https://www.tickets.example.com/event/1")
    assert offer.currency == "USD"


def test_microdata_price_with_its_symbol_names_the_currency() -> None:
    """A campus shop's microdata price is "$52.00" with no priceCurrency."""
    product = """<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Hooded sweatshirt</h1>
    <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><meta itemprop="price" content="$52.00">
    </div></div>"""
    offer = extract_offer(page(product), "https://bookstore.example.edu/p/1")
    assert (offer.price, offer.currency) == (Decimal("52.00"), "USD")


@pytest.mark.parametrize(
    ("line", "availability"),
    [
        pytest.param(
            "We're sorry, but this item is currently unavailable. Available as early as: Tuesday, Jul 25",
            Availability.IN_STOCK,
            id="flower-delivery-date-taken-not-the-item",
        ),
        pytest.param(
            "We're sorry, but this item is currently unavailable.",
            Availability.OUT_OF_STOCK,
            id="plain-unavailable-stays-out-of-stock",
        ),
    ],
)
def test_unavailable_for_a_delivery_date(line: str, availability: Availability) -> None:
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "18 pink roses",
        "offers": {
            "@type": "Offer",
            "price": "49.98",
            "priceCurrency": "USD",
            "availability": "http://schema.org/InStock",
        },
    }
    product = f"""<div class="pdp"><h1>18 pink roses</h1><span class="price">$49.98</span>
    <div class="msg">{line.split(". ")[0]}.</div>
    {"<div>" + line.split(". ", 1)[1] + "</div>" if ". " in line else ""}<p>Pick a delivery date</p></div>"""
    offer = extract_offer(page(product, head=jsonld(data)), URL)
    assert offer.availability is availability


def test_price_node_whose_children_hold_other_numbers() -> None:
    """An electronics outlet: the price node also holds "Earn up to 70 reward points"; "Was:" above it."""
    product = """<h1>Minidrone</h1><div class="priceInfo"><p class="priceWas">Was: $149.99</p>
    <p class="priceSale">Outlet Savings: -$80.00</p><p class="priceNow">$69.99 <span class="rewardPoints">
    <a href="#">Earn up to <strong>70</strong> Rewards points</a></span></p></div><button>Add to cart</button>"""
    offer = extract_offer(page(product), URL)
    assert (offer.price, offer.regular_price) == (Decimal("69.99"), Decimal("149.99"))


def test_product_marked_up_twice_in_nested_microdata_scopes() -> None:
    """A big-box store wraps the page in one Product scope and puts the data in an inner one."""
    product = """<div itemscope itemtype="http://schema.org/Product" id="pdp-main"><div id="microdata">
    <div itemscope itemtype="http://schema.org/Product"><meta itemprop="name" content="Hairpin stool">
    <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><meta itemprop="price" content="29.99">
    <meta itemprop="priceCurrency" content="USD"><link itemprop="availability" href="http://schema.org/InStock">
    </div></div></div><h1>Hairpin stool</h1><button>Add to cart</button></div>"""
    offer = extract_offer(page(product), URL)
    assert (offer.price, offer.currency, offer.availability) == (
        Decimal("29.99"),
        "USD",
        Availability.IN_STOCK,
    )


@pytest.mark.parametrize(
    ("box", "price", "regular"),
    [
        pytest.param(
            """<div class="p"><span>建議售價 <del>$420</del>元</span></div>
            <div class="q">一次付清特價 7 折 294 元</div><div>0利率分期價 3期0利率 每期$98</div>""",
            Decimal("294.00"),
            Decimal("420.00"),
            id="taiwanese-shop-sale-price-as-words-after-the-struck-suggested-price",
        ),
        pytest.param(
            """<div class="p"><span>原價：<strike>1,390</strike></span> 最低價$99元起/包</div>""",
            None,
            None,
            id="group-buy-from-price-per-pack-is-not-the-price",
        ),
        pytest.param(
            """<div class="p"><del>$420</del> <span>3期0利率 每期$140</span> <span>-30%</span></div>""",
            None,
            None,
            id="instalment-beside-the-struck-price-is-not-the-price",
        ),
    ],
)
def test_price_written_beside_a_struck_price(
    box: str, price: Decimal | None, regular: Decimal | None
) -> None:
    offer = extract_offer(page(f"<h1>貓糧 2kg</h1>{box}"), "https://www.shop.example.com.tw/p/1")
    assert (offer.price, offer.regular_price) == (price, regular)
    if price is not None:
        assert offer.currency == "TWD"
