"""Pure routing: which subscriptions want an event.

A subscription receives an event kind when it lists the kind in ``events``; when it lists none (the default)
it receives the kinds of its audience tags: ``consumer`` restock/stockout/price_drop, ``watchdog``
finding_opened/finding_closed, ``ops`` crawl_unhealthy. Then it must follow the event's subject: the product
(its URL), the promotion (title or product URL), the retailer, or for findings ``all_findings``; store-level
events also need a followed store (its id, or postcode + radius_km around the subscription's postcode).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from promowatch.config import Subscription

AUDIENCE = {
    "restock": "consumer",
    "stockout": "consumer",
    "price_drop": "consumer",
    "finding_opened": "watchdog",
    "finding_closed": "watchdog",
    "crawl_unhealthy": "ops",
    "crawl_recovered": "ops",
}


@dataclass(frozen=True)
class StorePlace:
    external_id: str
    postcode: str | None
    latitude: float | None
    longitude: float | None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (latitude, longitude) points."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))


def kinds_of(subscription: Subscription) -> set[str]:
    if subscription.events:  # chosen explicitly: exactly these
        return set(subscription.events)
    return {kind for kind, tag in AUDIENCE.items() if tag in subscription.tags}


def follows_subject(subscription: Subscription, payload: Mapping[str, Any]) -> bool:
    url = payload.get("product_url")
    titles = set(payload.get("promotions") or []) | (
        {payload["promotion"]} if payload.get("promotion") else set()
    )
    return (
        (url is not None and url in subscription.products)
        or any(p == url or p in titles for p in subscription.promotions)
        or payload.get("retailer") in subscription.retailers
    )


def follows_store(
    subscription: Subscription, store: StorePlace | None, centre: tuple[float, float] | None
) -> bool:
    if store is None:
        return False
    if store.external_id in subscription.stores:
        return True
    if subscription.postcode is None:
        return False
    if store.postcode == subscription.postcode:
        return True
    if subscription.radius_km is None or centre is None or store.latitude is None or store.longitude is None:
        return False
    return distance_km(centre, (store.latitude, store.longitude)) <= subscription.radius_km


def wants(
    subscription: Subscription,
    kind: str,
    payload: Mapping[str, Any],
    store: StorePlace | None = None,
    centre: tuple[float, float] | None = None,
) -> bool:
    """True when ``subscription`` should be told about this event."""
    if kind not in kinds_of(subscription):
        return False
    if kind in ("crawl_unhealthy", "crawl_recovered"):
        return not subscription.retailers or payload.get("retailer") in subscription.retailers
    if kind in ("finding_opened", "finding_closed"):
        return subscription.all_findings or follows_subject(subscription, payload)
    if payload.get("scope") == "store":
        has_subject_filter = bool(subscription.products or subscription.promotions or subscription.retailers)
        return follows_store(subscription, store, centre) and (
            not has_subject_filter or follows_subject(subscription, payload)
        )
    return follows_subject(subscription, payload)
