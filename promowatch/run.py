"""The steps of a run, each re-runnable on its own: crawl, evaluate, notify (design.md §3)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from promowatch.clock import Clock
from promowatch.config import Watchlist
from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.queries import sync_watchlist
from promowatch.lock import Locked, run_lock

Echo = Callable[[str], None]


def warn(line: str) -> None:
    """Errors go to stderr even with --quiet: cron mails them to the operator."""
    print(line, file=sys.stderr)


EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_LOCKED = 0, 1, 2, 3


class RunError(Exception):
    """A failure the user can act on: one line, and the exit code the command ends with."""

    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class CrawlSummary:
    lines: list[str] = field(default_factory=list)
    failed_retailers: list[str] = field(default_factory=list)


@dataclass
class RunSummary:
    crawl: CrawlSummary
    evaluation: Any = None
    delivery: Any = None

    @property
    def failed(self) -> bool:
        return bool(self.crawl.failed_retailers) or bool(getattr(self.delivery, "failed", 0))


def crawl_step(
    watchlist: Watchlist,
    data: DataDir,
    *,
    now: str | None,
    retailers: tuple[str, ...] = (),
    echo: Echo = print,
) -> CrawlSummary:
    """Sync the watchlist to the database, then crawl promotions, offers and stores once."""
    from promowatch.crawl import crawl_settings, run_crawl
    from spiders.browser import BrowserNotFound, browser_executable, needs_browser

    unknown = [slug for slug in retailers if slug not in {r.slug for r in watchlist.retailers}]
    if unknown:
        from promowatch.config import ConfigError

        raise ConfigError(f"{watchlist.path}: no retailer {unknown[0]!r} in the watchlist")
    sessions = open_database(data.db_url)
    with sessions.begin() as session:
        sync_watchlist(session, watchlist, Clock.parse(now).now())
    summary = CrawlSummary()
    chosen = [r for r in watchlist.retailers if not retailers or r.slug in retailers]
    if needs_browser(tuple(chosen)):
        try:
            browser_executable()
        except BrowserNotFound as error:
            # the other shops are still crawled; the browser pages are stored as unknown with this reason
            warn(f"promowatch: error: {error}")
            summary.failed_retailers.extend(r.slug for r in chosen if r.profile.render == "browser")
    report = run_crawl(crawl_settings(watchlist, data, now=now, retailers=retailers))
    for retailer in chosen:
        pages = report.retailer_count(retailer.slug, "responses")
        observed = report.retailer_count(retailer.slug, "offer_observations")
        unknown_count = report.retailer_count(retailer.slug, "availability/unknown")
        stores = report.retailer_count(retailer.slug, "store_checks")
        line = (
            f"{retailer.slug}: {pages} pages, {observed} offer observations "
            f"({unknown_count / observed:.0%} unknown), {stores} store checks"
            if observed
            else f"{retailer.slug}: {pages} pages, no offer observations, {stores} store checks"
        )
        if report.unreachable(retailer.slug):
            line = f"{retailer.slug}: unreachable at {retailer.base_url} (every request failed)"
            warn(f"promowatch: error: {line}")
            summary.failed_retailers.append(retailer.slug)
        summary.lines.append(line)
        echo(line)
    return summary


def evaluate_step(watchlist: Watchlist, data: DataDir, *, now: str | None, echo: Echo = print) -> Any:
    """Findings and events from the stored observations."""
    from promowatch.evaluate import evaluate

    report = evaluate(open_database(data.db_url), watchlist, Clock.parse(now).now())
    echo(str(report))
    return report


def notify_step(watchlist: Watchlist, data: DataDir, *, now: str | None, echo: Echo = print) -> Any:
    """Deliver what the outbox holds."""
    from notify.outbox import deliver_pending
    from promowatch.evidence.blobs import BlobStore

    report = deliver_pending(
        open_database(data.db_url), watchlist, Clock.parse(now).now(), BlobStore(data.blobs)
    )
    echo(str(report))
    return report


def run_all(
    watchlist: Watchlist,
    data: DataDir,
    *,
    now: str | None,
    retailers: tuple[str, ...] = (),
    echo: Echo = print,
) -> RunSummary:
    """crawl -> evaluate -> notify under the data directory's lock."""
    try:
        with run_lock(data.lock):
            crawl = crawl_step(watchlist, data, now=now, retailers=retailers, echo=echo)
            evaluation = evaluate_step(watchlist, data, now=now, echo=echo)
            delivery = notify_step(watchlist, data, now=now, echo=echo)
    except Locked as error:
        raise RunError(str(error), EXIT_LOCKED) from None
    return RunSummary(crawl, evaluation, delivery)
