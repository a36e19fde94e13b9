"""Rules over store stock: ``store_stockout`` (too little stock when the promotion starts) and
``store_sellout`` (the stores run empty later, while the promotion is still advertised).

The share of empty stores is one figure per crawl and product (:func:`store_samples`), the same figure in the
rules, the case chart and its headline. Store observations are intervals; with the stores crawls' times the
sample of a crawl counts each store checked in it. Without them (data from before crawls were recorded) the
rule samples the interval boundaries, merged into one sweep while they follow each other within minutes, and
weighs each sample by the checks it stands for.
Counting starts one hour after opening on day one (shelves get stocked at opening). A stockout that begins
within ``min_stock_days`` of the start is ``store_stockout``; one that begins later is ``store_sellout``.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from promowatch.domain import Availability
from promowatch.rules.model import OfferPoint, PromotionFacts, StoreInterval, Verdict, zero_stock_states
from promowatch.rules.persistence import Point, episodes
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import fmt_span, fmt_time, is_running, starts_at, window_facts

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def checks_between(interval: StoreInterval, after: datetime | None, until: datetime) -> int:
    """How many of the interval's checks fell in (after, until], assuming evenly spaced checks."""
    return _checks_between(
        _micros(interval.first_seen),
        _micros(interval.last_seen),
        interval.checks,
        None if after is None else _micros(after),
        _micros(until),
    )


def _micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _checks_between(first: int, last: int, checks: int, after: int | None, until: int) -> int:
    # integer microseconds / 1e6 is the same float timedelta.total_seconds() gives, so this is exact
    if checks <= 1 or last <= first:
        times = (first,) if checks <= 1 else (first, last)
        return sum(1 for t in times if (after is None or t > after) and t <= until)
    step = (last - first) / 1_000_000 / (checks - 1)
    high = math.floor((until - first) / 1_000_000 / step + 1e-9)
    low = -1 if after is None else math.floor((after - first) / 1_000_000 / step + 1e-9)
    high = min(high, checks - 1)
    low = max(low, -1)
    return max(0, high - low)


def sweep_times(intervals: Sequence[StoreInterval], thresholds: Thresholds) -> list[datetime]:
    """The moments the stores were looked at: interval boundaries, one per sweep."""
    times = sorted({t for i in intervals for t in (i.first_seen, i.last_seen)})
    return _merge_sweeps(times, thresholds.sample_merge)


# a crawl checks one product's stores in a burst; a cluster longer than this is not one crawl
_MAX_SWEEP = 12


def _merge_sweeps(times: list[datetime], merge: timedelta) -> list[datetime]:
    """Sorted boundary times merged into sweeps: times that follow each other within ``merge`` are one sweep
    (at most ``_MAX_SWEEP`` merges long), named by its last time."""
    sweeps: list[datetime] = []
    cluster_start: datetime | None = None
    for moment in times:
        if (
            cluster_start is not None
            and moment - sweeps[-1] <= merge
            and moment - cluster_start <= merge * _MAX_SWEEP
        ):
            sweeps[-1] = moment
        else:
            cluster_start = moment
            sweeps.append(moment)
    return sweeps


@dataclass(frozen=True, slots=True)
class Crawl:
    """One stores crawl: when it started and finished (None: it was stopped before it finished)."""

    started_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class StoreSample:
    """The stores in scope at one crawl: how many had no stock of those with a known state."""

    at: datetime
    zero: int
    known: int
    weight: int  # checks this sample stands for (1 per crawl)
    store_ids: tuple[int, ...]  # the store observations it counted

    @property
    def share(self) -> float | None:
        return self.zero / self.known if self.known else None


def _by_store(
    intervals: Sequence[StoreInterval], scope: Collection[int], now: datetime
) -> dict[int, list[StoreInterval]]:
    by_store: dict[int, list[StoreInterval]] = defaultdict(list)
    for interval in intervals:
        if interval.store_id in scope and interval.first_seen <= now:
            by_store[interval.store_id].append(interval)
    for series in by_store.values():
        series.sort(key=lambda i: i.first_seen)
    return by_store


def store_samples(
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    crawls: Sequence[Crawl] | None = None,
) -> list[StoreSample]:
    """One sample per crawl of the product's stores up to ``now``, oldest first.

    With ``crawls``, a crawl's sample counts the stores whose state it checked: the interval current at the
    crawl's end that was still being seen at its start. Without, the sweeps of the interval boundaries.
    """
    by_store = _by_store(intervals, scope, now)
    if crawls is None:
        return _boundary_samples(by_store, thresholds, now)
    ordered = sorted(crawls, key=lambda c: c.started_at)
    samples = []
    for number, crawl in enumerate(ordered):
        if crawl.started_at > now:
            break
        following = ordered[number + 1].started_at if number + 1 < len(ordered) else now
        moment = min(crawl.finished_at or following, now)
        zero = known = 0
        ids = []
        for series in by_store.values():
            current = None
            for interval in series:  # few intervals per store: a store's state changes rarely
                if interval.first_seen > moment:
                    break
                current = interval
            if current is None or current.last_seen < crawl.started_at:
                continue  # this crawl did not check the store
            ids.append(current.id)
            state = zero_stock_states((current,))[0]
            if state is None:
                continue
            known += 1
            zero += state
        if ids:
            samples.append(StoreSample(moment, zero, known, 1, tuple(ids)))
    return samples


