"""Reading product pages (promowatch.extract) in the crawl's own process, or in a pool of processes so that one
crawl uses more than one core: extraction is pure and the largest part of a check's CPU, so the reactor thread
only fetches and stores while the pool reads (``PROMOWATCH_EXTRACT_PROCESSES``)."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from promowatch.config import SiteProfile
from promowatch.domain import Offer
from promowatch.extract import extract_offer


def reader_processes(value: Any, cores: int | None = None) -> int:
    """The processes a setting asks for: a number, or "auto" (one per core beyond the crawl's own, at most 8)."""
    if str(value).strip().lower() == "auto":
        # the cores this process may run on (a container's CPU set), not the machine's
        return max(0, min((cores or len(os.sched_getaffinity(0))) - 1, 8))
    try:
        return max(0, int(value or 0))
    except ValueError:
        raise ValueError(f'PROMOWATCH_EXTRACT_PROCESSES must be a number or "auto", got {value!r}') from None


class PageReader:
    """Extracts offers in this process, or in a pool of ``processes`` once a crawl expects at least
    ``min_pages`` pages (below that, starting the pool costs more than it saves). A broken pool (a worker
    killed) costs nothing: that page is read here, the next ones in a new pool."""

    def __init__(self, processes: int, min_pages: int = 0) -> None:
        self.processes = processes
        self.min_pages = min_pages
        self.pooled = False
        self.pool: ProcessPoolExecutor | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        return cls(
            reader_processes(settings.get("PROMOWATCH_EXTRACT_PROCESSES", 0)),
            settings.getint("PROMOWATCH_EXTRACT_POOL_PAGES", 0),
        )

    def expect(self, pages: int) -> None:
        """The crawl will read about this many pages: enough to be worth the pool?"""
        self.pooled = self.processes > 0 and pages >= self.min_pages

    async def read(self, body: bytes, url: str, profile: SiteProfile | None) -> Offer:
        if not self.pooled:
            return extract_offer(body, url, profile)
        if self.pool is None:
            # forkserver: a fork of the crawl itself would copy its reactor, threads and database connections;
            # the server holds the extraction modules only, and its forks share them
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["promowatch.extract"])
            self.pool = ProcessPoolExecutor(self.processes, mp_context=context, initializer=ignore_interrupts)
        pool = self.pool
        try:
            return await asyncio.wrap_future(pool.submit(extract_offer, body, url, profile))
        except BrokenProcessPool:
            # a worker died: read the page here; the next page gets a new pool, and a pool that already
            # replaced this one (another read saw the break first) is left alone
            if self.pool is pool:
                self.pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            return extract_offer(body, url, profile)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def ignore_interrupts() -> None:
    """In a reading process: Ctrl+C goes to the whole process group, but only the crawl decides how to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
