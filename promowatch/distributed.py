"""Many crawl processes, one crawl: the coordinator puts the due product pages on a Redis queue, scrapy-redis
workers (``promowatch worker``) take them, and every look is committed to the shared database (PostgreSQL)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import redis

from promowatch.clock import Clock
from promowatch.config import Watchlist
from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.queries import due_products, page_validators, sync_watchlist

QUEUE_KEY = "promowatch:offers:queue"  # spiders.redis_offers.QUEUE_KEY; no Scrapy import in the coordinator
RUN_TTL = 7 * 24 * 3600  # a run's bookkeeping keys expire after a week


def done_key(run: str) -> str:
    return f"promowatch:run:{run}:done"


def error_key(run: str) -> str:
    return f"promowatch:run:{run}:errors"


@dataclass
class Ticket:
    """The work one distributed run put on the queue."""

    run: str
    urls: list[str]


@dataclass
class DistributedReport:
    run: str
    expected: int
    done: dict[str, int] = field(default_factory=dict)  # product URL -> committed looks
    errors: dict[str, str] = field(default_factory=dict)
    timed_out: bool = False

    @property
    def missing(self) -> int:
        return self.expected - len(self.done)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in self.done.values() if n > 1)

    def __str__(self) -> str:
        text = f"distributed run {self.run}: {len(self.done)}/{self.expected} product pages checked"
        if self.errors:
            text += f", {len(self.errors)} not stored"
        if self.timed_out:
            text += f", {self.missing} still waiting when the wait timed out"
        return text


def enqueue_due(watchlist: Watchlist, data: DataDir, redis_url: str, *, clock: Clock | None = None) -> Ticket:
    """Sync the watchlist, then queue every due product page of every retailer for the workers."""
    sessions = open_database(data.db_url)
    moment = (clock or Clock()).now()
    with sessions.begin() as session:
        sync_watchlist(session, watchlist, moment)
    run = uuid.uuid4().hex[:12]
    entries: list[str] = []
    urls: list[str] = []
    with sessions() as session:
        for retailer in watchlist.retailers:
            products = due_products(session, retailer, moment)
            validators = page_validators(session, [p.id for p in products], moment)
            for product in products:
                urls.append(product.url)
                known = validators.get(product.id)
                entry: dict[str, object] = {"run": run, "retailer": retailer.slug, "url": product.url}
                if known is not None:
                    entry["validators"] = known.to_json()
                entries.append(json.dumps(entry))
    server = redis.Redis.from_url(redis_url)
    with server.pipeline() as pipe:
        for start in range(0, len(entries), 1000):
            pipe.rpush(QUEUE_KEY, *entries[start : start + 1000])
        pipe.execute()
    return Ticket(run, urls)


def progress(redis_url: str, ticket: Ticket) -> DistributedReport:
    server = redis.Redis.from_url(redis_url, decode_responses=True)
    done = {str(url): int(n) for url, n in server.hgetall(done_key(ticket.run)).items()}
    errors = {str(url): str(why) for url, why in server.hgetall(error_key(ticket.run)).items()}
    return DistributedReport(ticket.run, len(set(ticket.urls)), done, errors)


# no page looked at for this long while waiting: the operator hears that no worker seems to be running
STALL_SECONDS = 60.0


def wait_for_workers(
    redis_url: str,
    ticket: Ticket,
    *,
    timeout: float = 3600.0,
    poll: float = 0.5,
    echo: Callable[[str], None] | None = None,
    stalled: Callable[[str], None] | None = None,
    stall_after: float = STALL_SECONDS,
) -> DistributedReport:
    """Block until every queued page was looked at (stored or failed to store), or ``timeout`` seconds.
    ``stalled`` hears once when no page was looked at for ``stall_after`` seconds (no worker running?)."""
    started = time.monotonic()
    deadline = started + timeout
    last_progress, last_count, warned = started, 0, False
    while True:
        report = progress(redis_url, ticket)
        count = len(report.done) + len(set(report.errors) - set(report.done))
        if count >= report.expected:
            break
        now = time.monotonic()
        if now >= deadline:
            report.timed_out = True
            break
        if count != last_count:
            last_progress, last_count = now, count
        elif not warned and stalled is not None and now - last_progress >= stall_after:
            stalled(
                f"no product page looked at for {stall_after:.0f} s ({count}/{report.expected} done): is a "
                f"`promowatch worker` running on {redis_url.split('@')[-1]}? waiting up to {timeout:.0f} s"
            )
            warned = True
        time.sleep(poll)
    server = redis.Redis.from_url(redis_url)
    server.expire(done_key(ticket.run), RUN_TTL)
    server.expire(error_key(ticket.run), RUN_TTL)
    if echo is not None:
        echo(str(report))
    return report


def run_distributed(
    watchlist: Watchlist,
    data: DataDir,
    redis_url: str,
    *,
    clock: Clock | None = None,
    timeout: float = 3600.0,
    echo: Callable[[str], None] = print,
    stalled: Callable[[str], None] | None = None,
) -> DistributedReport:
    """``promowatch run --distributed``'s crawl step: enqueue the due pages and wait for the workers."""
    ticket = enqueue_due(watchlist, data, redis_url, clock=clock)
    echo(f"distributed run {ticket.run}: {len(ticket.urls)} product pages queued at {QUEUE_KEY}")
    return wait_for_workers(redis_url, ticket, timeout=timeout, echo=echo, stalled=stalled)


def worker_settings(redis_url: str, idle_exit: int = 0) -> dict[str, Any]:
    """Scrapy settings that make a crawl process a scrapy-redis worker."""
    return {
        "REDIS_URL": redis_url,
        # requests the workers make themselves (retries, backoff) go to the shared scrapy-redis queue too
        "SCHEDULER": "scrapy_redis.scheduler.Scheduler",
        "SCHEDULER_PERSIST": True,
        "SCHEDULER_QUEUE_KEY": "promowatch:%(spider)s:requests",
        "SCHEDULER_DUPEFILTER_KEY": "promowatch:%(spider)s:dupefilter",
        "DUPEFILTER_CLASS": "scrapy_redis.dupefilter.RFPDupeFilter",
        "MAX_IDLE_TIME_BEFORE_CLOSE": idle_exit,
    }


def run_worker(
    watchlist: Watchlist,
    data: DataDir,
    redis_url: str,
    *,
    clock: Clock | None = None,
    idle_exit: int = 0,
    overrides: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """``promowatch worker``: take product pages from the queue until idle for ``idle_exit`` s (0: forever)."""
    from promowatch.crawl import crawl_settings, run_crawl

    settings = crawl_settings(
        watchlist, data, clock=clock, overrides={**worker_settings(redis_url, idle_exit), **(overrides or {})}
    )
    return run_crawl(settings, ("redis_offers",)).stats.get("redis_offers", {})
