"""A stock line that JavaScript has not filled in yet: availability and orderability stay unknown."""

from __future__ import annotations

import pytest

from promowatch.config import parse_profile
from promowatch.domain import Availability
from promowatch.extract import extract_offer

PROFILE = parse_profile(
    {
        "slug": "js-shop",
        "currency": "CHF",
        "offer": {
            "product_block": ".product",
            "price": ".price",
            "availability": ".stock",
            "buy_button": ".product button.add-to-cart",
        },
    },
    "js-shop.toml",
)

# shaped like the demo shop's scenario (e) and like shops whose buy box is rendered client-side
PAGE = """<html><body><div class="product"><h1>Tablette</h1><span class="price">349.–</span>
<p class="stock">{stock}</p><div id="buybox-root"></div></div></body></html>"""


@pytest.mark.parametrize(
    "placeholder",
    [
        pytest.param("chargement…", id="fr"),
        pytest.param("Loading...", id="en"),
        pytest.param("Verfügbarkeit wird geladen", id="de"),
        pytest.param("caricamento disponibilità", id="it"),
    ],
)
def test_loading_placeholder_is_unknown_not_unorderable(placeholder: str) -> None:
    offer = extract_offer(PAGE.format(stock=placeholder).encode(), "https://shop.example.ch/p/1", PROFILE)
    assert offer.availability is Availability.UNKNOWN
    assert offer.orderable is None
    assert offer.reason is not None and "JavaScript" in offer.reason


def test_a_real_stock_line_without_button_still_reads() -> None:
    offer = extract_offer(PAGE.format(stock="Épuisé").encode(), "https://shop.example.ch/p/1", PROFILE)
    assert offer.availability is Availability.OUT_OF_STOCK
    assert offer.orderable is False
