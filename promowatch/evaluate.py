"""The evaluate step: each promotion's observations through the rules, into findings and outbox events.

One transaction per promotion: the finding lifecycle and the events it causes commit together (invariant 4).
Episodes are recomputed from the whole history each time and reconciled with the stored findings, so running
evaluate twice on the same data changes nothing.

Lifecycle (thresholds in :mod:`promowatch.rules.thresholds`): a finding opens after N confirming observations
spanning at least T (default 3 over 6 h), is confirmed after ``confirm_observations`` over ``confirm_span``
(default 6 over 24 h), and closes after N observations over T in which the condition no longer holds.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from operator import attrgetter
from typing import Any, Literal

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import NullType

from notify.outbox import record_event
from promowatch.config import Watchlist
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    Finding,
    OfferObservation,
    Order,
    Product,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
)
from promowatch.domain import Availability, money_str
from promowatch.orders import order_facts, promotion_facts, resolve_promotion, status_outcome
from promowatch.rules import (
    Crawl,
    OfferPoint,
    PromotionFacts,
    Sighting,
    StoreInterval,
    Thresholds,
    Verdict,
    price_mismatch,
    reference_price_unsupported,
    store_sellout,
    store_stockout,
    unorderable_online,
)
from promowatch.rules.delivery import delivery_slipping
from promowatch.rules.model import Episode
from promowatch.rules.orders import RULE as OVERDUE
from promowatch.rules.orders import StatusPoint, delivery_overdue
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


@dataclass(frozen=True)
class _Planned:
    """One promotion to evaluate, with what its payloads and events need, read once up front."""

    facts: PromotionFacts
    retailer_id: int
    slug: str
    country: str | None
    product_id: int
    product_url: str
    product_name: str | None
    region: str | None


@dataclass(frozen=True)
class _History:
    """What the rules read about one promotion's product, shared by every promotion of that product."""

    offers: list[OfferPoint]
    intervals: list[StoreInterval]
    stores: list[Store]
    promotion_titles: list[str]
    crawls: list[Crawl] | None  # the retailer's stores crawls, None before any was recorded


def evaluate(sessions: sessionmaker[Session], watchlist: Watchlist, now: datetime) -> EvaluationReport:
    """Run every rule over every stored promotion as of ``now``; write findings and events.

    Observations are read with one query per table for all promotions of a retailer, and each product's
    history is converted once however many promotions advertise it; each promotion then commits on its own.
    """
    base, per_retailer = retailer_rules(watchlist)
    report = EvaluationReport()
    with sessions() as session:
        planned = _load_promotions(session)
        stores = _load_stores(session)
        crawls = load_store_crawls(session)
    by_retailer: dict[int, list[_Planned]] = defaultdict(list)
    titles: dict[int, list[str]] = defaultdict(list)
    for promotion in planned:  # retailers in the order of their first promotion, promotions by id
        by_retailer[promotion.retailer_id].append(promotion)
        titles[promotion.product_id].append(promotion.facts.title)
    products_done: set[int] = set()
    for retailer_id, promotions in by_retailer.items():
        with sessions() as session:
            offers = load_retailer_offers(session, retailer_id)
            intervals = load_retailer_store_intervals(session, retailer_id, now)
        retailer_stores = stores.get(retailer_id, [])
        for promotion in promotions:
            slug = promotion.slug
            rules = per_retailer.get(slug) or RetailerRules(
                base, "ch" if promotion.country == "CH" else "eu", ()
            )
            history = _History(
                offers.get(promotion.product_id, []),
                intervals.get(promotion.product_id, []),
                retailer_stores,
                titles[promotion.product_id],
                crawls.get(promotion.slug) or None,
            )
            with sessions.begin() as session:
                _evaluate_promotion(session, promotion, history, rules, now, report, products_done)
            report.promotions += 1
            report.per_retailer[slug]["promotions"] += 1
    _evaluate_orders(sessions, watchlist, now, report)  # consumers' orders: delivery_overdue
    return report


