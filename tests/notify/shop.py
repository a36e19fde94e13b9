"""A stored retailer with stores around Lausanne and a run helper that records events as evaluate does.

The shape of the events is the one promowatch/evaluate.py writes (``_product_events``, ``_finding_event``); the
stores are real Lausanne-area postcodes. The issue this reproduces (issue 18): a consumer who subscribed on day
10 got 9 separate, undated pushes for store restocks 8 to 11 days old.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from notify.outbox import DeliveryReport, deliver_pending, record_event
from notify.subscriptions import note_subscriptions
from promowatch.config import Subscription, Watchlist
from promowatch.db.models import Product, Retailer, Store
from promowatch.rules.thresholds import Thresholds

START = datetime(2026, 11, 2, 7, 0, tzinfo=UTC)  # day 0, a Monday morning
PRODUCT_URL = "http://127.0.0.1:9/p/air-fryer"
STORES = (  # external id, name, postcode, latitude, longitude
    ("1001", "Lausanne Flon", "1003", 46.520, 6.630),
    ("1002", "Lausanne Ouchy", "1006", 46.508, 6.627),
    ("1003", "Prilly Centre", "1008", 46.537, 6.603),
    ("1004", "Pully", "1009", 46.510, 6.662),
    ("1005", "Renens Gare", "1020", 46.537, 6.588),
    ("2001", "Zürich HB", "8001", 47.378, 8.540),
)


def day(number: int, hours: float = 0) -> datetime:
    return START + timedelta(days=number, hours=hours)


def watchlist(*subscriptions: Subscription) -> Watchlist:
    return Watchlist(
        path=None,
        retailers=(),
        promotions=(),
        subscriptions=subscriptions,
        thresholds=Thresholds(),
        contact=None,
    )


def neighbour(url: str, **changes: Any) -> Subscription:
    """A consumer in Lausanne who follows the air fryer in the stores within 10 km of 1003."""
    values: dict[str, Any] = {
        "name": "voisine",
        "urls": (url,),
        "tags": ("consumer",),
        "language": "en",
        "events": (),
        "products": (PRODUCT_URL,),
        "postcode": "1003",
        "radius_km": 10.0,
    }
    return Subscription(**(values | changes))


@dataclass
class Shop:
    retailer_id: int
    product_id: int
    stores: dict[str, Store]  # by external id


def add_shop(session: Session) -> Shop:
    retailer = Retailer(slug="demo-shop", name="Demo Shop", country="CH", currency="CHF")
    session.add(retailer)
    session.flush()
    product = Product(retailer_id=retailer.id, url=PRODUCT_URL, sku="AF1", name="Air fryer XL")
    stores = [
        Store(
            retailer_id=retailer.id,
            external_id=ext,
            name=name,
            postcode=code,
            city=None,
            latitude=lat,
            longitude=lon,
        )
        for ext, name, code, lat, lon in STORES
    ]
    session.add_all([product, *stores])
    session.flush()
    return Shop(retailer.id, product.id, {s.external_id: s for s in stores})


def store_event(session: Session, shop: Shop, kind: str, store: str, seen: datetime, now: datetime) -> None:
    row = shop.stores[store]
    record_event(
        session,
        kind,
        f"{kind}:product:{shop.product_id}:store:{row.id}:{seen.isoformat()}",
        seen,
        {
            "retailer": "demo-shop",
            "product_url": PRODUCT_URL,
            "product_name": "Air fryer XL",
            "promotions": [],
            "scope": "store",
            "store_id": row.id,
            "store": row.name,
            "store_external_id": row.external_id,
            "postcode": row.postcode,
            "city": row.city,
        },
        retailer_id=shop.retailer_id,
        product_id=shop.product_id,
        created_at=now,
    )


def finding_event(session: Session, shop: Shop, number: int, opened: datetime, now: datetime) -> None:
    record_event(
        session,
        "finding_opened",
        f"finding_opened:{number}",
        opened,  # a finding's event occurred when its first confirming observation was made
        {
            "retailer": "demo-shop",
            "promotion": f"Air fryer 79.– (week {number})",
            "product_url": PRODUCT_URL,
            "product_name": "Air fryer XL",
            "advertised_price": "79.00",
            "currency": "CHF",
            "rule": "unorderable_online",
            "summary": "not orderable online in 3 observations",
        },
        retailer_id=shop.retailer_id,
        product_id=shop.product_id,
        created_at=now,
    )


def run_day(
    sessions: sessionmaker[Session],
    shop: Shop,
    subscribers: Watchlist,
    number: int,
    restocked: Iterable[str] = (),
) -> DeliveryReport:
    """One simulated run as `promowatch run` makes it: the crawl at 07:00 sees the stores ``restocked``, the
    evaluate step (07:30) notes the subscriptions and records the events, the notify step (07:31) sends."""
    crawl, now = day(number), day(number, 0.5)
    with sessions.begin() as session:
        note_subscriptions(session, subscribers, now)
        for store in restocked:
            store_event(session, shop, "restock", store, crawl, now)
    return deliver_pending(sessions, subscribers, now + timedelta(minutes=1), None)
