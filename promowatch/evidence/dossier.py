"""What a dossier quotes, as pure functions of the bundle's observation lines: what the shop showed (its own
words, not our mapped values), the stores as a store x day grid in the retailer's local time, each rule's
thresholds as rows, and the exhibits numbered once for the whole dossier."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

# the zone a retailer's dates are read in when its profile names none: the country's legal time
COUNTRY_ZONES = {
    "AT": "Europe/Vienna",
    "BE": "Europe/Brussels",
    "CH": "Europe/Zurich",
    "DE": "Europe/Berlin",
    "ES": "Europe/Madrid",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "IE": "Europe/Dublin",
    "IT": "Europe/Rome",
    "LI": "Europe/Vaduz",
    "LU": "Europe/Luxembourg",
    "NL": "Europe/Amsterdam",
    "PT": "Europe/Lisbon",
}

GRID_STATES = ("in_stock", "limited", "out_of_stock", "unknown")
# a store's states the grid cannot tell apart from "none on the shelf"
_NOT_ON_SHELF = ("preorder", "backorder", "discontinued", "sold_out")

# the thresholds each rule reads (promowatch/rules): the rest of the set does not bear on its finding
RULE_THRESHOLDS = {
    "unorderable_online": (
        "observations",
        "min_span_hours",
        "confirm_observations",
        "confirm_span_hours",
        "sighting_grace_hours",
    ),
    "price_mismatch": (
        "observations",
        "min_span_hours",
        "confirm_observations",
        "confirm_span_hours",
        "price_tolerance",
        "sighting_grace_hours",
    ),
    "store_stockout": (
        "stockout_share",
        "min_stores",
        "first_day_grace_hours",
        "min_stock_days",
        "store_stale_hours",
        "sample_merge_minutes",
        "sighting_grace_hours",
    ),
    "store_sellout": (
        "sellout_share",
        "min_stores",
        "store_stale_hours",
        "sample_merge_minutes",
        "sighting_grace_hours",
    ),
    "reference_price_unsupported": (
        "eu_lookback_days",
        "ch_lookback_days",
        "ch_max_display_days",
        "ch_min_run_days",
        "max_history_gap_hours",
        "price_tolerance",
    ),
}

_UNITS = (("_hours", "hours"), ("_days", "days"), ("_minutes", "minutes"), ("_share", "share"))


def zone_of(country: str | None, configured: str | None = None) -> str:
    """The IANA zone of a retailer: the profile's own, else its country's, else UTC."""
    return configured or COUNTRY_ZONES.get((country or "").upper(), "UTC")


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def threshold_rows(rule: str, thresholds: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """The thresholds the rule reads as ``{name, value, unit}`` rows (all of them for a rule not listed).

    >>> threshold_rows("store_sellout", {"sellout_share": 0.5, "observations": 3})
    [{'name': 'sellout_share', 'value': 0.5, 'unit': 'share'}]
    """
    given = dict(thresholds or {})
    names = [n for n in RULE_THRESHOLDS.get(rule, tuple(given)) if n in given]
    rows = []
    for name in names:
        unit = next((u for suffix, u in _UNITS if name.endswith(suffix)), None)
        if unit is None:
            unit = {"observations": "observations", "confirm_observations": "observations"}.get(name)
            unit = unit or {"min_stores": "stores", "price_tolerance": "currency"}.get(name, "")
        rows.append({"name": name, "value": given[name], "unit": unit})
    return rows


def _last_segment(snippet: str) -> str:
    """The phrase itself from a visible-text signal, which carries the text before it as context."""
    parts = [p.strip() for p in snippet.split(" | ") if p.strip(" |")]
    return parts[-1].strip(" |") if parts else snippet.strip()


def _first(
    signals: Sequence[Mapping[str, Any]], field: str, sources: Sequence[str]
) -> Mapping[str, Any] | None:
    for source in sources:
        for signal in signals:
            if signal["field"] == field and signal["source"] == source and (signal.get("raw") or "").strip():
                return signal
    return None


def quoted_texts(signals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The shop's own words behind an observation: its stock line, its buy button (label and whether it could
    be pressed), its "instead of" text and its delivery line, each None when the page showed none.

    >>> quoted_texts([{"field": "orderable", "source": "profile", "raw": "Ajouter au panier", "value": "False"}])
    {'stock_text': None, 'buy_button': {'text': 'Ajouter au panier', 'enabled': False}, \
'reference_text': None, 'delivery_text': None}
    """
    stock = _first(signals, "availability", ("profile", "text"))
    # a stock line phrased as "only in stores" or "not deliverable" is filed under orderable
    stock = stock or _first(signals, "orderable", ("text",))
    stock_text = None
    if stock is not None:
        stock_text = stock["raw"] if stock["source"] == "profile" else _last_segment(stock["raw"])
    button = None
    control = _first(signals, "orderable", ("profile", "button"))
    if control is not None:
        missing = control["source"] == "profile" and control["raw"].startswith("no ")
        button = {"text": None if missing else control["raw"], "enabled": control.get("value") == "True"}
    reference = _first(signals, "regular_price", ("profile", "text", "jsonld", "microdata"))
    delivery = _first(signals, "delivery", ("profile", "text"))
    return {
        "stock_text": stock_text,
        "buy_button": button,
        "reference_text": None if reference is None else reference["raw"],
        "delivery_text": None if delivery is None else _last_segment(delivery["raw"]),
    }


