"""The evaluate step: each promotion's observations through the rules, into findings and outbox events.

One transaction per promotion: the finding lifecycle and the events it causes commit together (invariant 4).
Episodes are recomputed from the whole history each time and reconciled with the stored findings, so running
evaluate twice on the same data changes nothing.

Lifecycle (thresholds in :mod:`promowatch.rules.thresholds`): a finding opens after N confirming observations
spanning at least T (default 3 over 6 h), is confirmed after ``confirm_observations`` over ``confirm_span``
(default 6 over 24 h), and closes after N observations over T in which the condition no longer holds.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notify.outbox import record_event
from promowatch.config import Watchlist
from promowatch.db.models import (
    AdSighting,
    Finding,
    OfferObservation,
    Product,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
)
from promowatch.domain import Availability, money_str
from promowatch.rules import (
    OfferPoint,
    PromotionFacts,
    Sighting,
    StoreInterval,
    Thresholds,
    Verdict,
    price_mismatch,
    reference_price_unsupported,
    store_stockout,
    unorderable_online,
)
from promowatch.rules.model import Episode
from promowatch.rules.transitions import Change, online_changes, store_changes


@dataclass
class EvaluationReport:
    """What one evaluate run did; ``per_retailer`` holds the same counts by retailer slug."""

    promotions: int = 0
    opened: int = 0
    confirmed: int = 0
    closed: int = 0
    events: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)  # "rule:status" -> count
    per_retailer: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))

    def count(self, retailer: str, key: str, amount: int = 1) -> None:
        setattr(self, key, getattr(self, key) + amount)
        self.per_retailer[retailer][key] += amount

    def to_json(self) -> dict[str, Any]:
        return {
            "promotions": self.promotions,
            "findings_opened": self.opened,
            "findings_confirmed": self.confirmed,
            "findings_closed": self.closed,
            "events_written": self.events,
            "verdicts": dict(sorted(self.verdicts.items())),
            "per_retailer": {slug: dict(counts) for slug, counts in sorted(self.per_retailer.items())},
        }


@dataclass(frozen=True)
class RetailerRules:
    thresholds: Thresholds
    reference_rule: Literal["ch", "eu"]
    stores: tuple[str, ...]  # external ids the watchlist limits store checks to (empty: all)


def retailer_rules(watchlist: Watchlist) -> tuple[Thresholds, dict[str, RetailerRules]]:
    """Global thresholds and each watched retailer's rules (validated when the watchlist loaded)."""
    per = {r.slug: RetailerRules(r.thresholds, r.reference_rule, r.stores) for r in watchlist.retailers}
    return watchlist.thresholds, per


def evaluate(sessions: sessionmaker[Session], watchlist: Watchlist, now: datetime) -> EvaluationReport:
    """Run every rule over every stored promotion as of ``now``; write findings and events."""
    base, per_retailer = retailer_rules(watchlist)
    report = EvaluationReport()
    with sessions() as session:
        rows = session.execute(
            select(Promotion.id, Retailer.slug, Retailer.country)
            .join(Retailer, Retailer.id == Promotion.retailer_id)
            .order_by(Promotion.id)
        ).all()
    products_done: set[int] = set()
    for promotion_id, slug, country in rows:
        rules = per_retailer.get(slug) or RetailerRules(base, "ch" if country == "CH" else "eu", ())
        with sessions.begin() as session:
            _evaluate_promotion(session, promotion_id, slug, rules, now, report, products_done)
        report.promotions += 1
        report.per_retailer[slug]["promotions"] += 1
    return report


def _facts(promotion: Promotion) -> PromotionFacts:
    return PromotionFacts(
        id=promotion.id,
        title=promotion.title,
        advertised_price=promotion.advertised_price,
        reference_price=promotion.reference_price,
        currency=promotion.currency,
        valid_from=promotion.valid_from,
        valid_until=promotion.valid_until,
        created_at=promotion.created_at,
        sightings=tuple(Sighting(s.seen_at, s.last_seen) for s in promotion.sightings),
    )


def _availability(value: str) -> Availability:
    try:
        return Availability(value)
    except ValueError:
        return Availability.UNKNOWN


def load_offers(session: Session, product_id: int) -> list[OfferPoint]:
    """The product's offer observations, oldest first, as the rules read them."""
    o = OfferObservation
    rows = session.execute(
        select(
            o.id,
            o.observed_at,
            o.availability,
            o.orderable,
            o.price,
            o.regular_price,
            o.currency,
            o.screenshot_sha256,
        )
        .where(o.product_id == product_id)
        .order_by(o.observed_at, o.id)
    ).all()
    return [OfferPoint(r[0], r[1], _availability(r[2]), r[3], r[4], r[5], r[6], r[7]) for r in rows]


