"""Product pages read in reading processes: the same offers as read in the crawl's own process, and a killed
reading process loses no page.

Source of the pages: tests/ops/faultserver.py's product page (JSON-LD, price box, stock line, cart button),
crawled for real; the reader is also driven directly with real reading processes.
"""

from __future__ import annotations

import asyncio
import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.test import get_crawler

from promowatch.config import parse_profile
from promowatch.domain import Availability, Offer
from promowatch.extract import extract_offer
from spiders import readers
from spiders.offers import OffersSpider
from spiders.readers import READ_BATCH, READING_PROCESS, PageReader, cpu_quota, reader_processes
from spiders.reading_process import LENGTH, frame
from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer, product


@pytest.mark.parametrize(
    ("value", "cores", "processes"),
    [
        pytest.param("auto", 2, 1, id="auto-on-two-cores"),
        pytest.param("auto", 1, 0, id="auto-on-one-core-reads-in-process"),
        pytest.param("auto", 64, 8, id="auto-at-most-eight"),
        pytest.param("3", 2, 3, id="a-number"),
        pytest.param(0, 8, 0, id="zero-reads-in-process"),
    ],
)
def test_reader_processes(value: object, cores: int, processes: int) -> None:
    assert reader_processes(value, cores) == processes


# cgroup trees as Linux shows them (cgroup v2: Documentation/admin-guide/cgroup-v2.rst, "cpu.max"; v1:
# Documentation/scheduler/sched-bwc.rst, "cpu.cfs_quota_us"): what /proc/self/cgroup says, the files under the
# cgroup mount, and the CPUs the quota allows
@pytest.mark.parametrize(
    ("cgroups", "files", "cpus"),
    [
        pytest.param("0::/\n", {}, None, id="v2-host-root-has-no-cpu.max"),
        pytest.param("0::/user.slice\n", {"user.slice/cpu.max": "max 100000"}, None, id="v2-no-quota"),
        pytest.param(
            "0::/system.slice/promowatch.service\n",
            {"system.slice/promowatch.service/cpu.max": "150000 100000"},
            1.5,
            id="v2-systemd-CPUQuota=150%",
        ),
        pytest.param(
            "0::/a/b\n",
            {"a/cpu.max": "100000 100000", "a/b/cpu.max": "300000 100000"},
            1.0,
            id="v2-a-tighter-parent",
        ),
        pytest.param("0::/\n", {"cpu.max": "200000 100000"}, 2.0, id="v2-docker-cpus-2-in-its-namespace"),
        pytest.param(
            "12:memory:/x\n4:cpu,cpuacct:/docker/abc\n0::/\n",
            {"cpu/docker/abc/cpu.cfs_quota_us": "50000", "cpu/docker/abc/cpu.cfs_period_us": "100000"},
            0.5,
            id="v1-cfs-quota",
        ),
        pytest.param(
            "4:cpu,cpuacct:/\n",
            {"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"},
            None,
            id="v1-unlimited",
        ),
        pytest.param("garbage\n", {}, None, id="unreadable"),
    ],
)
def test_cpu_quota(tmp_path: Path, cgroups: str, files: dict[str, str], cpus: float | None) -> None:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text + "\n")
    assert cpu_quota(cgroups, tmp_path) == cpus


def test_reader_processes_refuses_a_word() -> None:
    with pytest.raises(ValueError, match="PROMOWATCH_EXTRACT_PROCESSES"):
        reader_processes("many")


def test_a_killed_reading_process_loses_no_page() -> None:
    pages = [
        product(f"Kaffeemaschine {n}", f"SKU-{n}", "Ausverkauft" if n % 2 else "An Lager") for n in range(4)
    ]
    urls = [f"http://127.0.0.1:9/p/{n}" for n in range(4)]

    async def read_all() -> list[object]:
        reader = PageReader(processes=1, min_pages=2)
        reader.expect(4)
        try:
            offers = [await reader.read(pages[0], urls[0], None)]
            killed = pids(reader)
            for pid in killed:  # what an OOM killer would do
                os.kill(pid, signal.SIGKILL)
            offers += [
                await reader.read(page, url, None) for page, url in zip(pages[1:], urls[1:], strict=True)
            ]
            assert len(pids(reader)) == 1 and not set(pids(reader)) & set(killed)  # a new one took over
            return offers
        finally:
            await reader.close()

    offers = asyncio.run(read_all())
    assert offers == [extract_offer(page, url, None) for page, url in zip(pages, urls, strict=True)]
    assert offers[0].availability is Availability.IN_STOCK  # the pages are read, not left unknown


