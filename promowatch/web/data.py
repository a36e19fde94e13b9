"""What the dashboard's pages show, read from the database: JSON-ready dicts, money as strings, times UTC ISO.

Every function takes an open session and only reads. Lists that can grow with the checks (observations, store
observations, events, runs) are read one page at a time by keyset (``id`` after a cursor), so a page costs the
same on the first day and after a year of hourly crawls.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    Delivery,
    Event,
    Finding,
    OfferObservation,
    OfferSignal,
    Product,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
    WebSubscription,
)
from promowatch.db.queries import list_promotions
from promowatch.domain import as_utc, money_str
from promowatch.evidence.canonical import iso_utc
from promowatch.evidence.case import finding_row
from promowatch.extract.blocked import BLOCKED_REASON
from promowatch.health import last_health_event

WITH_STOCK = ("in_stock", "limited")
HEALTH_WINDOW = timedelta(days=1)  # the looks a retailer's health figures count: its last day
MAX_PAGE = 500
PROMOTIONS_PAGE = 50
STORE_CHECK = timedelta(days=1)  # the intervals of a product's latest stores crawl end within this


@dataclass(frozen=True)
class Page:
    """One keyset page: its rows and the cursor of the next page (None on the last)."""

    items: list[dict[str, Any]]
    after: int | None


def keyset(session: Session, query: Select[Any], key: Any, after: int | None, limit: int) -> Page:
    """Rows of ``query`` with ``key`` above ``after``, ascending, at most ``limit`` (one more is read to know
    whether another page follows)."""
    limit = max(1, min(limit, MAX_PAGE))
    if after is not None:
        query = query.where(key > after)
    rows = session.execute(query.order_by(key).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    items = [dict(row._mapping) for row in rows]
    return Page(items, items[-1]["id"] if more and items else None)


def _json(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_utc(value)
    if hasattr(value, "as_tuple"):  # Decimal: money as a string, never a float
        return money_str(value)
    return value


def jsonable(row: dict[str, Any]) -> dict[str, Any]:
    return {key: _json(value) for key, value in row.items()}


# ---------------------------------------------------------------- overview


def retailer_health(session: Session, now: datetime) -> list[dict[str, Any]]:
    """Each retailer: its last crawl, the share of unknown looks and the blocked pages of its last day."""
    rows = []
    last_run = session.scalar(select(func.max(CrawlRun.started_at)))
    for retailer in session.scalars(select(Retailer).order_by(Retailer.slug)):
        # the latest look of each product, by the (product, time) index: never a scan of all the looks
        per_product = (
            select(func.max(OfferObservation.observed_at))
            .where(OfferObservation.product_id == Product.id)
            .scalar_subquery()
        )
        latest = session.scalar(select(func.max(per_product)).where(Product.retailer_id == retailer.id))
        looks = unknown = blocked = 0
        if latest is not None:
            since = latest - HEALTH_WINDOW
            counts = session.execute(
                select(OfferObservation.availability, OfferObservation.reason, func.count())
                .join(Product, Product.id == OfferObservation.product_id)
                .where(Product.retailer_id == retailer.id, OfferObservation.observed_at > since)
                .group_by(OfferObservation.availability, OfferObservation.reason)
            ).all()
            for availability, reason, count in counts:
                looks += count
                unknown += count if availability == "unknown" else 0
                blocked += count if reason == BLOCKED_REASON else 0
        state, kinds = last_health_event(session, retailer.id)
        rows.append(
            {
                "id": retailer.id,
                "slug": retailer.slug,
                "name": retailer.name,
                "country": retailer.country,
                "last_run": iso_utc(last_run),
                "last_look": iso_utc(latest),
                "looks": looks,
                "unknown_share": round(unknown / looks, 4) if looks else None,
                "blocked": blocked,
                "healthy": state != "crawl_unhealthy",
                "problems": kinds,
            }
        )
    return rows


def open_findings_by_rule(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(Finding.rule, func.count()).where(Finding.state != "closed").group_by(Finding.rule)
    ).all()
    return {rule: count for rule, count in sorted(rows)}


# ---------------------------------------------------------------- promotions


def _latest_offer(session: Session, product_id: int) -> OfferObservation | None:
    return session.scalars(
        select(OfferObservation)
        .where(OfferObservation.product_id == product_id)
        .order_by(OfferObservation.observed_at.desc(), OfferObservation.id.desc())
        .limit(1)
    ).first()


def store_stock_share(session: Session, product_id: int) -> float | None:
    """The share of stores with stock among those whose state was known at the product's latest store check
    (the intervals seen within a day of it: one stores crawl). None when no store's state is known."""
    latest = session.scalar(
        select(func.max(StoreObservation.last_seen)).where(StoreObservation.product_id == product_id)
    )
    if latest is None:
        return None
    rows = session.execute(
        select(StoreObservation.store_id, StoreObservation.availability, StoreObservation.last_seen)
        .where(StoreObservation.product_id == product_id, StoreObservation.last_seen > latest - STORE_CHECK)
        .order_by(StoreObservation.last_seen)
    ).all()
    states = {store: availability for store, availability, _ in rows}  # each store's latest
    known = [a for a in states.values() if a != "unknown"]
    if not known:
        return None
    return round(sum(1 for a in known if a in WITH_STOCK) / len(known), 4)


