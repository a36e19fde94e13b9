"""Rules over the online offer: ``unorderable_online`` and ``price_mismatch``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from promowatch.domain import money_str
from promowatch.rules.model import OfferPoint, PromotionFacts, Verdict
from promowatch.rules.persistence import Point, episodes
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import fmt_span, fmt_time, is_running, window_facts


def _verdict(
    rule: str,
    promotion: PromotionFacts,
    points: list[Point],
    thresholds: Thresholds,
    describe: Any,
    extra: dict[str, Any],
) -> Verdict:
    found = episodes(points, thresholds, describe)
    counted = [p for p in points if p.holds is not None]
    inputs = {
        "counted_observations": len(counted),
        "ignored_observations": len(points) - len(counted),
        "confirming_observations": sum(1 for p in counted if p.holds),
        **extra,
        "window": window_facts(promotion, thresholds),
        "thresholds": thresholds.to_json(),
    }
    if not counted:
        return Verdict(
            rule, "not_applicable", "No observation could be counted while the promotion ran.", inputs
        )
    current = found[-1] if found and found[-1].closed_at is None else None
    if current is not None:
        return Verdict(
            rule, "fires", current.summary, inputs | {"facts": current.facts}, found, current.offer_ids
        )
    return Verdict(rule, "clear", "The condition does not hold persistently.", inputs, found)


def _window_facts(points: list[Point]) -> dict[str, Any]:
    first, last = points[0].at, points[-1].at
    return {
        "observations": sum(p.weight for p in points),
        "first": first.isoformat(),
        "last": last.isoformat(),
        "span_hours": round((last - first).total_seconds() / 3600, 2),
    }


def _cannot_order(offer: OfferPoint) -> bool | None:
    """Whether an observation shows the product cannot be ordered online (None: it does not say).

    A firm "cannot be ordered" (a disabled buy box) counts even when the stock state is unknown; a page that could
    not be read leaves orderable null and counts for nothing (invariant 1). An item in stock that the shop sells
    in its stores only says so openly: that is no advertised offer hidden online, and counts for nothing.
    """
    if offer.orderable is None:
        return None
    if offer.orderable is False and offer.availability.buyable:
        return None
    return offer.orderable is False


def unorderable_online(
    promotion: PromotionFacts, offers: Sequence[OfferPoint], thresholds: Thresholds, now: datetime
) -> Verdict:
    """Fires while the promotion runs and the product cannot be ordered online in N observations over T."""
    points = [
        Point(
            at=o.observed_at,
            holds=_cannot_order(o),
            offer_ids=(o.id,),
            facts=(("availability", str(o.availability)),),
        )
        for o in offers
        if o.observed_at <= now and is_running(promotion, o.observed_at, thresholds)
    ]

    def describe(support: list[Point]) -> tuple[dict[str, Any], str]:
        facts = _window_facts(support)
        states = sorted({dict(p.facts)["availability"] for p in support})
        facts["availability"] = states
        summary = (
            f"Not orderable online in {facts['observations']} observations from {fmt_time(support[0].at)} "
            f"to {fmt_time(support[-1].at)} ({fmt_span((support[-1].at - support[0].at).total_seconds())}) "
            f"while the promotion advertised {money_str(promotion.advertised_price)} {promotion.currency}; "
            f"availability shown: {', '.join(states)}; threshold {thresholds.observations} observations "
            f"over {fmt_span(thresholds.min_span.total_seconds())}."
        )
        return facts, summary

    return _verdict("unorderable_online", promotion, points, thresholds, describe, {})


def price_mismatch(
    promotion: PromotionFacts, offers: Sequence[OfferPoint], thresholds: Thresholds, now: datetime
) -> Verdict:
    """Fires while the shop's price is above the advertised price by more than the tolerance."""
    points = []
    other_currency = 0
    for o in offers:
        if o.observed_at > now or not is_running(promotion, o.observed_at, thresholds):
            continue
        holds: bool | None = None
        if o.known and o.price is not None:
            if o.currency is not None and o.currency != promotion.currency:
                other_currency += 1  # a page in another currency cannot be compared
            else:
                # a price above the ad's is what the ad misleads about; a lower one (a cheaper promotion that
                # superseded it, a markdown) harms no buyer
                holds = o.price - promotion.advertised_price > thresholds.price_tolerance
        points.append(Point(at=o.observed_at, holds=holds, offer_ids=(o.id,), facts=(("price", o.price),)))

    def describe(support: list[Point]) -> tuple[dict[str, Any], str]:
        facts = _window_facts(support)
        prices = sorted({dict(p.facts)["price"] for p in support})
        facts["prices"] = [money_str(p) for p in prices]
        facts["advertised_price"] = money_str(promotion.advertised_price)
        shown = ", ".join(f"{money_str(p)}" for p in prices)
        summary = (
            f"The shop showed {shown} {promotion.currency} instead of the advertised "
            f"{money_str(promotion.advertised_price)} {promotion.currency} in {facts['observations']} observations "
            f"from {fmt_time(support[0].at)} to {fmt_time(support[-1].at)}; tolerance "
            f"{thresholds.price_tolerance} {promotion.currency}, threshold {thresholds.observations} observations "
            f"over {fmt_span(thresholds.min_span.total_seconds())}."
        )
        return facts, summary

    return _verdict(
        "price_mismatch",
        promotion,
        points,
        thresholds,
        describe,
        {"other_currency_observations": other_currency},
    )