def _boundary_samples(
    by_store: dict[int, list[StoreInterval]], thresholds: Thresholds, now: datetime
) -> list[StoreSample]:
    # One sweep over the sorted sample moments: each store's current interval only moves forward, so a
    # pointer per store replaces a search per (moment, store); times are integer microseconds from here on.
    boundaries = sorted(
        {t for series in by_store.values() for i in series for t in (i.first_seen, i.last_seen)}
    )
    micros = {t: _micros(t) for t in boundaries}
    stale = thresholds.store_stale_after // _MICROSECOND
    # per store: the intervals' first_seen (for the pointer) and (first, last, last + stale, checks, step,
    # zero stock, id) rows; step is None where _checks_between takes its few-checks branch
    columns = []
    for series in by_store.values():
        rows = []
        for interval, state in zip(series, zero_stock_states(series), strict=True):
            first, last, checks = micros[interval.first_seen], micros[interval.last_seen], interval.checks
            step = None if checks <= 1 or last <= first else (last - first) / 1_000_000 / (checks - 1)
            rows.append((first, last, last + stale, checks, step, state, interval.id))
        columns.append(([row[0] for row in rows], rows))
    positions = [-1] * len(columns)
    samples: list[StoreSample] = []
    previous: int | None = None
    for moment in _merge_sweeps(boundaries, thresholds.sample_merge):
        if moment > now:
            break
        at = micros[moment]
        zero, known, ids, weight = 0, 0, [], 0
        for number, (firsts, rows) in enumerate(columns):
            index = positions[number]
            while index + 1 < len(firsts) and firsts[index + 1] <= at:
                index += 1
            positions[number] = index
            if index < 0:
                continue
            first, last, fresh_until, checks, step, state, interval_id = rows[index]
            # _checks_between inlined: this loop runs once per (sweep, store)
            if step is None:
                count = _checks_between(first, last, checks, previous, at)
            else:
                high = min(math.floor((at - first) / 1_000_000 / step + 1e-9), checks - 1)
                low = -1 if previous is None else math.floor((previous - first) / 1_000_000 / step + 1e-9)
                count = high - max(low, -1)
            if count > weight:
                weight = count
            if state is None or at > fresh_until:
                continue
            known += 1
            zero += state
            ids.append(interval_id)
        previous = at
        samples.append(StoreSample(moment, zero, known, max(weight, 1), tuple(ids)))
    return samples


def store_stockout(
    promotion: PromotionFacts,
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    scope_name: str = "retailer",
    crawls: Sequence[Crawl] | None = None,
    offers: Sequence[OfferPoint] = (),
) -> Verdict:
    """Fires while at least ``stockout_share`` of the stores in ``scope`` with a known state have no stock, in
    a stockout that began within ``min_stock_days`` of the promotion's start (too little stock for the ad)."""
    return _store_rule(
        "store_stockout", promotion, intervals, scope, thresholds, now, scope_name, crawls, offers
    )


def store_sellout(
    promotion: PromotionFacts,
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    scope_name: str = "retailer",
    crawls: Sequence[Crawl] | None = None,
    offers: Sequence[OfferPoint] = (),
) -> Verdict:
    """Fires while at least ``sellout_share`` of the stores in ``scope`` with a known state have no stock in a
    stockout that began later than ``min_stock_days`` after the start, while the promotion is advertised."""
    return _store_rule(
        "store_sellout", promotion, intervals, scope, thresholds, now, scope_name, crawls, offers
    )


