"""A promotion's timeline for the dashboard's interactive chart.

The series come from ``promowatch.report.timeline.build_timeline``, the function the case bundle's chart is drawn
from, fed with the same canonical observation records: the dashboard and a case never disagree on a price, an
orderable flag or a share of empty stores.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from promowatch.db.models import Finding, OfferObservation, Promotion, StoreObservation
from promowatch.domain import as_utc
from promowatch.evaluate import load_store_crawls
from promowatch.evidence.canonical import iso_utc
from promowatch.evidence.chain import OFFER_RECORD_COLUMNS, offer_record
from promowatch.report.timeline import Timeline, build_timeline
from promowatch.rules import Crawl, Thresholds

MARGIN = timedelta(days=7)  # history shown before the promotion starts and after it ends


def chart_window(p: Promotion, now: datetime) -> tuple[datetime, datetime]:
    starts = [s.seen_at for s in p.sightings] + ([p.valid_from] if p.valid_from else [])
    ends = [s.last_seen for s in p.sightings] + ([p.valid_until] if p.valid_until else [])
    start = min(starts, default=p.created_at)
    end = min(max(ends, default=now), now)
    return as_utc(start) - MARGIN, max(as_utc(end), as_utc(start)) + timedelta(days=1)


def promotion_lines(session: Session, p: Promotion, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The product's observations in the window as ``observations.jsonl`` lines, with the fields the timeline
    reads (offers without their signals, which the chart does not draw). Read as plain rows: a window can hold
    thousands of store intervals."""
    columns = [getattr(OfferObservation, name) for name in OFFER_RECORD_COLUMNS]
    lines: list[dict[str, Any]] = []
    for row in session.execute(
        select(*columns).where(
            OfferObservation.product_id == p.product_id, OfferObservation.observed_at.between(start, end)
        )
    ):
        lines.append(
            {"kind": "offer", "id": row.id, "record": offer_record(dict(row._mapping), []), "extension": None}
        )
    stores = select(
        StoreObservation.id,
        StoreObservation.store_id,
        type_coerce(StoreObservation.first_seen, NullType()).label("first_seen"),
        type_coerce(StoreObservation.last_seen, NullType()).label("last_seen"),
        StoreObservation.checks,
        StoreObservation.availability,
        StoreObservation.quantity,
    ).where(
        StoreObservation.product_id == p.product_id,
        StoreObservation.last_seen >= start,
        StoreObservation.first_seen <= end,
    )
    iso = _iso_reader(session)
    for s in session.execute(stores):
        record = {
            "kind": "store",
            "id": s.id,
            "store_id": s.store_id,
            "first_seen": iso(s.first_seen),
            "availability": s.availability,
            "quantity": s.quantity,
        }
        extension = {"id": s.id, "last_seen": iso(s.last_seen), "checks": s.checks}
        lines.append({"kind": "store", "id": s.id, "record": record, "extension": extension})
    return lines


def _iso_reader(session: Session) -> Callable[[Any], str | None]:
    """How to turn a time column read without result processing into the canonical ISO string.

    SQLite keeps UTCDateTime as naive UTC text (``2026-11-05 10:00:00.000000``): rewriting the text gives the
    same string as ``iso_utc`` at a fraction of the cost of parsing thousands of intervals and formatting them
    again. Other databases return datetimes."""
    if session.get_bind().dialect.name != "sqlite":
        return lambda value: iso_utc(value)
    return lambda value: None if value is None else value.replace(" ", "T") + "Z"


def promotion_timeline(session: Session, p: Promotion, now: datetime) -> Timeline:
    start, end = chart_window(p, now)
    lines = promotion_lines(session, p, start, end)
    crawls = [
        c for c in load_store_crawls(session).get(p.retailer.slug, []) if start <= as_utc(c.started_at) <= end
    ]
    promotion = {
        "advertised_price": str(p.advertised_price),
        "reference_price": None if p.reference_price is None else str(p.reference_price),
        "currency": p.currency,
        "valid_from": iso_utc(p.valid_from),
        "valid_until": iso_utc(p.valid_until),
    }
    return build_timeline(
        lines, promotion, crawls=[Crawl(c.started_at, c.finished_at) for c in crawls] or None
    )


def _epoch(moment: datetime) -> int:
    return int(as_utc(moment).timestamp())


def chart_series(session: Session, promotion_id: int, now: datetime) -> dict[str, Any] | None:
    """uPlot's aligned columns: time, price, advertised, reference, orderable (1/0/null), share of stores
    empty in percent; plus the promotion window, the store rule's threshold and the finding marks."""
    p = session.get(Promotion, promotion_id)
    if p is None:
        return None
    timeline = promotion_timeline(session, p, now)
    rows: dict[int, dict[str, Any]] = {}
    for point in timeline.offers:
        row = rows.setdefault(_epoch(point.at), {})
        row["price"] = None if point.price is None else float(point.price)
        row["orderable"] = None if point.orderable is None else int(point.orderable)
    for sample in timeline.shares:
        share = sample.share
        rows.setdefault(_epoch(sample.at), {})["share"] = None if share is None else round(100 * share, 1)
    times = sorted(rows)
    advertised = float(timeline.advertised_price)
    reference = None if timeline.reference_price is None else float(timeline.reference_price)
    findings = session.scalars(select(Finding).where(Finding.promotion_id == p.id)).all()
    marks = [{"at": _epoch(f.opened_at), "rule": f.rule, "id": f.id, "state": f.state} for f in findings]
    # the threshold a store finding of this promotion was judged by, else the default
    threshold = Thresholds().stockout_share
    for f in findings:
        if f.rule == "store_stockout":
            threshold = ((f.inputs or {}).get("thresholds") or {}).get("stockout_share", threshold)
    window_from, window_until = timeline.window
    return {
        # ``rows`` maps floats only to chart coordinates: the table and API keep Decimal strings
        "columns": [
            times,
            [rows[t].get("price") for t in times],
            [advertised for _ in times],
            [reference for _ in times],
            [rows[t].get("orderable") for t in times],
            [rows[t].get("share") for t in times],
        ],
        "currency": timeline.currency,
        "window": [
            _epoch(window_from) if window_from else None,
            _epoch(window_until) if window_until else None,
        ],
        "threshold": round(100 * float(threshold), 1),
        "findings": marks,
    }
