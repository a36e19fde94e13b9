"""Pure rules: a promotion's observations and ``now`` in, verdicts with their inputs and episodes out.

No SQL and no Apprise here; :mod:`promowatch.evaluate` is the edge that loads rows and writes findings.
"""

from promowatch.rules.model import Episode, OfferPoint, PromotionFacts, Sighting, StoreInterval, Verdict
from promowatch.rules.online import price_mismatch, unorderable_online
from promowatch.rules.reference import reference_price_unsupported
from promowatch.rules.stores import Crawl, store_sellout, store_stockout
from promowatch.rules.thresholds import Thresholds, parse_thresholds

__all__ = [
    "Crawl",
    "Episode",
    "OfferPoint",
    "PromotionFacts",
    "Sighting",
    "StoreInterval",
    "Thresholds",
    "Verdict",
    "parse_thresholds",
    "price_mismatch",
    "reference_price_unsupported",
    "store_sellout",
    "store_stockout",
    "unorderable_online",
]
