"""Throughput of a crawl against the demo shop in bench mode (N products x M stores).

    .venv/bin/python bench/throughput.py [--products 2000] [--stores 50] [--redis URL] [--offers-only] [--keep]

Prints offer checks/s, store checks/s, CPU s per 1,000 checks, peak RSS, database bytes per 1,000 observations,
bytes added per 1,000 unchanged checks (re-checked conditionally: the shop answers 304), for one worker as
promowatch runs by default (the looks of one turn of the event loop committed together as it ends, pages read in
reading processes, "auto": one per core beyond the crawl's own), the same reading pages in its own process, one
transaction per look, looks grouped over a second, and (with --redis or $PROMOWATCH_TEST_REDIS) two scrapy-redis
workers; and a bare Scrapy spider fetching the same pages (no extraction, no storage), as Scrapy comes and with
the garbage collector set as promowatch sets it for a crawl. CPU and peak RSS include the reading processes.
Targets: end-to-end >= 50 % of bare, >= 250 offer checks/s (1 worker), >= 2,000 store observations/s, peak RSS
< 250 MB for 20,000 checks.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
OBSERVED = "promowatch/bench-shop/offer_observations"
PROFILE = ROOT / "bench" / "sites" / "bench-shop.toml"
# The bench profile (bench/sites/bench-shop.toml) lets its download slot take 32 requests at once with no delay;
# both the bare spider and the promowatch crawls run with these same settings, so the ratio compares like
# with like. AutoThrottle off and 32 parallel requests are for the local demo shop only, never a real shop.
SHARED = {
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    "ROBOTSTXT_OBEY": True,
    "LOG_LEVEL": "ERROR",
    "TELNETCONSOLE_ENABLED": False,
    "REMOTE_CONTROL_ENABLED": False,
    "TWISTED_REACTOR": "twisted.internet.asyncioreactor.AsyncioSelectorReactor",
}


def measured(command: list[str]) -> tuple[float, float, float, str]:
    """Run ``command``; wall seconds, CPU seconds (its reading processes included), peak RSS in MB, stdout.

    Peak RSS is the child's own high-water mark (VmHWM), read while it runs (``ru_maxrss`` of a child started
    by fork/vfork also counts the parent's memory at the fork, here the demo shop's page cache), plus the
    largest summed RSS its own children (reading processes) reached. Its CPU seconds are those ``wait4`` reports,
    which include the children it waited for: a crawl waits for its reading processes as it ends.
    """
    started = time.monotonic()
    peak_kb = children_kb = 0
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        status_file = Path(f"/proc/{process.pid}/status")
        tree = psutil.Process(process.pid)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            try:
                for line in status_file.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        peak_kb = max(peak_kb, int(line.split()[1]))
                now_kb = 0
                for child in tree.children(recursive=True):
                    with contextlib.suppress(psutil.Error):
                        now_kb += child.memory_info().rss // 1024
                children_kb = max(children_kb, now_kb)
            except (OSError, ValueError, psutil.Error):
                pass
            time.sleep(0.05)
        peak_kb += children_kb
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{command} failed with {process.returncode}")
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime, peak_kb / 1024, text


def stats_of(out: str) -> dict[str, Any]:
    """The crawl stats a tests.ops.runner run printed as its last line."""
    return dict(json.loads(out.strip().splitlines()[-1])["stats"])


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def storage(data: Path) -> dict[str, int]:
    """Bytes on disk: the database (with its WAL), the blob store, the WARC files and their indexes."""
    return {
        "db": sum(p.stat().st_size for p in data.glob("promowatch.db*")),
        "blobs": size_of(data / "evidence" / "blobs") if (data / "evidence" / "blobs").exists() else 0,
        "warc": size_of(data / "evidence" / "warc") if (data / "evidence" / "warc").exists() else 0,
        "all": size_of(data),
    }


def growth(before: dict[str, int], after: dict[str, int], checks: int) -> str:
    """Bytes added per 1,000 checks, in total and by where they went."""
    per = {k: (after[k] - before[k]) / max(checks, 1) * 1000 / 1e3 for k in after}
    return (
        f"+{per['all']:.0f} kB per 1,000 unchanged checks (DB {per['db']:+.0f} kB, blobs {per['blobs']:+.0f} kB,"
        f" WARC {per['warc']:+.0f} kB)"
    )


def runner(watchlist: Path, data: Path, spiders: str, **settings: object) -> list[str]:
    command = [sys.executable, "-m", "tests.ops.runner", str(watchlist), str(data), "--spiders", spiders]
    for key, value in {**SHARED, **settings}.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    return command


def bare(urls_file: Path, collector: bool) -> None:
    """A bare Scrapy spider: fetch every URL, keep nothing; with ``collector``, the garbage collector set as
    promowatch sets it for a crawl."""
    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess

    urls = urls_file.read_text().split()

    class Bare(Spider):
        name = "bare"
        custom_settings = {  # noqa: RUF012 - Scrapy declares it as a plain class attribute
            **SHARED,
            "DOWNLOAD_SLOTS": {"bench-shop": {"concurrency": 32, "delay": 0, "jitter": 0.0}},
        }

        async def start(self):
            for url in urls:
                yield Request(url, dont_filter=True, meta={"download_slot": "bench-shop"})

        def parse(self, response):
            return None

    process = CrawlerProcess()
    process.crawl(Bare)
    if not collector:  # Scrapy as it comes: nothing of promowatch loaded, in its time or its memory
        process.start()
        return
    sys.path.insert(0, str(ROOT))
    from promowatch.crawl import collector_set_for_crawling

    with collector_set_for_crawling():
        process.start()


def row(label: str, checks: int, wall: float, cpu: float, rss: float, extra: str = "") -> dict[str, Any]:
    rate = checks / wall if wall else 0.0
    print(
        f"{label:<46} {checks:>7} checks {wall:7.2f} s {rate:9.1f} checks/s  CPU {cpu / checks * 1000 if checks else 0:6.2f}"
        f" s/1000  peak RSS {rss:6.1f} MB {extra}"
    )
    return {"checks": checks, "wall": wall, "rate": rate, "cpu": cpu, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--redis", default=os.environ.get("PROMOWATCH_TEST_REDIS"))
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    parser.add_argument("--bare-collector", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument(
        "--offers-only", action="store_true", help="first offer crawl only (the 20,000-check peak RSS run)"
    )
    parser.add_argument("--keep", action="store_true", help="keep the crawls' data directories (printed)")
    args = parser.parse_args()
    if args.bare:
        bare(Path(args.bare), args.bare_collector)
        return
    sys.path.insert(0, str(ROOT))
    from promowatch.demo.shop import DemoShop

    shop = DemoShop(
        datetime(2026, 11, 2, 8, tzinfo=UTC), bench_products=args.products, bench_stores=args.stores
    )
    shop.start()
    shop.prerender()
    # each run writes what a crawl of that size keeps (1.2 GB for 20,000 products): gone when the bench ends
    work = Path(tempfile.mkdtemp(prefix="promowatch-bench-"))
    try:
        measure(args, shop.url, work)
    finally:
        shop.stop()
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def measure(args: argparse.Namespace, shop_url: str, work: Path) -> None:
    """Every row of the bench, against the demo shop at ``shop_url``, with its data in ``work``."""
    urls = [f"{shop_url}/p/bench-{i}" for i in range(args.products)]
    (work / "urls.txt").write_text("\n".join(urls))
    watchlist = work / "watchlist.toml"
    watchlist.write_text(
        f'[[retailers]]\nslug = "bench-shop"\nprofile = "{PROFILE}"\nbase_url = "{shop_url}"\n'
        f"products = {json.dumps(urls)}\n"
    )
    print(f"demo shop {shop_url}: {args.products} products x {args.stores} stores")
    print(f"settings (bare and promowatch): {json.dumps(SHARED)} (bench profile: concurrency 32)")
    fetch = [sys.executable, __file__, "--bare", str(work / "urls.txt")]
    wall, cpu, rss, _ = measured(fetch)
    base = row("bare scrapy (fetch only)", args.products, wall, cpu, rss)
    wall, cpu, rss, _ = measured([*fetch, "--bare-collector"])
    tuned = row("  the same, promowatch's collector setting", args.products, wall, cpu, rss)

    def offers_row(label: str, data: Path, **settings: object) -> int:
        wall, cpu, rss, out = measured(runner(watchlist, data, "offers", **settings))
        stats = stats_of(out)
        offers = int(stats.get(OBSERVED, 0))
        readers = int(stats.get("promowatch/extract_processes", 0))
        where = f"{readers} reading process{'es' if readers > 1 else ''}" if readers else "read in-process"
        rate = offers / wall
        share = (
            f"({rate / base['rate']:.0%} of bare, {rate / tuned['rate']:.0%} of it with the collector set)"
        )
        row(f"{label}, {where}", offers, wall, cpu, rss, share)
        return offers

    # promowatch's default: the looks of a turn of the event loop committed as it ends, pages read in reading
    # processes
    data = work / "default"
    offers = offers_row("1 worker (default)", data)
    db_bytes = storage(data)["db"]
    print(
        f"{'':<46} database {db_bytes / max(offers, 1) * 1000 / 1e6:.2f} MB per 1,000 offer observations "
        f"(incl. evidence {size_of(data / 'evidence') / max(offers, 1) * 1000 / 1e6:.2f} MB)"
    )
    offers_row("  the same", work / "in-process", PROMOWATCH_EXTRACT_PROCESSES=0)
    if args.offers_only:
        return
    offers_row("1 worker, commit per look", work / "per-look", PROMOWATCH_COMMIT_EVERY=1)
    offers_row("1 worker, grouped over 1 s", work / "grouped", PROMOWATCH_COMMIT_SECONDS=1.0)

    before = storage(data)
    wall, cpu, rss, out = measured(runner(watchlist, data, "offers"))
    again = int(stats_of(out).get(OBSERVED, 0))
    row("1 worker: unchanged re-check", again, wall, cpu, rss, growth(before, storage(data), again))

    before_bytes = size_of(data)
    wall, cpu, rss, out = measured(runner(watchlist, data, "stores"))
    stats = stats_of(out)
    store_checks = int(stats.get("promowatch/bench-shop/store_checks", 0))
    row(
        "1 worker: store checks",
        store_checks,
        wall,
        cpu,
        rss,
        f"({store_checks / wall:.0f} store obs/s; +{(size_of(data) - before_bytes) / 1e6:.1f} MB)",
    )
    before = storage(data)
    wall, cpu, rss, out = measured(runner(watchlist, data, "stores"))
    stats = stats_of(out)
    again = int(stats.get("promowatch/bench-shop/store_checks", 0))
    row(
        "1 worker: unchanged stores",
        again,
        wall,
        cpu,
        rss,
        f"({again / wall:.0f} store obs/s, {stats.get('promowatch/bench-shop/store_observations', 0)} new rows) "
        + growth(before, storage(data), again),
    )

    if args.redis:
        import redis

        from promowatch.config import load_watchlist
        from promowatch.datadir import DataDir
        from promowatch.distributed import enqueue_due, wait_for_workers

        redis.Redis.from_url(args.redis).flushdb()
        data2 = DataDir.resolve(str(work / "two"))
        ticket = enqueue_due(load_watchlist(watchlist), data2, args.redis)
        command = [
            sys.executable,
            "-m",
            "tests.ops.worker",
            str(watchlist),
            str(data2.root),
            args.redis,
            data2.db_url,
            "--idle-exit",
            "2",
        ]
        # two workers keep both cores busy by themselves; the row's RSS is each worker's own
        for key, value in {**SHARED, "PROMOWATCH_EXTRACT_PROCESSES": 0}.items():
            command += ["--set", f"{key}={json.dumps(value)}"]
        started = time.monotonic()
        workers = [
            subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(2)
        ]
        report = wait_for_workers(args.redis, ticket, timeout=600, poll=0.1)
        wall = time.monotonic() - started
        usages = [os.wait4(w.pid, 0)[2] for w in workers]
        row(
            "2 redis workers: offers, read in-process",
            len(report.done),
            wall,
            sum(u.ru_utime + u.ru_stime for u in usages),
            max(u.ru_maxrss for u in usages) / 1024,
            "(wall includes worker start-up)",
        )
    else:
        print(
            "2 workers: skipped, no --redis / $PROMOWATCH_TEST_REDIS (run through scripts/with-services.sh)"
        )


if __name__ == "__main__":
    main()
