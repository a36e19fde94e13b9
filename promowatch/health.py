"""After a crawl: is each retailer still readable? A canary that reads unknown or out of stock, a jump in the
share of unknown looks, or block and captcha pages mean the shop changed its layout or blocks us. That is told to
the operator, never turned into a finding about the shop: a ``crawl_unhealthy`` event (tag ``ops``) when an outage
starts and a ``crawl_recovered`` event when it ends, not one each run. The retailer's state between runs is its
latest health event, so the check holds no state of its own and a re-run of the same check tells nobody twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from promowatch.config import WatchedRetailer, Watchlist
from promowatch.db.models import AdSighting, Event, OfferObservation, Product, Promotion, Retailer
from promowatch.db.queries import absolute
from promowatch.extract.blocked import BLOCKED_REASON

if TYPE_CHECKING:
    from promowatch.crawl.runner import CrawlReport

UNHEALTHY, RECOVERED = "crawl_unhealthy", "crawl_recovered"


@dataclass(frozen=True)
class Thresholds:
    """When a run counts as unhealthy. The defaults suit a daily cron run."""

    history: timedelta = timedelta(days=14)  # previous looks the unknown share is compared with
    min_looks: int = 3  # fewer looks in the run than this: the share says nothing
    unknown_jump: float = 0.30  # share of unknown looks now minus before
    unknown_floor: float = 0.50  # ... and at least this share now
    blocked_share: float = 0.02  # share of looks that met a block page, even when asking again got the page
    # a share of unknown looks above this in one run is a problem whatever the runs before read: a retailer
    # whose every look has been unknown for weeks shows no jump, and is still not being watched
    unknown_ceiling: float = 0.50
    # a share of the stores the list gave without a name (or a postcode, when subscriptions match by postcode),
    # or of the stock answers that came back and did not read, above this
    store_fields_missing: float = 0.50


@dataclass(frozen=True)
class LookCounts:
    looks: int
    unknown: int
    blocked: int  # products whose last look in the window met a block page
    blocked_looks: int = 0  # looks that met one, the ones asked for again included

    @property
    def unknown_share(self) -> float:
        return self.unknown / self.looks if self.looks else 0.0


@dataclass
class RetailerHealth:
    retailer: str
    run: LookCounts
    before: LookCounts
    canary: str | None = None  # the canary's availability in this run, when it was looked at
    problems: list[str] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # canary, blocked, unknown: what kind of problem each is

    @property
    def healthy(self) -> bool:
        return not self.problems


def judge(
    retailer: str, run: LookCounts, before: LookCounts, canary: str | None, limits: Thresholds = Thresholds()
) -> RetailerHealth:
    """Pure: the problems of one retailer's run, in words an operator can act on."""
    health = RetailerHealth(retailer, run, before, canary)

    def problem(kind: str, text: str) -> None:
        health.problems.append(text)
        health.kinds.append(kind)

    if canary in ("unknown", "out_of_stock"):
        problem("canary", f"canary product read {canary.replace('_', ' ')} (layout change or block?)")
    if run.blocked:
        problem("blocked", f"{run.blocked} products still met a block or captcha page after retries")
    elif run.looks and run.blocked_looks / run.looks >= limits.blocked_share:
        problem(
            "blocked", f"{run.blocked_looks} of {run.looks} looks met a block or captcha page (asked again)"
        )
    if run.looks >= limits.min_looks and run.unknown_share >= limits.unknown_floor:
        baseline = before.unknown_share if before.looks else 0.0
        if run.unknown_share - baseline >= limits.unknown_jump:
            problem(
                "unknown",
                f"unknown share jumped to {run.unknown_share:.0%} of {run.looks} looks "
                f"(was {baseline:.0%} of {before.looks})",
            )
    if (
        "unknown" not in health.kinds
        and run.looks >= limits.min_looks
        and run.unknown_share > limits.unknown_ceiling
    ):
        problem(
            "unknown",
            f"{run.unknown} of {run.looks} looks read unknown ({run.unknown_share:.0%}, more than "
            f"{limits.unknown_ceiling:.0%}): the profile or the shop's pages need a look",
        )
    return health


def _counts(
    session: Session, retailer_id: int, start: datetime, end: datetime | None, *, blocked: bool = True
) -> LookCounts:
    """The retailer's looks in start..end: all, unknown, and (``blocked``) those that met a block page."""
    window = [Product.retailer_id == retailer_id, OfferObservation.observed_at >= start]
    if end is not None:
        window.append(OfferObservation.observed_at < end)
    met_block = OfferObservation.reason.startswith(BLOCKED_REASON)
    looks, unknown, blocked_looks = session.execute(
        select(
            func.count(OfferObservation.id),
            func.count(case((OfferObservation.availability == "unknown", 1))),
            func.count(case((met_block, 1))),
        )
        .join(Product, Product.id == OfferObservation.product_id)
        .where(*window)
    ).one()
    if not blocked or not blocked_looks:
        return LookCounts(looks, unknown, 0, blocked_looks)
    # a block page asked for again and then read is no problem: count the products whose last look was blocked
    last = (
        select(func.max(OfferObservation.id).label("id"))
        .join(Product, Product.id == OfferObservation.product_id)
        .where(*window)
        .group_by(OfferObservation.product_id)
        .subquery()
    )
    still = session.scalar(
        select(func.count(OfferObservation.id)).join(last, last.c.id == OfferObservation.id).where(met_block)
    )
    return LookCounts(looks, unknown, still or 0, blocked_looks)


