"""store_stockout over store intervals. Defaults: share ≥ 50 %, counted from 1 h after opening on day one,
stockouts must begin within 2 days, N=3 checks over 6 h. Source: design.md §6 (store_stockout row)."""

from __future__ import annotations

import pytest

from promowatch.rules import Thresholds, store_stockout
from promowatch.rules.stores import checks_between
from tests.rules.factories import at, interval, promotion

DEFAULT = Thresholds()
NOW = at(7 * 24)
STORES = {1, 2, 3, 4}


@pytest.mark.parametrize(
    ("intervals", "status", "opened_h"),
    [
        # 2 of 4 stores empty from 1 h to 13 h, checked hourly (13 checks): 50 % = threshold; the sample at
        # 1 h is first counted (grace), weight 1 + 12 more checks at 13 h -> opens at 13 h (span 12 h ≥ 6 h)
        pytest.param(
            [
                interval(1, 1, 1, 13, 13, "out_of_stock"),
                interval(2, 2, 1, 13, 13, "out_of_stock", 0),
                interval(3, 3, 1, 13, 13, "in_stock", 4),
                interval(4, 4, 1, 13, 13, "in_stock", 2),
            ],
            "fires",
            13.0,
            id="half-the-stores-empty-day-one",
        ),
        # 1 of 4 = 25 % < 50 %
        pytest.param(
            [
                interval(1, 1, 1, 13, 13, "out_of_stock"),
                interval(2, 2, 1, 13, 13, "in_stock"),
                interval(3, 3, 1, 13, 13, "in_stock"),
                interval(4, 4, 1, 13, 13, "in_stock"),
            ],
            "clear",
            None,
            id="quarter-empty-below-share",
        ),
        # quantity 0 with "limited" status counts as zero stock; unknown stores are left out of the share:
        # 2 zero of 2 known (stores 3 and 4 unknown) = 100 %
        pytest.param(
            [
                interval(1, 1, 1, 13, 13, "limited", 0),
                interval(2, 2, 1, 13, 13, "out_of_stock"),
                interval(3, 3, 1, 13, 13, "unknown"),
                interval(4, 4, 1, 13, 13, "unknown"),
            ],
            "fires",
            13.0,
            id="unknown-stores-not-in-share",
        ),
        # stores empty only before 1 h after opening (0..0.5 h), stocked afterwards: not counted
        pytest.param(
            [
                interval(1, 1, 0, 0.5, 2, "out_of_stock"),
                interval(2, 2, 0, 0.5, 2, "out_of_stock"),
                interval(3, 1, 1, 13, 13, "in_stock"),
                interval(4, 2, 1, 13, 13, "in_stock"),
            ],
            "clear",
            None,
            id="empty-before-grace-hour-ignored",
        ),
        # stock lasted 3 days: stores empty from 72 h -> ordinary sell-out, no episode
        pytest.param(
            [
                interval(1, 1, 1, 71, 71, "in_stock"),
                interval(2, 2, 1, 71, 71, "in_stock"),
                interval(3, 1, 72, 100, 29, "out_of_stock"),
                interval(4, 2, 72, 100, 29, "out_of_stock"),
            ],
            "clear",
            None,
            id="sold-out-after-two-days-is-not-a-finding",
        ),
        # stock lasted 30 h (< 2 days): stores empty from 30 h to 42 h -> opens at 36 h (3 checks, 6 h)
        pytest.param(
            [
                interval(1, 1, 1, 29, 29, "in_stock"),
                interval(2, 2, 1, 29, 29, "in_stock"),
                interval(3, 1, 30, 42, 13, "out_of_stock"),
                interval(4, 2, 30, 42, 13, "out_of_stock"),
            ],
            "fires",
            42.0,
            id="sold-out-within-two-days",
        ),
    ],
)
def test_store_stockout(intervals, status, opened_h):
    verdict = store_stockout(promotion(), intervals, STORES, DEFAULT, NOW)
    assert verdict.status == status
    if opened_h is None:
        assert verdict.episodes == ()
    else:
        assert verdict.episodes[0].opened_at == at(opened_h)
        assert "illegal" not in verdict.summary


def test_region_scope_names_share():
    intervals = [interval(1, 1, 1, 13, 13, "out_of_stock"), interval(2, 2, 1, 13, 13, "in_stock")]
    verdict = store_stockout(promotion(), intervals, {1, 2}, DEFAULT, NOW, "region Vaud")
    assert verdict.status == "fires"
    assert "1 of 2 stores" in verdict.summary and "region Vaud" in verdict.summary


@pytest.mark.parametrize(
    ("first", "last", "checks", "after", "until", "expected"),
    [
        # checks at 0, 1, ..., 12 h
        pytest.param(0, 12, 13, None, 12, 13, id="all"),
        pytest.param(0, 12, 13, 0, 12, 12, id="after-first"),
        pytest.param(0, 12, 13, 2.5, 6, 4, id="middle-3-4-5-6"),
        pytest.param(0, 0, 1, None, 0, 1, id="single-check"),
        pytest.param(0, 0, 1, 0, 5, 0, id="single-check-before-window"),
    ],
)
def test_checks_between(first, last, checks, after, until, expected):
    span = interval(1, 1, first, last, checks, "in_stock")
    assert checks_between(span, at(after) if after is not None else None, at(until)) == expected


@pytest.mark.parametrize(
    ("intervals", "status", "store_ids", "worst_known"),
    [
        # the sweep sorts what it is given: handed over newest first, the empty intervals still count (store
        # ids are listed in the order the stores first appear in the input)
        pytest.param(
            [
                interval(4, 2, 30, 42, 13, "out_of_stock"),
                interval(3, 1, 30, 42, 13, "out_of_stock"),
                interval(2, 2, 1, 29, 29, "in_stock"),
                interval(1, 1, 1, 29, 29, "in_stock"),
            ],
            "fires",
            (4, 3),
            2,
            id="intervals-out-of-order",
        ),
        # two intervals of store 1 begin at the same moment: the later one (by id) is the store's state
        pytest.param(
            [
                interval(1, 1, 1, 13, 13, "out_of_stock"),
                interval(2, 1, 1, 13, 13, "in_stock"),
                interval(3, 2, 1, 13, 13, "in_stock"),
            ],
            "clear",
            (),
            None,
            id="same-start-later-interval-counts",
        ),
        # store 2 was last checked at 2 h: at 40 h (past 24 h stale) only store 1 is known, and it is empty
        pytest.param(
            [interval(1, 1, 1, 40, 40, "out_of_stock"), interval(2, 2, 1, 2, 2, "in_stock")],
            "fires",
            (1, 2),
            1,
            id="stale-store-drops-out",
        ),
    ],
)
def test_store_sweep(intervals, status, store_ids, worst_known):
    """Sampling edge cases of the sweep (design.md §6 store_stockout; stale after store_stale_hours)."""
    verdict = store_stockout(promotion(), intervals, {1, 2}, DEFAULT, NOW)
    assert verdict.status == status
    assert verdict.store_ids == store_ids
    assert verdict.inputs.get("facts", {}).get("worst_known") == worst_known
