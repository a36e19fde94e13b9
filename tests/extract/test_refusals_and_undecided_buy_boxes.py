"""Availability and orderability, fifth pass: page-level "no longer available" notices, product titles that
are not the first h1, image-only buy links, "we do not ship, pick up in store", "this item cannot be purchased
online" below the product block, disabled buttons beside a hidden sold-out message, and numbers of items sold
beside the price. Every snippet is hand-written after the kind of page named in its id."""

from __future__ import annotations

from decimal import Decimal

import pytest

from promowatch.domain import Availability
from promowatch.extract import extract_offer
from promowatch.extract.buybox import buy_controls
from promowatch.extract.page import is_skipped, parse_html
from promowatch.extract.phrases import phrase_book
from promowatch.extract.visible_prices import price_nodes

URL = "https://shop.example.com/p/item"


def page(body: str, *, head: str = "") -> bytes:
    return f"""<!doctype html><html><head><meta charset="utf-8">{head}</head><body>
<header class="site-header"><a href="/"><img src="/logo.png" alt="Shop"></a>
<a class="cart" href="/cart">Cart (0)</a></header>
{body}
<footer class="site-footer">Free shipping over $50</footer></body></html>""".encode()


# ---------------------------------------------------------------- a product that cannot be had any more

_MARKETPLACE_BUY_BOX = """<div class="layout"><div class="col-main"><form><div class="col-left">
<div class="col-left-inner"><div class="key-info"><h1>Googly eye stickers, 500 pairs</h1>
<div class="price"><span class="price-now">US $ 38.17</span></div></div>
<div class="atc-wrap"><span class="soldout">Item sold out</span></div></div></div></form></div></div>"""
_STICKY_TAB_BAR = """<div class="tabs"><span class="buyitnow"><input type="button" value="Buy it Now"></span>
<ul><li>Item Description</li><li>Customer Reviews (0)</li></ul></div>"""


@pytest.mark.parametrize(
    ("notice", "availability"),
    [
        pytest.param(
            '<div class="soldout-hint">Sorry, this product is no longer available!</div>',
            Availability.DISCONTINUED,
            id="wholesale-marketplace-notice-naming-this-product-above-the-buy-box",
        ),
        pytest.param(
            '<div class="wishlist-note">Items in your list may be no longer available.</div>',
            Availability.OUT_OF_STOCK,
            id="wholesale-marketplace-generic-wishlist-note-does-not-say-discontinued",
        ),
    ],
)
def test_sold_out_buy_box_is_not_contradicted_by_a_lone_button_elsewhere(
    notice: str, availability: Availability
) -> None:
    """The block says "Item sold out"; the only button on the page sits in the description's tab bar."""
    offer = extract_offer(page(f"<main>{notice}{_MARKETPLACE_BUY_BOX}{_STICKY_TAB_BAR}</main>"), URL)
    assert (offer.availability, offer.orderable) == (availability, False)


def test_lone_button_elsewhere_still_counts_when_the_block_says_nothing() -> None:
    """Same marketplace layout, in stock: the tab bar's Buy it Now is the product's."""
    block = _MARKETPLACE_BUY_BOX.replace('<span class="soldout">Item sold out</span>', "")
    offer = extract_offer(page(f"<main>{block}{_STICKY_TAB_BAR}</main>"), URL)
    assert (offer.availability, offer.orderable) == (Availability.IN_STOCK, True)


# ---------------------------------------------------------------- which heading is the product's


def test_h1_of_carousel_tiles_is_not_the_product_title() -> None:
    """A Korean deals site: the deal's title is an h2, every tile of the carousel below has an h1 in a link."""
    body = """<main><section class="deal"><div class="deal_info"><h2 class="deal_title">Magazine subscription,
    1 year (gift)</h2><p class="deal_price_sell"><strong>30,000원~</strong></p>
    <ul class="order_btn"><li><button type="button" data-type="addToCart">장바구니</button></li>
    <li><button type="button" data-type="buyNow">바로구매</button></li></ul></div></section>
    <section class="specials"><h4>Book specials</h4><ul><li><a href="/deal/1"><section><h1>Sticker book</h1>
    <span class="price">7,500원</span><span>Sold out</span></section></a></li></ul></section></main>"""
    head = '<meta property="og:title" content="[Deals] Magazine subscription, 1 year (gift)">'
    offer = extract_offer(page(body, head=head), "https://deals.example.kr/deal/4548")
    assert (offer.availability, offer.orderable) == (Availability.IN_STOCK, True)


# ---------------------------------------------------------------- buy controls drawn as images


@pytest.mark.parametrize(
    ("control", "labels"),
    [
        pytest.param(
            '<a id="buy_btn" href="javascript:;" onclick="buy()"><div class="buy_btn"></div></a>',
            ["buy_btn"],
            id="taiwanese-group-buy-shop-image-buy-button-link",
        ),
        pytest.param(
            '<a class="header-cart" href="/cart"><i class="icon-cart"></i></a>',
            [],
            id="nameless-basket-icon-link-is-no-order-control",
        ),
        pytest.param(
            '<a id="buy_btn" href="/cart/add/12">View details</a>',
            [],
            id="named-link-with-a-buy-id-is-read-by-its-name",
        ),
    ],
)
def test_nameless_links_count_by_their_buy_id(control: str, labels: list[str]) -> None:
    block = parse_html(f"<html><body><div>{control}</div></body></html>".encode()).find("body")
    assert [c.label for c in buy_controls(block, phrase_book(), lambda element: True)] == labels


