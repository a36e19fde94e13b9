"""After a crawl: is each retailer still readable? A canary that reads unknown or out of stock, a jump in the
share of unknown looks, or block and captcha pages mean the shop changed its layout or blocks us. That is told to
the operator, never turned into a finding about the shop: a ``crawl_unhealthy`` event (tag ``ops``) when an outage
starts and a ``crawl_recovered`` event when it ends, not one each run. The retailer's state between runs is its
latest health event, so the check holds no state of its own and a re-run of the same check tells nobody twice."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session, sessionmaker

from promowatch.config import Watchlist
from promowatch.db.models import Event, OfferObservation, Product, Retailer
from promowatch.db.queries import absolute
from promowatch.extract.blocked import BLOCKED_REASON

UNHEALTHY, RECOVERED = "crawl_unhealthy", "crawl_recovered"


@dataclass(frozen=True)
class Thresholds:
    """When a run counts as unhealthy. The defaults suit a daily cron run."""

    history: timedelta = timedelta(days=14)  # previous looks the unknown share is compared with
    min_looks: int = 3  # fewer looks in the run than this: the share says nothing
    unknown_jump: float = 0.30  # share of unknown looks now minus before
    unknown_floor: float = 0.50  # ... and at least this share now
    blocked_share: float = 0.02  # share of looks that met a block page, even when asking again got the page


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
