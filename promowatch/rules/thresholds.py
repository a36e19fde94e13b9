"""Rule thresholds: one frozen value, documented defaults, strict parsing of the watchlist's raw tables.

Global ``[settings.thresholds]`` are parsed first; a retailer's ``[retailers.thresholds]`` is parsed with the
global result as ``base``, so a retailer only states what differs.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from promowatch.errors import ConfigError


@dataclass(frozen=True)
class Thresholds:
    """Persistence and measurement thresholds of the rules (watchlist key names in brackets)."""

    # [observations] confirming observations in a row before a finding opens (and clearing ones before it closes)
    observations: int = 3
    # [min_span_hours] the confirming observations must span at least this long
    min_span: timedelta = timedelta(hours=6)
    # [confirm_observations] / [confirm_span_hours] an open finding is confirmed at 2N observations over 24 h
    confirm_observations: int = 6
    confirm_span: timedelta = timedelta(hours=24)
    # [price_tolerance] prices closer than this (in the promotion's currency) are equal
    price_tolerance: Decimal = Decimal("0.01")
    # [stockout_share] share of the stores in scope with zero stock that counts as a stockout
    stockout_share: float = 0.5
    # [sellout_share] share of the stores in scope with zero stock that counts as a sell-out during the promotion
    sellout_share: float = 0.5
    # [min_stores] stores with a known state needed before a store sample counts at all
    min_stores: int = 1
    # [first_day_grace_hours] store checks count from one hour after opening on day one
    first_day_grace: timedelta = timedelta(hours=1)
    # [min_stock_days] a stockout that starts later than this after the promotion starts is a sell-out
    min_stock_duration: timedelta = timedelta(days=2)
    # [store_stale_hours] a store's last known state holds this long after its last check
    store_stale_after: timedelta = timedelta(hours=24)
    # [sighting_grace_hours] an ad counts as live this long after it was last seen
    sighting_grace: timedelta = timedelta(hours=24)
    # [max_history_gap_hours] a longer gap between price observations leaves the history undecided
    max_history_gap: timedelta = timedelta(hours=48)
    # [eu_lookback_days] Price Indication Directive art. 6a: lowest price of the 30 days before the reduction
    eu_lookback: timedelta = timedelta(days=30)
    # [ch_max_display_days] PBV art. 16: a comparison is shown at most two months
    ch_max_display: timedelta = timedelta(days=60)
    # [ch_min_run_days] PBV art. 16: or the reference price was charged for 30 consecutive days
    ch_min_run: timedelta = timedelta(days=30)
    # [ch_lookback_days] how far back the 30-day run is looked for
    ch_lookback: timedelta = timedelta(days=90)
    # [event_horizon_hours] availability and price transitions older than this raise no event (first run on history)
    event_horizon: timedelta = timedelta(hours=48)
    # [sample_merge_minutes] store checks closer than this belong to the same sweep
    sample_merge: timedelta = timedelta(minutes=10)
    # [delivery_slip_days] / [delivery_slip_checks] a promised delivery date that moves later by this much in
    # total over at least this many checks is slipping
    delivery_slip: timedelta = timedelta(days=3)
    delivery_slip_checks: int = 3
    # [overdue_days] an order is overdue this long after the last day its delivery promise allowed
    overdue_after: timedelta = timedelta(days=2)

    def to_json(self) -> dict[str, Any]:
        """The thresholds as a finding states them: plain numbers and strings, watchlist key names."""
        result: dict[str, Any] = {}
        for spec in _SPECS:
            value = getattr(self, spec.attr)
            if isinstance(value, timedelta):
                value = value.total_seconds() / spec.unit_seconds
            elif isinstance(value, Decimal):
                value = str(value)
            result[spec.key] = value
        return result


@dataclass(frozen=True)
class _Spec:
    key: str
    attr: str
    kind: str  # int, share, money, duration
    unit_seconds: float = 1.0


_HOUR = 3600.0
_DAY = 86400.0
_SPECS = (
    _Spec("observations", "observations", "int"),
    _Spec("min_span_hours", "min_span", "duration", _HOUR),
    _Spec("confirm_observations", "confirm_observations", "int"),
    _Spec("confirm_span_hours", "confirm_span", "duration", _HOUR),
    _Spec("price_tolerance", "price_tolerance", "money"),
    _Spec("stockout_share", "stockout_share", "share"),
    _Spec("sellout_share", "sellout_share", "share"),
    _Spec("min_stores", "min_stores", "int"),
    _Spec("first_day_grace_hours", "first_day_grace", "duration", _HOUR),
    _Spec("min_stock_days", "min_stock_duration", "duration", _DAY),
    _Spec("store_stale_hours", "store_stale_after", "duration", _HOUR),
    _Spec("sighting_grace_hours", "sighting_grace", "duration", _HOUR),
    _Spec("max_history_gap_hours", "max_history_gap", "duration", _HOUR),
    _Spec("eu_lookback_days", "eu_lookback", "duration", _DAY),
    _Spec("ch_max_display_days", "ch_max_display", "duration", _DAY),
    _Spec("ch_min_run_days", "ch_min_run", "duration", _DAY),
    _Spec("ch_lookback_days", "ch_lookback", "duration", _DAY),
    _Spec("event_horizon_hours", "event_horizon", "duration", _HOUR),
    _Spec("sample_merge_minutes", "sample_merge", "duration", 60.0),
    _Spec("delivery_slip_days", "delivery_slip", "duration", _DAY),
    _Spec("delivery_slip_checks", "delivery_slip_checks", "int"),
    _Spec("overdue_days", "overdue_after", "duration", _DAY),
)
_BY_KEY = {spec.key: spec for spec in _SPECS}
assert {s.attr for s in _SPECS} == {f.name for f in fields(Thresholds)}


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float)


def parse_thresholds(raw: Mapping[str, Any], where: str, base: Thresholds | None = None) -> Thresholds:
    """Thresholds from a raw TOML table, on top of ``base`` (the defaults when None).

    Raises ConfigError naming ``where`` and the key on an unknown key or a bad value.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{where}: must be a table of thresholds, got {raw!r}")
    result = base or Thresholds()
    changes: dict[str, Any] = {}
    for key, value in raw.items():
        spec = _BY_KEY.get(key)
        if spec is None:
            import difflib

            close = difflib.get_close_matches(key, list(_BY_KEY), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ConfigError(f"{where}: unknown threshold {key!r}{hint}")
        if spec.kind == "int":
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{where}: {key} must be a whole number ≥ 1, got {value!r}")
            changes[spec.attr] = value
        elif spec.kind == "share":
            if not _number(value) or not 0 < value <= 1:
                raise ConfigError(
                    f"{where}: {key} must be a share between 0 and 1 (0.5 is 50 %), got {value!r}"
                )
            changes[spec.attr] = float(value)
        elif spec.kind == "money":
            try:
                if not (_number(value) or isinstance(value, str)):
                    raise InvalidOperation
                amount = Decimal(str(value))
            except InvalidOperation:
                amount = Decimal(-1)
            if not amount.is_finite() or amount < 0:
                raise ConfigError(f"{where}: {key} must be an amount ≥ 0 such as 0.05, got {value!r}")
            changes[spec.attr] = amount
        else:
            try:  # inf, nan and spans beyond datetime's years are refused, not raised mid-run
                if not _number(value) or not value >= 0:
                    raise ValueError
                changes[spec.attr] = timedelta(seconds=float(value) * spec.unit_seconds)
            except (ValueError, OverflowError):
                raise ConfigError(f"{where}: {key} must be a number ≥ 0, got {value!r}") from None
    result = replace(result, **changes)
    if result.confirm_observations < result.observations:
        raise ConfigError(
            f"{where}: confirm_observations must be ≥ observations "
            f"({result.confirm_observations} < {result.observations})"
        )
    return result
