"""Reading product pages (promowatch.extract) in the crawl's own process, or in reading processes so that one
crawl uses more than one core: extraction is pure and the largest part of a check's CPU, so the reactor thread
only fetches and stores while the reading processes read (``PROMOWATCH_EXTRACT_PROCESSES``).

A reading process is ``python -m spiders.reading_process`` on two pipes, driven from the crawl's event loop.
concurrent.futures' process pool needed a forkserver and a resource tracker beside its processes (45 MB) and two
threads in the crawl that took turns of the GIL from the reactor; this needs neither."""

from __future__ import annotations

import asyncio
import logging
import math
import os
import pickle
import signal
import subprocess
import sys
from collections import deque
from contextlib import suppress
from pathlib import Path
from typing import Any, Self

from promowatch.config import SiteProfile
from promowatch.domain import Offer
from promowatch.extract import extract_offer
from spiders.reading_process import LENGTH, Page, frame, read_pages

logger = logging.getLogger(__name__)

READING_PROCESS = (sys.executable, "-m", "spiders.reading_process")
CGROUPS = Path("/sys/fs/cgroup")


def reader_processes(value: Any, cores: int | None = None) -> int:
    """The processes a setting asks for: a number, or "auto" (one per core beyond the crawl's own, at most 8)."""
    if str(value).strip().lower() == "auto":
        return max(0, min((cores or usable_cores()) - 1, 8))
    try:
        return max(0, int(value or 0))
    except ValueError:
        raise ValueError(f'PROMOWATCH_EXTRACT_PROCESSES must be a number or "auto", got {value!r}') from None


def usable_cores() -> int:
    """The cores this process may run on: its CPU affinity (a container's CPU set), fewer under a CPU quota
    (systemd's CPUQuota=, ``docker --cpus``), not the machine's."""
    cores = len(os.sched_getaffinity(0))
    try:
        quota = cpu_quota(Path("/proc/self/cgroup").read_text(), CGROUPS)
    except OSError:
        quota = None
    return cores if quota is None else max(1, min(cores, math.ceil(quota)))


def cpu_quota(cgroups: str, root: Path) -> float | None:
    """The CPUs that the tightest CPU quota over a process's cgroup and its parents allows, or None without one.
    ``cgroups``: its /proc/PID/cgroup; ``root``: where the cgroup filesystems are mounted. cgroup v2 keeps the
    quota in ``cpu.max`` ("150000 100000", or "max"), v1 in ``cpu.cfs_quota_us`` (-1: none) and
    ``cpu.cfs_period_us``."""
    limits = []
    for line in cgroups.splitlines():
        if line.count(":") < 2:
            continue
        _, controllers, path = line.split(":", 2)
        if controllers == "":
            mount, read = root, _cpu_max
        elif "cpu" in controllers.split(","):
            mount, read = root / "cpu", _cfs_quota
        else:
            continue
        group = mount / path.lstrip("/")
        for directory in (group, *group.parents):
            if not directory.is_relative_to(mount):
                break
            limit = read(directory)
            if limit is not None:
                limits.append(limit)
    return min(limits, default=None)