def _shown(record: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "observation_id": record["id"],
        "observed_at": record["observed_at"],
        "url": record.get("final_url"),
        "price": record.get("price"),
        "currency": record.get("currency"),
        "regular_price": record.get("regular_price"),
        "availability": record.get("availability"),
        "orderable": record.get("orderable"),
        **quoted_texts(record.get("signals") or []),
        "screenshot_sha256": record.get("screenshot_sha256"),
        "evidence_sha256": record.get("evidence_sha256"),
        "exhibit": None,
    }


_COMPARED = (
    "price",
    "currency",
    "regular_price",
    "availability",
    "orderable",
    "stock_text",
    "buy_button",
    "reference_text",
    "delivery_text",
)


def shop_showed(lines: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The offer observations worth quoting: the first, each one where what the shop showed changed, and the
    last; in time order. Repeating the same page a hundred times proves no more than quoting it twice."""
    records = sorted(
        (line["record"] for line in lines if line["kind"] == "offer"),
        key=lambda r: (r["observed_at"], r["id"]),
    )
    shown = [_shown(r) for r in records]
    quoted: list[dict[str, Any]] = []
    for i, row in enumerate(shown):
        changed = i == 0 or any(row[k] != shown[i - 1][k] for k in _COMPARED)
        if changed or i == len(shown) - 1:
            quoted.append(row)
    return quoted


def _grid_state(availability: str) -> str:
    if availability in GRID_STATES:
        return availability
    return "out_of_stock" if availability in _NOT_ON_SHELF else "unknown"


def store_grid(
    lines: Iterable[Mapping[str, Any]], stores: Sequence[Mapping[str, Any]], zone: str
) -> dict[str, Any]:
    """Stores x days (the retailer's local calendar days from the first to the last store observation): the
    state each store was last seen in on each day, None where it was not observed that day. A store interval
    counts on each day it spans, since each re-check that saw the same state extended it."""
    tz = ZoneInfo(zone)
    intervals: dict[int, list[tuple[datetime, datetime, str]]] = {}
    for line in lines:
        if line["kind"] != "store":
            continue
        record, extension = line["record"], line.get("extension") or {}
        first = parse_time(record["first_seen"])
        last = parse_time(extension.get("last_seen") or record["first_seen"])
        intervals.setdefault(record["store_id"], []).append(
            (first, last, _grid_state(record["availability"]))
        )
    if not intervals:
        return {"days": [], "stores": []}
    start = min(i[0] for rows in intervals.values() for i in rows).astimezone(tz).date()
    end = max(i[1] for rows in intervals.values() for i in rows).astimezone(tz).date()
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    rows = []
    for store in stores:
        seen = intervals.get(store["id"])
        if seen is None:
            continue
        rows.append(
            {
                "id": store["id"],
                "name": store.get("name"),
                "postcode": store.get("postcode"),
                "cells": [_state_on(seen, day, tz) for day in days],
            }
        )
    return {"days": [d.isoformat() for d in days], "stores": rows}


def _state_on(intervals: Sequence[tuple[datetime, datetime, str]], day: date, tz: ZoneInfo) -> str | None:
    begin = datetime.combine(day, datetime.min.time(), tz)
    end = begin + timedelta(days=1)
    during = [i for i in intervals if i[0] < end and i[1] >= begin]
    # the interval begun last is the state the store was left in that day
    return max(during, key=lambda i: i[0])[2] if during else None


def number_exhibits(candidates: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """E1, E2, ... in the order given, one per distinct file (the same capture cited twice is one exhibit)."""
    exhibits: list[dict[str, Any]] = []
    by_sha: dict[str, dict[str, Any]] = {}
    for candidate in candidates:
        if candidate["sha256"] in by_sha:
            continue
        exhibit = {"number": f"E{len(exhibits) + 1}", **candidate}
        by_sha[candidate["sha256"]] = exhibit
        exhibits.append(exhibit)
    return exhibits
