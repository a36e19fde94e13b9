"""Profile selectors through the page index give exactly what their XPath gives (promowatch/extract/selectors.py).

The snippets imitate the places profiles point at: a price box inside the product block next to related products
with the same classes, a buy form, a stock line split by markup, classes separated by tabs and newlines.
"""

from __future__ import annotations

import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import lxml.html
import pytest

from promowatch.demo.shop import DemoShop
from promowatch.extract.selectors import PageIndex, _plan, select_all, select_text

PAGE = """<html><body>
<header class="site-header"><a class="logo" href="/">Shop</a><span class="price">Cart 0.–</span></header>
<main id="content" class="product-detail">
  <div class="product-main" data-sku="42">
    <h1 class="product-title">Machine à café
      Barista</h1>
    <div class="price-box"><span class="currency">CHF</span> <span class="price sale">499.–</span>
      <del class="price price-regular">999.–</del></div>
    <p class="stock-line">En <b>stock</b>, livraison demain</p>
    <form class="add-to-cart" action="/panier"><input type="hidden" name="sku" value="42">
      <button type="submit" class="btn	primary">Ajouter au panier</button></form>
    <div class="tags"><span class="tag
new">Nouveau</span><span class="tag">Promo</span></div>
    <div class="outer note"><div class="note">b</div>c</div>
  </div>
  <section class="related-products"><article class="card"><span class="price">349.–</span>
    <form class="add-to-cart"><button type="submit">Ajouter</button></form></article></section>
</main></body></html>"""


def both(selector: str, page: str = PAGE) -> tuple[list[Any], list[Any]]:
    """What the selector gives through the page index and through its XPath alone, as comparable values."""
    root = lxml.html.document_fromstring(page)
    through_index = select_all(root, selector, PageIndex(root))
    by_xpath = select_all(root, selector)
    return [id(e) for e in through_index], [id(e) for e in by_xpath]


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param(".product-main .price-box .price", ["499.–", "999.–"], id="descendant-chain"),
        pytest.param(".price", ["Cart 0.–", "499.–", "999.–", "349.–"], id="class-everywhere-in-order"),
        pytest.param(".price-box > .price.sale", ["499.–"], id="child-and-two-classes"),
        pytest.param("del.price-regular", ["999.–"], id="tag-and-class"),
        pytest.param(
            ".product-main form.add-to-cart button[type=submit]",
            ["Ajouter au panier"],
            id="buy-button-not-the-related-one",
        ),
        pytest.param("button.primary", ["Ajouter au panier"], id="class-after-a-tab"),
        pytest.param(".tag.new", ["Nouveau"], id="class-after-a-newline"),
        pytest.param("#content > .product-main > h1", ["Machine à café Barista"], id="id-and-child-chain"),
        pytest.param("main .note", ["bc", "b"], id="nested-matches-once-each"),
        pytest.param("body > .note", [], id="child-of-the-wrong-parent"),
        pytest.param("[data-sku]", ["Machine à café Barista CHF 499.–"], id="attribute-present"),
        pytest.param('input[name="sku"]', [""], id="attribute-equals"),
        pytest.param(".related-products .price, .price-box .price", ["499.–", "999.–", "349.–"], id="group"),
        pytest.param(".tags span:first-child", ["Nouveau"], id="pseudo-class"),
        pytest.param("xpath://del[contains(@class, 'regular')]", ["999.–"], id="xpath"),
    ],
)
def test_selector_matches_what_its_xpath_matches(selector: str, expected: list[str]) -> None:
    through_index, by_xpath = both(selector)
    assert through_index == by_xpath
    root = lxml.html.document_fromstring(PAGE)
    texts = [" ".join(e.text_content().split()) for e in select_all(root, selector, PageIndex(root))]
    assert len(texts) == len(expected)
    assert all(text.startswith(start) for text, start in zip(texts, expected, strict=True))


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        pytest.param(".stock-line::text", "En", id="own-text-first-node"),
        pytest.param(".outer::text", "c", id="own-text-after-a-child"),
        # the inner note's own "b" comes before the outer one's "c" in the page
        pytest.param(".note::text", "b", id="text-of-nested-matches-in-document-order"),
        pytest.param("a.logo::attr(href)", "/", id="attribute-value"),
        pytest.param(".product-main::attr(data-sku)", "42", id="data-attribute"),
        pytest.param(".product-main .price-box .price", "499.–", id="first-element-text"),
        pytest.param(".missing .price", None, id="nothing"),
    ],
)
def test_text_and_attributes_match_the_xpath(selector: str, expected: str | None) -> None:
    root = lxml.html.document_fromstring(PAGE)
    assert select_text(root, selector, PageIndex(root)) == select_text(root, selector) == expected


@pytest.mark.parametrize(
    ("selector", "indexed"),
    [
        pytest.param(".a .b > c.d[type=submit]::text", True, id="plain-compounds"),
        pytest.param("a.x::attr(href)", True, id="attribute-pseudo-element"),
        pytest.param("div:not(.x)", False, id="negation"),
        pytest.param("input[value~=y]", False, id="other-attribute-operator"),
        pytest.param("h2 + p", False, id="sibling-combinator"),
        pytest.param(".a, .b", False, id="group"),
        pytest.param("xpath://div", False, id="xpath"),
    ],
)
def test_which_selectors_the_index_answers(selector: str, indexed: bool) -> None:
    assert (_plan(selector) is not None) is indexed


def test_a_context_other_than_the_page_root_is_left_to_the_xpath() -> None:
    # an exclusion inside the product block: "descendant-or-self" starts at the block, not at the page
    root = lxml.html.document_fromstring(PAGE)
    block = select_all(root, ".product-main", PageIndex(root))[0]
    found = select_all(block, "main .price", PageIndex(root))
    assert found == select_all(block, "main .price") == []


@pytest.fixture(scope="module")
def demo_pages() -> Iterator[list[str]]:
    with DemoShop(datetime(2026, 11, 2, 8, tzinfo=UTC), bench_products=200) as shop:
        yield [
            urllib.request.urlopen(f"{shop.url}{path}").read().decode()
            for path in ("/p/bench-0", "/p/bench-123", "/", "/promotions")
        ]


def test_demo_shop_pages_read_alike(demo_pages: list[str]) -> None:
    # every selector of bench/sites/bench-shop.toml, and some broad ones, on the demo shop's own pages
    selectors = [
        ".product-detail",
        ".related-products",
        "h1.product-title",
        ".product-main .product-ids .sku",
        ".product-main .price-box .price",
        ".product-main .price-box del.price-regular",
        ".product-main .stock-line",
        ".product-main form.add-to-cart button[type=submit]",
        ".product-main .delivery",
        "article.promo-card",
        "div",
        "a::attr(href)",
        "li::text",
        "nav ul > li a",
    ]
    for page in demo_pages:
        for selector in selectors:
            through_index, by_xpath = both(selector, page)
            assert through_index == by_xpath, selector
    assert all(both(".price", page)[0] for page in demo_pages[:2])