def _cpu_max(directory: Path) -> float | None:
    try:
        quota, period = (directory / "cpu.max").read_text().split()
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _cfs_quota(directory: Path) -> float | None:
    try:
        quota = int((directory / "cpu.cfs_quota_us").read_text())
        return None if quota < 0 else quota / int((directory / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError, ZeroDivisionError):
        return None


# pages handed to a reading process in one call, at most: one page per call left a process idle a third of the
# time with pages waiting (each call costs the crawl turns of its event loop). Pages that wait while every
# process is busy go in the next call.
READ_BATCH = 16
# calls a reading process holds: the one it reads and the next, waiting in its pipe, so that it never waits
# for the crawl between two calls
CALLS_PER_PROCESS = 2
# reading processes that end before their first answer, one after the other: no more are started (they cannot
# run here, or something kills each new one), and once none is left the crawl reads its pages itself
FAILED_STARTS = 3

_Call = list[tuple[Page, "asyncio.Future[Offer]"]]


class ReadingEnded(RuntimeError):
    """Reading the page ended the reading process, alone in its call (a crash in a parser it uses)."""


class ReadingProcess(asyncio.SubprocessProtocol):
    """One reading process as the crawl sees it: the calls it holds, in order (each with whether it holds a
    page read alone, after the process that held it ended), and its answers as they come."""

    def __init__(self, reader: PageReader) -> None:
        self.reader = reader
        self.transport: asyncio.SubprocessTransport | None = None
        self.calls: deque[tuple[_Call, bool]] = deque()
        self.incoming = bytearray()
        self.answered = False
        self.ended: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.SubprocessTransport)
        self.transport = transport

    def send(self, call: _Call, data: bytes, alone: bool) -> None:
        assert self.transport is not None
        self.calls.append((call, alone))
        pipe = self.transport.get_pipe_transport(0)
        assert isinstance(pipe, asyncio.WriteTransport)
        pipe.write(data)  # buffered by the loop: at most CALLS_PER_PROCESS calls wait

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.incoming += data
        while len(self.incoming) >= LENGTH:
            end = LENGTH + int.from_bytes(self.incoming[:LENGTH], "little")
            if len(self.incoming) < end:
                return
            answer = self.incoming[LENGTH:end]
            del self.incoming[:end]
            self.answered = True
            self.reader.answered(self.calls.popleft()[0], answer)

    def connection_lost(self, exc: Exception | None) -> None:
        # the process has ended and its pipes are closed: every answer it gave has arrived
        assert self.transport is not None
        self.transport.close()  # ended on its own (killed, or it could not start): its transport is done too
        self.ended.set_result(None)
        self.reader.ended(self)


