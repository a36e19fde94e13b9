"""``delivery_slipping``: the shop keeps selling the promoted item online while the delivery time it promises grows
from check to check ("2-4 days", then "5-7", then "8-10"), or gives way to "delivery date unknown", and the
stores are empty.

Each offer check during the promotion is read with :func:`promowatch.extract.delivery.parse_delivery` from its
stored delivery text and time, so a case bundle recomputes the same promises. What is measured is the promised
wait: the days from the check to the latest promised day. An honest "2-3 working days" shown every day, or an
"arrives by Tuesday" that moves on with the calendar, promises the same wait to whoever orders that day: its date
moves later, its wait does not, and it is not a slip. A slip is measured from the first dated promise of a run: the
run holds once the promised wait has grown by ``delivery_slip_days`` in total over at least
``delivery_slip_checks`` checks, or once a promise has turned into none. A wait that shrinks starts a new run (the
shop caught up), as does a check where the item cannot be ordered or the stores have stock. Stores are empty in the store rules' sense: at least ``stockout_share`` of the stores in scope with a known
state have none, in the store sample nearest the check. A retailer without store data is said so and the stores
are not required. Persistence then works like every rule's (invariant 3).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from promowatch.domain import money_str
from promowatch.extract.delivery import DeliveryPromise, parse_delivery
from promowatch.rules.model import OfferPoint, PromotionFacts, StoreInterval, Verdict
from promowatch.rules.persistence import Point, episodes
from promowatch.rules.stores import Crawl, StoreSample, store_samples
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import fmt_time, is_running, window_facts

RULE = "delivery_slipping"


@dataclass(frozen=True, slots=True)
class _Check:
    """What one check showed: its promise, the run's first promise and the stores' empty share."""

    promise: DeliveryPromise | None
    baseline: DeliveryPromise | None
    baseline_wait: int  # days from the run's first check to the latest day it promised
    wait: int | None  # the same for this check
    checks: int  # checks in the run so far, this one included
    stores: tuple[int, int] | None  # (no stock, known) in the nearest store sample; None: no store data


def _nearest(samples: list[StoreSample], at: datetime, thresholds: Thresholds) -> StoreSample | None:
    """The counted store sample nearest ``at`` within ``store_stale_hours`` (a stores crawl of the same run may
    come a little before or after the offer check)."""
    fresh = [s for s in samples if abs(s.at - at) <= thresholds.store_stale_after]
    return min(fresh, key=lambda s: (abs(s.at - at), s.at), default=None)


def _latest(promise: DeliveryPromise) -> date | None:
    return promise.latest or promise.earliest


def _wait(promise: DeliveryPromise, at: datetime) -> int | None:
    """Days from the check's day to the latest promised day (the day parse_delivery counted from)."""
    latest = _latest(promise)
    return None if latest is None else (latest - at.date()).days


