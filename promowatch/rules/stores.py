"""Rule over store stock: ``store_stockout``.

Store observations are intervals, so the rule samples the stores at each sweep (the interval boundaries,
merged when they lie within minutes of each other) and weighs each sample by the checks it stands for.
Counting starts one hour after opening on day one (shelves get stocked at opening); a stockout that begins
later than ``min_stock_days`` after the start is an ordinary sell-out and opens nothing.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from promowatch.rules.model import PromotionFacts, StoreInterval, Verdict, zero_stock_states
from promowatch.rules.persistence import Point, episodes
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import fmt_span, fmt_time, is_running, starts_at

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


def _merge_sweeps(times: list[datetime], merge: timedelta) -> list[datetime]:
    """Sorted boundary times merged into sweeps: a sweep is named by the last time of its cluster."""
    sweeps: list[datetime] = []
    cluster_start: datetime | None = None
    for moment in times:
        if cluster_start is not None and moment - cluster_start <= merge:
            sweeps[-1] = moment
        else:
            cluster_start = moment
            sweeps.append(moment)
    return sweeps


def store_stockout(
    promotion: PromotionFacts,
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    scope_name: str = "retailer",
) -> Verdict:
    """Fires while at least ``stockout_share`` of the stores in ``scope`` with a known state have no stock."""
    start = starts_at(promotion)
    counting_from = start + thresholds.first_day_grace
    by_store: dict[int, list[StoreInterval]] = defaultdict(list)
    for interval in intervals:
        if interval.store_id in scope and interval.first_seen <= now:
            by_store[interval.store_id].append(interval)
    for series in by_store.values():
        series.sort(key=lambda i: i.first_seen)

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
    points: list[Point] = []
    previous: int | None = None
    for moment in _merge_sweeps(boundaries, thresholds.sample_merge):
        if moment > now:
            break
        at = micros[moment]
        if moment < counting_from or not is_running(promotion, moment, thresholds):
            previous = at
            continue
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
        holds = None if known < max(thresholds.min_stores, 1) else zero / known >= thresholds.stockout_share
        points.append(
            Point(
                at=moment,
                holds=holds,
                weight=max(weight, 1),
                store_ids=tuple(ids),
                facts=(("zero", zero), ("known", known)),
            )
        )

    def may_open(run_start: datetime) -> bool:
        return run_start < start + thresholds.min_stock_duration

    def describe(support: list[Point]) -> tuple[dict[str, Any], str]:
        worst = max(support, key=lambda p: dict(p.facts)["zero"] / max(dict(p.facts)["known"], 1))
        zero, known = dict(worst.facts)["zero"], dict(worst.facts)["known"]
        lasted = (support[0].at - start).total_seconds()
        facts = {
            "checks": sum(p.weight for p in support),
            "first": support[0].at.isoformat(),
            "last": support[-1].at.isoformat(),
            "stores_in_scope": len(scope),
            "scope": scope_name,
            "worst_zero_stock": zero,
            "worst_known": known,
            "worst_at": worst.at.isoformat(),
            "stock_lasted_hours": round(lasted / 3600, 2),
        }
        summary = (
            f"{zero} of {known} stores with a known stock ({zero / known:.0%}; {len(scope)} stores in the "
            f"{scope_name} scope) had no stock at {fmt_time(worst.at)}; the stockout was seen from "
            f"{fmt_time(support[0].at)} to {fmt_time(support[-1].at)} in {facts['checks']} checks and began "
            f"{fmt_span(lasted)} after the promotion started; threshold {thresholds.stockout_share:.0%} of stores, "
            f"counted from {fmt_span(thresholds.first_day_grace.total_seconds())} after the start, within the "
            f"first {fmt_span(thresholds.min_stock_duration.total_seconds())}."
        )
        return facts, summary

    found = episodes(points, thresholds, describe, may_open)
    counted_points = [p for p in points if p.holds is not None]
    inputs: dict[str, Any] = {
        "stores_in_scope": len(scope),
        "scope": scope_name,
        "scope_store_ids": sorted(scope),  # so a case bundle can recompute over the same stores
        "stores_observed": len(by_store),
        "samples": len(counted_points),
        "samples_at_or_above_share": sum(1 for p in counted_points if p.holds),
        "counting_from": counting_from.isoformat(),
        "thresholds": thresholds.to_json(),
    }
    if not counted_points:
        return Verdict("store_stockout", "not_applicable", "No store stock could be counted.", inputs)
    ongoing = found[-1] if found and found[-1].closed_at is None else None
    if ongoing is not None:
        return Verdict(
            "store_stockout",
            "fires",
            ongoing.summary,
            inputs | {"facts": ongoing.facts},
            found,
            store_ids=ongoing.store_ids,
        )
    return Verdict(
        "store_stockout", "clear", "Stores in scope had stock or the stockout did not persist.", inputs, found
    )