def assess(
    session: Session, watchlist: Watchlist, since: datetime, limits: Thresholds = Thresholds()
) -> list[RetailerHealth]:
    """Each retailer's health from the offer observations made since ``since`` (the run's start)."""
    results = []
    for watched in watchlist.retailers:
        retailer = session.scalar(select(Retailer).where(Retailer.slug == watched.slug))
        if retailer is None:
            continue
        run = _counts(session, retailer.id, since, None)
        before = _counts(session, retailer.id, since - limits.history, since, blocked=False)
        canary = None
        if watched.canary:
            canary = session.scalar(
                select(OfferObservation.availability)
                .join(Product, Product.id == OfferObservation.product_id)
                .where(
                    Product.retailer_id == retailer.id,
                    Product.url == absolute(watched, watched.canary),
                    OfferObservation.observed_at >= since,
                )
                .order_by(OfferObservation.observed_at.desc(), OfferObservation.id.desc())
                .limit(1)
            )
        results.append(judge(watched.slug, run, before, canary, limits))
    return results


def last_health_event(session: Session, retailer_id: int) -> tuple[str | None, list[str]]:
    """The kind of the retailer's latest health event (``crawl_unhealthy`` while an outage lasts) and the kinds
    of problem it told of."""
    row = session.execute(
        select(Event.kind, Event.payload)
        .where(Event.retailer_id == retailer_id, Event.kind.in_((UNHEALTHY, RECOVERED)))
        .order_by(Event.occurred_at.desc(), Event.id.desc())
        .limit(1)
    ).first()
    if row is None:
        return None, []
    return row.kind, list((row.payload or {}).get("kinds") or [])


def check_crawl_health(
    sessions: sessionmaker[Session],
    watchlist: Watchlist,
    since: datetime,
    now: datetime,
    limits: Thresholds = Thresholds(),
) -> list[RetailerHealth]:
    """Assess every retailer after a crawl; tell the operator when a retailer's outage starts
    (``crawl_unhealthy``) and when it ends (``crawl_recovered``, after a run that looked at its pages again).

    ``since`` is when the crawl started on the run's clock; the event's dedup key holds it, so re-running the
    check for the same crawl does not tell the operator twice.
    """
    from notify.outbox import record_event

    with sessions.begin() as session:
        results = assess(session, watchlist, since, limits)
        for health in results:
            retailer_id = session.scalar(select(Retailer.id).where(Retailer.slug == health.retailer))
            if retailer_id is None:
                continue
            last_kind, told = last_health_event(session, retailer_id)
            in_outage = last_kind == UNHEALTHY
            # a new kind of problem during an outage (a layout change while blocked) is told too
            if not health.healthy and (not in_outage or not set(health.kinds) <= set(told)):
                kind, facts = (
                    UNHEALTHY,
                    {
                        "summary": "; ".join(health.problems),
                        "problems": health.problems,
                        "kinds": sorted(set(health.kinds) | (set(told) if in_outage else set())),
                    },
                )
            elif health.healthy and in_outage and health.run.looks:
                kind, facts = (
                    RECOVERED,
                    {
                        "summary": f"readable again: {health.run.looks} looks, {health.run.unknown} unknown, "
                        "none blocked"
                    },
                )
            else:
                continue
            record_event(
                session,
                kind,
                f"{kind}|{health.retailer}|{since.isoformat()}",
                now,
                {
                    "retailer": health.retailer,
                    **facts,
                    "looks": health.run.looks,
                    "unknown": health.run.unknown,
                    "blocked": health.run.blocked,
                    "canary": health.canary,
                },
                retailer_id=retailer_id,
                created_at=now,
            )
    return results


# ---------------------------------------------------------------- what a run read nothing of


@dataclass(frozen=True)
class SweepCounts:
    """The retailer's promotions sweep: promotions whose ad this run saw, and when an earlier sweep last saw one
    (within the history compared with; None: none did)."""

    seen_now: int
    last_found_at: datetime | None


@dataclass(frozen=True)
class StoreCounts:
    """What the store API read in this run."""

    listed: int  # stores the list answer named
    unnamed: int  # of those, stores whose name the list did not give (stored under their id)
    without_postcode: int
    stock_answers: int  # stock answers that came back (status 200)
    store_checks: int  # store states they read
    unreadable: int  # of those answers, the ones that were not what the profile says
    stock_failed: int = 0  # stock requests that got an HTTP error or no answer: unknown, not unreadable


