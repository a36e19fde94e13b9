"""Rule ``reference_price_unsupported``: was the "instead of" price really charged?

Two variants, chosen per retailer (``reference_rule``):

* ``eu`` — Price Indication Directive 98/6/EC art. 6a: the prior price shown must be the lowest price applied
  during the 30 days before the reduction.
* ``ch`` — Swiss PBV art. 16: the reference price was charged immediately before and the comparison is shown
  at most half as long as it was charged, at most two months; or it was charged for 30 consecutive days. A
  different price observed immediately before the reduction decides the case on its own.

The history is what promowatch observed. A price holds between two observations only when they are at most
``max_history_gap`` apart; when the gaps leave the question open the verdict is ``insufficient_history``.
The verdict rests on history, which does not change afterwards, so a finding is confirmed when it opens and
closes when the promotion ends.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from promowatch.domain import money_str
from promowatch.rules.model import Episode, OfferPoint, PromotionFacts, Status, Verdict
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import ends_at, fmt_span, fmt_time, is_running, starts_at

RULE = "reference_price_unsupported"


def _claimed(
    promotion: PromotionFacts, offers: Sequence[OfferPoint], thresholds: Thresholds
) -> Decimal | None:
    if promotion.reference_price is not None:
        return promotion.reference_price
    shown = Counter(
        o.regular_price
        for o in offers
        if o.known and o.regular_price is not None and is_running(promotion, o.observed_at, thresholds)
    )
    return shown.most_common(1)[0][0] if shown else None


def _history(promotion: PromotionFacts, offers: Sequence[OfferPoint], before: datetime) -> list[OfferPoint]:
    return sorted(
        (
            o
            for o in offers
            if o.known
            and o.price is not None
            and o.observed_at < before
            and (o.currency is None or o.currency == promotion.currency)
        ),
        key=lambda o: o.observed_at,
    )


def _covers(history: list[OfferPoint], since: datetime, until: datetime, gap: timedelta) -> bool:
    """True when the observations leave no gap longer than ``gap`` anywhere in since..until."""
    before = [o for o in history if o.observed_at <= since]
    inside = [o for o in history if since < o.observed_at < until]
    if not before:
        return False
    times = [before[-1].observed_at, *(o.observed_at for o in inside), until]
    return all(b - a <= gap for a, b in itertools.pairwise(times))


def _episode(
    promotion: PromotionFacts,
    opened_at: datetime,
    now: datetime,
    thresholds: Thresholds,
    ids: tuple[int, ...],
    facts: dict[str, Any],
    summary: str,
) -> tuple[Episode, ...]:
    end = ends_at(promotion, thresholds)
    if opened_at > now or (end is not None and opened_at > end):
        return ()
    closed_at = end if end is not None and end <= now else None
    return (Episode(opened_at, opened_at, closed_at, offer_ids=ids, facts=facts, summary=summary),)


def reference_price_unsupported(
    promotion: PromotionFacts,
    offers: Sequence[OfferPoint],
    thresholds: Thresholds,
    now: datetime,
    variant: Literal["eu", "ch"],
) -> Verdict:
    """The verdict of the retailer's variant; ``insufficient_history`` when the observed history cannot decide."""
    reference = _claimed(promotion, offers, thresholds)
    start = starts_at(promotion)
    inputs: dict[str, Any] = {
        "variant": variant,
        "reference_price": money_str(reference),
        "currency": promotion.currency,
        "reduction_start": start.isoformat(),
        "thresholds": thresholds.to_json(),
    }
    if reference is None:
        return Verdict(RULE, "not_applicable", "The promotion shows no reference price.", inputs)
    if start > now:
        return Verdict(RULE, "not_applicable", "The promotion has not started.", inputs)
    if variant == "eu":
        return _eu(promotion, offers, thresholds, now, reference, start, inputs)
    return _ch(promotion, offers, thresholds, now, reference, start, inputs)


