"""Reading product pages (promowatch.extract) in the crawl's own process, or in reading processes so that one
crawl uses more than one core: extraction is pure and the largest part of a check's CPU, so the reactor thread
only fetches and stores while the reading processes read (``PROMOWATCH_EXTRACT_PROCESSES``).

Each reading process takes its pages over a pipe of its own, written and read on the event loop: no feeder or
result thread in the crawl process to take its GIL for every page (``ProcessPoolExecutor`` has both, about
0.12 ms of the crawl's CPU per page more), and a site profile crosses once, not with every page.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import multiprocessing
import os
import pickle
import signal
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import Any, Self

from promowatch.config import SiteProfile
from promowatch.domain import Offer
from promowatch.extract import extract_offer

# pages a reading process holds at once: the one it reads and the next ones, waiting in its pipe
PAGES_IN_FLIGHT = 3
# a pipe this large takes PAGES_IN_FLIGHT large pages without the event loop waiting on the write (Linux)
PIPE_BYTES = 1 << 20


def reader_processes(value: Any, cores: int | None = None) -> int:
    """The processes a setting asks for: a number, or "auto" (one per core beyond the crawl's own, at most 8)."""
    if str(value).strip().lower() == "auto":
        # the cores this process may run on (a container's CPU set), not the machine's
        return max(0, min((cores or len(os.sched_getaffinity(0))) - 1, 8))
    try:
        return max(0, int(value or 0))
    except ValueError:
        raise ValueError(f'PROMOWATCH_EXTRACT_PROCESSES must be a number or "auto", got {value!r}') from None


class ReaderGone(Exception):
    """A reading process died (killed, out of memory) before it answered."""


class PageReader:
    """Extracts offers in this process, or in ``processes`` reading processes once a crawl expects at least
    ``min_pages`` pages (below that, starting them costs more than it saves). A reading process that dies
    costs nothing: its pages are read here, the next ones by a new process."""

    def __init__(self, processes: int, min_pages: int = 0) -> None:
        self.processes = processes
        self.min_pages = min_pages
        self.pooled = False
        self.readers: list[ReadingProcess] = []
        self._context: ForkServerContext | None = None

    @classmethod
    def from_settings(cls, settings: Any) -> Self:
        return cls(
            reader_processes(settings.get("PROMOWATCH_EXTRACT_PROCESSES", 0)),
            settings.getint("PROMOWATCH_EXTRACT_POOL_PAGES", 0),
        )

    def expect(self, pages: int) -> None:
        """The crawl will read about this many pages: enough to be worth the reading processes?"""
        self.pooled = self.processes > 0 and pages >= self.min_pages

    async def read(self, body: bytes, url: str, profile: SiteProfile | None) -> Offer:
        if not self.pooled:
            return extract_offer(body, url, profile)
        self.readers = [r for r in self.readers if not r.gone]
        while len(self.readers) < self.processes:
            self.readers.append(ReadingProcess(self._forkserver()))
        reader = min(self.readers, key=lambda r: r.pages)
        try:
            return await reader.read(body, url, profile)
        except ReaderGone:
            return extract_offer(body, url, profile)

    def _forkserver(self) -> ForkServerContext:
        if self._context is None:
            # forkserver: a fork of the crawl itself would copy its reactor, threads and database connections;
            # the server holds the extraction modules only, and its forks share them
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["promowatch.extract"])
            self._context = context
        return self._context

    def close(self) -> None:
        for reader in self.readers:
            reader.close()
        self.readers = []


class ReadingProcess:
    """One reading process and its two pipes, served on the running event loop."""

    def __init__(self, context: ForkServerContext) -> None:
        pages_out, self._pages = context.Pipe(duplex=False)
        self._offers, offers_in = context.Pipe(duplex=False)
        self.process = context.Process(target=read_pages, args=(pages_out, offers_in), daemon=True)
        self.process.start()
        pages_out.close()
        offers_in.close()
        grow = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
        with contextlib.suppress(OSError):  # a smaller pipe only means the loop may wait on a large page
            if grow is not None:
                fcntl.fcntl(self._pages.fileno(), grow, PIPE_BYTES)
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self._offers.fileno(), self._answered)
        self._waiting: dict[int, asyncio.Future[Offer]] = {}
        self._profiles: dict[int, SiteProfile] = {}  # sent ones, held so that their ids stay theirs
        self._slots = asyncio.Semaphore(PAGES_IN_FLIGHT)
        self._next = 0
        self.pages = 0  # handed over and not answered yet, or waiting for a slot
        self.gone = False

    async def read(self, body: bytes, url: str, profile: SiteProfile | None) -> Offer:
        self.pages += 1
        try:
            async with self._slots:
                if self.gone:
                    raise ReaderGone
                task, self._next = self._next, self._next + 1
                key = None if profile is None else id(profile)
                new_profile = profile if key is not None and key not in self._profiles else None
                answer: asyncio.Future[Offer] = self._loop.create_future()
                self._waiting[task] = answer
                try:
                    self._pages.send_bytes(
                        pickle.dumps((task, body, url, key, new_profile), pickle.HIGHEST_PROTOCOL)
                    )
                except OSError:  # the process is gone: its end of the pipe is closed
                    self._lost()
                if new_profile is not None and key is not None:
                    self._profiles[key] = new_profile
                return await answer
        finally:
            self.pages -= 1

    def _answered(self) -> None:
        try:
            while self._offers.poll():
                task, ok, value = pickle.loads(self._offers.recv_bytes())
                answer = self._waiting.pop(task, None)
                if answer is not None and not answer.done():
                    if ok:
                        answer.set_result(value)
                    else:
                        answer.set_exception(value)
        except (EOFError, OSError):
            self._lost()

    def _lost(self) -> None:
        """The process died: every page it held is read elsewhere."""
        if self.gone:
            return
        self.gone = True
        self._loop.remove_reader(self._offers.fileno())
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(ReaderGone())
        self._waiting.clear()
        self._pages.close()
        self._offers.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(timeout=5)

    def close(self) -> None:
        """Stop the process: it ends when its pipe closes, after the page it is reading."""
        if self.gone:
            return
        self.gone = True
        self._loop.remove_reader(self._offers.fileno())
        self._pages.close()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=5)
        self._offers.close()
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(ReaderGone())


def read_pages(pages: Connection, offers: Connection) -> None:
    """In a reading process: read each page the pipe brings, answer with its offer (or the error it raised)."""
    ignore_interrupts()
    profiles: dict[int, SiteProfile] = {}
    while True:
        try:
            task, body, url, key, new_profile = pickle.loads(pages.recv_bytes())
        except EOFError:
            return
        if new_profile is not None:
            profiles[key] = new_profile
        try:
            answer = (task, True, extract_offer(body, url, None if key is None else profiles[key]))
            message = pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        except Exception as error:  # answered as the crawl's own process would raise it
            try:
                message = pickle.dumps((task, False, error), pickle.HIGHEST_PROTOCOL)
            except Exception:
                message = pickle.dumps((task, False, RuntimeError(repr(error))), pickle.HIGHEST_PROTOCOL)
        offers.send_bytes(message)


def ignore_interrupts() -> None:
    """In a reading process: Ctrl+C goes to the whole process group, but only the crawl decides how to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
