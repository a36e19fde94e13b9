"""Changes worth telling a consumer: the product is back, sold out, or cheaper.

Transitions are taken between known states only: an ``unknown`` look in between is skipped, so
in_stock → unknown → in_stock raises nothing and in_stock → unknown → out_of_stock raises one ``stockout``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from promowatch.rules.model import OfferPoint, StoreInterval, zero_stock_states
from promowatch.rules.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class Change:
    kind: str  # restock, stockout, price_drop
    at: datetime
    observation_id: int  # the look that showed the new state (an offer observation or a store interval)
    previous_id: int
    store_id: int | None = None
    old_price: Decimal | None = None
    new_price: Decimal | None = None
    currency: str | None = None


def _online_state(offer: OfferPoint) -> bool | None:
    if offer.availability.buyable:
        return True
    if offer.availability.unavailable:
        return False
    return None  # unknown, preorder, backorder: neither back nor gone


def online_changes(offers: Sequence[OfferPoint], thresholds: Thresholds, now: datetime) -> list[Change]:
    """Restock, stockout and price drops of one product online, within the event horizon before ``now``."""
    since = now - thresholds.event_horizon
    changes: list[Change] = []
    last_state: tuple[bool, OfferPoint] | None = None
    last_price: OfferPoint | None = None
    for offer in sorted(offers, key=lambda o: (o.observed_at, o.id)):
        if offer.observed_at > now:
            break
        state = _online_state(offer)
        if state is not None:
            if last_state is not None and last_state[0] != state and offer.observed_at >= since:
                kind = "restock" if state else "stockout"
                changes.append(Change(kind, offer.observed_at, offer.id, last_state[1].id))
            last_state = (state, offer)
        if offer.known and offer.price is not None:
            if (
                last_price is not None
                and last_price.price is not None
                and last_price.currency == offer.currency
                and offer.price < last_price.price - thresholds.price_tolerance
                and offer.observed_at >= since
            ):
                changes.append(
                    Change(
                        "price_drop",
                        offer.observed_at,
                        offer.id,
                        last_price.id,
                        None,
                        last_price.price,
                        offer.price,
                        offer.currency,
                    )
                )
            last_price = offer
    return changes


def store_changes(intervals: Sequence[StoreInterval], thresholds: Thresholds, now: datetime) -> list[Change]:
    """Restock and stockout per store, from consecutive intervals with a known state."""
    since = now - thresholds.event_horizon
    by_store: dict[int, list[StoreInterval]] = defaultdict(list)
    for interval in intervals:
        by_store[interval.store_id].append(interval)
    changes: list[Change] = []
    for store_id, series in by_store.items():
        last: tuple[bool, StoreInterval] | None = None
        ordered = sorted(series, key=lambda i: (i.first_seen, i.id))
        for interval, zero in zip(ordered, zero_stock_states(ordered), strict=True):
            if interval.first_seen > now:
                break
            if zero is None:
                continue
            if last is not None and last[0] != zero and interval.first_seen >= since:
                kind = "stockout" if zero else "restock"
                changes.append(Change(kind, interval.first_seen, interval.id, last[1].id, store_id))
            last = (zero, interval)
    return changes
