"""Pure routing: which subscriptions want an event.

A subscription receives an event kind when it lists the kind in ``events``; when it lists none (the default)
it receives the kinds of its audience tags: ``consumer`` restock/stockout/price_drop, ``watchdog``
finding_opened/finding_closed, ``ops`` crawl_unhealthy. Then it must follow the event's subject: the product
(its URL), the promotion (title or product URL), the retailer, or for findings ``all_findings``; store-level
events also need a followed store (its id, or postcode + radius_km around the subscription's postcode).

A subscription's postcode is resolved to a place through the stores' own postcodes (:func:`postcode_place`),
per retailer: itself when one of the retailer's stores has it, else the nearest postcode area that has the
retailer's stores. CH, DE, AT and FR allot postcodes by area, so the longest shared leading digits name the nearest
area: 1005 Lausanne, where no store is, stands for the stores at 1003, 1006, 1008 and 1009. Without radius_km its
subscriber hears of those stores as 1003's does; with radius_km the area only gives the centre the radius is
measured from, so a store beyond the radius is never heard of, however alike its postcode.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
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
    "delivery_overdue": "consumer",
}


@dataclass(frozen=True)
class StorePlace:
    external_id: str
    postcode: str | None
    latitude: float | None
    longitude: float | None


# fewer shared leading digits than this say nothing about nearness, in 4- and 5-digit countries alike:
# CH 39xx spans Brig (3900) to Sierre (3960), 38 km; FR 13xxx is a whole département, Marseille to Arles 73 km
MIN_SHARED_DIGITS = 3


def _normal(postcode: str) -> str:
    return postcode.strip().upper().replace(" ", "")


def _shared(a: str, b: str) -> int:
    count = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        count += 1
    return count


def postcode_area(postcode: str, known: Iterable[str]) -> frozenset[str]:
    """The store postcodes that stand for ``postcode``: itself when a store has it, else those that share the
    most leading characters with it (at least MIN_SHARED_DIGITS); empty when no store is anywhere near.

    Three digits, not two: two name a Swiss postal district (39xx: Brig to Sierre) or a French département
    (13xxx: Marseille to Arles); three name a town and its neighbours in CH and AT (100x Lausanne) and a
    delivery area in DE and FR (130xx Marseille), which can still span tens of km in rural France, hence
    radius_km is always measured, never assumed from the postcode.

    >>> sorted(postcode_area("1005", ["1003", "1006", "1020", "8001"]))
    ['1003', '1006']
    >>> sorted(postcode_area("3900", ["3960", "8001"]))
    []
    """
    code = _normal(postcode)
    codes = {_normal(k): k for k in known if k and k.strip()}
    if code in codes:
        return frozenset({codes[code]})
    best = max((_shared(code, k) for k in codes), default=0)
    if best < MIN_SHARED_DIGITS:
        return frozenset()
    return frozenset(original for k, original in codes.items() if _shared(code, k) == best)


def postcode_place(
    postcode: str | None, stores: Iterable[StorePlace]
) -> tuple[frozenset[str], tuple[float, float] | None]:
    """A subscription postcode's area (:func:`postcode_area`) among ``stores`` (one retailer's: another
    retailer's store must not stand in for them) and centre: the mean position of the area's stores, which
    radius_km is measured from."""
    if not postcode:
        return frozenset(), None
    stores = list(stores)
    area = postcode_area(postcode, {s.postcode for s in stores if s.postcode})
    points = [
        (s.latitude, s.longitude)
        for s in stores
        if s.postcode in area and s.latitude is not None and s.longitude is not None
    ]
    if not points:
        return area, None
    return area, (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))


def unmatched_postcodes(
    subscriptions: Iterable[Subscription], known: Mapping[str, Iterable[str]]
) -> list[str]:
    """One line per subscription whose postcode no store's postcode stands for: it would hear of no store.

    ``known``: the store postcodes of each retailer. Areas are drawn per retailer (as routing draws them), so a
    subscription that names retailers is checked against each of them; one that names none hears of any
    retailer's stores and is warned only when no retailer has a store near it."""
    postcodes = {slug: sorted(set(codes)) for slug, codes in known.items()}
    lines = []
    for subscription in subscriptions:
        if not subscription.postcode:
            continue
        named = [slug for slug in subscription.retailers if slug in postcodes]
        pools = named or list(postcodes)
        far = [slug for slug in pools if not postcode_area(subscription.postcode, postcodes[slug])]
        if not far or (not named and len(far) < len(pools)):
            continue
        for slug in far:
            codes = postcodes[slug]
            shown = ", ".join(codes[:20]) + (f" and {len(codes) - 20} more" if len(codes) > 20 else "")
            lines.append(
                f"subscription {subscription.name!r}: postcode {subscription.postcode} is near no store's "
                f"postcode of {slug}, so it will hear of none of its stores; its stores' postcodes are: "
                f"{shown or 'none yet'}"
            )
    return lines


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
    subscription: Subscription,
    store: StorePlace | None,
    centre: tuple[float, float] | None,
    area: frozenset[str] | None = None,
) -> bool:
    """``area``: the store postcodes the subscription's postcode stands for (:func:`postcode_place`); by
    default its postcode alone. A store with the subscription's own postcode always matches; with radius_km
    any other store must lie within it of ``centre``; without radius_km the area's stores match."""
    if store is None:
        return False
    if store.external_id in subscription.stores:
        return True
    if subscription.postcode is None:
        return False
    if store.postcode is not None and _normal(store.postcode) == _normal(subscription.postcode):
        return True
    if subscription.radius_km is None:
        return area is not None and store.postcode in area
    if centre is None or store.latitude is None or store.longitude is None:
        return False
    return distance_km(centre, (store.latitude, store.longitude)) <= subscription.radius_km


def wants(
    subscription: Subscription,
    kind: str,
    payload: Mapping[str, Any],
    store: StorePlace | None = None,
    centre: tuple[float, float] | None = None,
    area: frozenset[str] | None = None,
) -> bool:
    """True when ``subscription`` should be told about this event."""
    if kind == "delivery_overdue":  # a consumer's own order: only the subscriptions that name it, any tag
        return payload.get("order") in subscription.orders and (
            not subscription.events or kind in subscription.events
        )
    if kind not in kinds_of(subscription):
        return False
    if kind in ("crawl_unhealthy", "crawl_recovered"):
        return not subscription.retailers or payload.get("retailer") in subscription.retailers
    if kind in ("finding_opened", "finding_closed"):
        return subscription.all_findings or follows_subject(subscription, payload)
    if payload.get("scope") == "store":
        has_subject_filter = bool(subscription.products or subscription.promotions or subscription.retailers)
        return follows_store(subscription, store, centre, area) and (
            not has_subject_filter or follows_subject(subscription, payload)
        )
    return follows_subject(subscription, payload)
