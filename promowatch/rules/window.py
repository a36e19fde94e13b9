"""When a promotion runs: its validity window, or an ad sighting that is still live."""

from __future__ import annotations

from datetime import datetime

from promowatch.rules.model import PromotionFacts
from promowatch.rules.thresholds import Thresholds


def is_running(promotion: PromotionFacts, at: datetime, thresholds: Thresholds) -> bool:
    """True when the promotion is advertised at ``at``: inside its window or while an ad is live."""
    has_window = promotion.valid_from is not None or promotion.valid_until is not None
    if (
        has_window
        and (promotion.valid_from is None or at >= promotion.valid_from)
        and (promotion.valid_until is None or at <= promotion.valid_until)
    ):
        return True
    for sighting in promotion.sightings:
        if sighting.seen_at <= at <= sighting.last_seen + thresholds.sighting_grace:
            return True
    # a promotion entered by hand without window or ad runs from when it was entered
    return not has_window and not promotion.sightings and at >= promotion.created_at


def starts_at(promotion: PromotionFacts) -> datetime:
    """The start of the reduction: the window's start, else the first sighting, else when it was entered."""
    if promotion.valid_from is not None:
        return promotion.valid_from
    if promotion.sightings:
        return min(s.seen_at for s in promotion.sightings)
    return promotion.created_at


def ends_at(promotion: PromotionFacts, thresholds: Thresholds) -> datetime | None:
    """The end of the promotion, or None while it has no known end."""
    ends = []
    if promotion.valid_until is not None:
        ends.append(promotion.valid_until)
    if promotion.sightings:
        ends.append(max(s.last_seen for s in promotion.sightings) + thresholds.sighting_grace)
    if promotion.valid_until is None and promotion.valid_from is not None and not promotion.sightings:
        return None
    return max(ends) if ends else None


def fmt_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def fmt_span(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"