def _store_rule(
    rule: str,
    promotion: PromotionFacts,
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    scope_name: str,
    crawls: Sequence[Crawl] | None,
    offers: Sequence[OfferPoint],
) -> Verdict:
    """The two store rules differ in the share they take and in when a stockout may begin: within
    ``min_stock_days`` of the start (``store_stockout``) or later (``store_sellout``)."""
    start = starts_at(promotion)
    late = start + thresholds.min_stock_duration
    sellout = rule == "store_sellout"

    def sentence(zero: int, known: int, worst: StoreSample, support: list[StoreSample], lasted: float) -> str:
        measured = (
            f"{zero} of {known} stores with a known stock ({zero / known:.0%}; {len(scope)} stores in the "
            f"{scope_name} scope) had no stock at {fmt_time(worst.at)}"
        )
        seen = f"{fmt_time(support[0].at)} to {fmt_time(support[-1].at)} in {len(support)} crawls"
        if sellout:
            return (
                f"{measured} while the promotion was still advertised; the stores were seen sold out from {seen}, "
                f"beginning {fmt_span(lasted)} after the promotion started; threshold "
                f"{thresholds.sellout_share:.0%} of stores."
            )
        return (
            f"{measured}; the stockout was seen from {seen} and began {fmt_span(lasted)} after the promotion "
            f"started; threshold {thresholds.stockout_share:.0%} of stores, counted from "
            f"{fmt_span(thresholds.first_day_grace.total_seconds())} after the start, within the first "
            f"{fmt_span(thresholds.min_stock_duration.total_seconds())}."
        )

    return _store_verdict(
        rule,
        promotion,
        store_samples(intervals, scope, thresholds, now, crawls),
        scope,
        scope_name,
        thresholds,
        thresholds.sellout_share if sellout else thresholds.stockout_share,
        (lambda begun: begun >= late) if sellout else (lambda begun: begun < late),
        sentence,
        "Stores in scope had stock or no sell-out persisted while the promotion was advertised."
        if sellout
        else "Stores in scope had stock or the stockout did not persist.",
        "sweep" if crawls is None else "crawl",
        offers,
    )


def _preorder(offers: Sequence[OfferPoint]) -> Callable[[datetime], bool]:
    """Whether the shop's last known online state at a moment was pre-order: an item not yet released is not
    out of stock in the stores, it is not in them yet."""
    known = sorted((o for o in offers if o.known), key=lambda o: (o.observed_at, o.id))
    times = [o.observed_at for o in known]

    def unreleased(moment: datetime) -> bool:
        index = bisect_right(times, moment) - 1
        return index >= 0 and known[index].availability is Availability.PREORDER

    return unreleased


def _store_verdict(
    rule: str,
    promotion: PromotionFacts,
    samples: list[StoreSample],
    scope: Collection[int],
    scope_name: str,
    thresholds: Thresholds,
    share: float,
    may_open: Callable[[datetime], bool],
    sentence: Callable[[int, int, StoreSample, list[StoreSample], float], str],
    clear: str,
    sampled_by: str,
    offers: Sequence[OfferPoint],
) -> Verdict:
    start = starts_at(promotion)
    # shelves are stocked in the first hour of a stated start; a start taken from the first sighting is no
    # opening, and the checks of that run count
    counting_from = start + thresholds.first_day_grace if promotion.valid_from is not None else start
    by_moment = {sample.at: sample for sample in samples}
    unreleased = _preorder(offers)
    points = [
        Point(
            at=sample.at,
            holds=None
            if sample.known < max(thresholds.min_stores, 1) or unreleased(sample.at)
            else sample.zero / sample.known >= share,
            weight=sample.weight,
            store_ids=sample.store_ids,
        )
        for sample in samples
        if sample.at >= counting_from and is_running(promotion, sample.at, thresholds)
    ]

    def describe(support: list[Point]) -> tuple[dict[str, Any], str]:
        crawls = [by_moment[p.at] for p in support]
        worst = max(crawls, key=lambda s: s.zero / max(s.known, 1))
        lasted = (support[0].at - start).total_seconds()
        facts = {
            "checks": sum(p.weight for p in support),
            "first": support[0].at.isoformat(),
            "last": support[-1].at.isoformat(),
            "stores_in_scope": len(scope),
            "scope": scope_name,
            "worst_zero_stock": worst.zero,
            "worst_known": worst.known,
            "worst_at": worst.at.isoformat(),
            "shares": [[s.at.isoformat(), s.zero, s.known] for s in crawls],
            "stock_lasted_hours": round(lasted / 3600, 2),
        }
        return facts, sentence(worst.zero, worst.known, worst, crawls, lasted)

    found = episodes(points, thresholds, describe, may_open)
    counted_points = [p for p in points if p.holds is not None]
    inputs: dict[str, Any] = {
        "stores_in_scope": len(scope),
        "scope": scope_name,
        "scope_store_ids": sorted(scope),  # so a case bundle can recompute over the same stores
        "store_observations": len({i for s in samples for i in s.store_ids}),
        "samples": len(counted_points),
        "samples_at_or_above_share": sum(1 for p in counted_points if p.holds),
        "sampled_by": sampled_by,
        "counting_from": counting_from.isoformat(),
        "window": window_facts(promotion, thresholds),
        "thresholds": thresholds.to_json(),
    }
    if not counted_points:
        return Verdict(rule, "not_applicable", "No store stock could be counted.", inputs)
    ongoing = found[-1] if found and found[-1].closed_at is None else None
    if ongoing is not None:
        return Verdict(
            rule,
            "fires",
            ongoing.summary,
            inputs | {"facts": ongoing.facts},
            found,
            store_ids=ongoing.store_ids,
        )
    return Verdict(rule, "clear", clear, inputs, found)
