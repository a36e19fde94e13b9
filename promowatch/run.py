"""The steps of a run, each re-runnable on its own: crawl, evaluate, notify (design.md §3)."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from promowatch.clock import Clock
from promowatch.config import ConfigError, Watchlist
from promowatch.datadir import DataDir
from promowatch.lock import Locked, run_lock

# The crawl, database and delivery stacks are imported in the steps that use them: promowatch.cli imports this
# module for its exit codes, and a command that crawls nothing (--help, check, findings) need not load Scrapy,
# SQLAlchemy, Alembic and Apprise first (importing promowatch.cli: 64 ms instead of 358).
if TYPE_CHECKING:
    from notify.outbox import DeliveryReport
    from promowatch.evaluate import EvaluationReport
    from promowatch.runconfig import RunContext

Echo = Callable[[str], None]

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_LOCKED = 0, 1, 2, 3
EXIT_INTERRUPTED = 130  # Ctrl+C or SIGTERM, as shells report a process stopped by SIGINT


class RunError(Exception):
    """A failure the user can act on: one line, and the exit code the command ends with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def warn(line: str) -> None:
    """Errors go to stderr even with --quiet: cron mails them to the operator."""
    print(line, file=sys.stderr)


@dataclass
class CrawlSummary:
    counts: dict[str, Counter[str]] = field(default_factory=dict)  # retailer -> pages, observations, ...
    failed_retailers: list[str] = field(default_factory=list)
    unhealthy: dict[str, list[str]] = field(default_factory=dict)  # retailer -> problems

    def line(self, slug: str) -> str:
        """The crawl part of a retailer's summary line."""
        if slug in self.failed_retailers and not self.counts[slug]["responses"]:
            return f"{slug}: unreachable (every request failed)"
        counts = self.counts[slug]
        observed = counts["offer_observations"]
        unknown = f" ({counts['availability/unknown'] / observed:.0%} unknown)" if observed else ""
        unchanged = f" ({counts['not_modified']} not modified)" if counts["not_modified"] else ""
        lost = "".join(
            f", {counts[key]} {label}"
            for key, label in (("refused", "values refused"), ("not_stored", "observations not stored"))
            if counts[key]
        )
        return (
            f"{slug}: {counts['responses']} pages{unchanged}, {observed} offer observations{unknown}, "
            f"{counts['store_checks']} store checks{lost}"
        )


@contextmanager
def locked(data: DataDir) -> Iterator[None]:
    """The data directory's lock for one step or a whole run; another holder is exit code 3."""
    try:
        with run_lock(data.lock):
            yield
    except Locked as error:
        raise RunError(str(error), EXIT_LOCKED) from None


def check_phrases() -> None:
    """The user's phrase files load (a broken one is bad input, found before anything is crawled)."""
    from promowatch.extract.phrases import phrase_book

    try:
        phrase_book()
    except ValueError as error:
        raise ConfigError(str(error)) from None


def _selected(watchlist: Watchlist, retailers: tuple[str, ...]) -> list[str]:
    slugs = [r.slug for r in watchlist.retailers]
    unknown = [slug for slug in retailers if slug not in slugs]
    if unknown:
        raise ConfigError(f"{watchlist.path}: no retailer {unknown[0]!r} in the watchlist")
    return [slug for slug in slugs if not retailers or slug in retailers]


