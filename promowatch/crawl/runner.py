"""Runs the spiders for the due work: promotions, then offers, then stores, in one Scrapy process."""

from __future__ import annotations

import logging
import signal
from contextlib import suppress
from dataclasses import dataclass, field
from logging.handlers import RotatingFileHandler
from typing import Any

from scrapy import Spider
from scrapy.crawler import AsyncCrawlerProcess, AsyncCrawlerRunner, Crawler
from scrapy.settings import Settings
from scrapy.utils.defer import deferred_from_coro
from scrapy.utils.log import configure_logging
from scrapy.utils.project import get_project_settings
from scrapy.utils.reactor import install_reactor
from twisted.internet.error import ReactorNotRunning
from twisted.python.failure import Failure

from promowatch.clock import Clock
from promowatch.config import SiteProfile, WatchedRetailer, Watchlist
from promowatch.datadir import DataDir
from promowatch.domain import Offer
from promowatch.runconfig import RunContext

logger = logging.getLogger(__name__)
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)

# promotions first: a promotion found today is checked online and in the stores in the same run;
# offers before stores: the offers spider learns the SKU the store API is asked for.
SPIDERS = ("promotions", "offers", "stores")


@dataclass
class CrawlReport:
    stats: dict[str, dict[str, Any]] = field(default_factory=dict)  # spider -> Scrapy stats
    interrupted: bool = (
        False  # stopped by Ctrl+C or SIGTERM: what was looked at is stored, the rest not looked at
    )

    def count(self, key: str) -> int:
        return sum(int(s.get(key, 0) or 0) for s in self.stats.values())

    def retailer_count(self, slug: str, key: str) -> int:
        """A per-retailer figure the spiders and pipelines count (``promowatch/<slug>/<key>``)."""
        return self.count(f"promowatch/{slug}/{key}")

    def unreachable(self, slug: str) -> bool:
        """Every fetch for the retailer failed before any response came back."""
        return self.retailer_count(slug, "fetch_failed") > 0 and self.retailer_count(slug, "responses") == 0


def project_settings() -> Settings:
    """The Scrapy settings of promowatch, also when run outside the checkout (no scrapy.cfg to point at them)."""
    settings = get_project_settings()
    if settings.get("BOT_NAME") != "promowatch":
        settings.setmodule("promowatch.settings", priority="project")
    return settings


def crawl_settings(
    watchlist: Watchlist,
    data: DataDir,
    *,
    clock: Clock | None = None,
    retailers: tuple[str, ...] = (),
    log_level: str = "INFO",
    overrides: dict[str, Any] | None = None,
) -> Settings:
    """The project's Scrapy settings for one run of this watchlist."""
    settings = project_settings()
    contact = f"; {watchlist.contact}" if watchlist.contact else ""
    settings.set("USER_AGENT", settings["USER_AGENT"].rstrip(")") + contact + ")", priority="cmdline")
    settings.set("PROMOWATCH_WATCHLIST", str(watchlist.path), priority="cmdline")
    settings.set("PROMOWATCH_DATA_DIR", str(data.root), priority="cmdline")
    settings.set("PROMOWATCH_DB", data.db_url, priority="cmdline")
    origin = clock.origin if clock is not None else None
    settings.set("PROMOWATCH_NOW", origin.isoformat() if origin else "", priority="cmdline")
    settings.set("PROMOWATCH_NOW_ANCHOR", clock.anchor if clock and origin else 0.0, priority="cmdline")
    settings.set("PROMOWATCH_RETAILERS", ",".join(retailers), priority="cmdline")
    shop_slots(settings, watchlist)
    # Scrapy's own log goes to a file in the data directory; the terminal gets one summary line per retailer
    logs = data.root / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    settings.set("LOG_FILE", str(logs / "crawl.log"), priority="cmdline")
    settings.set("LOG_FILE_APPEND", True, priority="cmdline")
    settings.set("LOG_LEVEL", log_level, priority="cmdline")
    for key, value in (overrides or {}).items():
        settings.set(key, value, priority="cmdline")
    return settings


def shop_slots(settings: Settings, watchlist: Watchlist) -> None:
    """Each retailer crawls in its own download slot, with the concurrency and delay its profile allows (never
    below DOWNLOAD_DELAY), and the crawl's total concurrency is at least the sum of the slots': a total below it
    holds back shops that are free to be asked while a busy one is waited for."""
    floor = settings.getfloat("DOWNLOAD_DELAY")
    slots = {
        r.slug: {
            "concurrency": r.profile.concurrency,
            "delay": max(r.profile.download_delay, floor),
            "jitter": 0.0,  # the profile's delay is the least gap the shop asked for, not an average
        }
        for r in watchlist.retailers
    }
    # slots a settings module names for other keys (a host's) are kept
    settings.set("DOWNLOAD_SLOTS", {**settings.getdict("DOWNLOAD_SLOTS"), **slots}, priority="cmdline")
    total = sum(slot["concurrency"] for slot in slots.values())
    settings.set(
        "CONCURRENT_REQUESTS", max(settings.getint("CONCURRENT_REQUESTS"), total), priority="cmdline"
    )


def run_crawl_of(spider: type[Spider], **kwargs: Any) -> None:
    """Run one ad-hoc spider with the project's settings (``promowatch check``)."""
    settings = project_settings()
    settings.set("ITEM_PIPELINES", {}, priority="cmdline")
    settings.set("LOG_LEVEL", "ERROR", priority="cmdline")
    process = AsyncCrawlerProcess(settings)
    process.crawl(spider, **kwargs)
    process.start()