def load_store_intervals(session: Session, product_id: int) -> list[StoreInterval]:
    s = StoreObservation
    rows = session.execute(
        select(s.id, s.store_id, s.first_seen, s.last_seen, s.checks, s.availability, s.quantity)
        .where(s.product_id == product_id)
        .order_by(s.first_seen, s.id)
    ).all()
    return [StoreInterval(r[0], r[1], r[2], r[3], r[4] or 1, _availability(r[5]), r[6]) for r in rows]


def store_scope(stores: Sequence[Store], region: str | None, limit: tuple[str, ...]) -> tuple[set[int], str]:
    """The stores a stockout share is taken over: the promotion's region when stores match it, else all."""
    if limit:
        stores = [s for s in stores if s.external_id in limit]
    if region:
        wanted = region.strip().casefold()
        local = [
            s
            for s in stores
            if (s.city or "").casefold() == wanted or (s.postcode or "").casefold().startswith(wanted)
        ]
        if local:
            return {s.id for s in local}, f"region {region}"
    return {s.id for s in stores}, "retailer"


def _evaluate_promotion(
    session: Session,
    promotion_id: int,
    slug: str,
    rules: RetailerRules,
    now: datetime,
    report: EvaluationReport,
    products_done: set[int],
) -> None:
    promotion = session.get_one(Promotion, promotion_id)
    session.execute(select(AdSighting).where(AdSighting.promotion_id == promotion_id)).all()
    product = promotion.product
    facts = _facts(promotion)
    thresholds = rules.thresholds
    offers = load_offers(session, product.id)
    intervals = load_store_intervals(session, product.id)
    stores = session.scalars(select(Store).where(Store.retailer_id == promotion.retailer_id)).all()
    scope, scope_name = store_scope(stores, promotion.region, rules.stores)
    verdicts = [
        unorderable_online(facts, offers, thresholds, now),
        store_stockout(facts, intervals, scope, thresholds, now, scope_name),
        price_mismatch(facts, offers, thresholds, now),
        reference_price_unsupported(facts, offers, thresholds, now, rules.reference_rule),
    ]
    screenshots = {o.id: o.screenshot_sha256 for o in offers if o.screenshot_sha256}
    base_payload = {
        "retailer": slug,
        "promotion": promotion.title,
        "product_url": product.url,
        "product_name": product.name,
        "advertised_price": money_str(promotion.advertised_price),
        "reference_price": money_str(promotion.reference_price),
        "currency": promotion.currency,
        "region": promotion.region,
    }
    for verdict in verdicts:
        report.verdicts[f"{verdict.rule}:{verdict.status}"] += 1
        _reconcile(session, promotion, verdict, now, report, slug, base_payload, screenshots)
    if product.id not in products_done:
        products_done.add(product.id)
        changes = online_changes(offers, thresholds, now) + store_changes(intervals, thresholds, now)
        _product_events(session, product, slug, changes, offers, stores, now, report)


def _finding_payload(finding: Finding, base: dict[str, Any], screenshots: dict[int, str]) -> dict[str, Any]:
    offer_ids = finding.observation_ids.get("offer", [])
    shot = next((screenshots[i] for i in reversed(offer_ids) if i in screenshots), None)
    return base | {
        "rule": finding.rule,
        "state": finding.state,
        "summary": finding.summary,
        "opened_at": finding.opened_at.isoformat(),
        "closed_at": finding.closed_at.isoformat() if finding.closed_at else None,
        "facts": finding.inputs.get("facts", {}),
        "screenshot_sha256": shot,
    }


def _apply(finding: Finding, episode: Episode, verdict: Verdict, now: datetime) -> tuple[bool, bool, bool]:
    """Bring a finding in line with its episode; returns (changed, newly confirmed, newly closed)."""
    changed = confirmed = closed = False
    inputs = {**verdict.inputs, "facts": episode.facts}
    ids = {"offer": list(episode.offer_ids), "store": list(episode.store_ids)}
    if finding.summary != episode.summary or finding.inputs != inputs or finding.observation_ids != ids:
        finding.summary, finding.inputs, finding.observation_ids = episode.summary, inputs, ids
        changed = True
    if episode.confirmed_at is not None and finding.confirmed_at is None:
        finding.confirmed_at = max(episode.confirmed_at, finding.opened_at)
        finding.state = "confirmed"
        changed = confirmed = True
    if episode.closed_at is not None and finding.closed_at is None:
        finding.closed_at = episode.closed_at
        finding.state = "closed"
        changed = closed = True
    if changed:
        finding.evaluated_at = now
    return changed, confirmed, closed


