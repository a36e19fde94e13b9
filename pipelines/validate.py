"""First pipeline: an item that breaks the model's rules is repaired towards ``unknown`` or dropped, loudly.

A value the database cannot hold (a price of 10^10 or more, a stock count beyond a 32-bit integer) is refused
here, where the reason can be kept with the observation, rather than by the database, which would lose the whole
observation. Each refusal is counted (``promowatch/<retailer>/refused``): the run summary reports it and the run
ends with exit status 1.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from decimal import Decimal
from typing import TYPE_CHECKING

from scrapy.exceptions import DropItem

from promowatch.config import MAX_AMOUNT
from promowatch.domain import Availability, Offer
from promowatch.items import AdItem, AdvertisedPromotion, OfferItem, StoreListItem, StoreStockItem

if TYPE_CHECKING:
    from typing import Self

    from scrapy.crawler import Crawler
    from scrapy.statscollectors import StatsCollector

logger = logging.getLogger(__name__)
CURRENCY = re.compile(r"[A-Z]{3}")
MAX_QUANTITY = 2**31 - 1  # an INTEGER column on PostgreSQL


def too_large(amount: Decimal | None) -> bool:
    """An amount the money columns (NUMERIC(12, 2)) cannot hold.

    >>> too_large(Decimal("9999999999.99")), too_large(Decimal("1E10"))
    (False, True)
    """
    return amount is not None and amount.is_finite() and abs(amount) >= MAX_AMOUNT


def oversized(offer: Offer) -> list[str]:
    """The offer's values the database cannot hold, as they are named in its reason."""
    problems = []
    if too_large(offer.price):
        problems.append(f"price {offer.price} (the database holds less than {MAX_AMOUNT:,})")
    if too_large(offer.regular_price):
        problems.append(
            f"reference price {offer.regular_price} (the database holds less than {MAX_AMOUNT:,})"
        )
    return problems


def checked_offer(offer: Offer) -> Offer:
    """The offer with impossible values removed: a negative price, a price the database cannot hold, a non-ISO
    currency, a bad enum."""
    problems = oversized(offer)
    price, regular = offer.price, offer.regular_price
    if price is not None and (not price.is_finite() or price < 0 or too_large(price)):
        if not too_large(price):
            problems.append(f"price {price}")
        price = None
    if regular is not None and (not regular.is_finite() or regular <= 0 or too_large(regular)):
        if not too_large(regular):
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


def _storable(promotion: AdvertisedPromotion) -> bool:
    return not too_large(promotion.advertised_price) and not too_large(promotion.reference_price)


class ValidatePipeline:
    def __init__(self, stats: StatsCollector | None = None) -> None:
        self.stats = stats

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler.stats)

    def _refused(self, retailer: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"promowatch/{retailer}/refused", count)

    def process_item(self, item: object) -> object:
        if isinstance(item, OfferItem):
            if item.observed_at.tzinfo is None:
                raise DropItem(f"{item.product_url}: observation time without a timezone")
            refused = oversized(item.offer)
            if refused:
                logger.error("%s: refused %s", item.product_url, ", ".join(refused))
                self._refused(item.retailer)
            item.offer = checked_offer(item.offer)
        elif isinstance(item, AdItem):
            storable = [p for p in item.promotions if _storable(p)]
            if len(storable) != len(item.promotions):
                logger.error(
                    "%s: refused %d promotion(s) with a price of %s or more (more than the database holds)",
                    item.source_url,
                    len(item.promotions) - len(storable),
                    f"{MAX_AMOUNT:,}",
                )
                self._refused(item.retailer, len(item.promotions) - len(storable))
            kept = [p for p in storable if p.advertised_price > Decimal(0) and CURRENCY.fullmatch(p.currency)]
            if len(kept) != len(storable):
                logger.warning(
                    "%s: %d promotion(s) without a valid price or currency skipped",
                    item.source_url,
                    len(storable) - len(kept),
                )
            item.promotions = kept
        elif isinstance(item, StoreStockItem):
            huge = [s for s in item.stocks if s.quantity is not None and abs(s.quantity) > MAX_QUANTITY]
            if huge:
                logger.error(
                    "%s: refused %d store quantities beyond %d", item.product_url, len(huge), MAX_QUANTITY
                )
                self._refused(item.retailer, len(huge))
                item.stocks = [dataclasses.replace(s, quantity=None) if s in huge else s for s in item.stocks]
        elif not isinstance(item, StoreListItem):
            raise DropItem(f"not a promowatch item: {type(item).__name__}")
        return item