def _eu(
    promotion: PromotionFacts,
    offers: Sequence[OfferPoint],
    thresholds: Thresholds,
    now: datetime,
    reference: Decimal,
    start: datetime,
    inputs: dict[str, Any],
) -> Verdict:
    since = start - thresholds.eu_lookback
    history = _history(promotion, offers, start)
    before = [o for o in history if o.observed_at <= since]
    window = ([before[-1]] if before else []) + [o for o in history if o.observed_at > since]
    complete = _covers(history, since, start, thresholds.max_history_gap)
    inputs |= {"lookback_from": since.isoformat(), "history_complete": complete, "observations": len(window)}
    if not window:
        return Verdict(
            RULE, "insufficient_history", "No price was observed in the 30 days before the reduction.", inputs
        )
    lowest_obs = min(window, key=lambda o: (o.price, o.observed_at))
    lowest = lowest_obs.price
    assert lowest is not None
    inputs["lowest_price"] = money_str(lowest)
    inputs["lowest_at"] = lowest_obs.observed_at.isoformat()
    tolerance = thresholds.price_tolerance
    # an observed lower price settles it even with gaps: the true lowest can only be lower still
    decided = lowest < reference - tolerance or (complete and abs(reference - lowest) > tolerance)
    if decided:
        summary = (
            f"The reference price {money_str(reference)} {promotion.currency} differs from the lowest price "
            f"observed in the {thresholds.eu_lookback.days} days before the reduction of {fmt_time(start)}: "
            f"{money_str(lowest)} {promotion.currency} on {fmt_time(lowest_obs.observed_at)} "
            f"({len(window)} observations, {'complete' if complete else 'partial'} history; tolerance "
            f"{tolerance} {promotion.currency})."
        )
        facts = {k: inputs[k] for k in ("lowest_price", "lowest_at", "history_complete", "observations")}
        found = _episode(promotion, start, now, thresholds, tuple(o.id for o in window), facts, summary)
        status: Status = "fires" if found and found[-1].closed_at is None else "clear"
        return Verdict(RULE, status, summary, inputs, found, tuple(o.id for o in window))
    if complete:
        return Verdict(
            RULE, "clear", "The reference price equals the lowest price of the 30 days before.", inputs
        )
    return Verdict(
        RULE,
        "insufficient_history",
        f"The observed history of the {thresholds.eu_lookback.days} days before the reduction has gaps longer "
        f"than {fmt_span(thresholds.max_history_gap.total_seconds())}; lowest observed "
        f"{money_str(lowest)} {promotion.currency}.",
        inputs,
    )


def _runs(
    history: list[OfferPoint], reference: Decimal, tolerance: Decimal, gap: timedelta, end: datetime
) -> list[tuple[datetime, datetime, bool, list[OfferPoint]]]:
    """Stretches at the reference price: (first seen, last time it certainly held, bounded before, points)."""
    runs = []
    current: list[OfferPoint] = []
    for obs in history:
        assert obs.price is not None
        at_reference = abs(obs.price - reference) <= tolerance
        follows = bool(current) and obs.observed_at - current[-1].observed_at <= gap
        if at_reference and (follows or not current):
            current.append(obs)
            continue
        if current:
            runs.append(_close_run(history, current, obs.observed_at, gap))
            current = []
        if at_reference:
            current = [obs]
    if current:
        runs.append(_close_run(history, current, end, gap))
    return runs


def _close_run(
    history: list[OfferPoint], run: list[OfferPoint], next_at: datetime, gap: timedelta
) -> tuple[datetime, datetime, bool, list[OfferPoint]]:
    first = run[0]
    position = history.index(first)
    bounded = position > 0 and first.observed_at - history[position - 1].observed_at <= gap
    held_until = next_at if next_at - run[-1].observed_at <= gap else run[-1].observed_at
    return first.observed_at, held_until, bounded, run


