"""parse_thresholds: documented defaults, per-retailer override on the global base, errors naming the key."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from promowatch.config import ConfigError
from promowatch.rules import Thresholds, parse_thresholds


@pytest.mark.parametrize(
    ("raw", "attr", "expected"),
    [
        pytest.param({}, "observations", 3, id="default-N"),
        pytest.param({"observations": 5, "confirm_observations": 10}, "observations", 5, id="N"),
        pytest.param({"min_span_hours": 12}, "min_span", timedelta(hours=12), id="T-hours"),
        pytest.param({"stockout_share": 0.75}, "stockout_share", 0.75, id="share"),
        pytest.param({"price_tolerance": "0.05"}, "price_tolerance", Decimal("0.05"), id="tolerance-string"),
        pytest.param({"eu_lookback_days": 30}, "eu_lookback", timedelta(days=30), id="lookback-days"),
    ],
)
def test_parse(raw, attr, expected):
    assert getattr(parse_thresholds(raw, "watchlist.toml: settings: thresholds"), attr) == expected


def test_retailer_overrides_global_base():
    base = parse_thresholds({"observations": 4, "confirm_observations": 8}, "global")
    retailer = parse_thresholds({"stockout_share": 0.6}, "retailer", base)
    assert (retailer.observations, retailer.stockout_share) == (4, 0.6)
    assert Thresholds().to_json()["min_span_hours"] == 6


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param(
            {"observatons": 3}, "unknown threshold 'observatons' (did you mean 'observations'?)", id="typo"
        ),
        pytest.param({"observations": 0}, "observations must be a whole number ≥ 1", id="zero-N"),
        pytest.param({"observations": True}, "observations must be a whole number", id="bool-N"),
        pytest.param({"stockout_share": 50}, "stockout_share must be a share between 0 and 1", id="percent"),
        pytest.param({"price_tolerance": "cheap"}, "price_tolerance must be an amount", id="bad-money"),
        pytest.param({"min_span_hours": -1}, "min_span_hours must be a number ≥ 0", id="negative-span"),
        pytest.param(
            {"observations": 9}, "confirm_observations must be ≥ observations", id="confirm-below-N"
        ),
    ],
)
def test_errors_name_where_and_key(raw, message):
    with pytest.raises(ConfigError) as error:
        parse_thresholds(raw, "watchlist.toml: retailer 'acme': thresholds")
    assert str(error.value).startswith("watchlist.toml: retailer 'acme': thresholds: ")
    assert message in str(error.value)
