"""A picture's words are not the item's stock (issue 26): "image not available" written by a shop's script into
the picture's container when the picture fails to load, or into a gallery placeholder, says nothing about
whether the item can be bought. Rows are hand-written after the shops named in their ids."""

from __future__ import annotations

import pytest

from promowatch.extract import extract_offer

URL = "http://127.0.0.1/p/1"

PAGE = """<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>{title}</title></head><body>
<main class="product"><h1>{title}</h1>
{media}
<p class="price">{price}</p>
<p class="availability">{stock}</p>
</main></body></html>"""

# the alert of peb-871a0c6c91 (amazon.it, scrapinghub/product-extraction-benchmark) as its script shows it when
# the picture fails to load: no longer display:none
AMAZON_ALERT = """<div id="main-image-container" class="a-dynamic-image-container">
  <div class="variationUnavailable unavailableExp"><div class="a-alert-error" role="alert">
  <h4 class="a-alert-heading">Immagine non disponibile</h4>
  <span class="a-text-bold">Immagine non disponibile per <br>Colore: nero</span></div></div></div>"""


@pytest.mark.parametrize(
    ("lang", "media", "stock"),
    [
        pytest.param("it", AMAZON_ALERT, "Disponibile", id="amazon-it-alert-in-image-container"),
        pytest.param(
            "it",
            '<div class="imageBlock"><span>Immagine non disponibile</span></div>',
            "Disponibile",
            id="camel-case-image-block",
        ),
        pytest.param(
            "it",
            '<div class="product-gallery"><div class="thumbnails"><p>Immagine non disponibile</p></div></div>',
            "Disponibile",
            id="gallery-placeholder",
        ),
        pytest.param(
            "it",
            "<figure><figcaption>Immagine non disponibile</figcaption></figure>",
            "Disponibile",
            id="figure-caption",
        ),
    ],
)
def test_a_message_about_the_picture_is_not_the_stock(lang: str, media: str, stock: str) -> None:
    page = PAGE.format(
        lang=lang, title="Macchina da caffè Barista", media=media, price="€ 499,00", stock=stock
    )
    assert str(extract_offer(page.encode(), URL).availability) == "in_stock"


def test_a_gallery_that_wraps_the_whole_product_is_still_read() -> None:
    # a wrapper named after its gallery that also holds the title and the buy box is the product, not a picture
    page = PAGE.format(
        lang="en", title="Coffee machine Barista", media="", price="CHF 499.00", stock="Sold out"
    ).replace('<main class="product">', '<main class="product-media-gallery">')
    assert str(extract_offer(page.encode(), URL).availability) == "out_of_stock"