def test_button_named_after_the_modal_it_opens_is_shown() -> None:
    """A furniture shop's Add To Cart opens a modal: its class says "modal", the button is on the page."""
    root = parse_html(
        b'<html><body><input type="button" class="btn-primary modal" value="Add To Cart">'
        b'<div class="modal">Added to cart</div></body></html>'
    )
    button, dialog = root.find("body")
    assert (is_skipped(button), is_skipped(dialog)) == (False, True)


# ---------------------------------------------------------------- online ordering refused or collected


_BIKE_SHOP = """<main><div class="product"><h1>Kryptolok U-lock with key</h1><span class="price">$44.99</span>
<div class="size-select"><select><option>Select size</option><option>Standard</option></select></div>
<div>Qty.: <input name="qty" value="1"></div><p>{note}</p>
<button class="add-to-cart" disabled>Add to cart</button></div></main>"""


@pytest.mark.parametrize(
    ("note", "orderable"),
    [
        pytest.param(
            "We do not ship ordered items. Pick up is at our shop in the student union.",
            None,
            id="campus-bike-shop-orders-are-collected-not-refused",
        ),
        pytest.param(
            # (a limit such as "we do not ship to P.O. boxes" is no refusal: test_currently_unavailable.py)
            "We do not ship ordered items.",
            False,
            id="campus-bike-shop-refusing-shipping-without-pickup-still-refuses",
        ),
    ],
)
def test_we_do_not_ship_beside_a_pickup_is_an_order_to_collect(note: str, orderable: bool | None) -> None:
    offer = extract_offer(page(_BIKE_SHOP.format(note=note)), URL)
    assert (offer.availability, offer.orderable) == (Availability.UNKNOWN, orderable)


_BIKE_DEALER = """<main><div class="product-layout-right"><h1>Momentum Street Bike</h1>
<span class="price">$410.00</span><button id="btnAddToCart" type="submit">Add to Cart</button></div>
<div class="product-description"><h2>How to buy a bike of this brand</h2><p>These bicycles are only sold
out of our retail store in the next town, where our team will fit the bike to you and arrange a test ride.
{sentence} If you are interested, please contact our store team; we are happy to help.</p></div></main>"""
_IN_STOCK_DATA = '<div itemscope itemtype="http://schema.org/Product"><meta itemprop="name" content="Momentum Street Bike"><div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><link itemprop="availability" href="http://schema.org/InStock"></div></div>'


@pytest.mark.parametrize(
    ("sentence", "availability", "orderable"),
    [
        pytest.param(
            "This item cannot be purchased online or at our other location.",
            Availability.UNKNOWN,
            False,
            id="bike-dealer-description-says-this-item-cannot-be-bought-online",
        ),
        pytest.param(
            "Some brands cannot be purchased online because of their dealer contracts.",
            Availability.IN_STOCK,
            True,
            id="bike-dealer-description-about-other-brands-says-nothing-of-this-item",
        ),
    ],
)
def test_refusal_naming_this_item_below_the_block(
    sentence: str, availability: Availability, orderable: bool
) -> None:
    offer = extract_offer(page(_IN_STOCK_DATA + _BIKE_DEALER.format(sentence=sentence)), URL)
    assert (offer.availability, offer.orderable) == (availability, orderable)


# ---------------------------------------------------------------- a disabled button: waiting for a size, or sold out


_APPAREL_BUY_BOX = """<main><div class="prod-summary"><h1>Cable-knit cashmere sweater</h1>
<span class="price">$175.00</span><ul class="swatches"><li>S</li><li>M</li><li>L</li></ul>
<div class="product-actions"><div class="buttons"><div class="cart-button">
<a href="javascript:verify()" id="addToCart" class="css-button primary disabled">Add To Shopping Bag</a></div>
{hidden}</div></div></div></main>"""


@pytest.mark.parametrize(
    ("hidden", "availability", "orderable"),
    [
        pytest.param(
            '<div id="waitlist-container" style="display: none;"><p>We\'re sorry, this item is no longer'
            " available. Enter your email to be notified if it comes back in stock.</p></div>",
            Availability.UNKNOWN,
            None,
            id="apparel-shop-disabled-bag-button-beside-a-hidden-no-longer-available-message",
        ),
        pytest.param(
            '<div class="size-guide" style="display: none;"><p>Model wears size M.</p></div>',
            Availability.IN_STOCK,
            True,
            id="apparel-shop-disabled-bag-button-waiting-for-a-size",
        ),
    ],
)
def test_disabled_button_beside_a_hidden_sold_out_message_is_undecided(
    hidden: str, availability: Availability, orderable: bool | None
) -> None:
    offer = extract_offer(page(_APPAREL_BUY_BOX.format(hidden=hidden)), URL)
    assert (offer.availability, offer.orderable) == (availability, orderable)


# ---------------------------------------------------------------- numbers of items are not prices


def test_number_of_items_bought_beside_the_price_is_no_price() -> None:
    """A Korean deals site prints "29개 구매" (29 bought) in a price-named box beside the price."""
    block = parse_html(
        '<html><body><div class="deal_price"><strong class="deal_price_now">30,000원~</strong>'
        '<span class="deal_price_buy_count">29개 구매</span></div></body></html>'.encode()
    ).find("body")
    nodes = price_nodes(block, phrase_book(), lambda element: True, "KR")
    assert [node.amount for node in nodes] == [Decimal("30000")]
