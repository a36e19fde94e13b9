"""A browser fetch is read twice, the page as the shop sent it and as its scripts left it, and is never read worse
than over HTTP (issue 26): promowatch.crawl.browser.combined_reading, a pure function."""

from __future__ import annotations

from decimal import Decimal

import pytest

from promowatch.crawl.browser import Rendered, combined_reading, rendered_reading
from promowatch.domain import Availability, Offer, Signal, SignalSource

URL = "http://127.0.0.1/p/1"
IN_STOCK_DATA = Signal("availability", SignalSource.JSONLD, "https://schema.org/InStock", "in_stock")
PICTURE_ALERT = Signal("availability", SignalSource.TEXT, "immagine non disponibile", "out_of_stock")
LOADING = Signal("availability", SignalSource.TEXT, "chargement…", None)
FILLED = Signal("availability", SignalSource.TEXT, "en stock", "in_stock")
BUTTON_DISABLED = Signal("orderable", SignalSource.BUTTON, "Ajouter au panier", "False")
BUTTON_ENABLED = Signal("orderable", SignalSource.BUTTON, "Ajouter au panier", "True")
PRICE = Signal("price", SignalSource.JSONLD, "499.00", "499.00")


def offer(
    availability: str = "unknown", orderable: bool | None = None, *signals: Signal, **values: object
) -> Offer:
    return Offer(
        url=URL, availability=Availability(availability), orderable=orderable, signals=signals, **values
    )  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("sent", "rendered", "expected"),
    [
        pytest.param(
            offer("in_stock", True, IN_STOCK_DATA, BUTTON_ENABLED),
            offer("unknown", None, reason="wait for #stock timed out after 3000 ms"),
            ("in_stock", True, None),
            id="rendered-unknown-keeps-the-sent-reading",
        ),
        pytest.param(
            offer("unknown", None, LOADING, BUTTON_DISABLED, reason="the stock line is still loading"),
            offer("in_stock", True, FILLED, BUTTON_ENABLED),
            ("in_stock", True, None),
            id="scripts-filled-the-stock-line-and-enabled-the-button",
        ),
        pytest.param(
            offer("out_of_stock", False, Signal("availability", SignalSource.TEXT, "chargement…", "out_of_stock"), BUTTON_DISABLED),
            offer("in_stock", True, FILLED, BUTTON_ENABLED),
            ("in_stock", True, None),
            id="scripts-changed-the-evidence-rendered-wins",
        ),
        pytest.param(
            offer("in_stock", True, IN_STOCK_DATA, BUTTON_ENABLED),
            offer("out_of_stock", True, IN_STOCK_DATA, PICTURE_ALERT, BUTTON_ENABLED),
            ("in_stock", True, None),
            id="script-made-message-about-a-picture-does-not-overrule",
        ),
    ],
)  # fmt: skip
def test_the_rendered_reading_only_adds_or_follows_what_scripts_changed(
    sent: Offer, rendered: Offer, expected: tuple[str, bool | None, str | None]
) -> None:
    combined = combined_reading(sent, rendered)
    assert (str(combined.availability), combined.orderable, combined.reason) == expected


def test_a_price_only_the_sent_page_shows_is_kept_with_its_currency_and_signals() -> None:
    sent = offer("in_stock", True, PRICE, price=Decimal("499.00"), currency="CHF")
    combined = combined_reading(sent, offer("in_stock", True))
    assert (combined.price, combined.currency) == (Decimal("499.00"), "CHF")
    assert PRICE in combined.signals


def test_a_wait_that_ran_out_leaves_the_sent_reading_or_unknown_with_its_reason() -> None:
    timed_out = Rendered(
        html=b"", screenshot=None, wait="wait for #stock timed out after 3000 ms", waited=False
    )
    placeholder = offer("out_of_stock", False, BUTTON_DISABLED)
    assert rendered_reading(offer("in_stock", True, IN_STOCK_DATA), placeholder, timed_out).availability == (
        Availability.IN_STOCK
    )
    unknown = rendered_reading(offer(), placeholder, timed_out)
    assert (unknown.availability, unknown.orderable, unknown.reason) == (
        Availability.UNKNOWN,
        None,
        "wait for #stock timed out after 3000 ms",
    )
