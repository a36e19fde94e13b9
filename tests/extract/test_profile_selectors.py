"""The selector forms a site profile may use (parsel CSS, ``::text``, ``::attr()``, ``xpath:``) read a product page.

The page imitates the places profiles point at on the demo shop (promowatch/demo/pages.py): a price box inside the
product block next to related products with the same classes, a stock line split by markup, classes separated by
tabs and newlines.
"""

from __future__ import annotations

import pytest

from promowatch.config import parse_profile
from promowatch.extract import extract_offer

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
  </div>
  <section class="related-products"><article class="card"><h3 class="product-title">Moulin</h3>
    <span class="price">349.–</span><form class="add-to-cart"><button type="submit">Ajouter</button></form></article>
  </section>
</main></body></html>""".encode()


@pytest.mark.parametrize(
    ("selector", "title"),
    [
        pytest.param("h1.product-title", "Machine à café Barista", id="element-text-whitespace-normalised"),
        pytest.param(".stock-line::text", "En", id="own-text-first-node"),
        pytest.param(".product-main::attr(data-sku)", "42", id="attribute-value"),
        pytest.param("xpath://input[@name='sku']/@value", "42", id="xpath-attribute"),
        pytest.param("xpath:string(//del)", "999.–", id="xpath-string-function"),
        pytest.param(".tag.new", "Nouveau", id="class-after-a-newline"),
        pytest.param(".tags span:last-child", "Promo", id="pseudo-class"),
        pytest.param(".missing, .related-products .product-title", "Moulin", id="group-first-match"),
    ],
)
def test_a_profile_selector_reads_the_page(selector: str, title: str) -> None:
    profile = parse_profile({"slug": "shop", "offer": {"title": selector}}, "shop.toml")
    assert extract_offer(PAGE, "https://shop.example.ch/p/42", profile).title == title


@pytest.mark.parametrize(
    ("exclude", "title"),
    [
        pytest.param([], "Machine à café Barista", id="nothing-excluded"),
        pytest.param([".related-products"], "Machine à café Barista", id="related-products-excluded"),
        pytest.param([".product-main"], None, id="buy-box-excluded-with-its-heading"),
    ],
)
def test_excluded_sections_of_the_product_block_are_not_read(exclude: list[str], title: str | None) -> None:
    offer = {"product_block": "main", "exclude": exclude}
    profile = parse_profile({"slug": "shop", "offer": offer}, "shop.toml")
    assert extract_offer(PAGE, "https://shop.example.ch/p/42", profile).title == title
