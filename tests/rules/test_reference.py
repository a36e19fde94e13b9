"""reference_price_unsupported, EU (Directive 98/6/EC art. 6a: lowest price of the 30 days before the reduction)
and CH (PBV art. 16: charged immediately before, shown ≤ half as long as charged, max 2 months; or charged
30 consecutive days). Reduction starts at T0 (0 h); history gaps > 48 h leave it undecided."""

from __future__ import annotations

import pytest

from promowatch.rules import Thresholds, reference_price_unsupported
from tests.rules.factories import at, prices, promotion

DEFAULT = Thresholds()
DAY = 24.0


def daily(price: str, from_day: float, to_day: float) -> list[tuple[float, str]]:
    """One observation a day from ``from_day`` to ``to_day`` (days relative to T0, inclusive)."""
    days = []
    d = from_day
    while d <= to_day:
        days.append((d * DAY, price))
        d += 1
    return days


@pytest.mark.parametrize(
    ("history", "status", "lowest"),
    [
        # 999.– daily for 31 days before: the lowest of the 30 days is 999 = reference
        pytest.param(daily("999.00", -31, -1), "clear", "999.00", id="eu-honest-999"),
        # exactly 30 days: first observation at -30 d (window start), daily to -1 d -> complete
        pytest.param(daily("999.00", -30, -1), "clear", "999.00", id="eu-exactly-30-days"),
        # starts at -29 d: the price at the window start is unknown -> insufficient
        pytest.param(daily("999.00", -29, -1), "insufficient_history", "999.00", id="eu-29-days-only"),
        # a 799.– day inside the 30 days: lowest 799 ≠ 999
        pytest.param(
            [*daily("999.00", -31, -11), (-10 * DAY, "799.00"), *daily("999.00", -9, -1)],
            "fires",
            "799.00",
            id="eu-lower-price-in-window",
        ),
        # a 799.– day 31 days before is outside the window
        pytest.param(
            [(-31 * DAY, "799.00"), *daily("999.00", -30, -1)],
            "clear",
            "999.00",
            id="eu-lower-price-before-window",
        ),
        # a gap of 5 days in the history: undecided at 999
        pytest.param(
            daily("999.00", -31, -16) + daily("999.00", -10, -1),
            "insufficient_history",
            "999.00",
            id="eu-gap-in-history",
        ),
        # a gap, but an observed 699.– already settles it (the true lowest can only be lower)
        pytest.param(
            [*daily("999.00", -20, -16), (-3 * DAY, "699.00")],
            "fires",
            "699.00",
            id="eu-gap-but-lower-price-seen",
        ),
    ],
)
def test_eu(history, status, lowest):
    verdict = reference_price_unsupported(promotion(), prices(history), DEFAULT, at(DAY), "eu")
    assert verdict.status == status
    assert verdict.inputs["lowest_price"] == lowest


@pytest.mark.parametrize(
    ("history", "now_day", "status"),
    [
        # charged 999 for 40 days (bounded by 899 before), shown 1 day: ≤ 20 days allowed; also a 30-day run
        pytest.param([(-41 * DAY, "899.00"), *daily("999.00", -40, -1)], 1, "clear", id="ch-honest"),
        # charged 10 days only (bounded), shown 4 days ≤ 5 allowed (half of 10)
        pytest.param(
            daily("899.00", -20, -11) + daily("999.00", -10, -1),
            4,
            "clear",
            id="ch-short-run-shown-within-half",
        ),
        # the same run, but its beginning is not observed (history starts with 999): charged ≥ 10 days,
        # shown 6 days > 5 -> cannot tell whether it was charged long enough; no 90-day history either
        pytest.param(daily("999.00", -10, -1), 6, "insufficient_history", id="ch-run-start-unobserved"),
        # charged 10 days, shown 6 days > 5; history covers 90 days of 899 before -> fires
        pytest.param(
            daily("899.00", -95, -11) + daily("999.00", -10, -1), 6, "fires", id="ch-shown-too-long"
        ),
        # never charged 999 immediately before (899 until the reduction), full 90-day history
        pytest.param(daily("899.00", -95, -1), 1, "fires", id="ch-never-charged"),
        # 999 charged 30 consecutive days long ago (days -80..-50), then 899 for seven weeks: 999 was not the
        # price immediately before, which a self-comparison needs; the old run does not make up for it
        pytest.param(
            daily("899.00", -95, -81) + daily("999.00", -80, -50) + daily("899.00", -49, -1),
            1,
            "fires",
            id="ch-30-consecutive-days-earlier-but-not-immediately-before",
        ),
        # 999 charged for the 35 days immediately before (bounded by 899), shown 20 days > 17.5: the 30-day
        # alternative keeps it within PBV art. 16
        pytest.param(
            daily("899.00", -40, -36) + daily("999.00", -35, -1),
            20,
            "clear",
            id="ch-30-days-immediately-before",
        ),
        # the bait of the demo shop: 549 on the three days before, then "499 instead of 999"; the short
        # history decides because the price immediately before is observed
        pytest.param(
            daily("549.00", -3, -1), 1, "fires", id="ch-other-price-immediately-before-short-history"
        ),
        # 999 for 29 days only (-80..-52): not 30 consecutive days -> fires
        pytest.param(
            daily("899.00", -95, -81) + daily("999.00", -80, -52) + daily("899.00", -51, -1),
            1,
            "fires",
            id="ch-29-days-not-enough",
        ),
        # nothing observed within 48 h before the reduction
        pytest.param(daily("999.00", -20, -5), 1, "insufficient_history", id="ch-gap-before-start"),
    ],
)
def test_ch(history, now_day, status):
    verdict = reference_price_unsupported(
        promotion(valid_until=None), prices(history), DEFAULT, at(now_day * DAY), "ch"
    )
    assert verdict.status == status
    if status == "fires":
        assert "PBV art. 16" in verdict.summary and "illegal" not in verdict.summary.lower()


def test_ch_shown_too_long_opens_when_limit_passed():
    # charged 10 days (bounded) -> allowed 5 days: the finding opens at start + 5 d
    history = daily("899.00", -95, -11) + daily("999.00", -10, -1)
    verdict = reference_price_unsupported(
        promotion(valid_until=None), prices(history), DEFAULT, at(8 * DAY), "ch"
    )
    assert verdict.episodes[0].opened_at == at(5 * DAY)


def test_no_reference_is_not_applicable():
    verdict = reference_price_unsupported(
        promotion(reference=None), prices(daily("999.00", -31, -1)), DEFAULT, at(DAY), "eu"
    )
    assert verdict.status == "not_applicable"
