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
from functools import partial
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


# pages handed to a reading process in one call, at most. Each call costs the crawl's pool threads a few turns of
# the GIL while its event loop keeps it busy, and the reading process waits for them: one page per call left it
# idle a third of the time with pages waiting. Pages that wait while every process is busy go in the next call.
READ_BATCH = 16

_Read = tuple[tuple[bytes, str, SiteProfile | None], "asyncio.Future[Offer]"]


class PageReader:
    """Extracts offers in this process, or in a pool of ``processes`` once a crawl expects at least
    ``min_pages`` pages (below that, starting the pool costs more than it saves). A broken pool (a worker
    killed) costs nothing: its pages are read here, the next ones in a new pool."""

    def __init__(self, processes: int, min_pages: int = 0) -> None:
        self.processes = processes
        self.min_pages = min_pages
        self.pooled = False
        self.pool: ProcessPoolExecutor | None = None
        self.waiting: list[_Read] = []
        self.calls = 0  # calls handed to the pool and not yet returned

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
        offer: asyncio.Future[Offer] = asyncio.get_running_loop().create_future()
        self.waiting.append(((body, url, profile), offer))
        self._hand_over()
        return await offer

    def _hand_over(self) -> None:
        """Waiting pages to the pool: at once while a process is free or one call can queue behind the busy
        ones (so that no process waits for the crawl between two calls), else when a call returns."""
        while self.pooled and self.waiting and self.calls <= self.processes:
            batch, self.waiting = self.waiting[:READ_BATCH], self.waiting[READ_BATCH:]
            if self.pool is None:
                # forkserver: a fork of the crawl itself would copy its reactor, threads and database
                # connections; the server holds the extraction modules only, and its forks share them. Each
                # process also runs the main module again (the command's, light: see promowatch/run.py)
                context = multiprocessing.get_context("forkserver")
                context.set_forkserver_preload(["promowatch.extract"])
                self.pool = ProcessPoolExecutor(
                    self.processes, mp_context=context, initializer=ignore_interrupts
                )
            pool = self.pool
            self.calls += 1
            try:
                call = asyncio.wrap_future(pool.submit(read_pages, [page for page, _ in batch]))
            except Exception as error:  # a broken pool, a process that could not start: read here
                call = asyncio.get_running_loop().create_future()
                call.set_exception(error)
            call.add_done_callback(partial(self._returned, pool, batch))

    def _returned(
        self, pool: ProcessPoolExecutor, batch: list[_Read], call: asyncio.Future[list[Any]]
    ) -> None:
        self.calls -= 1
        if call.cancelled() and not self.pooled:  # close() cancelled it: the crawl is over, nothing to read
            for _, offer in batch:
                offer.cancel()
            return
        error = None if call.cancelled() else call.exception()
        results: list[Any]
        if call.cancelled() or error is not None:
            # The pages are read here. A worker died (or the broken pool's shutdown cancelled this call): the
            # next pages go to a new pool, and a pool that already replaced this one (another call saw the break
            # first) is left alone. Or the call failed as a whole (a page or profile that does not pickle, an
            # error that does not pickle back): read here, each page gives what it would have given.
            if self.pool is pool and (call.cancelled() or isinstance(error, BrokenProcessPool)):
                self.pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            results = read_pages([page for page, _ in batch])
        else:
            results = call.result()
        for (_, offer), result in zip(batch, results, strict=True):
            if offer.done():  # the crawl stopped waiting for it
                continue
            if isinstance(result, BaseException):
                offer.set_exception(result)
            else:
                offer.set_result(result)
        self._hand_over()

    def close(self) -> None:
        self.pooled = False  # a call that returns after this starts no new pool
        for _, offer in self.waiting:  # the crawl is over: nobody waits for these any more
            offer.cancel()
        self.waiting = []
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.pool = None


def read_pages(pages: list[tuple[bytes, str, SiteProfile | None]]) -> list[Offer | Exception]:
    """``extract_offer`` of each page (in a reading process); a page that cannot be read gives its error, as
    reading it in the crawl's own process would raise it, and costs no other page of the call."""
    offers: list[Offer | Exception] = []
    for body, url, profile in pages:
        try:
            offers.append(extract_offer(body, url, profile))
        except Exception as error:
            offers.append(error)
    return offers


def ignore_interrupts() -> None:
    """In a reading process: Ctrl+C goes to the whole process group, but only the crawl decides how to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
