"""Start requests handed to Scrapy a few at a time per retailer, as the downloader takes them.

Scrapy reads a spider's ``start()`` as fast as it yields while the downloader is full, so every due page of a
crawl sat in the scheduler as a Request from the first second: about 2.5 kB each, 50 MB for 20,000 products,
and a watchlist ten times larger would hold ten times that. Here each retailer keeps at most ``ahead`` of its
start requests waiting in the scheduler; the retailers take turns, so a slow shop (a long download delay)
holds back only its own pages, and Scrapy's downloader-aware queue still spreads what waits over the shops.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any, Self

from scrapy import Request

# request meta: the retailer of a start request still counted as waiting in the scheduler (removed as it leaves)
PACED = "promowatch_paced"
# seconds without room after which the waiting requests are counted again (some may be gone, see below)
RECOUNT_SECONDS = 1.0


class StartPacer:
    """Holds each retailer's start requests that wait in the scheduler and lets more through as they leave.

    The requests are held weakly: one dropped on a way this pacer is not told of (a spider middleware such as
    Scrapy's URL length limit, a ``request_scheduled`` handler that refuses it) is freed and stops counting, so
    that it can never hold its retailer back for the rest of the crawl.
    """

    def __init__(self, ahead: int) -> None:
        self.ahead = max(1, ahead)
        self.waiting: defaultdict[str, weakref.WeakSet[Request]] = defaultdict(weakref.WeakSet)
        self._room: asyncio.Event | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        # twice what the downloader runs at once: enough that it never waits for the next page
        return cls(2 * settings.getint("CONCURRENT_REQUESTS", 16))

    async def requests(self, sources: Mapping[str, Iterable[Request]]) -> AsyncIterator[Request]:
        """The requests of each retailer (``sources``: slug -> its requests, made as they are taken), one
        retailer after the other, each only while fewer than ``ahead`` of its own wait in the scheduler."""
        pending = {slug: iter(source) for slug, source in sources.items()}
        while pending:
            handed = False
            for slug, source in list(pending.items()):
                if len(self.waiting[slug]) >= self.ahead:
                    continue
                request = next(source, None)
                if request is None:
                    del pending[slug]
                    continue
                request.meta[PACED] = slug
                self.waiting[slug].add(request)
                handed = True
                yield request
                request = None  # held by the scheduler from here on, or by nothing once dropped
            if pending and not handed:
                # nothing may go now: wait until a start request leaves the scheduler (no await between the
                # counts read above and this clear, so no departure is missed), or count again after a while
                room = self._room = self._room or asyncio.Event()
                room.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(room.wait(), RECOUNT_SECONDS)

    def left_scheduler(self, request: Request) -> None:
        """A request left the scheduler (for the downloader, or dropped): its retailer may send another."""
        slug = request.meta.pop(PACED, None)
        if slug is None:  # not a start request, or a retry or redirect of one that left already
            return
        self.waiting[slug].discard(request)
        if self._room is not None:
            self._room.set()
