"""Invariant 3: a condition becomes an episode only after N confirming observations over at least T, and
ends only after it has stopped for the same persistence. Pure: the same points always give the same episodes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from promowatch.rules.model import Episode
from promowatch.rules.thresholds import Thresholds


@dataclass(frozen=True, slots=True)
class Point:
    """One look at a condition: True holds, False does not, None cannot tell (does not count, does not break)."""

    at: datetime
    holds: bool | None
    weight: int = 1  # how many real observations this point stands for (store intervals cover many checks)
    offer_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
    facts: tuple[tuple[str, Any], ...] = ()


class _Run:
    """Consecutive points with the same answer."""

    def __init__(self, point: Point) -> None:
        self.start = point.at
        self.end = point.at
        self.count = point.weight
        self.points = [point]

    def add(self, point: Point) -> None:
        self.end = point.at
        self.count += point.weight
        self.points.append(point)

    def reached(self, count: int, span_seconds: float) -> bool:
        return self.count >= count and (self.end - self.start).total_seconds() >= span_seconds


def episodes(
    points: Sequence[Point],
    thresholds: Thresholds,
    describe: Callable[[list[Point]], tuple[dict[str, Any], str]] | None = None,
    may_open: Callable[[datetime], bool] | None = None,
) -> tuple[Episode, ...]:
    """Walk the points in time order and return the episodes of the condition.

    ``may_open(run_start)`` can refuse a run (e.g. a stockout that began after the first days); a refused run
    opens nothing until the condition stops, so one continuous run is never split into two kinds.
    ``describe(points)`` turns an episode's confirming points into (facts, summary).
    """
    span = thresholds.min_span.total_seconds()
    confirm_span = thresholds.confirm_span.total_seconds()
    result: list[Episode] = []
    holding: _Run | None = None  # the confirming run of the current (or candidate) episode
    clearing: _Run | None = None
    opened_at: datetime | None = None
    confirmed_at: datetime | None = None
    supporting: list[Point] = []

    def close(at: datetime | None) -> None:
        assert opened_at is not None
        facts, summary = describe(supporting) if describe else ({}, "")
        result.append(
            Episode(
                opened_at=opened_at,
                confirmed_at=confirmed_at,
                closed_at=at,
                offer_ids=tuple(dict.fromkeys(i for p in supporting for i in p.offer_ids)),
                store_ids=tuple(dict.fromkeys(i for p in supporting for i in p.store_ids)),
                facts=facts,
                summary=summary,
            )
        )

    refused = False  # the current run of holding points began where may_open refused it
    for point in sorted((p for p in points if p.holds is not None), key=lambda p: p.at):
        if opened_at is None:
            if point.holds:
                if refused:
                    continue  # still the refused run: its later points do not start another
                if holding is None:
                    if may_open is not None and not may_open(point.at):
                        refused = True
                        continue
                    holding = _Run(point)
                else:
                    holding.add(point)
                if holding.reached(thresholds.observations, span):
                    opened_at = point.at
                    supporting = list(holding.points)
                    confirmed_at = None
                    if holding.reached(thresholds.confirm_observations, confirm_span):
                        confirmed_at = point.at
            else:
                holding = None
                refused = False
            continue
        # an episode is open
        if point.holds:
            clearing = None
            supporting.append(point)
            assert holding is not None
            holding.add(point)
            if confirmed_at is None and holding.reached(thresholds.confirm_observations, confirm_span):
                confirmed_at = point.at
        else:
            if clearing is None:
                clearing = _Run(point)
            else:
                clearing.add(point)
            if clearing.reached(thresholds.observations, span):
                close(point.at)
                opened_at = None
                holding = None
                clearing = None
                supporting = []
    if opened_at is not None:
        close(None)
    return tuple(result)
