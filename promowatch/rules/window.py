"""When a promotion runs: from its stated start (or, with only an end stated, its first ad sighting) to its
stated end or its last live ad sighting; and from when promowatch first saw it, for anything that accuses.

A card that says only "valid until 13.12." does not say the shop's prices were promotional before it was seen;
comparing the ordinary prices charged before the ad existed with the advertised one would accuse the shop of
a mismatch it never made. So a promotion without a stated start begins at its first sighting, and no rule counts
an observation from before the promotion was first seen (design.md §6).
"""

from __future__ import annotations

from datetime import datetime

from promowatch.rules.model import PromotionFacts
from promowatch.rules.thresholds import Thresholds


def first_seen(promotion: PromotionFacts) -> datetime:
    """When the promotion was first seen: its first ad sighting, else when it was entered or swept."""
    if promotion.sightings:
        return min(min(s.seen_at for s in promotion.sightings), promotion.created_at)
    if promotion.origin == "watchlist" and promotion.valid_from is not None:
        # entered by hand from an ad the user saw: the ad's own start is the user's sighting of it
        return min(promotion.valid_from, promotion.created_at)
    return promotion.created_at


def starts_at(promotion: PromotionFacts) -> datetime:
    """The start of the reduction: the stated start, else the first sighting (never earlier)."""
    if promotion.valid_from is not None:
        return promotion.valid_from
    return first_seen(promotion)


def window_basis(promotion: PromotionFacts) -> str:
    """How the start was established: ``stated`` by the ad, by the ad ``listing``, or the first ``sighting``."""
    if promotion.valid_from is None:
        return "sighting" if promotion.sightings or promotion.origin == "sweep" else "entered"
    return promotion.window_basis or "stated"


def counts_from(promotion: PromotionFacts) -> datetime:
    """The first moment a rule may count an observation for a finding: started and seen."""
    return max(starts_at(promotion), first_seen(promotion))


def is_running(promotion: PromotionFacts, at: datetime, thresholds: Thresholds) -> bool:
    """True when the promotion is advertised at ``at`` and had been seen by then.

    Inside its window (from :func:`starts_at` to the stated end), or while an ad sighting is live.
    """
    if at < counts_from(promotion):
        return False
    if promotion.valid_until is not None and at <= promotion.valid_until:
        return True
    for sighting in promotion.sightings:
        if sighting.seen_at <= at <= sighting.last_seen + thresholds.sighting_grace:
            return True
    # no stated end and no ad to follow: it runs from its start on (entered by hand, or a stated start only)
    return promotion.valid_until is None and not promotion.sightings


def ends_at(promotion: PromotionFacts, thresholds: Thresholds) -> datetime | None:
    """The end of the promotion, or None while it has no known end."""
    ends = []
    if promotion.valid_until is not None:
        ends.append(promotion.valid_until)
    if promotion.sightings:
        ends.append(max(s.last_seen for s in promotion.sightings) + thresholds.sighting_grace)
    return max(ends) if ends else None


def window_facts(promotion: PromotionFacts, thresholds: Thresholds) -> dict[str, str | None]:
    """The running window as a finding states it: start, end, how the start was established, first sighting."""
    end = ends_at(promotion, thresholds)
    return {
        "start": starts_at(promotion).isoformat(),
        "end": end.isoformat() if end is not None else None,
        "basis": window_basis(promotion),
        "first_seen": first_seen(promotion).isoformat(),
    }


def fmt_time(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def fmt_span(seconds: float) -> str:
    hours = seconds / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h"