def _load_promotions(session: Session) -> list[_Planned]:
    sightings: dict[int, list[Sighting]] = defaultdict(list)
    for promotion_id, seen_at, last_seen in session.execute(
        select(AdSighting.promotion_id, AdSighting.seen_at, AdSighting.last_seen).order_by(
            AdSighting.promotion_id, AdSighting.seen_at, AdSighting.id
        )
    ):
        sightings[promotion_id].append(Sighting(seen_at, last_seen))
    p = Promotion
    rows = session.execute(
        select(
            p.id,
            p.title,
            p.advertised_price,
            p.reference_price,
            p.currency,
            p.valid_from,
            p.valid_until,
            p.created_at,
            p.retailer_id,
            Retailer.slug,
            Retailer.country,
            p.product_id,
            Product.url.label("product_url"),
            Product.name.label("product_name"),
            p.region,
            p.origin,
            p.window_basis,
        )
        .join(Retailer, Retailer.id == p.retailer_id)
        .join(Product, Product.id == p.product_id)
        .order_by(p.id)
    ).all()
    return [
        _Planned(
            PromotionFacts(
                r.id,
                r.title,
                r.advertised_price,
                r.reference_price,
                r.currency,
                r.valid_from,
                r.valid_until,
                r.created_at,
                tuple(sightings.get(r.id, ())),
                origin=r.origin,
                window_basis=r.window_basis,
            ),
            r.retailer_id,
            r.slug,
            r.country,
            r.product_id,
            r.product_url,
            r.product_name,
            r.region,
        )
        for r in rows
    ]


def load_store_crawls(session: Session) -> dict[str, list[Crawl]]:
    """Each retailer's stores crawls, oldest first: the finished crawls whose statistics count store checks of
    it (a crawl of other retailers, or one killed before it said what it checked, samples nothing)."""
    rows = session.execute(
        select(CrawlRun.started_at, CrawlRun.finished_at, CrawlRun.stats)
        .where(CrawlRun.spider == "stores")
        .order_by(CrawlRun.started_at, CrawlRun.id)
    ).all()
    by_retailer: dict[str, list[Crawl]] = defaultdict(list)
    for started, finished, stats in rows:
        for key, value in (stats or {}).items():
            prefix, _, rest = key.partition("/")
            slug, _, counter = rest.rpartition("/")
            if prefix == "promowatch" and counter == "store_checks" and value:
                by_retailer[slug].append(Crawl(started, finished))
    return by_retailer


def _load_stores(session: Session) -> dict[int, list[Store]]:
    by_retailer: dict[int, list[Store]] = defaultdict(list)
    for store in session.scalars(select(Store).order_by(Store.id)):
        by_retailer[store.retailer_id].append(store)
    return by_retailer


_AVAILABILITY = {member.value: member for member in Availability}


class _Memo(dict[Any, Any]):
    """A column's result conversion applied once per distinct raw value (prices, flags and sweep times
    repeat: a store-API sweep stamps every store of a product with the same time)."""

    def __init__(self, convert: Callable[[Any], Any]) -> None:
        super().__init__()
        self.convert = convert

    def __missing__(self, raw: Any) -> Any:
        value = self[raw] = None if raw is None else self.convert(raw)
        return value


def _utc_from_sqlite(text: str) -> datetime:
    # UTCDateTime stores naive UTC text on SQLite; parsing it with the offset attached is one C call, where
    # the TypeDecorator path parses and then replaces tzinfo per value (most of the old load time)
    try:
        return datetime.fromisoformat(text + "+00:00")
    except ValueError:
        parsed = datetime.fromisoformat(text)
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is UTC else value.astimezone(UTC)


class _RawColumns:
    """Select columns without per-row result processing and convert their values once, the same way.

    SQLAlchemy's per-row processors (the UTCDateTime TypeDecorator above all) were most of the load time.
    """

    def __init__(self, session: Session) -> None:
        self.dialect = session.get_bind().dialect
        self.to_utc = _utc_from_sqlite if self.dialect.name == "sqlite" else _utc

    @staticmethod
    def raw(column: Any) -> Any:
        """The column under its own name, its values as the driver returns them."""
        return type_coerce(column, NullType()).label(column.key)

    def converter(self, column: Any) -> _Memo:
        """The column type's own result conversion, memoised by raw value."""
        process = column.type.result_processor(self.dialect, None)
        return _Memo(process if process is not None else (lambda value: value))


def _promoted_products(retailer_id: int) -> Any:
    return select(Promotion.product_id).where(Promotion.retailer_id == retailer_id)


