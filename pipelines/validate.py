"""First pipeline: an item that breaks the model's rules is repaired towards ``unknown`` or dropped, loudly."""

from __future__ import annotations

import dataclasses
import logging
import re
from decimal import Decimal

from scrapy.exceptions import DropItem

from promowatch.domain import Availability, Offer
from promowatch.items import AdItem, OfferItem, StoreListItem, StoreStockItem

logger = logging.getLogger(__name__)
CURRENCY = re.compile(r"[A-Z]{3}")


def checked_offer(offer: Offer) -> Offer:
    """The offer with impossible values removed: a negative price, a non-ISO currency, a bad enum."""
    problems = []
    price, regular = offer.price, offer.regular_price
    if price is not None and (not price.is_finite() or price < 0):
        problems.append(f"price {price}")
        price = None
    if regular is not None and (not regular.is_finite() or regular <= 0):
        problems.append(f"reference price {regular}")
        regular = None
    currency = offer.currency if offer.currency and CURRENCY.fullmatch(offer.currency) else None
    if offer.currency and currency is None:
        problems.append(f"currency {offer.currency!r}")
    availability = offer.availability
    if not isinstance(availability, Availability):
        problems.append(f"availability {availability!r}")
        availability = Availability.UNKNOWN
    if not problems:
        return offer
    reason = "; ".join(filter(None, [offer.reason, "discarded " + ", ".join(problems)]))
    return dataclasses.replace(
        offer, price=price, regular_price=regular, currency=currency, availability=availability, reason=reason
    )


class ValidatePipeline:
    def process_item(self, item: object) -> object:
        if isinstance(item, OfferItem):
            if item.observed_at.tzinfo is None:
                raise DropItem(f"{item.product_url}: observation time without a timezone")
            item.offer = checked_offer(item.offer)
        elif isinstance(item, AdItem):
            kept = [
                p
                for p in item.promotions
                if p.advertised_price > Decimal(0) and CURRENCY.fullmatch(p.currency)
            ]
            if len(kept) != len(item.promotions):
                logger.warning(
                    "%s: %d promotion(s) without a valid price or currency skipped",
                    item.source_url,
                    len(item.promotions) - len(kept),
                )
            item.promotions = kept
        elif not isinstance(item, StoreListItem | StoreStockItem):
            raise DropItem(f"not a promowatch item: {type(item).__name__}")
        return item