def crawl_step(
    context: RunContext,
    *,
    retailers: tuple[str, ...] = (),
    redis_url: str | None = None,
    wait: float = 3000.0,
    echo: Echo | None = print,
    progress: bool = False,
    overrides: dict[str, Any] | None = None,
    processes: int = 1,
) -> CrawlSummary:
    """Sync the watchlist to the database, crawl promotions, offers and stores once, then check the crawl's
    health (``crawl_unhealthy`` events for the ops tag). With ``redis_url`` the product pages go to the
    scrapy-redis workers instead, waiting for them at most ``wait`` seconds. ``progress``: a live view on stderr while it crawls; ``overrides``: Scrapy
    settings of this run; ``processes``: crawl processes, each owning whole retailers (promowatch.crawl.parallel)."""
    from promowatch.crawl.runner import browser_problem, crawl_settings, run_crawl
    from promowatch.db.queries import products_per_retailer, sync_watchlist
    from promowatch.evidence.blobs import BlobStore
    from promowatch.health import check_crawl_health, run_problems

    watchlist, data, clock = context.watchlist, context.data, context.clock
    chosen = _selected(watchlist, retailers)
    check_phrases()
    started = clock.now()
    sessions = context.sessions
    with sessions.begin() as session:
        sync_watchlist(session, watchlist, started, BlobStore(data.blobs))
        work = products_per_retailer(session)
    summary = CrawlSummary(counts={slug: Counter() for slug in chosen})
    problem = browser_problem(tuple(watchlist.retailer(slug) for slug in chosen))
    if problem:
        # the other shops are still crawled; the browser pages are stored as unknown with this reason
        warn(f"promowatch: error: {problem}")
        summary.failed_retailers += [s for s in chosen if watchlist.retailer(s).profile.render == "browser"]
    settings = crawl_settings(
        watchlist,
        data,
        clock=clock,
        retailers=retailers,
        overrides={**(overrides or {}), "PROMOWATCH_PROGRESS": progress},
    )
    # the crawl's spiders and pipelines work from this run's watchlist and engine (promowatch.runconfig)
    settings.set("PROMOWATCH_RUN_CONTEXT", context, priority="cmdline")
    if redis_url:
        from promowatch.distributed import run_distributed

        # the product pages go to the workers; the promotions page and the store APIs (few requests, many
        # stores each) stay here. A promotion first swept in this run is checked online in the next one.
        distributed = run_distributed(
            watchlist,
            data,
            redis_url,
            clock=clock,
            timeout=wait,
            echo=echo or (lambda _: None),
            stalled=lambda line: warn(f"promowatch: warning: {line}"),
        )
        if distributed.timed_out or distributed.errors:
            warn(f"promowatch: error: {distributed}")
        report = run_crawl(settings, spiders=("promotions", "stores"))
    elif processes > 1 and len(chosen) > 1 and watchlist.path is not None:
        from promowatch.crawl.parallel import partition, run_parallel

        groups = partition({slug: work.get(slug, 0) for slug in chosen}, processes)
        report = run_parallel(watchlist.path, data, clock, groups, overrides=overrides)
    else:
        report = run_crawl(settings)
    if report.interrupted:
        raise RunError(
            "interrupted: every look made so far is stored; no findings or notifications", EXIT_INTERRUPTED
        )
    for slug in chosen:
        counts = summary.counts[slug]
        for key in (
            "responses",
            "not_modified",
            "fetch_failed",
            "offer_observations",
            "availability/unknown",
            "store_checks",
            "gone",
            "refused",
            "not_stored",
        ):
            counts[key] = report.retailer_count(slug, key)
        if counts["refused"] or counts["not_stored"]:
            # values the database cannot hold are refused at validation; either way the shop's data is not all
            # stored, which the exit status says (crawl.log has each value and its reason)
            warn(
                f"promowatch: error: {slug}: {counts['refused']} value(s) refused as more than the database "
                f"holds, {counts['not_stored']} observation(s) not stored (see logs/crawl.log)"
            )
            summary.failed_retailers.append(slug)
        if counts["gone"]:
            warn(
                f"promowatch: warning: {slug}: {counts['gone']} watched product page(s) answered 404/410 "
                "(moved or removed?); stored as unknown with that reason"
            )
        if report.unreachable(slug):
            warn(
                f"promowatch: error: {slug}: unreachable at {watchlist.retailer(slug).base_url} (every request failed)"
            )
            summary.failed_retailers.append(slug)
    for health in check_crawl_health(sessions, watchlist, started, clock.now()):
        if redis_url and health.retailer in chosen:
            # the workers made the offer observations: count them where they were stored
            summary.counts[health.retailer]["offer_observations"] = health.run.looks
            summary.counts[health.retailer]["availability/unknown"] = health.run.unknown
        if health.retailer in chosen and not health.healthy:
            summary.unhealthy[health.retailer] = health.problems
            if health.retailer in summary.failed_retailers:
                continue  # already said: unreachable
            # a retailer the crawl cannot read is not watched: the exit status says so too, for cron
            summary.failed_retailers.append(health.retailer)
            warn(f"promowatch: error: {health.retailer}: crawl unhealthy: {'; '.join(health.problems)}")
    # what the run read nothing of though the profile says where it is (promowatch.health.silent_failures)
    for slug, problems in run_problems(sessions, watchlist, chosen, started, report).items():
        summary.unhealthy.setdefault(slug, []).extend(problems)
        if slug not in summary.failed_retailers:
            summary.failed_retailers.append(slug)
        for problem in problems:
            warn(f"promowatch: error: {slug}: {problem}")
    if watchlist.tsa_url:
        stamp_chain_head(context, watchlist.tsa_url, echo)
    if echo is not None:
        for slug in chosen:
            echo(summary.line(slug))
    return summary