def load_retailer_offers(session: Session, retailer_id: int) -> dict[int, list[OfferPoint]]:
    """Offer observations of every product the retailer's promotions advertise, by product, oldest first."""
    o = OfferObservation
    columns = _RawColumns(session)
    raw, to_utc = columns.raw, columns.to_utc
    orderable, price = columns.converter(o.orderable), columns.converter(o.price)
    availability, unknown = _AVAILABILITY.get, Availability.UNKNOWN
    rows = session.connection().execute(
        select(
            o.product_id,
            o.id,
            raw(o.observed_at),
            raw(o.availability),
            raw(o.orderable),
            raw(o.price),
            raw(o.regular_price),
            raw(o.currency),
            raw(o.screenshot_sha256),
            raw(o.delivery),
        )
        .where(o.product_id.in_(_promoted_products(retailer_id)))
        .order_by(o.product_id, o.observed_at, o.id)
    )
    return {
        product_id: [
            OfferPoint(
                r.id,
                to_utc(r.observed_at),
                availability(r.availability, unknown),
                orderable[r.orderable],
                price[r.price],
                price[r.regular_price],
                r.currency,
                r.screenshot_sha256,
                r.delivery,
            )
            for r in group
        ]
        for product_id, group in itertools.groupby(rows, key=attrgetter("product_id"))
    }