class PageReader:
    """Extracts offers in this process, or in ``processes`` reading processes once a crawl expects at least
    ``min_pages`` pages (below that, starting them costs more than it saves). A reading process that ends (one
    killed) costs nothing: a new one reads the pages it held, and a page that ends each process reading it
    fails alone (:class:`ReadingEnded`) instead of ending the crawl that would read it here."""

    def __init__(self, processes: int, min_pages: int = 0) -> None:
        self.processes = processes
        self.min_pages = min_pages
        self.pooled = False
        self.running: list[ReadingProcess] = []
        self.starting: asyncio.Task[None] | None = None
        self.waiting: _Call = []
        self.alone: _Call = []  # pages to read a call each: one of them ended the process reading them
        self.failed_starts = 0
        self.has_read = False  # a reading process answered: they can read here

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
        offer: asyncio.Future[Offer] = asyncio.get_running_loop().create_future()
        self.waiting.append(((body, url, profile), offer))
        self._hand_over()
        return await offer

    def _hand_over(self) -> None:
        """Waiting pages to the reading process that holds the fewest calls, while one holds fewer than
        CALLS_PER_PROCESS; the others when a call is answered. Pages to read alone go first, a call each."""
        while self.pooled and (self.waiting or self.alone):
            if self._short() and (self.starting is None or self.starting.done()):
                self.starting = asyncio.ensure_future(self._start())
            process = min(self.running, key=lambda p: len(p.calls), default=None)
            if process is None or len(process.calls) >= CALLS_PER_PROCESS:
                return
            alone = bool(self.alone)
            if alone:
                call, self.alone = self.alone[:1], self.alone[1:]
            else:
                call, self.waiting = self.waiting[:READ_BATCH], self.waiting[READ_BATCH:]
            try:
                data = frame([page for page, _ in call])
            except Exception:  # a page or profile that does not pickle: each page gives what it gives here
                self._read_here(call)
                continue
            process.send(call, data, alone)

    def _short(self) -> bool:
        """Fewer reading processes run than asked for, and new ones have not kept failing."""
        return self.pooled and len(self.running) < self.processes and self.failed_starts < FAILED_STARTS

    async def _start(self) -> None:
        """Start the reading processes that are missing."""
        while self._short():
            try:
                process = await self._start_one()
            except OSError as error:
                self._give_up(f"a reading process could not start: {error}")
                return
            if not process.ended.done():
                self.running.append(process)
                self._hand_over()

    async def _start_one(self) -> ReadingProcess:
        process = ReadingProcess(self)
        await asyncio.get_running_loop().subprocess_exec(
            lambda: process, *READING_PROCESS, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None
        )
        return process

    def answered(self, call: _Call, answer: bytes | bytearray) -> None:
        """A reading process answered ``call``."""
        self.has_read = True
        try:
            offers = pickle.loads(answer)
        except Exception:  # an error that pickles but does not unpickle here
            offers = None
        if offers is None:  # an error in it did not pickle there: read here
            self._read_here(call)
        else:
            settle(call, offers)
        self._hand_over()

    def ended(self, process: ReadingProcess) -> None:
        """A reading process ended. It reads its calls in order, so it ended reading the first it held (or was
        killed between two): those pages are read again a call each, and one that was alone in its call fails
        with :class:`ReadingEnded`, unless no reading process has read yet (then they cannot run here, and the
        page is not to blame). Its other calls wait again, first."""
        if process not in self.running:  # close() ended it, or it ended as it started
            self.failed_starts += not process.answered
        else:
            self.running.remove(process)
            self.failed_starts = 0 if process.answered else self.failed_starts + 1
        calls, process.calls = process.calls, deque()
        if calls:
            (first, alone), *others = calls
            if alone and self.has_read:
                assert process.transport is not None
                settle(
                    first,
                    [ReadingEnded(f"reading it ended its reading process ({ending(process.transport)})")],
                )
            else:
                self.alone += first
            self.waiting[:0] = [page for call, _ in others for page in call]
        if self.pooled and self.failed_starts >= FAILED_STARTS and not self.running:
            # none is started again (_start); the ones that read go on, and with none left the crawl reads
            self._give_up(f"{FAILED_STARTS} reading processes ended before they read a page")
        elif not self.pooled:  # given up while this one still read
            self._read_rest_here()
        self._hand_over()

    def _give_up(self, why: str) -> None:
        logger.warning("%s: this crawl reads its pages in its own process", why)
        self.pooled = False
        self._read_rest_here()

    def _read_rest_here(self) -> None:
        waiting, self.waiting, self.alone = self.alone + self.waiting, [], []
        self._read_here(waiting)

    @staticmethod
    def _read_here(call: _Call) -> None:
        settle(call, read_pages([page for page, _ in call]))

    async def close(self) -> None:
        """The crawl is over: nothing waits for a page any more, and the reading processes end."""
        self.pooled = False  # a read after this is read here
        calls = [self.alone, self.waiting] + [call for process in self.running for call, _ in process.calls]
        for call in calls:
            for _, offer in call:
                offer.cancel()
        self.waiting, self.alone = [], []
        if self.starting is not None:
            self.starting.cancel()
            with suppress(asyncio.CancelledError):
                await self.starting
        processes, self.running = self.running, []
        for process in processes:
            process.calls.clear()
            assert process.transport is not None
            process.transport.close()  # kills it: what it would read now is for nobody
        await asyncio.gather(*(process.ended for process in processes))


def ending(transport: asyncio.SubprocessTransport) -> str:
    """How a reading process ended: the signal that ended it, or its exit code."""
    code = transport.get_returncode()
    if code is not None and code < 0:
        with suppress(ValueError):
            return signal.Signals(-code).name
    return f"exit code {code}"


def settle(call: _Call, offers: list[Offer | Exception]) -> None:
    """Each page of ``call`` gets its offer, or its error, unless nobody waits for it any more."""
    for (_, offer), result in zip(call, offers, strict=True):
        if offer.done():  # the crawl stopped waiting for it
            continue
        if isinstance(result, StopIteration):  # a future refuses it: what awaiting the read here gives
            error = RuntimeError("coroutine raised StopIteration")
            error.__cause__ = result
            offer.set_exception(error)
        elif isinstance(result, BaseException):
            offer.set_exception(result)
        else:
            offer.set_result(result)