def stamp_chain_head(context: RunContext, tsa_url: str, echo: Echo | None) -> None:
    """Trusted time for what the run chained: a token over the chain's head (promowatch.evidence.head). An
    authority out of reach is a warning, never a failed run: the next run asks for the head it then finds."""
    from promowatch.evidence.blobs import BlobStore
    from promowatch.evidence.head import stamp_head
    from promowatch.evidence.timestamp import TimestampError

    try:
        done = stamp_head(context.sessions, tsa_url, BlobStore(context.data.blobs), context.clock.now())
    except TimestampError as error:
        warn(f"promowatch: warning: chain head not timestamped, asked again at the next run: {error}")
        return
    if echo is not None:
        echo(done)


def evaluate_step(context: RunContext, *, echo: Echo | None = print) -> EvaluationReport:
    """Findings and events from the stored observations."""
    from notify.subscriptions import note_subscriptions
    from promowatch.evaluate import evaluate

    sessions, now = context.sessions, context.clock.now()
    # a subscription begins before the first events it could receive are recorded: the findings this run
    # reaches are its news, the shop changes its crawl saw before are not (notify/subscriptions.py)
    with sessions.begin() as session:
        note_subscriptions(session, _subscribed(context), now)
    watchlist = context.watchlist
    if watchlist.orders:  # the consumers' orders and statuses this run's clock has reached
        from promowatch.evidence.blobs import BlobStore
        from promowatch.orders import sync_orders

        with sessions.begin() as session:
            for line in sync_orders(session, watchlist, BlobStore(context.data.blobs), now):
                warn(f"promowatch: {line}")
    report = evaluate(sessions, watchlist, now)
    if echo is not None:
        echo(
            f"evaluated {report.promotions} promotions: {report.opened} findings opened, {report.confirmed} "
            f"confirmed, {report.closed} closed; {report.events} events"
        )
    return report


def _subscribed(context: RunContext) -> Watchlist:
    """The run's watchlist with the subscriptions made in the dashboard beside its own."""
    from notify.subscriptions import with_dashboard_subscriptions

    with context.sessions() as session:
        return with_dashboard_subscriptions(session, context.watchlist, context.data.root)


def notify_step(context: RunContext, *, echo: Echo | None = print) -> DeliveryReport:
    """Deliver what the outbox holds."""
    from notify.outbox import deliver_pending
    from promowatch.evidence.blobs import BlobStore

    report = deliver_pending(
        context.sessions, _subscribed(context), context.clock.now(), BlobStore(context.data.blobs)
    )
    for error in report.errors:
        warn(f"promowatch: notify: {error}")
    if echo is not None:
        echo(f"notifications: {report.sent} sent, {report.retried} to retry later, {report.failed} failed")
    return report


@dataclass
class RunSummary:
    crawl: CrawlSummary
    evaluation: EvaluationReport
    delivery: DeliveryReport

    @property
    def failed(self) -> bool:
        return bool(self.crawl.failed_retailers) or bool(self.delivery.failed)

    def lines(self) -> list[str]:
        """One line per retailer: crawl, findings, notifications."""
        lines = []
        for slug in self.crawl.counts:
            found = self.evaluation.per_retailer.get(slug, Counter())
            sent = self.delivery.per_retailer.get(slug, Counter())
            lines.append(
                f"{self.crawl.line(slug)}; findings {found['opened']} opened, {found['closed']} closed; "
                f"notifications {sent['sent']} sent, {sent['failed']} failed"
                + (
                    f"; UNHEALTHY: {'; '.join(self.crawl.unhealthy[slug])}"
                    if slug in self.crawl.unhealthy
                    else ""
                )
            )
        return lines


def run_all(
    watchlist: Watchlist,
    data: DataDir,
    *,
    now: str | None,
    retailers: tuple[str, ...] = (),
    redis_url: str | None = None,
    wait: float = 3000.0,
    echo: Echo = print,
    progress: bool = False,
    overrides: dict[str, Any] | None = None,
    processes: int = 1,
) -> RunSummary:
    """crawl -> evaluate -> notify under the data directory's lock, then one summary line per retailer."""
    from promowatch.runconfig import RunContext

    # one clock for the three steps: evaluate and notify run after every look the crawl made, also on a
    # simulated clock, whose observation times run on from the same origin; one engine, disposed at the end
    with locked(data), RunContext(watchlist, data, Clock.parse(now)) as context:
        crawl = crawl_step(
            context,
            retailers=retailers,
            redis_url=redis_url,
            wait=wait,
            echo=None,
            progress=progress,
            overrides=overrides,
            processes=processes,
        )
        evaluation = evaluate_step(context, echo=None)
        delivery = notify_step(context, echo=None)
    summary = RunSummary(crawl, evaluation, delivery)
    for line in summary.lines():
        echo(line)
    return summary
