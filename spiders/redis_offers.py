"""The offers spider as a scrapy-redis worker: product pages come from a shared Redis queue that
``promowatch run --distributed`` fills, so any number of worker processes on any machines share one crawl."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Self

from scrapy import Request, signals
from scrapy.crawler import Crawler
from scrapy.http import Response
from scrapy.utils.defer import deferred_from_coro
from twisted.internet.task import LoopingCall

from pipelines.persist import LOOKS_COMMITTED
from promowatch.crawl.middlewares import BlockedPage
from promowatch.distributed import MISSING_EXTRA, MissingExtra, RetailerLeases, queue_key
from promowatch.revalidation import Validators
from spiders.offers import OffersSpider

# Scrapy imports every spider module: without the 'distributed' extra this one loads, and says so if used
try:
    from scrapy_redis.spiders import RedisMixin
except ImportError:

    class RedisMixin:  # type: ignore[no-redef]
        def setup_redis(self, crawler: Any) -> None:
            raise MissingExtra(MISSING_EXTRA)


QUEUE_KEY = "promowatch:offers:queue"


def done_key(run: str) -> str:
    """Hash of product URL -> times a look at it was committed in run ``run``."""
    return f"promowatch:run:{run}:done"


def error_key(run: str) -> str:
    return f"promowatch:run:{run}:errors"


class RedisOffersSpider(RedisMixin, OffersSpider):
    name = "redis_offers"
    redis_key = QUEUE_KEY
    # id of an item out of the pipelines, not yet committed -> (run, product URL)
    runs: dict[int, tuple[str, str]]
    stored: set[int]  # ids of items committed before they left the pipelines
    leases: RetailerLeases
    renewal: LoopingCall

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        spider.spider_idle_start_time = int(time.time())  # the mixin's class attribute dates from import time
        spider.setup_redis(crawler)
        # a worker takes the pages of the retailers it owns (promowatch.distributed): one shop, one worker
        spider.leases = RetailerLeases(spider.server)
        spider.renewal = LoopingCall(spider.renew_leases)
        crawler.signals.connect(spider.start_renewal, signal=signals.spider_opened)
        crawler.signals.connect(spider.give_back, signal=signals.spider_closed)
        # a look is done once it is committed, which can be before or after it leaves the pipelines: the item
        # says nothing of its run, its response does, and it is the same object at both signals
        spider.runs, spider.stored = {}, set()
        crawler.signals.connect(spider.scraped, signal=signals.item_scraped)
        crawler.signals.connect(spider.committed, signal=LOOKS_COMMITTED)
        crawler.signals.connect(spider.not_committed, signal=signals.item_error)
        return spider

    async def start(self) -> AsyncIterator[Request]:
        # Scrapy >= 2.16 no longer calls the mixin's start_requests(); later batches come from the idle signal
        for request in self.next_requests():
            yield request

    def next_requests(self) -> Iterator[Request]:
        """Called when idle, nothing in flight: give the retailers back, claim some again, take a batch of each."""
        self.leases.release_all()
        capacity = self.settings.getint("PROMOWATCH_WORKER_CAPACITY")
        for retailer in self.leases.claim(self.config.retailers, capacity):
            for data in self.fetch_data(queue_key(retailer.slug), self.redis_batch_size):
                request = self.make_request_from_data(data)
                if request is not None:
                    self.spider_idle_start_time = int(time.time())  # busy again: the idle exit starts over
                    yield request

    def start_renewal(self) -> None:
        self.renewal.start(self.leases.seconds / 3, now=False)

    def renew_leases(self) -> None:
        lost = self.leases.renew()
        if lost and self.crawler.engine is not None:
            # another worker may own these shops by now: crawling on could double their load, so stop; the
            # pages not yet checked are reported missing by the coordinator and re-checked by the next run
            self.logger.error("lost the lease on %s: this worker stops", ", ".join(lost))
            self.renewal.stop()
            deferred_from_coro(self.crawler.engine.close_spider_async(reason="lease_lost"))

    def give_back(self) -> None:
        if self.renewal.running:
            self.renewal.stop()
        self.leases.release_all()

    def make_request_from_data(self, data: bytes) -> Request | None:
        """A queue entry ``{"run", "retailer", "url", "validators"}`` -> the product page request of that run."""
        entry = json.loads(data)
        retailer = self.config.watchlist.retailer(entry["retailer"])
        known = entry.get("validators")
        # dont_filter (set by WatchSpider.request): the same page is re-checked run after run
        return self.page_request(
            retailer, entry["url"], Validators.from_json(known) if known else None, run=entry["run"]
        )

    def _run_of(self, response: Any) -> tuple[str, str] | None:
        request = response.request if isinstance(response, Response) else getattr(response, "request", None)
        if request is None or "run" not in request.meta:
            return None
        blocked = getattr(response, "value", None)
        if isinstance(blocked, BlockedPage) and blocked.retry is not None:
            return None  # a block page tried again later: the page is done when the retry's look is stored
        return request.meta["run"], request.meta["product_url"]

    def scraped(self, item: Any, response: Any, spider: Any) -> None:
        """The look left the pipelines: done if it is committed already, else once it is."""
        found = self._run_of(response)
        if id(item) in self.stored:
            self.stored.discard(id(item))
            self._done(found)
        elif found is not None:
            self.runs[id(item)] = found

    def committed(self, items: list[Any]) -> None:
        """These looks are committed (pipelines.persist.LOOKS_COMMITTED)."""
        for item in items:
            if id(item) in self.runs:
                self._done(self.runs.pop(id(item)))
            else:
                self.stored.add(id(item))

    def _done(self, found: tuple[str, str] | None) -> None:
        """Tell the coordinator that a look at the run's page is stored."""
        if found is not None and self.server is not None:
            self.server.hincrby(done_key(found[0]), found[1], 1)

    def not_committed(self, item: Any, response: Any, spider: Any, failure: Any) -> None:
        self.stored.discard(id(item))
        found = self._run_of(response)
        if found is not None and self.server is not None:
            self.server.hset(error_key(found[0]), found[1], str(failure.value)[:300])