def promotions(
    session: Session,
    now: datetime,
    *,
    retailer: str | None = None,
    state: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
    offset: int = 0,
    limit: int = PROMOTIONS_PAGE,
) -> tuple[list[dict[str, Any]], int]:
    """One page of the promotions list, with each one's shop price, orderability, stores with stock and
    findings; and how many promotions the filters chose in all."""
    rows = list_promotions(session, now, retailer=retailer, state=state)
    findings: dict[int, list[str]] = {}
    for promotion_id, finding_rule in session.execute(
        select(Finding.promotion_id, Finding.rule).where(Finding.state != "closed")
    ):
        findings.setdefault(promotion_id, []).append(finding_rule)
    chosen = []
    for row in rows:
        if rule is not None and rule not in findings.get(row["id"], []):
            continue
        if since is not None and row["ends"] is not None and datetime.fromisoformat(row["ends"]) < since:
            continue
        chosen.append(row)
    total = len(chosen)
    chosen = chosen[offset : offset + limit]
    products = dict(
        session.execute(
            select(Promotion.id, Promotion.product_id).where(Promotion.id.in_([r["id"] for r in chosen]))
        ).all()
    )
    for row in chosen:
        latest = _latest_offer(session, products[row["id"]])
        row["shop_price"] = money_str(latest.price) if latest else None
        row["orderable"] = latest.orderable if latest else None
        row["availability"] = latest.availability if latest else None
        row["stores_with_stock"] = store_stock_share(session, products[row["id"]])
        row["open_findings"] = sorted(findings.get(row["id"], []))
    return chosen, total


def promotion(session: Session, promotion_id: int) -> dict[str, Any] | None:
    p = session.get(Promotion, promotion_id)
    if p is None:
        return None
    return {
        "id": p.id,
        "title": p.title,
        "retailer": p.retailer.slug,
        "retailer_name": p.retailer.name,
        "product_id": p.product_id,
        "product_url": p.product.url,
        "advertised_price": money_str(p.advertised_price),
        "reference_price": money_str(p.reference_price),
        "currency": p.currency,
        "valid_from": iso_utc(p.valid_from),
        "valid_until": iso_utc(p.valid_until),
        "origin": p.origin,
        "region": p.region,
        "window_basis": p.window_basis,
        "sightings": [
            {
                "id": s.id,
                "kind": s.kind,
                "source_url": s.source_url,
                "note": s.note,
                "seen_at": iso_utc(s.seen_at),
                "last_seen": iso_utc(s.last_seen),
                "checks": s.checks,
                "evidence_sha256": s.evidence_sha256,
            }
            for s in p.sightings
        ],
    }


