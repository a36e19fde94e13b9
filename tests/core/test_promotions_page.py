"""Promotion cards from an ad page, as a profile's [promotions] table describes them."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from promowatch.config import PromotionSelectors
from promowatch.extract.promotions import parse_day, parse_promotions

SELECTORS = PromotionSelectors(
    urls=("/promotions",),
    item=".promo",
    link="a::attr(href)",
    title="h3",
    price=".now",
    regular_price=".was",
    valid_from="time.from::attr(datetime)",
    valid_until="xpath:.//time[@class='until']/@datetime",
)

# Written after the weekly "Actions" pages of Swiss retailers: price with Swiss dash, "au lieu de" reference.
PAGE = """<html><body><header><a href="/promotions">Promotions</a></header>
<div class="promo"><a href="/p/delonghi"><h3>De'Longhi Magnifica S</h3></a>
  <span class="now">499.–</span> <span class="was">au lieu de 999.–</span>
  Valable du <time class="from" datetime="2026-11-05">05.11.</time> au <time class="until" datetime="2026-11-15">15.11.2026</time>
</div>
<div class="promo"><a href="/p/big"><h3>TV 65"</h3></a><span class="now">1’299.–</span>
  <time class="from" datetime="2026-11-02">02.11.</time></div>
<div class="promo"><a href="/p/noprice"><h3>Teaser without price</h3></a></div>
</body></html>"""


def test_cards_become_promotions_with_absolute_links() -> None:
    first, second = parse_promotions(PAGE.encode(), "http://127.0.0.1:8000/promotions", SELECTORS, "CHF")
    assert first.product_url == "http://127.0.0.1:8000/p/delonghi"
    assert first.title == "De'Longhi Magnifica S"
    assert (first.advertised_price, first.reference_price, first.currency) == (
        Decimal("499"),
        Decimal("999"),
        "CHF",
    )
    assert first.valid_from == datetime(2026, 11, 5, tzinfo=UTC)
    assert first.valid_until is not None and first.valid_until.date().isoformat() == "2026-11-15"
    assert first.valid_until.hour == 23  # the whole last day counts
    assert second.advertised_price == Decimal("1299")  # typographic apostrophe as thousands separator
    assert second.reference_price is None and second.valid_until is None


@pytest.mark.parametrize(
    ("text", "end", "expected"),
    [
        pytest.param("2026-11-05", False, datetime(2026, 11, 5, tzinfo=UTC), id="iso-date"),
        pytest.param("05.11.2026", False, datetime(2026, 11, 5, tzinfo=UTC), id="swiss-date"),
        pytest.param(
            "Valable jusqu'au 15.11.2026",
            True,
            datetime(2026, 11, 15, 23, 59, 59, 999999, tzinfo=UTC),
            id="swiss-date-in-text-end-of-day",
        ),
        pytest.param(
            "2026-11-05T08:00:00+01:00", False, datetime(2026, 11, 5, 7, tzinfo=UTC), id="iso-with-offset"
        ),
        pytest.param("31.02.2026", False, None, id="impossible-date"),
        pytest.param("bientôt", False, None, id="no-date"),
    ],
)
def test_parse_day(text: str, end: bool, expected: datetime | None) -> None:
    assert parse_day(text, end_of_day=end) == expected