def silent_failures(
    retailer: WatchedRetailer,
    sweep: SweepCounts | None,
    stores: StoreCounts,
    *,
    postcodes_needed: bool,
    limits: Thresholds = Thresholds(),
) -> list[str]:
    """Pure: what the run read nothing of, though the profile says where it is, in words naming the key to
    check. Each would otherwise pass with exit 0: the run still counts pages and store checks."""
    problems = []
    api = retailer.profile.stores
    if sweep is not None and not sweep.seen_now and sweep.last_found_at is not None:
        problems.append(
            "the promotions sweep found no promotion, where the sweep of "
            f"{sweep.last_found_at:%Y-%m-%d %H:%M} found some ([promotions] item, link or price?)"
        )
    if api.list_url:
        if not stores.listed:
            problems.append(f"the store list read no store ([stores] list_path {api.list_path!r}?)")
        else:
            if stores.unnamed / stores.listed > limits.store_fields_missing:
                problems.append(
                    f"{stores.unnamed} of {stores.listed} stores have no name ([stores] name {api.name!r}?)"
                )
            if postcodes_needed and stores.without_postcode / stores.listed > limits.store_fields_missing:
                problems.append(
                    f"{stores.without_postcode} of {stores.listed} stores have no postcode, and subscriptions "
                    f"match stores by postcode ([stores] postcode {api.postcode!r}?)"
                )
    if api.stock_url:
        if stores.stock_answers and stores.unreadable / stores.stock_answers > limits.store_fields_missing:
            problems.append(
                f"{stores.unreadable} of {stores.stock_answers} stock answer(s) unreadable ([stores] stock_path "
                f"{api.stock_path!r}? see logs/crawl.log)"
            )
        elif not stores.stock_answers and stores.stock_failed > 1:
            # one failed request is an unknown product or a one-off timeout; every one of several, a wrong URL
            problems.append(
                f"every stock request failed ({stores.stock_failed}, HTTP error or timeout; [stores] stock_url "
                f"{api.stock_url!r}? see logs/crawl.log)"
            )
        elif stores.stock_answers > stores.unreadable and not stores.store_checks:
            problems.append(
                f"{stores.stock_answers} stock answer(s) read no store ([stores] stock_path {api.stock_path!r}, "
                f"stock_store_id {api.stock_store_id!r}?)"
            )
    return problems


def _sweep_counts(session: Session, retailer_id: int, since: datetime, limits: Thresholds) -> SweepCounts:
    swept = (
        select(AdSighting.last_seen)
        .join(Promotion, Promotion.id == AdSighting.promotion_id)
        .where(Promotion.retailer_id == retailer_id, Promotion.origin == "sweep")
    )
    seen_now = session.scalar(
        select(func.count()).select_from(swept.where(AdSighting.last_seen >= since).subquery())
    )
    last = session.scalar(
        select(func.max(AdSighting.last_seen))
        .join(Promotion, Promotion.id == AdSighting.promotion_id)
        .where(
            Promotion.retailer_id == retailer_id,
            Promotion.origin == "sweep",
            AdSighting.last_seen < since,
            AdSighting.last_seen >= since - limits.history,
        )
    )
    return SweepCounts(seen_now or 0, last)


def _store_counts(slug: str, report: CrawlReport) -> StoreCounts:
    """The stores spider's counts of this run: the Store rows on record also hold stores of earlier lists and
    stores known only from stock answers, so they cannot say what this run's list gave."""
    return StoreCounts(
        listed=report.retailer_count(slug, "stores"),
        unnamed=report.retailer_count(slug, "stores_unnamed"),
        without_postcode=report.retailer_count(slug, "stores_without_postcode"),
        stock_answers=report.retailer_count(slug, "stock_answers"),
        store_checks=report.retailer_count(slug, "store_checks"),
        unreadable=report.retailer_count(slug, "store_unreadable"),
        stock_failed=report.retailer_count(slug, "stock_failed"),
    )


def run_problems(
    sessions: sessionmaker[Session],
    watchlist: Watchlist,
    chosen: list[str],
    since: datetime,
    report: CrawlReport,
    limits: Thresholds = Thresholds(),
) -> dict[str, list[str]]:
    """Each crawled retailer's :func:`silent_failures` in the run that started at ``since``."""
    found: dict[str, list[str]] = {}
    with sessions() as session:
        for slug in chosen:
            if report.unreachable(slug):
                continue  # said once: every request failed, so nothing could be read
            retailer = watchlist.retailer(slug)
            retailer_id = session.scalar(select(Retailer.id).where(Retailer.slug == slug))
            if retailer_id is None:
                continue
            sweeps = retailer.sweep and bool(retailer.profile.promotions.urls)
            postcodes = any(
                s.postcode is not None and (not s.retailers or slug in s.retailers)
                for s in watchlist.subscriptions
            )
            problems = silent_failures(
                retailer,
                _sweep_counts(session, retailer_id, since, limits) if sweeps else None,
                _store_counts(slug, report),
                postcodes_needed=postcodes,
                limits=limits,
            )
            if problems:
                found[slug] = problems
    return found
