"""A small stored scenario for evaluate and notify tests: the bait coffee machine of design.md §8."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy.orm import Session

from promowatch.db.models import OfferObservation, Product, Promotion, Retailer, Store, StoreObservation
from tests.rules.factories import T0, at

PRODUCT_URL = "http://127.0.0.1:9/p/coffee-machine"


def add_shop(session: Session) -> tuple[Retailer, Product, Promotion, list[Store]]:
    retailer = Retailer(slug="demo-shop", name="Demo <Shop>", country="CH", currency="CHF")
    session.add(retailer)
    session.flush()
    product = Product(retailer_id=retailer.id, url=PRODUCT_URL, sku="C1", name="Coffee <b>Machine</b>")
    stores = [
        Store(
            retailer_id=retailer.id,
            external_id="S1",
            name="Lausanne",
            postcode="1003",
            city="Lausanne",
            latitude=46.52,
            longitude=6.63,
        ),
        Store(
            retailer_id=retailer.id,
            external_id="S2",
            name="Zürich",
            postcode="8001",
            city="Zürich",
            latitude=47.37,
            longitude=8.54,
        ),
    ]
    session.add_all([product, *stores])
    session.flush()
    promotion = Promotion(
        key="demo-shop:C1:2026-11-23",
        retailer_id=retailer.id,
        product_id=product.id,
        title="Coffee machine 499.– <deal>",
        advertised_price=Decimal("499.00"),
        reference_price=Decimal("999.00"),
        currency="CHF",
        valid_from=T0,
        valid_until=T0 + timedelta(days=7),
        origin="watchlist",
        region=None,
        created_at=T0 - timedelta(days=2),
    )
    session.add(promotion)
    # honest history: 899 until 41 days before, then 999 daily (reference supported under CH rules)
    for day in range(-45, 0):
        session.add(offer(product.id, at(day * 24), "in_stock", True, "899.00" if day < -40 else "999.00"))
    session.flush()
    return retailer, product, promotion, stores


def offer(
    product_id: int,
    when,
    availability: str,
    orderable: bool | None,
    price: str | None = "499.00",
    screenshot: str | None = None,
) -> OfferObservation:
    return OfferObservation(
        product_id=product_id,
        observed_at=when,
        price=Decimal(price) if price else None,
        regular_price=None,
        currency="CHF",
        availability=availability,
        orderable=orderable,
        render="browser",
        screenshot_sha256=screenshot,
    )


def store_interval(
    product_id: int, store_id: int, first: float, last: float, checks: int, availability: str
) -> StoreObservation:
    return StoreObservation(
        product_id=product_id,
        store_id=store_id,
        first_seen=at(first),
        last_seen=at(last),
        checks=checks,
        availability=availability,
        quantity=0 if availability == "out_of_stock" else 5,
    )