def run_crawl(settings: Settings, spiders: tuple[str, ...] = SPIDERS) -> CrawlReport:
    """Run the spiders one after the other in this process (the reactor can run only once per process)."""
    install_reactor(settings["TWISTED_REACTOR"])
    from twisted.internet import reactor

    # Scrapy's LOG_FILE handler grows without bound: a data directory's crawl log rotates by size instead
    log_file = settings.get("LOG_FILE")
    if log_file:
        settings.set("LOG_INSTALL_ROOT_HANDLER", False, priority="cmdline")
    configure_logging(settings)
    rotating = rotating_log(settings) if log_file else None
    # Scrapy's loggers pass everything to the handlers, which drop what is below LOG_LEVEL: two records a page
    logging.getLogger("scrapy").setLevel(settings["LOG_LEVEL"])
    owned = None
    if settings.get("PROMOWATCH_RUN_CONTEXT") is None and settings.get("PROMOWATCH_WATCHLIST"):
        # no caller's context: one for the spiders of this crawl, so the watchlist is parsed once, one engine
        owned = RunContext.from_settings(settings)
        settings.set("PROMOWATCH_RUN_CONTEXT", owned, priority="cmdline")
    runner = AsyncCrawlerRunner(settings)
    report = CrawlReport()
    errors: list[BaseException] = []

    async def crawl_all() -> None:
        for name in spiders:
            if report.interrupted:
                break
            crawler: Crawler = runner.create_crawler(name)
            await runner.crawl(crawler)
            report.stats[name] = dict(crawler.stats.get_stats()) if crawler.stats else {}

    def stop_reactor() -> None:
        with suppress(ReactorNotRunning):  # already shutting down
            reactor.stop()  # type: ignore[misc]

    def finished(result: Any) -> None:
        if hasattr(result, "value"):
            errors.append(result.value)
        stop_reactor()

    crawling = deferred_from_coro(crawl_all())

    def interrupted() -> Any:
        # Ctrl+C or SIGTERM stops the reactor before the crawl is done: first close the running spider as at its
        # end (its pipelines commit what they hold and the browser is closed), and start
        # no other
        report.interrupted = not crawling.called
        if report.interrupted:
            logger.warning("interrupted: storing what was looked at; interrupt again to stop at once")
        return deferred_from_coro(runner.stop())

    def stop(number: int, frame: object) -> None:
        # Ctrl+C or SIGTERM stops the reactor (then ``interrupted``); another one ends the process at once, as a
        # SIGKILL would, and what is committed stays. Twisted's own handler would ask the stopping reactor to stop
        # again and print its refusal.
        for each in STOP_SIGNALS:
            signal.signal(each, signal.SIG_DFL)
        reactor.callFromThread(stop_reactor)

    def handle_signals() -> None:  # in place of Twisted's, installed as the reactor starts
        for each in STOP_SIGNALS:
            signal.signal(each, stop)

    reactor.callWhenRunning(handle_signals)
    reactor.addSystemEventTrigger("before", "shutdown", interrupted)  # type: ignore[arg-type]
    crawling.addBoth(finished)
    handlers = {each: signal.getsignal(each) for each in STOP_SIGNALS}
    try:
        reactor.run(installSignalHandlers=True)  # type: ignore[misc,call-arg]
    finally:
        for each, handler in handlers.items():  # the steps after the crawl (evaluate, notify) have their own
            if handler is not None:
                signal.signal(each, handler)
        if owned is not None:
            owned.close()
        if rotating is not None:
            logging.root.removeHandler(rotating)
            rotating.close()
    if errors:
        raise errors[0]
    return report


def fetch_offer(url: str, profile: SiteProfile | None) -> Offer:
    """``promowatch check``: one polite fetch (robots.txt, the honest User-Agent, retries) and its offer."""
    from promowatch.extract import extract_offer
    from spiders.base import failure_reason
    from spiders.check import CheckSpider
    from spiders.offers import moved_elsewhere, unknown_offer

    results: list[Any] = []
    run_crawl_of(CheckSpider, url=url, results=results)
    if not results:
        return unknown_offer(url, "nothing fetched (robots.txt may forbid it)", "no response")
    outcome = results[0]
    if isinstance(outcome, Failure):
        reason, _ = failure_reason(outcome)
        return unknown_offer(url, reason, reason)
    if moved_elsewhere(url, outcome.url):
        return unknown_offer(url, f"redirected to another page: {outcome.url}", outcome.url)
    return extract_offer(outcome.body, outcome.url, profile)


def browser_problem(retailers: tuple[WatchedRetailer, ...]) -> str | None:
    """Why these retailers' browser pages cannot be rendered here (no Chromium), or None when they can."""
    from promowatch.crawl.browser import BrowserNotFound, browser_executable, needs_browser

    if not needs_browser(retailers):
        return None
    try:
        browser_executable()
    except BrowserNotFound as error:
        return str(error)
    return None


LOG_MAX_BYTES = 10 * 2**20  # crawl.log, then crawl.log.1 ... crawl.log.3: at most 40 MiB of a data dir's logs
LOG_BACKUPS = 3


def rotating_log(settings: Settings) -> logging.Handler:
    """The crawl's log file (LOG_FILE, in Scrapy's format and at LOG_LEVEL) as a size-bounded rotating file,
    installed on the root logger as Scrapy's own handler would be."""
    handler = RotatingFileHandler(
        settings["LOG_FILE"],
        mode="a" if settings.getbool("LOG_FILE_APPEND") else "w",
        maxBytes=LOG_MAX_BYTES,
        backupCount=LOG_BACKUPS,
        encoding=settings.get("LOG_ENCODING"),
    )
    handler.setFormatter(logging.Formatter(settings.get("LOG_FORMAT"), settings.get("LOG_DATEFORMAT")))
    handler.setLevel(settings.get("LOG_LEVEL"))
    logging.root.setLevel(logging.NOTSET)
    logging.root.addHandler(handler)
    return handler