def _reconcile(
    session: Session,
    promotion: Promotion,
    verdict: Verdict,
    now: datetime,
    report: EvaluationReport,
    slug: str,
    base: dict[str, Any],
    screenshots: dict[int, str],
) -> None:
    findings = session.scalars(
        select(Finding)
        .where(Finding.promotion_id == promotion.id, Finding.rule == verdict.rule)
        .order_by(Finding.opened_at, Finding.id)
    ).all()
    last = findings[-1] if findings else None
    pending = list(verdict.episodes)
    if last is not None and last.state != "closed":
        match = next((e for e in pending if e.closed_at is None or e.closed_at > last.opened_at), None)
        pending = pending[pending.index(match) + 1 :] if match is not None else []
        if match is not None:
            _, confirmed, closed = _apply(last, match, verdict, now)
            report.count(slug, "confirmed", int(confirmed))
            if closed:
                report.count(slug, "closed")
                _finding_event(session, "finding_closed", last, base, screenshots, now, report, slug)
    elif last is not None:
        assert last.closed_at is not None
        closed_at = last.closed_at
        pending = [e for e in pending if e.opened_at > closed_at]
    for episode in pending:
        finding = Finding(
            promotion_id=promotion.id,
            rule=verdict.rule,
            state="open",
            opened_at=episode.opened_at,
            confirmed_at=None,
            closed_at=None,
            evaluated_at=now,
            summary="",
            inputs={},
            observation_ids={},
        )
        session.add(finding)
        _, confirmed, closed = _apply(finding, episode, verdict, now)
        session.flush()
        report.count(slug, "opened")
        report.count(slug, "confirmed", int(confirmed))
        _finding_event(session, "finding_opened", finding, base, screenshots, now, report, slug)
        if closed:
            report.count(slug, "closed")
            _finding_event(session, "finding_closed", finding, base, screenshots, now, report, slug)


def _finding_event(
    session: Session,
    kind: str,
    finding: Finding,
    base: dict[str, Any],
    screenshots: dict[int, str],
    now: datetime,
    report: EvaluationReport,
    slug: str,
) -> None:
    occurred = finding.closed_at if kind == "finding_closed" and finding.closed_at else finding.opened_at
    promotion = finding.promotion
    event = record_event(
        session,
        kind,
        f"{kind}:{finding.id}",
        occurred,
        _finding_payload(finding, base, screenshots),
        retailer_id=promotion.retailer_id,
        product_id=promotion.product_id,
        promotion_id=promotion.id,
        finding_id=finding.id,
        created_at=now,
    )
    if event is not None:
        report.count(slug, "events")


def _product_events(
    session: Session,
    product: Product,
    slug: str,
    changes: list[Change],
    offers: list[OfferPoint],
    stores: Sequence[Store],
    now: datetime,
    report: EvaluationReport,
) -> None:
    by_offer = {o.id: o for o in offers}
    by_store = {s.id: s for s in stores}
    promotions = session.scalars(select(Promotion.title).where(Promotion.product_id == product.id)).all()
    for change in changes:
        payload: dict[str, Any] = {
            "retailer": slug,
            "product_url": product.url,
            "product_name": product.name,
            "promotions": list(promotions),
            "scope": "store" if change.store_id is not None else "online",
        }
        if change.store_id is None:
            offer = by_offer[change.observation_id]
            payload |= {
                "price": money_str(offer.price),
                "currency": offer.currency,
                "availability": str(offer.availability),
                "screenshot_sha256": offer.screenshot_sha256,
            }
            key = f"{change.kind}:product:{product.id}:offer:{change.observation_id}"
        else:
            store = by_store.get(change.store_id)
            payload |= {
                "store_id": change.store_id,
                "store": store.name if store else None,
                "store_external_id": store.external_id if store else None,
                "postcode": store.postcode if store else None,
                "city": store.city if store else None,
            }
            key = f"{change.kind}:product:{product.id}:store-interval:{change.observation_id}"
        if change.kind == "price_drop":
            payload |= {"old_price": money_str(change.old_price), "price": money_str(change.new_price)}
        event = record_event(
            session,
            change.kind,
            key,
            change.at,
            payload,
            retailer_id=product.retailer_id,
            product_id=product.id,
            created_at=now,
        )
        if event is not None:
            report.count(slug, "events")


def list_findings(sessions: sessionmaker[Session], *, state: str | None = None) -> list[dict[str, Any]]:
    """Findings as JSON-ready rows, newest first; ``state`` filters (open, confirmed, closed)."""
    with sessions() as session:
        query = (
            select(Finding, Promotion.title, Retailer.slug)
            .join(Promotion, Promotion.id == Finding.promotion_id)
            .join(Retailer, Retailer.id == Promotion.retailer_id)
            .order_by(Finding.opened_at.desc(), Finding.id.desc())
        )
        if state is not None:
            query = query.where(Finding.state == state)
        return [
            {
                "id": finding.id,
                "promotion": title,
                "retailer": slug,
                "rule": finding.rule,
                "state": finding.state,
                "opened_at": finding.opened_at.isoformat(),
                "confirmed_at": finding.confirmed_at.isoformat() if finding.confirmed_at else None,
                "closed_at": finding.closed_at.isoformat() if finding.closed_at else None,
                "summary": finding.summary,
                "inputs": finding.inputs,
            }
            for finding, title, slug in session.execute(query).all()
        ]