def latest_screenshot(session: Session, product_id: int) -> dict[str, Any] | None:
    row = session.execute(
        select(OfferObservation.id, OfferObservation.observed_at, OfferObservation.screenshot_sha256)
        .where(OfferObservation.product_id == product_id, OfferObservation.screenshot_sha256.is_not(None))
        .order_by(OfferObservation.observed_at.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    return {
        "observation_id": row.id,
        "observed_at": iso_utc(row.observed_at),
        "sha256": row.screenshot_sha256,
    }


def findings_of(session: Session, promotion_id: int) -> list[dict[str, Any]]:
    return [
        finding_row(f)
        for f in session.scalars(
            select(Finding)
            .where(Finding.promotion_id == promotion_id)
            .order_by(Finding.opened_at, Finding.id)
        )
    ]


def store_day_grid(
    session: Session, product_id: int, start: datetime, end: datetime, max_days: int = 31
) -> dict[str, Any]:
    """Each store's state on each day from ``start`` to ``end`` (the latest days when longer than
    ``max_days``): the state of the last interval seen that day, or None when the store was not checked."""
    first_day = max(start.date(), (end - timedelta(days=max_days - 1)).date())
    days = [first_day + timedelta(days=i) for i in range((end.date() - first_day).days + 1)]
    if not days:
        return {"days": [], "stores": []}
    low = datetime.combine(days[0], datetime.min.time(), tzinfo=start.tzinfo)
    high = datetime.combine(days[-1], datetime.max.time(), tzinfo=start.tzinfo)
    cells: dict[int, dict[int, tuple[datetime, str]]] = {}
    for store_id, first_seen, last_seen, availability in session.execute(
        select(
            StoreObservation.store_id,
            StoreObservation.first_seen,
            StoreObservation.last_seen,
            StoreObservation.availability,
        ).where(
            StoreObservation.product_id == product_id,
            StoreObservation.last_seen >= low,
            StoreObservation.first_seen <= high,
        )
    ):
        row = cells.setdefault(store_id, {})
        for index, day in enumerate(days):
            if first_seen.date() <= day <= last_seen.date():
                seen = row.get(index)
                if seen is None or seen[0] <= first_seen:
                    row[index] = (first_seen, availability)
    names = dict(session.execute(select(Store.id, Store.name).where(Store.id.in_(list(cells)))).all())
    stores = [
        {
            "store_id": store_id,
            "name": names.get(store_id, str(store_id)),
            "days": [cells[store_id].get(i, (None, None))[1] for i in range(len(days))],
        }
        for store_id in sorted(cells, key=lambda s: names.get(s, ""))
    ]
    return {"days": [d.isoformat() for d in days], "stores": stores}


# ---------------------------------------------------------------- a finding


def finding(session: Session, finding_id: int) -> dict[str, Any] | None:
    """The finding, its promotion, the offer observations it cites with the shop's quoted text, and its
    notifications."""
    f = session.get(Finding, finding_id)
    if f is None:
        return None
    cited = f.observation_ids or {}
    offer_ids = list(cited.get("offer", []))[:200]
    offers = session.scalars(
        select(OfferObservation)
        .where(OfferObservation.id.in_(offer_ids))
        .order_by(OfferObservation.observed_at)
    ).all()
    signals: dict[int, list[dict[str, Any]]] = {}
    for s in session.scalars(select(OfferSignal).where(OfferSignal.observation_id.in_(offer_ids))):
        signals.setdefault(s.observation_id, []).append(
            {"field": s.field, "source": s.source, "raw": s.raw, "value": s.value}
        )
    store_ids = list(cited.get("store", []))
    notifications = session.execute(
        select(Event.kind, Event.created_at, Delivery.target, Delivery.status, Delivery.delivered_at)
        .join(Delivery, Delivery.event_id == Event.id, isouter=True)
        .where(Event.finding_id == f.id)
        .order_by(Event.created_at)
    ).all()
    return {
        **finding_row(f),
        "promotion": promotion(session, f.promotion_id),
        "offers": [
            {
                **observation_json(o),
                "signals": signals.get(o.id, []),
            }
            for o in offers
        ],
        "cited_offers": len(cited.get("offer", [])),
        "cited_stores": len(store_ids),
        "store_counts": dict(
            Counter(
                session.scalars(
                    select(StoreObservation.availability).where(StoreObservation.id.in_(store_ids[:5000]))
                )
            )
        ),
        "notifications": [
            {
                "kind": n.kind,
                "created_at": iso_utc(n.created_at),
                # the target names the subscription and a hash of its URL, never the URL
                "target": n.target,
                "status": n.status,
                "delivered_at": iso_utc(n.delivered_at),
            }
            for n in notifications
        ],
    }


def observation_json(o: OfferObservation) -> dict[str, Any]:
    return {
        "id": o.id,
        "product_id": o.product_id,
        "observed_at": iso_utc(o.observed_at),
        "price": money_str(o.price),
        "regular_price": money_str(o.regular_price),
        "currency": o.currency,
        "availability": o.availability,
        "orderable": o.orderable,
        "delivery": o.delivery,
        "reason": o.reason,
        "http_status": o.http_status,
        "final_url": o.final_url,
        "render": o.render,
        "evidence_sha256": o.evidence_sha256,
        "screenshot_sha256": o.screenshot_sha256,
    }


def evidence_kind(session: Session, sha256: str) -> str | None:
    """``page`` or ``screenshot`` when an observation cites the hash as such, else None: the dashboard serves
    only evidence it can name, never any blob by its hash."""
    if session.scalar(
        select(OfferObservation.id).where(OfferObservation.screenshot_sha256 == sha256).limit(1)
    ):
        return "screenshot"
    if session.scalar(select(OfferObservation.id).where(OfferObservation.evidence_sha256 == sha256).limit(1)):
        return "page"
    if session.scalar(select(AdSighting.id).where(AdSighting.evidence_sha256 == sha256).limit(1)):
        return "page"
    return None


# ---------------------------------------------------------------- runs and subscriptions


def runs(session: Session, limit: int = 50) -> list[dict[str, Any]]:
    slugs = dict(session.execute(select(Retailer.id, Retailer.slug)).all())
    unhealthy = session.execute(
        select(Event.retailer_id, Event.occurred_at, Event.payload)
        .where(Event.kind == "crawl_unhealthy")
        .order_by(Event.occurred_at.desc())
        .limit(200)
    ).all()
    out = []
    for run in session.scalars(
        select(CrawlRun).order_by(CrawlRun.started_at.desc(), CrawlRun.id.desc()).limit(limit)
    ):
        stats = run.stats or {}
        finished = run.finished_at or run.started_at
        out.append(
            {
                "id": run.id,
                "spider": run.spider,
                "retailer": slugs.get(run.retailer_id) if run.retailer_id else None,
                "status": run.status,
                "started_at": iso_utc(run.started_at),
                "finished_at": iso_utc(run.finished_at),
                "summary": {k: v for k, v in sorted(stats.items()) if isinstance(v, int | float)},
                "warnings": [v for k, v in sorted(stats.items()) if "warning" in k],
                "unhealthy": sorted(
                    {
                        slugs.get(r, "?")
                        for r, at, _ in unhealthy
                        if as_utc(run.started_at) <= as_utc(at) <= as_utc(finished) + timedelta(hours=1)
                    }
                ),
            }
        )
    return out


def subscriptions(session: Session) -> list[dict[str, Any]]:
    out = []
    for s in session.scalars(select(WebSubscription).order_by(WebSubscription.id)):
        out.append(subscription_json(s))
    return out


def subscription_json(s: WebSubscription) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "target": s.target,
        # the URL is a secret: only its schema is ever shown
        "url": f"{s.url_schema}://***",
        "product_id": s.product_id,
        "promotion_id": s.promotion_id,
        "postcode": s.postcode,
        "radius_km": s.radius_km,
        "events": s.events.get("kinds", []) if s.events else [],
        "language": s.language,
        "created_at": iso_utc(s.created_at),
        "tested_at": iso_utc(s.tested_at),
        "test_result": s.test_result,
    }