def delivery_slipping(
    promotion: PromotionFacts,
    offers: Sequence[OfferPoint],
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    scope_name: str = "retailer",
    crawls: Sequence[Crawl] | None = None,
) -> Verdict:
    """Fires while the promoted item stays orderable online, the stores are empty (when the retailer has store
    data) and its promised delivery keeps slipping, in N observations over T."""
    samples = [
        s
        for s in store_samples(intervals, scope, thresholds, now, crawls)
        if s.known >= max(thresholds.min_stores, 1)
    ]
    store_data = bool(samples)
    points: list[Point] = []
    baseline: DeliveryPromise | None = None
    baseline_wait = 0
    previous: int | None = None
    run = 0
    for offer in sorted(offers, key=lambda o: (o.observed_at, o.id)):
        if offer.observed_at > now or not is_running(promotion, offer.observed_at, thresholds):
            continue
        holds: bool | None = None
        promise = parse_delivery(offer.delivery, offer.observed_at)
        sample = _nearest(samples, offer.observed_at, thresholds) if store_data else None
        empty = None if sample is None else sample.zero / sample.known >= thresholds.stockout_share
        if not offer.known or offer.orderable is None:
            pass  # invariant 1: a page that could not be read counts for nothing
        elif offer.orderable is False or empty is False:
            baseline, previous, run, holds = None, None, 0, False
        elif store_data and empty is None:
            pass  # no store sample near this check: cannot tell whether the stores were empty
        elif promise is not None and promise.kind == "none":
            if baseline is not None:
                run += 1
                holds = True  # a promise gave way to "delivery date unknown"
        elif promise is not None and (wait := _wait(promise, offer.observed_at)) is not None:
            if baseline is None or (previous is not None and wait < previous):
                baseline, baseline_wait, run = promise, wait, 0  # a first promise, or the shop caught up
            run += 1
            previous = wait
            holds = (
                wait - baseline_wait >= thresholds.delivery_slip.days
                and run >= thresholds.delivery_slip_checks
            )
        points.append(
            Point(
                at=offer.observed_at,
                holds=holds,
                offer_ids=(offer.id,),
                store_ids=() if sample is None else sample.store_ids,
                facts=(
                    (
                        "check",
                        _Check(
                            promise,
                            baseline,
                            baseline_wait,
                            None if promise is None else _wait(promise, offer.observed_at),
                            run,
                            None if sample is None else (sample.zero, sample.known),
                        ),
                    ),
                ),
            )
        )

    def describe(support: list[Point]) -> tuple[dict[str, Any], str]:
        checks: list[_Check] = [dict(p.facts)["check"] for p in support]
        first, last = checks[0], checks[-1]
        assert first.baseline is not None and last.baseline is not None
        start = _latest(first.baseline)
        assert start is not None
        promised = [c for c in checks if c.promise is not None]
        final = promised[-1].promise if promised else None
        end = None if final is None or final.kind == "none" else _latest(final)
        final_wait = promised[-1].wait if promised and end is not None else None
        shares: list[tuple[int, int]] = [c.stores for c in checks if c.stores is not None and c.stores[1]]
        worst = max(shares, key=lambda share: share[0] / share[1]) if shares else None
        facts: dict[str, Any] = {
            "observations": len(support),
            "first": support[0].at.isoformat(),
            "last": support[-1].at.isoformat(),
            "first_promise": {"text": first.baseline.text, **first.baseline.to_json()},
            "last_promise": None if final is None else {"text": final.text, **final.to_json()},
            "first_wait_days": first.baseline_wait,
            "last_wait_days": final_wait,
            "slip_days": None if final_wait is None else final_wait - first.baseline_wait,
            "checks_in_run": last.checks,
            "store_data": store_data,
            "worst_zero_stock": None if worst is None else list(worst),
        }
        moved = (
            f"to no delivery date ({final.text!r})"
            if end is None and final is not None
            else f"to {end.isoformat()} ({final.text!r}), a wait of {final_wait} days instead of "
            f"{first.baseline_wait}"
            if end is not None and final is not None
            else "later"
        )
        if worst is not None:
            zero, known = worst
            stores = (
                f"up to {zero} of {known} stores with a known stock ({zero / known:.0%}; {len(scope)} stores in "
                f"the {scope_name} scope) had none; threshold {thresholds.stockout_share:.0%} of stores"
            )
        else:
            stores = "the retailer publishes no store stock, so the stores were not required"
        summary = (
            f"While the promotion advertised {money_str(promotion.advertised_price)} {promotion.currency} and the "
            f"product stayed orderable online, the promised delivery moved from {start.isoformat()} "
            f"({first.baseline.text!r}) {moved}, over {last.checks} checks up to {fmt_time(support[-1].at)}; "
            f"{stores}; threshold {thresholds.delivery_slip.days} days later over "
            f"{thresholds.delivery_slip_checks} checks, {thresholds.observations} observations in a row."
        )
        return facts, summary

    found = episodes(points, thresholds, describe)
    counted = [p for p in points if p.holds is not None]
    inputs: dict[str, Any] = {
        "counted_observations": len(counted),
        "ignored_observations": len(points) - len(counted),
        "confirming_observations": sum(1 for p in counted if p.holds),
        "store_data": store_data,
        "stores_in_scope": len(scope),
        "scope": scope_name,
        "scope_store_ids": sorted(scope),
        "window": window_facts(promotion, thresholds),
        "thresholds": thresholds.to_json(),
    }
    if not counted:
        return Verdict(
            RULE, "not_applicable", "No delivery promise could be followed while the promotion ran.", inputs
        )
    current = found[-1] if found and found[-1].closed_at is None else None
    if current is not None:
        return Verdict(
            RULE, "fires", current.summary, inputs | {"facts": current.facts}, found, current.offer_ids
        )
    return Verdict(
        RULE,
        "clear",
        "The promised delivery did not keep slipping while the stores were empty.",
        inputs,
        found,
    )
