"""Start requests handed to Scrapy a few at a time per retailer, as the downloader takes them.

Scrapy reads a spider's ``start()`` as fast as it yields while the downloader is full, so every due page of a
crawl sat in the scheduler as a Request from the first second: about 2.5 kB each, 50 MB for 20,000 products,
and a watchlist ten times larger would hold ten times that. Here each retailer keeps at most ``ahead`` of its
start requests waiting in the scheduler; the retailers take turns, so a slow shop (a long download delay)
holds back only its own pages, and Scrapy's downloader-aware queue still spreads what waits over the shops.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from typing import Self

from scrapy import Request
from scrapy.crawler import Crawler

# request meta: a start request still counted as waiting in the scheduler (removed when it leaves)
PACED = "promowatch_paced"
# seconds without room after which the counts are checked against the scheduler itself
RECHECK_SECONDS = 1.0


class StartPacer:
    """Counts each retailer's start requests that wait in the scheduler and lets more through as they leave."""

    def __init__(self, ahead: int, scheduled: Callable[[], int] | None = None) -> None:
        self.ahead = max(1, ahead)
        self.scheduled = scheduled  # how many requests the scheduler holds, as its own figures say
        self.waiting: Counter[str] = Counter()
        self._room: asyncio.Event | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        def scheduled() -> int:
            stats = crawler.stats  # set when the crawl starts, after the spider is made
            if stats is None:
                return -1  # unknown: never taken for empty
            return int(stats.get_value("scheduler/enqueued", 0)) - int(
                stats.get_value("scheduler/dequeued", 0)
            )

        # twice what the downloader runs at once: enough that it never waits for the next page
        return cls(2 * crawler.settings.getint("CONCURRENT_REQUESTS", 16), scheduled)

    async def requests(self, sources: Mapping[str, Iterable[Request]]) -> AsyncIterator[Request]:
        """The requests of each retailer (``sources``: slug -> its requests, made as they are taken), one
        retailer after the other, each only while fewer than ``ahead`` of its own wait in the scheduler."""
        pending = {slug: iter(source) for slug, source in sources.items()}
        while pending:
            handed = False
            for slug, source in list(pending.items()):
                if self.waiting[slug] >= self.ahead:
                    continue
                request = next(source, None)
                if request is None:
                    del pending[slug]
                    continue
                request.meta[PACED] = slug
                self.waiting[slug] += 1
                handed = True
                yield request
            if pending and not handed:
                # nothing may go now: wait until a start request leaves the scheduler (no await between the
                # counts read above and this clear, so no departure is missed)
                room = self._room = self._room or asyncio.Event()
                room.clear()
                try:
                    await asyncio.wait_for(room.wait(), RECHECK_SECONDS)
                except TimeoutError:
                    if self.scheduled is not None and self.scheduled() == 0:
                        # nothing waits, whatever the counts say: a request left the scheduler by a way this
                        # pacer is not told of (a signal handler that refused it), and a crawl must not hang
                        self.waiting.clear()

    def left_scheduler(self, request: Request) -> None:
        """A request left the scheduler (for the downloader, or dropped): its retailer may send another."""
        slug = request.meta.pop(PACED, None)
        if slug is None:  # not a start request, or a retry or redirect of one that was counted already
            return
        self.waiting[slug] -= 1
        if self._room is not None:
            self._room.set()
