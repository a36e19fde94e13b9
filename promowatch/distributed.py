"""Many crawl processes, one crawl: the coordinator (``promowatch run --distributed``) queues the due product
pages in Redis, one queue per retailer; scrapy-redis workers (``promowatch worker``) take them, and every
observation is committed to the shared database (PostgreSQL).

A shop's politeness holds whatever the number of workers, because **a retailer belongs to one worker at a time**.
Scrapy's download slots (one per retailer, with the profile's concurrency and delay) only limit the process they
live in: two workers taking pages of the same shop would send it twice the load its profile allows. So a worker
takes a retailer's pages only while it holds that retailer's lease (a Redis lock with a time-out, renewed while
the worker runs) and keeps every request it makes for them (retries, backoff) in its own scheduler. It gives its
leases back only when it is idle, with nothing in flight, and then claims retailers again: at most as many as
``PROMOWATCH_WORKER_CAPACITY`` requests at once serve at their profiles' concurrency, leaving the others to other
workers. A worker that cannot renew a lease in time (Redis unreachable, the lease taken) stops crawling at once:
another worker may own that shop by the time the lease runs out.

This is simpler than a shared rate limit in Redis (a round trip before every request, and AutoThrottle's delay
kept in two places) and is correct as long as a worker's reactor renews its leases within ``LEASE_SECONDS``; a
worker that dies loses the pages it had taken, which the coordinator reports as missing, and its retailers are
free again once their leases expire. A retailer that moves to another worker between batches starts there with
a fresh download slot: the gap between the two workers' requests to it may be shorter than the profile's delay.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any

from promowatch.clock import Clock
from promowatch.config import WatchedRetailer, Watchlist
from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.queries import due_products, page_validators, sync_watchlist
from promowatch.evidence.blobs import BlobStore

if TYPE_CHECKING:
    from redis import Redis
    from redis.lock import Lock

QUEUE_KEY = "promowatch:offers:queue"  # + ":<retailer slug>"; no Scrapy import in the coordinator
LEASE_KEY = "promowatch:offers:lease"  # + ":<retailer slug>": the worker that owns the retailer now
LEASE_SECONDS = (
    60.0  # a worker that stopped renewing (dead, or its reactor stuck) loses its retailers after this
)
RUN_TTL = 7 * 24 * 3600  # a run's bookkeeping keys expire after a week
MISSING_EXTRA = "promowatch worker needs the 'distributed' extra: pip install 'promowatch[distributed]'"


class MissingExtra(RuntimeError):
    """An optional dependency of the command is not installed; the message says how to install it."""


def redis_client() -> ModuleType:
    """The ``redis`` package, or a one-line error naming the extra that installs it."""
    try:
        import redis
        import scrapy_redis  # noqa: F401  (the workers need it; say so before the run has queued anything)
    except ImportError:
        raise MissingExtra(MISSING_EXTRA) from None
    return redis


def queue_key(retailer: str) -> str:
    return f"{QUEUE_KEY}:{retailer}"


def lease_key(retailer: str) -> str:
    return f"{LEASE_KEY}:{retailer}"


def done_key(run: str) -> str:
    return f"promowatch:run:{run}:done"


def error_key(run: str) -> str:
    return f"promowatch:run:{run}:errors"


class RetailerLeases:
    """The retailers one worker owns for now: only their pages may it take from the queues."""

    def __init__(self, server: Redis, seconds: float = LEASE_SECONDS) -> None:
        self.server = server
        self.seconds = seconds
        self.held: dict[str, Lock] = {}
        self.renewed: dict[str, float] = {}  # slug -> monotonic time its lease was last made a full term

    def claim(self, retailers: Iterable[WatchedRetailer], capacity: int) -> list[WatchedRetailer]:
        """Own retailers that have pages queued and no other owner, until their concurrencies fill
        ``capacity`` requests at once (at least one retailer, so that a worker always makes progress)."""
        claimed: list[WatchedRetailer] = []
        used = 0
        for retailer in retailers:
            if claimed and used + retailer.profile.concurrency > capacity:
                break
            if retailer.slug in self.held or not self.server.llen(queue_key(retailer.slug)):
                continue
            lease = self.server.lock(lease_key(retailer.slug), timeout=self.seconds, blocking=False)
            if lease.acquire():
                self.held[retailer.slug] = lease
                self.renewed[retailer.slug] = time.monotonic()
                claimed.append(retailer)
                used += retailer.profile.concurrency
        return claimed

    def renew(self) -> list[str]:
        """Extend every lease held to a full term. The slugs of those lost (expired, taken) or at risk: not
        renewed for two thirds of a term because Redis did not answer; their owner must stop crawling them."""
        from redis.exceptions import LockError, RedisError

        lost = []
        # once Redis did not answer, the other leases are not tried: each try may back off for seconds
        unreachable = False
        for slug, lease in list(self.held.items()):
            try:
                if unreachable:
                    raise RedisError("Redis did not answer the renewal of another lease")
                lease.reacquire()
            except LockError:
                lost.append(slug)
                del self.held[slug]
            except RedisError:  # unreachable for now: the lease may still be ours, until its term runs out
                unreachable = True
                if time.monotonic() - self.renewed[slug] > self.seconds * 2 / 3:
                    lost.append(slug)
            else:
                self.renewed[slug] = time.monotonic()
        return lost

    def release_all(self) -> None:
        """Give every retailer back: only when none of its requests is scheduled or in flight here."""
        from redis.exceptions import LockError

        for lease in self.held.values():
            with suppress(LockError):  # expired meanwhile: nothing to give back
                lease.release()
        self.held.clear()


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
        sync_watchlist(session, watchlist, moment, BlobStore(data.blobs))
    run = uuid.uuid4().hex[:12]
    entries: dict[str, list[str]] = {}  # retailer slug -> its queue entries
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
                entries.setdefault(retailer.slug, []).append(json.dumps(entry))
    server = redis_client().Redis.from_url(redis_url)
    with server.pipeline() as pipe:
        for slug, queued in entries.items():
            for start in range(0, len(queued), 1000):
                pipe.rpush(queue_key(slug), *queued[start : start + 1000])
        pipe.execute()
    return Ticket(run, urls)


def progress(redis_url: str, ticket: Ticket) -> DistributedReport:
    server = redis_client().Redis.from_url(redis_url, decode_responses=True)
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
    server = redis_client().Redis.from_url(redis_url)
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
    echo(f"distributed run {ticket.run}: {len(ticket.urls)} product pages queued at {QUEUE_KEY}:<retailer>")
    return wait_for_workers(redis_url, ticket, timeout=timeout, echo=echo, stalled=stalled)


def worker_settings(redis_url: str, idle_exit: int = 0) -> dict[str, Any]:
    """Scrapy settings that make a crawl process a scrapy-redis worker. Scrapy's own scheduler: the requests a
    worker makes itself (retries, backoff) are for retailers it owns, and must not go to another worker."""
    return {"REDIS_URL": redis_url, "MAX_IDLE_TIME_BEFORE_CLOSE": idle_exit}


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
    from promowatch.crawl.runner import crawl_settings, run_crawl

    redis_client()
    settings = crawl_settings(
        watchlist, data, clock=clock, overrides={**worker_settings(redis_url, idle_exit), **(overrides or {})}
    )
    return run_crawl(settings, ("redis_offers",)).stats.get("redis_offers", {})