def _ch(
    promotion: PromotionFacts,
    offers: Sequence[OfferPoint],
    thresholds: Thresholds,
    now: datetime,
    reference: Decimal,
    start: datetime,
    inputs: dict[str, Any],
) -> Verdict:
    tolerance, gap = thresholds.price_tolerance, thresholds.max_history_gap
    history = _history(promotion, offers, start)
    end = ends_at(promotion, thresholds)
    shown = (min(now, end) if end is not None else now) - start
    runs = _runs(history, reference, tolerance, gap, start)
    last = history[-1] if history else None
    inputs |= {"observations": len(history), "shown_days": round(shown.total_seconds() / 86400, 2)}

    # A: charged immediately before, and shown at most half as long as charged (max two months)
    charged_before: bool | None = None
    allowed: timedelta | None = None
    display_ok: bool | None
    if last is not None and start - last.observed_at <= gap:
        assert last.price is not None
        charged_before = abs(last.price - reference) <= tolerance
    if charged_before is None:
        display_ok = None
    elif not charged_before:
        display_ok = False
    else:
        first_at, _, bounded, _ = runs[-1]
        charged = start - first_at
        allowed = min(charged / 2, thresholds.ch_max_display)
        inputs |= {"charged_days": round(charged.total_seconds() / 86400, 2), "charged_days_bounded": bounded}
        if shown <= allowed:
            display_ok = True
        elif bounded or shown > thresholds.ch_max_display:
            display_ok = False
        else:
            display_ok = None
    inputs |= {"charged_immediately_before": charged_before, "display_within_limit": display_ok}
    if allowed is not None:
        inputs["allowed_display_days"] = round(allowed.total_seconds() / 86400, 2)

    # B: charged for 30 consecutive days within the lookback
    since = start - thresholds.ch_lookback
    long_runs = [r for r in runs if r[1] - r[0] >= thresholds.ch_min_run and r[1] > since]
    long_run: bool | None = True if long_runs else (False if _covers(history, since, start, gap) else None)
    inputs["charged_30_consecutive_days"] = long_run
    if long_runs:
        inputs["longest_run_days"] = round(max((r[1] - r[0]) for r in long_runs).total_seconds() / 86400, 2)

    # A self-comparison needs the reference to be the price charged immediately before the reduction: when a
    # different price was observed right before, an older 30-day stretch cannot make up for it.
    if charged_before is not False and (display_ok or long_run):
        return Verdict(RULE, "clear", "The reference price was charged as PBV art. 16 requires.", inputs)
    if charged_before is not False and (display_ok is None or long_run is None):
        return Verdict(
            RULE,
            "insufficient_history",
            f"The observed history ({len(history)} price observations before {fmt_time(start)}) cannot tell "
            f"whether {money_str(reference)} {promotion.currency} was charged as PBV art. 16 requires.",
            inputs,
        )
    if not charged_before:
        assert last is not None
        opened_at = start
        reason = (
            f"the price observed immediately before ({fmt_time(last.observed_at)}) was "
            f"{money_str(last.price)} {promotion.currency}"
        )
    else:
        assert allowed is not None
        opened_at = start + allowed if inputs["charged_days_bounded"] else start + thresholds.ch_max_display
        reason = (
            f"it was charged for {inputs['charged_days']} days before the reduction and the comparison has been "
            f"shown for {inputs['shown_days']} days (limit {inputs['allowed_display_days']} days)"
        )
    if long_run is False:
        reason += (
            f"; it was not charged for {thresholds.ch_min_run.days} consecutive days in the "
            f"{thresholds.ch_lookback.days} days before"
        )
    summary = (
        f"The reference price {money_str(reference)} {promotion.currency} of the reduction of {fmt_time(start)} "
        f"does not meet PBV art. 16 in the observed history: {reason}."
    )
    ids = tuple(o.id for o in history if o.observed_at >= since)
    facts = {k: v for k, v in inputs.items() if k != "thresholds"}
    found = _episode(promotion, opened_at, now, thresholds, ids, facts, summary)
    status: Status = "fires" if found and found[-1].closed_at is None else "clear"
    return Verdict(RULE, status, summary, inputs, found, ids)