def test_reading_processes_read_what_the_crawl_process_reads(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    pages = [fault_server.url + f"/p/item-{n}" for n in range(12)] + [fault_server.url + "/p/charset"]

    def crawl(name: str, processes: int) -> list[tuple[str, str, str | None, str | None]]:
        """The looks of one crawl, after checking it read in reading processes exactly when asked to."""
        where = tmp_path / name
        watchlist = write_watchlist(where, fault_server.url, pages)
        result, summary = run_crawl_process(
            watchlist,
            where / "data",
            overrides={"PROMOWATCH_EXTRACT_PROCESSES": processes, "PROMOWATCH_EXTRACT_POOL_PAGES": 10},
            spiders="offers",
        )
        assert result.returncode == 0, result.stderr[-3000:]
        assert summary["stats"].get("promowatch/extract_processes", 0) == processes  # type: ignore[union-attr]
        with sqlite3.connect(where / "data" / "promowatch.db") as db:
            return db.execute(
                "select p.url, o.availability, o.price, group_concat(s.raw, '|') from offer_observations o"
                " join products p on p.id = o.product_id join offer_signals s on s.observation_id = o.id"
                " group by o.id order by p.url"
            ).fetchall()

    in_process, pooled = crawl("here", 0), crawl("processes", 1)
    assert len(pooled) == len(pages) and pooled == in_process


def test_reading_processes_read_each_page_with_its_own_profile() -> None:
    # pages of several shops go to the same reading processes: two profiles that read the same page
    # differently must each give what the crawl's own process gives
    page = product("Kaffeemaschine", "SKU-1", "An Lager")
    url = "http://127.0.0.1:9/p/1"
    later = {"availability": ".stock", "availability_map": {"(?i)an lager": "backorder"}}
    backorder = parse_profile({"slug": "a", "offer": later}, "a.toml")
    price_only = parse_profile({"slug": "b", "offer": {"price": ".price"}}, "b.toml")
    asks = [None, backorder, price_only, backorder, None, price_only]

    async def read_all() -> list[Offer]:
        reader = PageReader(processes=1)
        reader.expect(1)
        try:
            return list(await asyncio.gather(*(reader.read(page, url, p) for p in asks)))
        finally:
            await reader.close()

    offers = asyncio.run(read_all())
    assert offers == [extract_offer(page, url, p) for p in asks]
    # the two profiles do read it differently
    assert (offers[1].availability, offers[2].availability) == (Availability.BACKORDER, Availability.IN_STOCK)


def test_an_error_in_a_reading_process_reaches_the_crawl_as_it_would_here() -> None:
    async def read_broken() -> None:
        reader = PageReader(processes=1)
        reader.expect(1)
        try:
            await reader.read(b"<html></html>", "http://127.0.0.1:9/p/1", "not a profile")  # type: ignore[arg-type]
        finally:
            await reader.close()

    with pytest.raises(AttributeError, match="'str' object has no attribute"):
        extract_offer(b"<html></html>", "http://127.0.0.1:9/p/1", "not a profile")  # type: ignore[arg-type]
    with pytest.raises(AttributeError, match="'str' object has no attribute"):
        asyncio.run(read_broken())


def test_pages_that_wait_for_a_busy_reading_process_go_in_one_call() -> None:
    # each call costs the crawl turns of its event loop: one page per call left the process waiting
    pages = [
        product(f"Kaffeemaschine {n}", f"SKU-{n}", "Ausverkauft" if n % 3 else "An Lager") for n in range(40)
    ]
    urls = [f"http://127.0.0.1:9/p/{n}" for n in range(40)]
    calls: list[int] = []

    async def read_all() -> list[Offer]:
        reader = PageReader(processes=1)
        reader.expect(40)
        answered = reader.answered

        def counted(call: list[Any], answer: bytes | bytearray) -> None:
            calls.append(len(call))
            answered(call, answer)

        reader.answered = counted  # type: ignore[method-assign]
        try:
            return list(
                await asyncio.gather(*(reader.read(p, u, None) for p, u in zip(pages, urls, strict=True)))
            )
        finally:
            await reader.close()

    offers = asyncio.run(read_all())
    assert offers == [extract_offer(page, url, None) for page, url in zip(pages, urls, strict=True)]
    assert sum(calls) == 40 and max(calls) == READ_BATCH and len(calls) < 40


def test_a_page_that_cannot_be_read_fails_only_itself_in_its_call() -> None:
    page = product("Kaffeemaschine", "SKU-1", "An Lager")
    url = "http://127.0.0.1:9/p/1"
    # a profile that does not pickle (here: holding a lock) cannot go to a reading process: its call is read
    # here, and each page gives what reading it here gives
    unpicklable = parse_profile({"slug": "b", "offer": {"price": ".price"}}, "b.toml")
    object.__setattr__(unpicklable, "lock", threading.Lock())
    asks: list[Any] = [None, None, "not a profile", None, None, unpicklable, None]

    results = read_each(asks, 1, page, url)
    assert isinstance(results[2], AttributeError)
    assert results[5] == extract_offer(page, url, unpicklable)
    assert [r for n, r in enumerate(results) if n not in (2, 5)] == [extract_offer(page, url, None)] * 5


def test_closing_the_reader_leaves_no_read_waiting() -> None:
    # a crawl that stops with pages still in reading processes or waiting for them: each read ends, read or cancelled
    pages = [product(f"Kaffeemaschine {n}", f"SKU-{n}", "An Lager") for n in range(40)]
    urls = [f"http://127.0.0.1:9/p/{n}" for n in range(40)]

    async def read_then_close() -> list[object]:
        reader = PageReader(processes=1)
        reader.expect(40)
        reads = [asyncio.ensure_future(reader.read(p, u, None)) for p, u in zip(pages, urls, strict=True)]
        await asyncio.wait(reads, return_when=asyncio.FIRST_COMPLETED)
        running = pids(reader)
        await reader.close()
        assert not reader.running and not reader.waiting
        assert running and not any(alive(pid) for pid in running)
        return list(await asyncio.wait_for(asyncio.gather(*reads, return_exceptions=True), 30))

    results = asyncio.run(read_then_close())
    assert all(isinstance(r, Offer | asyncio.CancelledError) for r in results)
    assert any(isinstance(r, asyncio.CancelledError) for r in results)  # the crawl did not wait to read them


def test_a_reading_process_loads_the_extraction_only() -> None:
    # it reads pages beside a crawl that holds Scrapy, the database and the browser's client: none of that
    # belongs in it (a process pool's processes loaded it all again, through the command's main module)
    process = subprocess.Popen(
        [READING_PROCESS[0], "-X", "importtime", *READING_PROCESS[1:]],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=Path(__file__).parents[2],
    )
    page = product("Kaffeemaschine", "SKU-1", "An Lager")
    answer, imports = process.communicate(frame([(page, "http://127.0.0.1:9/p/1", None)]), timeout=60)
    assert process.returncode == 0  # it ends when its input does
    assert pickle.loads(answer[LENGTH:]) == [extract_offer(page, "http://127.0.0.1:9/p/1", None)]
    modules = {line.split("|")[-1].strip().split(".")[0] for line in imports.decode().splitlines()}
    assert {"promowatch", "lxml"} <= modules
    assert not modules & {"scrapy", "twisted", "sqlalchemy", "alembic", "playwright", "apprise", "warcio"}


def test_reading_processes_that_cannot_start_leave_the_pages_to_the_crawl(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # a Python without the extraction's libraries, say: each process ends before its first answer
    monkeypatch.setattr(readers, "READING_PROCESS", (sys.executable, "-c", "raise SystemExit(1)"))
    pages = [product(f"Kaffeemaschine {n}", f"SKU-{n}", "An Lager") for n in range(10)]
    urls = [f"http://127.0.0.1:9/p/{n}" for n in range(10)]

    async def read_all() -> list[Offer]:
        reader = PageReader(processes=1)
        reader.expect(10)
        try:
            offers = [
                await asyncio.wait_for(reader.read(p, u, None), 30) for p, u in zip(pages, urls, strict=True)
            ]
            assert not reader.pooled and not reader.running  # no process started once given up
            return offers
        finally:
            await reader.close()

    assert asyncio.run(read_all()) == [extract_offer(p, u, None) for p, u in zip(pages, urls, strict=True)]
    assert f"{readers.FAILED_STARTS} reading processes ended before they read a page" in caplog.text


class StopsReading:
    """Stands for a site profile whose reading raises StopIteration (a ``next()`` without a default)."""

    def __getattr__(self, name: str) -> object:
        if name.startswith("__"):
            raise AttributeError(name)
        raise StopIteration


def test_a_page_that_raises_stopiteration_fails_itself_and_no_other() -> None:
    # a future refuses StopIteration: set on it, it broke the hand-back of the rest of the call, which then
    # waited for ever; read here, awaiting the read gives a RuntimeError
    page = product("Kaffeemaschine", "SKU-1", "An Lager")
    url = "http://127.0.0.1:9/p/1"
    asks: list[Any] = [None, StopsReading(), None, None]

    here, there = read_each(asks, 0, page, url), read_each(asks, 1, page, url)
    assert isinstance(here[1], RuntimeError) and isinstance(there[1], RuntimeError)
    assert (
        [there[n] for n in (0, 2, 3)] == [here[n] for n in (0, 2, 3)] == [extract_offer(page, url, None)] * 3
    )


def test_a_reading_process_that_reads_goes_on_when_new_ones_are_killed_at_start(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # two reading processes: the first reads on, each second one is killed as it starts (an OOM killer picking
    # the newest). The crawl stops starting new ones after three, and keeps the one that reads.
    pages = [product(f"Kaffeemaschine {n}", f"SKU-{n}", "An Lager") for n in range(200)]
    urls = [f"http://127.0.0.1:9/p/{n}" for n in range(200)]

    async def read_while_killing() -> tuple[list[Offer], PageReader, int]:
        reader = PageReader(processes=2)
        reader.expect(len(pages))
        start_one, started = reader._start_one, 0

        async def killed_after_the_first() -> readers.ReadingProcess:
            nonlocal started
            process = await start_one()
            started += 1
            if started > 1 and process.transport is not None:
                os.kill(process.transport.get_pid(), signal.SIGKILL)
            return process

        reader._start_one = killed_after_the_first  # type: ignore[method-assign]
        try:
            reads = asyncio.gather(*(reader.read(p, u, None) for p, u in zip(pages, urls, strict=True)))
            offers = list(await asyncio.wait_for(reads, 120))
            await asyncio.sleep(0.5)  # the last killed one is seen gone
            return offers, reader, started
        finally:
            await reader.close()

    offers, reader, started = asyncio.run(read_while_killing())
    assert offers == [extract_offer(p, u, None) for p, u in zip(pages, urls, strict=True)]
    assert started == 1 + readers.FAILED_STARTS  # no more after three failed starts
    assert reader.failed_starts == readers.FAILED_STARTS
    assert "ended before they read a page" not in caplog.text  # the first one read on: not given up


class EndsItsReader:
    """Stands for a page that ends the process reading it (a crash in a parser): unpickled there, it exits."""

    def __reduce__(self) -> tuple[Any, ...]:
        return (os._exit, (70,))


def test_a_page_that_ends_its_reading_process_fails_alone() -> None:
    # read here, it would end the crawl: its call is read again a page per call in reading processes, and the
    # page that ends the one reading it alone fails with the reason; every other page of the call is read
    page = product("Kaffeemaschine", "SKU-1", "An Lager")
    url = "http://127.0.0.1:9/p/1"
    asks: list[Any] = [None] * 5 + [EndsItsReader()] + [None] * 10 + [None] * 8

    results = read_each(asks, 1, page, url)
    assert isinstance(results[5], readers.ReadingEnded), results[5]
    assert "exit code 70" in str(results[5])
    assert [r for n, r in enumerate(results) if n != 5] == [extract_offer(page, url, None)] * (len(asks) - 1)


def read_each(profiles: list[Any], processes: int, page: bytes, url: str) -> list[object]:
    """The page read once with each profile, with ``processes`` reading processes: offers, or errors."""

    async def read_all() -> list[object]:
        reader = PageReader(processes=processes)
        reader.expect(len(profiles))
        try:
            reads = asyncio.gather(*(reader.read(page, url, p) for p in profiles), return_exceptions=True)
            return list(await asyncio.wait_for(reads, 60))
        finally:
            await reader.close()

    return asyncio.run(read_all())


def pids(reader: PageReader) -> list[int]:
    return [p.transport.get_pid() for p in reader.running if p.transport is not None]


def alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)  # reaped already by the loop's child watcher: gone
    except ChildProcessError:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_a_page_the_spider_cannot_read_is_an_unknown_look_that_says_why(tmp_path: Path) -> None:
    # not a callback error that leaves no observation: the look is stored, unknown, with the error as its reason
    watchlist = write_watchlist(tmp_path, "http://127.0.0.1:9", ["http://127.0.0.1:9/p/1"])
    crawler = get_crawler(
        settings_dict={"PROMOWATCH_WATCHLIST": str(watchlist), "PROMOWATCH_DATA_DIR": str(tmp_path / "data")}
    )
    spider = OffersSpider.from_crawler(crawler)
    retailer = spider.config.watchlist.retailer("faulty")
    page = product("Kaffeemaschine", "SKU-1", "An Lager")

    async def read(profile: Any) -> Offer:
        return await spider.read(
            page, "http://127.0.0.1:9/p/1", "http://127.0.0.1:9/p/1", replace(retailer, profile=profile)
        )

    readable, unreadable = asyncio.run(read(retailer.profile)), asyncio.run(read(StopsReading()))
    assert readable.availability is Availability.IN_STOCK
    assert unreadable.availability is Availability.UNKNOWN
    assert unreadable.reason == "the page could not be read: RuntimeError: coroutine raised StopIteration"


def test_pages_of_a_reading_process_that_ends_after_the_crawl_gave_up_are_read_here() -> None:
    # the second reading process cannot start (the crawl reads in its own process from then on) while the first
    # still holds calls; killed, it leaves them to the crawl
    pages = [product(f"Kaffeemaschine {n}", f"SKU-{n}", "An Lager") for n in range(64)]
    urls = [f"http://127.0.0.1:9/p/{n}" for n in range(64)]

    async def read_all() -> list[Offer]:
        reader = PageReader(processes=2)
        reader.expect(len(pages))
        start_one, started = reader._start_one, 0

        async def the_second_cannot_start() -> readers.ReadingProcess:
            nonlocal started
            started += 1
            if started > 1:
                raise OSError("no more processes")
            return await start_one()

        reader._start_one = the_second_cannot_start  # type: ignore[method-assign]
        try:
            reads = asyncio.gather(*(reader.read(p, u, None) for p, u in zip(pages, urls, strict=True)))
            while not any(process.calls for process in reader.running):
                await asyncio.sleep(0.001)
            for pid in pids(reader):
                os.kill(pid, signal.SIGKILL)
            return list(await asyncio.wait_for(reads, 60))
        finally:
            await reader.close()

    assert asyncio.run(read_all()) == [extract_offer(p, u, None) for p, u in zip(pages, urls, strict=True)]