def load_retailer_store_intervals(
    session: Session, retailer_id: int, now: datetime
) -> dict[int, list[StoreInterval]]:
    """Store intervals of the products the retailer's promotions advertise, by product, oldest first.

    Intervals that begin after ``now`` are left out: no rule reads them (all stop at the first such one).
    """
    s = StoreObservation
    columns = _RawColumns(session)
    raw = columns.raw
    moment = _Memo(columns.to_utc)
    availability, unknown = _AVAILABILITY.get, Availability.UNKNOWN
    rows = session.connection().execute(
        select(
            s.product_id,
            s.id,
            s.store_id,
            raw(s.first_seen),
            raw(s.last_seen),
            s.checks,
            raw(s.availability),
            s.quantity,
        )
        .where(s.product_id.in_(_promoted_products(retailer_id)), s.first_seen <= now)
        .order_by(s.product_id, s.first_seen, s.id)
    )
    return {
        product_id: [
            StoreInterval(
                r.id,
                r.store_id,
                moment[r.first_seen],
                moment[r.last_seen],
                r.checks or 1,
                availability(r.availability, unknown),
                r.quantity,
            )
            for r in group
        ]
        for product_id, group in itertools.groupby(rows, key=attrgetter("product_id"))
    }


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
    promotion: _Planned,
    history: _History,
    rules: RetailerRules,
    now: datetime,
    report: EvaluationReport,
    products_done: set[int],
) -> None:
    facts = promotion.facts
    thresholds = rules.thresholds
    offers, intervals = history.offers, history.intervals
    scope, scope_name = store_scope(history.stores, promotion.region, rules.stores)
    verdicts = [
        unorderable_online(facts, offers, thresholds, now),
        store_stockout(facts, intervals, scope, thresholds, now, scope_name, history.crawls, offers),
        store_sellout(facts, intervals, scope, thresholds, now, scope_name, history.crawls, offers),
        price_mismatch(facts, offers, thresholds, now),
        reference_price_unsupported(facts, offers, thresholds, now, rules.reference_rule),
        delivery_slipping(facts, offers, intervals, scope, thresholds, now, scope_name, history.crawls),
    ]
    screenshots = {o.id: o.screenshot_sha256 for o in offers if o.screenshot_sha256}
    base_payload = {
        "retailer": promotion.slug,
        "promotion": facts.title,
        "product_url": promotion.product_url,
        "product_name": promotion.product_name,
        "advertised_price": money_str(facts.advertised_price),
        "reference_price": money_str(facts.reference_price),
        "currency": facts.currency,
        "region": promotion.region,
    }
    findings: dict[str, list[Finding]] = defaultdict(list)
    for finding in session.scalars(
        select(Finding).where(Finding.promotion_id == facts.id).order_by(Finding.opened_at, Finding.id)
    ):
        findings[finding.rule].append(finding)
    for verdict in verdicts:
        report.verdicts[f"{verdict.rule}:{verdict.status}"] += 1
        _reconcile(
            session, promotion, findings[verdict.rule], verdict, now, report, base_payload, screenshots
        )
    if promotion.product_id not in products_done:
        products_done.add(promotion.product_id)
        changes = online_changes(offers, thresholds, now) + store_changes(intervals, thresholds, now)
        _product_events(session, promotion, history, changes, now, report)


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
    promotion: _Planned,
    findings: list[Finding],
    verdict: Verdict,
    now: datetime,
    report: EvaluationReport,
    base: dict[str, Any],
    screenshots: dict[int, str],
) -> None:
    slug = promotion.slug
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
                _finding_event(session, "finding_closed", last, promotion, base, screenshots, now, report)
    elif last is not None:
        assert last.closed_at is not None
        closed_at = last.closed_at
        pending = [e for e in pending if e.opened_at > closed_at]
    for episode in pending:
        finding = Finding(
            promotion_id=promotion.facts.id,
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
        _finding_event(session, "finding_opened", finding, promotion, base, screenshots, now, report)
        if closed:
            report.count(slug, "closed")
            _finding_event(session, "finding_closed", finding, promotion, base, screenshots, now, report)


def _finding_event(
    session: Session,
    kind: str,
    finding: Finding,
    promotion: _Planned,
    base: dict[str, Any],
    screenshots: dict[int, str],
    now: datetime,
    report: EvaluationReport,
) -> None:
    occurred = finding.closed_at if kind == "finding_closed" and finding.closed_at else finding.opened_at
    event = record_event(
        session,
        kind,
        f"{kind}:{finding.id}",
        occurred,
        _finding_payload(finding, base, screenshots),
        retailer_id=promotion.retailer_id,
        product_id=promotion.product_id,
        promotion_id=promotion.facts.id,
        finding_id=finding.id,
        created_at=now,
    )
    if event is not None:
        report.count(promotion.slug, "events")


def _product_events(
    session: Session,
    promotion: _Planned,
    history: _History,
    changes: list[Change],
    now: datetime,
    report: EvaluationReport,
) -> None:
    slug, product_id = promotion.slug, promotion.product_id
    by_offer = {o.id: o for o in history.offers}
    by_store = {s.id: s for s in history.stores}
    for change in changes:
        payload: dict[str, Any] = {
            "retailer": slug,
            "product_url": promotion.product_url,
            "product_name": promotion.product_name,
            "promotions": list(history.promotion_titles),
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
            key = f"{change.kind}:product:{product_id}:offer:{change.observation_id}"
        else:
            store = by_store.get(change.store_id)
            payload |= {
                "store_id": change.store_id,
                "store": store.name if store else None,
                "store_external_id": store.external_id if store else None,
                "postcode": store.postcode if store else None,
                "city": store.city if store else None,
            }
            key = f"{change.kind}:product:{product_id}:store-interval:{change.observation_id}"
        if change.kind == "price_drop":
            payload |= {"old_price": money_str(change.old_price), "price": money_str(change.new_price)}
        event = record_event(
            session,
            change.kind,
            key,
            change.at,
            payload,
            retailer_id=promotion.retailer_id,
            product_id=product_id,
            created_at=now,
        )
        if event is not None:
            report.count(slug, "events")


# ---------------------------------------------------------------- consumers' orders


def _store_intervals(session: Session, product_id: int, now: datetime) -> list[StoreInterval]:
    s = StoreObservation
    rows = session.execute(
        select(s.id, s.store_id, s.first_seen, s.last_seen, s.checks, s.availability, s.quantity)
        .where(s.product_id == product_id, s.first_seen <= now)
        .order_by(s.first_seen, s.id)
    ).all()
    return [
        StoreInterval(
            r.id,
            r.store_id,
            r.first_seen,
            r.last_seen,
            r.checks or 1,
            Availability(r.availability),
            r.quantity,
        )
        for r in rows
    ]


def _evaluate_orders(
    sessions: sessionmaker[Session], watchlist: Watchlist, now: datetime, report: EvaluationReport
) -> None:
    """``delivery_overdue`` for every recorded order as of ``now``: its finding (on the order's promotion) and
    one event for its consumer, each order in its own transaction."""
    with sessions() as session:
        ids = session.scalars(select(Order.id).order_by(Order.id)).all()
        crawls = load_store_crawls(session)
    per_retailer = {r.slug: r for r in watchlist.retailers}
    for order_id in ids:
        with sessions.begin() as session:
            order = session.get_one(Order, order_id)
            retailer = session.get_one(Retailer, order.retailer_id)
            watched = per_retailer.get(retailer.slug)
            thresholds = watched.thresholds if watched else watchlist.thresholds
            promotion = (
                session.get(Promotion, order.promotion_id)
                if order.promotion_id is not None
                else resolve_promotion(session, order, thresholds)
            )
            product_id = order.product_id or (promotion.product_id if promotion else None)
            facts, source = order_facts(session, order)
            statuses = [
                StatusPoint(s.id, s.at, s.text, status_outcome(s.outcome))
                for s in sorted(order.statuses, key=lambda s: (s.at, s.id))
            ]
            stores = session.scalars(select(Store).where(Store.retailer_id == retailer.id)).all()
            scope, scope_name = store_scope(
                stores, promotion.region if promotion else None, watched.stores if watched else ()
            )
            verdict = delivery_overdue(
                facts,
                statuses,
                promotion_facts(session, promotion) if promotion else None,
                _store_intervals(session, product_id, now) if product_id else [],
                scope,
                thresholds,
                now,
                crawls.get(retailer.slug) or None,
            )
            verdict.inputs.update(
                {"promise_source": source, "scope": scope_name, "scope_store_ids": sorted(scope)}
            )
            report.verdicts[f"{OVERDUE}:{verdict.status}"] += 1
            _reconcile_order(session, order, promotion, retailer, product_id, verdict, now, report)


def _reconcile_order(
    session: Session,
    order: Order,
    promotion: Promotion | None,
    retailer: Retailer,
    product_id: int | None,
    verdict: Verdict,
    now: datetime,
    report: EvaluationReport,
) -> None:
    """Bring the order's finding in line with the verdict; record the consumer's event once."""
    if not verdict.episodes:
        return
    episode = verdict.episodes[0]
    finding = None
    if promotion is not None:
        for candidate in session.scalars(
            select(Finding).where(Finding.promotion_id == promotion.id, Finding.rule == OVERDUE)
        ):
            if candidate.inputs.get("order") == order.slug:
                finding = candidate
        if finding is None:
            finding = Finding(
                promotion_id=promotion.id,
                rule=OVERDUE,
                state="confirmed",
                opened_at=episode.opened_at,
                confirmed_at=episode.confirmed_at,
                closed_at=None,
                evaluated_at=now,
                summary=episode.summary,
                inputs=verdict.inputs,
                observation_ids={"offer": [], "store": list(episode.store_ids)},
            )
            session.add(finding)
            session.flush()
            report.count(retailer.slug, "opened")
            report.count(retailer.slug, "confirmed")
        elif finding.closed_at is None:
            cited = {"offer": [], "store": list(episode.store_ids)}
            if (finding.summary, finding.inputs, finding.observation_ids) != (
                episode.summary,
                verdict.inputs,
                cited,
            ):
                finding.summary, finding.inputs, finding.observation_ids = (
                    episode.summary,
                    verdict.inputs,
                    cited,
                )
                finding.evaluated_at = now
        if episode.closed_at is not None and finding.closed_at is None:
            # evaluated now: a recomputation at evaluated_at sees the status that closed it
            finding.closed_at, finding.state, finding.evaluated_at = episode.closed_at, "closed", now
            report.count(retailer.slug, "closed")
    product = session.get(Product, product_id) if product_id else None
    payload = {
        "retailer": retailer.slug,
        "order": order.slug,
        "reference": order.reference,
        "price_paid": money_str(order.price_paid),
        "currency": order.currency,
        "product_url": product.url if product else None,
        "product_name": product.name if product else None,
        "promotion": promotion.title if promotion else None,
        "rule": OVERDUE,
        "summary": verdict.inputs.get("statements", {}).get("en", episode.summary),
        "statements": verdict.inputs.get("statements", {}),
        "promised_by": verdict.inputs.get("promised_by"),
        "overdue_at": episode.opened_at.isoformat(),
    }
    if episode.closed_at is not None:
        return  # delivered or cancelled: no news for the consumer, whether or not they were told before
    event = record_event(
        session,
        OVERDUE,
        f"{OVERDUE}:order:{order.id}",  # told once, however often evaluate runs
        episode.opened_at,
        payload,
        retailer_id=retailer.id,
        product_id=product_id,
        promotion_id=promotion.id if promotion else None,
        finding_id=finding.id if finding else None,
        created_at=now,
    )
    if event is not None:
        report.count(retailer.slug, "events")
