"""Price boxes without price classes, net prices, the shop's country from the domain, store-scoped stock
lines, backorders and discontinued items. Every snippet is hand-written after the kind of page named."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from promowatch.domain import Availability
from promowatch.extract import extract_offer
from promowatch.extract.prices import country_of_language, country_of_url, parse_amount_in


def shop_page(product: str, *, jsonld: object | None = None, head: str = "", after: str = "") -> bytes:
    script = f'<script type="application/ld+json">{json.dumps(jsonld)}</script>' if jsonld else ""
    return f"""<!doctype html><html><head><meta charset="utf-8">{head}{script}</head><body>
<header class="site-header"><nav><a href="/sale">Sale</a></nav></header>
<main><div class="pdp">{product}</div>
<section class="related-products"><h2>You may also like</h2>
<div class="tile"><span class="price">$19.90</span> <del>$29.90</del> <span>Out of stock</span></div></section>
{after}</main><footer class="site-footer">Free shipping over $50</footer></body></html>""".encode()


def ld(price: str, currency: str, availability: str = "InStock") -> dict[str, object]:
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": "Crossbody bag",
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": currency,
            "availability": f"https://schema.org/{availability}",
        },
    }


@pytest.mark.parametrize(
    ("product", "jsonld", "regular"),
    [
        pytest.param(
            """<h1>Crossbody bag</h1><div class="Bqz_1C"><span class="u-6V88">16% off</span>
            <div class="_0xLoFW"><span class="uqkIZw cMfkVL">€41.30</span><div class="_0xLoFW vSgP6A">
            <span class="uqkIZw ZiDB59">€49.10</span><span class="u-6V88">VAT included</span></div></div></div>
            <button class="kMvGAR">Add to bag</button>""",
            ld("41.30", "EUR"),
            Decimal("49.10"),
            id="generated-classes-fashion-shop-percent-badge-one-level-up",
        ),
        pytest.param(
            """<h1>Crossbody bag</h1><div class="b_38dq"><div data-auto="old-price"><span>1 529</span>
            <span>₽</span></div><div class="b_2r89"><div data-auto="price"><span><span>899</span> <span>₽</span>
            </span></div><div class="b_3x">-41%</div></div></div><button>Add to cart</button>""",
            ld("899", "RUB"),
            Decimal("1529.00"),
            id="marketplace-split-amount-and-currency-spans",
        ),
        pytest.param(
            """<h1>Crossbody bag <span class="price"><span class="actual-price new">$24.99</span>
            <span class="old">$39.99</span></span></h1><button>Add to bag</button>""",
            None,
            Decimal("39.99"),
            id="fast-fashion-two-bare-amounts-in-the-price-box",
        ),
        pytest.param(
            """<h1>Crossbody bag</h1><div class="x"><span class="a1">$19.95</span> – <span class="a2">$24.95</span>
            </div><button>Add to cart</button>""",
            ld("19.95", "USD"),
            None,
            id="homeware-size-dependent-price-range-is-no-reference",
        ),
        pytest.param(
            """<h1>Crossbody bag</h1><div class="x"><span class="a1">3,56 €</span> excl. VAT
            <span class="a2">4,27 €</span></div><button>Add to cart</button>""",
            ld("3.56", "EUR"),
            None,
            id="b2b-net-and-gross-pair-is-no-reference",
        ),
        pytest.param(
            """<h1>Crossbody bag</h1><div class="x"><span class="a1">$41.30</span>
            <span class="a2">Save $8.00</span></div><button>Add to cart</button>""",
            ld("41.30", "USD"),
            None,
            id="saving-amount-beside-the-price-is-no-reference",
        ),
    ],
)
def test_reference_in_a_price_box_without_price_classes(
    product: str, jsonld: object | None, regular: Decimal | None
) -> None:
    offer = extract_offer(shop_page(product, jsonld=jsonld), "https://shop.example.com/p/bag")
    assert offer.regular_price == regular


@pytest.mark.parametrize(
    ("product", "price"),
    [
        pytest.param(
            """<h1>PCIe adapter</h1><div class="price-wrap-detail"><div class="notax"><span class="text">bez DPH</span>
            <span class="price">3,56 €</span></div><div class="tax"><span class="text">s DPH</span>
            <span class="price">4,27 €</span></div></div><button>Do košíka</button>""",
            Decimal("4.27"),
            id="slovak-b2b-shop-net-price-first",
        ),
        pytest.param(
            """<h1>PCIe adapter</h1><div class="prices"><div><span class="lbl">Price excl. VAT</span>
            <span class="price">£10.00</span></div><div><span class="lbl">Price inc. VAT</span>
            <span class="price">£12.00</span></div></div><button>Add to basket</button>""",
            Decimal("12.00"),
            id="uk-trade-shop-excl-vat-first",
        ),
        pytest.param(
            """<h1>PCIe adapter</h1><div class="prices"><span class="lbl">excl. VAT</span>
            <span class="price">£10.00</span></div><button>Add to basket</button>""",
            Decimal("10.00"),
            id="net-price-alone-is-still-the-price",
        ),
    ],
)
def test_gross_price_preferred_over_net(product: str, price: Decimal) -> None:
    offer = extract_offer(shop_page(product), "https://shop.example.com/p/adapter")
    assert offer.price == price


def test_microdata_price_text_with_struck_and_sale_amounts() -> None:
    """A fashion shop whose itemprop="price" span holds both the struck and the sale price."""
    product = """<div itemscope itemtype="http://schema.org/Product"><h1 itemprop="name">Shift dress</h1>
    <div itemprop="offers" itemscope itemtype="http://schema.org/Offer"><span itemprop="price">
    <del>$79.99</del><span>$39.99</span></span></div><button>Add to bag</button></div>"""
    offer = extract_offer(shop_page(product), "https://shop.example.com/p/dress")
    assert (offer.price, offer.regular_price, offer.currency) == (Decimal("39.99"), Decimal("79.99"), "USD")


@pytest.mark.parametrize(
    ("url", "country"),
    [
        pytest.param("https://www.tickets.cl/evento/1", "CL", id="chile-cctld"),
        pytest.param("https://shop.example.com.au/p/1", "AU", id="australia-second-level"),
        pytest.param("https://www.example.co.uk/p/1", "GB", id="uk-is-gb"),
        pytest.param("https://www.example.ca/en-ca/p/1", "CA", id="canada"),
        pytest.param("https://shop.example.com/p/1", None, id="generic-com"),
        pytest.param("https://brand.example.io/p/1", None, id="io-used-as-generic"),
        pytest.param("https://brand.example.co/p/1", None, id="co-used-as-generic"),
        pytest.param("https://www.example.com.co/p/1", "CO", id="colombia-com-co"),
    ],
)
def test_country_of_url(url: str, country: str | None) -> None:
    assert country_of_url(url) == country


@pytest.mark.parametrize(
    ("tag", "country"),
    [
        pytest.param("zh-TW", "TW", id="taiwanese-chinese"),
        pytest.param("es_CL", "CL", id="og-locale-underscore"),
        pytest.param("en", None, id="language-only"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_country_of_language(tag: str | None, country: str | None) -> None:
    assert country_of_language(tag) == country


@pytest.mark.parametrize(
    ("url", "html", "currency"),
    [
        pytest.param("https://www.tickets.cl/e/1", "<html>", "CLP", id="chilean-ticket-shop-peso-sign"),
        pytest.param("https://www.example.com.mx/p/1", "<html>", "MXN", id="mexican-shop-peso-sign"),
        pytest.param(
            "https://shop.example.com/p/1", '<html lang="en-AU">', "AUD", id="lang-region-australia"
        ),
        pytest.param("https://shop.example.com/p/1", "<html>", "USD", id="generic-domain-stays-usd"),
    ],
)
def test_dollar_sign_read_with_the_shops_country(url: str, html: str, currency: str) -> None:
    body = f"""<!doctype html>{html}<body><main><h1>Concert ticket</h1>
    <span class="price">$5.000</span><button>Buy now</button></main></body></html>""".encode()
    assert extract_offer(body, url).currency == currency


def test_yuan_word_follows_the_country() -> None:
    """元 is the unit word in Taiwan too: NT$ there, renminbi in mainland China."""
    assert parse_amount_in("990 元", None, "TW") == (Decimal("990.00"), "TWD")
    assert parse_amount_in("990 元", None, None) == (Decimal("990.00"), "CNY")


@pytest.mark.parametrize(
    ("product", "jsonld", "state"),
    [
        pytest.param(
            """<h1>Video doorbell</h1><span class="price">$229.99</span><button class="add-to-cart">Add to Cart</button>
            <div class="fulfil"><h3>Store pickup</h3><p>This product is currently unavailable to pick up at nearby
            stores.</p></div>""",
            ld("229.99", "CAD"),
            Availability.IN_STOCK,
            id="electronics-store-pickup-unavailable-online-buyable",
        ),
        pytest.param(
            """<h1>Boots</h1><span class="price">€69.95</span><button>Add to bag</button>
            <p>The “Check in-store availability” option is temporarily unavailable.</p>""",
            None,
            Availability.IN_STOCK,
            id="fashion-store-availability-tool-unavailable",
        ),
        pytest.param(
            """<h1>Boots</h1><span class="price">€69.95</span><button>Add to cart</button>
            <p>Temporarily unavailable.</p>""",
            None,
            Availability.UNKNOWN,
            id="online-stock-line-still-conflicts-with-the-cart",
        ),
    ],
)
def test_store_scoped_stock_lines_do_not_speak_for_online(
    product: str, jsonld: object | None, state: Availability
) -> None:
    offer = extract_offer(shop_page(product, jsonld=jsonld), "https://shop.example.com/p/1")
    assert offer.availability is state


def test_backorder_in_one_syntax_and_out_of_stock_in_another() -> None:
    """A furniture shop: og:availability BackOrder, JSON-LD OutOfStock, and an add-to-cart to order it."""
    product = (
        """<h1>Sofa</h1><span class="price">$249.95</span><button class="add-to-cart">Add to Cart</button>"""
    )
    offer = extract_offer(
        shop_page(
            product,
            jsonld=ld("249.95", "USD", "OutOfStock"),
            head='<meta property="og:availability" content="BackOrder">',
        ),
        "https://shop.example.com/p/sofa",
    )
    assert offer.availability is Availability.BACKORDER


@pytest.mark.parametrize(
    ("description", "state"),
    [
        pytest.param(
            "<p>This item has been DISCONTINUED. We recommend trying our new formula.</p>",
            Availability.DISCONTINUED,
            id="pet-shop-discontinued-in-description",
        ),
        pytest.param(
            "<p>Unfortunately, the following item(s) is no longer available.</p>",
            Availability.OUT_OF_STOCK,
            id="generic-no-longer-available-outside-block-does-not-refine",
        ),
    ],
)
def test_discontinued_in_the_description_refines_out_of_stock(description: str, state: Availability) -> None:
    product = """<div class="row"><div class="col"><h1>Dog cologne</h1><span class="price">$32.50</span>
    <p>This item is currently out of stock!</p></div></div>"""
    after = f'<div class="tabs"><h2>Description</h2>{description}</div>'
    offer = extract_offer(shop_page(product, after=after), "https://shop.example.com/p/cologne")
    assert offer.availability is state


def test_sidebar_layout_modifier_is_not_a_sidebar() -> None:
    """A marketplace's product section is classed "prd_section--withoutSidebar": it is the product, not chrome."""
    body = """<!doctype html><html><body><section class="detailview prd_section prd_section--withoutSidebar">
    <h1>Pressure washer</h1><div class="prd_price"><span>UVP</span> <span class="prd_price__oldAmount">€ 149,99</span>
    <span class="prd_price__amount">€ 119,01</span></div><button>In den Warenkorb</button></section>
    <aside class="sidebar"><span class="price">€ 9,99</span></aside></body></html>""".encode()
    offer = extract_offer(body, "https://shop.example.de/p/washer")
    assert (offer.price, offer.regular_price) == (Decimal("119.01"), Decimal("149.99"))


@pytest.mark.parametrize(
    "wrapper",
    [
        pytest.param(
            "product-page recommendations-visible", id="department-store-recommendations-state-class"
        ),
        pytest.param("page modal-open", id="bootstrap-modal-open-state-class"),
    ],
)
def test_state_class_on_the_page_wrapper_does_not_hide_the_product(wrapper: str) -> None:
    body = f"""<!doctype html><html><body><div class="{wrapper}"><h1>Leather boots</h1>
    <span class="price">$210.00</span><button class="add-to-bag-button">Add to Bag</button></div>
    <div class="recommendations"><span class="price">$9.00</span></div></body></html>""".encode()
    offer = extract_offer(body, "https://shop.example.com/p/boots")
    assert (offer.price, offer.availability) == (Decimal("210.00"), Availability.IN_STOCK)
