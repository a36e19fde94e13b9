"""Throughput of a crawl against the demo shop in bench mode (N products x M stores).

    .venv/bin/python bench/throughput.py [--products 2000] [--stores 50] [--redis URL]

Prints offer checks/s, store checks/s, CPU s per 1,000 checks, peak RSS, database bytes per 1,000 observations,
bytes added per 1,000 unchanged checks, for one worker and (with --redis or $PROMOWATCH_TEST_REDIS) two
scrapy-redis workers, and a bare Scrapy spider fetching the same pages (no extraction, no storage).
Targets: end-to-end >= 50 % of bare, >= 250 offer checks/s (1 worker), >= 2,000 store observations/s,
peak RSS < 250 MB for 20,000 checks.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "bench" / "sites" / "bench-shop.toml"
FAST = {"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "ERROR", "CONCURRENT_REQUESTS": 32}


def measured(command: list[str]) -> tuple[float, float, float, str]:
    """Run ``command``; wall seconds, CPU seconds, peak RSS in MB, stdout."""
    started = time.monotonic()
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen(command, cwd=ROOT, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if process.returncode != 0:
        raise SystemExit(f"{command} failed with {process.returncode}")
    return time.monotonic() - started, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, text


def size_of(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def runner(watchlist: Path, data: Path, spiders: str) -> list[str]:
    command = [sys.executable, "-m", "tests.ops.runner", str(watchlist), str(data), "--spiders", spiders]
    for key, value in FAST.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    return command


def bare(urls_file: Path) -> None:
    """A bare Scrapy spider: fetch every URL, keep nothing."""
    from scrapy import Request, Spider
    from scrapy.crawler import CrawlerProcess

    urls = urls_file.read_text().split()

    class Bare(Spider):
        name = "bare"
        custom_settings = {  # noqa: RUF012 - Scrapy declares it as a plain class attribute
            "LOG_LEVEL": "ERROR",
            "CONCURRENT_REQUESTS": 32,
            "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
            "ROBOTSTXT_OBEY": False,
            "TELNETCONSOLE_ENABLED": False,
        }

        async def start(self):
            for url in urls:
                yield Request(url, dont_filter=True)

        def parse(self, response):
            return None

    process = CrawlerProcess()
    process.crawl(Bare)
    process.start()


def row(label: str, checks: int, wall: float, cpu: float, rss: float, extra: str = "") -> dict[str, Any]:
    rate = checks / wall if wall else 0.0
    print(
        f"{label:<28} {checks:>7} checks {wall:7.2f} s {rate:9.1f} checks/s  CPU {cpu / checks * 1000 if checks else 0:6.2f}"
        f" s/1000  peak RSS {rss:6.1f} MB {extra}"
    )
    return {"checks": checks, "wall": wall, "rate": rate, "cpu": cpu, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--stores", type=int, default=50)
    parser.add_argument("--redis", default=os.environ.get("PROMOWATCH_TEST_REDIS"))
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare(Path(args.bare))
        return
    sys.path.insert(0, str(ROOT))
    from promowatch.demo.shop import DemoShop

    shop = DemoShop(
        datetime(2026, 11, 2, 8, tzinfo=UTC), bench_products=args.products, bench_stores=args.stores
    )
    shop.start()
    shop.prerender()
    work = Path(tempfile.mkdtemp(prefix="promowatch-bench-"))
    urls = [f"{shop.url}/p/bench-{i}" for i in range(args.products)]
    (work / "urls.txt").write_text("\n".join(urls))
    watchlist = work / "watchlist.toml"
    watchlist.write_text(
        f'[[retailers]]\nslug = "bench-shop"\nprofile = "{PROFILE}"\nbase_url = "{shop.url}"\n'
        f"products = {json.dumps(urls)}\n"
    )
    print(f"demo shop {shop.url}: {args.products} products x {args.stores} stores")
    wall, cpu, rss, _ = measured([sys.executable, __file__, "--bare", str(work / "urls.txt")])
    base = row("bare scrapy (fetch only)", args.products, wall, cpu, rss)

    data = work / "one"
    wall, cpu, rss, out = measured(runner(watchlist, data, "offers"))
    stats = json.loads(out.strip().splitlines()[-1])["stats"]
    offers = int(stats.get("promowatch/bench-shop/offer_observations", 0))
    one = row(
        "1 worker: offer checks", offers, wall, cpu, rss, f"({offers / wall / base['rate']:.0%} of bare)"
    )
    db = data / "promowatch.db"
    db_bytes = sum(p.stat().st_size for p in data.glob("promowatch.db*"))
    print(
        f"{'':<28} database {db_bytes / max(offers, 1) * 1000 / 1e6:.2f} MB per 1,000 offer observations "
        f"(incl. evidence {size_of(data / 'evidence') / max(offers, 1) * 1000 / 1e6:.2f} MB)"
    )

    before = size_of(data)
    wall, cpu, rss, out = measured(runner(watchlist, data, "offers"))
    again = int(
        json.loads(out.strip().splitlines()[-1])["stats"].get("promowatch/bench-shop/offer_observations", 0)
    )
    row(
        "1 worker: unchanged re-check",
        again,
        wall,
        cpu,
        rss,
        f"+{(size_of(data) - before) / max(again, 1) * 1000 / 1e3:.0f} kB per 1,000 unchanged checks",
    )

    before = size_of(data)
    wall, cpu, rss, out = measured(runner(watchlist, data, "stores"))
    stats = json.loads(out.strip().splitlines()[-1])["stats"]
    store_checks = int(stats.get("promowatch/bench-shop/store_checks", 0))
    row(
        "1 worker: store checks",
        store_checks,
        wall,
        cpu,
        rss,
        f"({store_checks / wall:.0f} store obs/s; +{(size_of(data) - before) / 1e6:.1f} MB)",
    )
    del db, one

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
        for key, value in FAST.items():
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
            "2 redis workers: offers",
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
    shop.stop()


if __name__ == "__main__":
    main()
