"""Many shops at once, as promowatch crawls them: the politeness floor, the wall time, CPU and memory.

    .venv/bin/python bench/sweep.py [--shops 100] [--pages 200] [--seed 22] [--processes N] [--keep]

Starts ``--shops`` local shops on 127.0.0.1 (one aiohttp process, one port per shop, so each is its own
download slot), each serving ``--pages`` product pages of the demo shop's bench catalogue, its store list and a
store-stock answer per product, robots.txt, every response after a latency drawn from 150-400 ms (seeded per
shop and path). Then ``promowatch crawl`` checks every product page and its store stock with the profile defaults
(bench/sites/sweep-shop.toml: one request at a time per shop, AutoThrottle, robots.txt obeyed), and a bare Scrapy
spider fetches the same URLs with the same settings and slots (no extraction, no storage). ``--processes N``:
promowatch crawls in N processes, each owning whole shops (``promowatch crawl --processes N``).

Printed: the politeness floor (the slowest shop's requests one after the other, each taking its latency or the
gap AutoThrottle imposes, whichever is longer; the crawl's two spiders one after the other), each crawl's wall
time and its ratio to the floor, CPU seconds per check (a product page or a stock answer) and peak RSS summed over
the process and its children. Targets: promowatch within 10 % of the floor and within 5 % of bare Scrapy's wall
time, peak RSS under 300 MB.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
PROFILE = ROOT / "bench" / "sites" / "sweep-shop.toml"
LATENCY = (0.150, 0.400)
STORES = 50  # stores in each store-stock answer
TARGETS = {"floor": 1.10, "bare": 1.05, "rss_mb": 300.0}


def latency(seed: int, shop: int, path: str) -> float:
    """The seconds shop ``shop`` takes to answer ``path``: the same in the server and in the floor."""
    return random.Random(f"{seed}/{shop}/{path}").uniform(*LATENCY)


def product_paths(pages: int) -> list[str]:
    return [f"/p/bench-{i}" for i in range(pages)]


def stock_paths(pages: int) -> list[str]:
    # the demo shop's bench product i has SKU 9 followed by i on six digits (promowatch.demo.catalogue)
    return [f"/api/stock/9{i:06d}" for i in range(pages)]


# ------------------------------------------------------------------------------------------------ the shops
def demo_responses(pages: int) -> dict[str, tuple[bytes, str]]:
    """path -> (body, content type) of every URL the sweep asks for, as the demo shop renders them."""
    from datetime import UTC, datetime

    from promowatch.demo.shop import DemoShop

    shop = DemoShop(datetime(2026, 11, 2, 8, tzinfo=UTC), bench_products=pages, bench_stores=STORES)
    shop.start()
    try:
        responses = {}
        for path in ["/robots.txt", "/api/stores", *product_paths(pages), *stock_paths(pages)]:
            with urllib.request.urlopen(f"{shop.url}{path}", timeout=30) as answer:
                responses[path] = (answer.read(), answer.headers.get("Content-Type", "text/html"))
    finally:
        shop.stop()
    return responses


def serve(shops: int, pages: int, seed: int) -> None:
    """The shops' server (``--serve``): prints their ports as one JSON line, serves until stdin closes."""
    from aiohttp import web

    responses = demo_responses(pages)
    sockets = []
    for _ in range(shops):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sockets.append(sock)
    shop_of = {sock.getsockname()[1]: number for number, sock in enumerate(sockets)}

    async def answer(request: web.Request) -> web.StreamResponse:
        found = responses.get(request.path)
        if found is None:
            return web.Response(status=404)
        port = int(request.host.rsplit(":", 1)[1])
        await asyncio.sleep(latency(seed, shop_of[port], request.path))
        body, content_type = found
        return web.Response(body=body, headers={"Content-Type": content_type})

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        for sock in sockets:
            await web.SockSite(runner, sock, backlog=128).start()
        print(json.dumps({"ports": list(shop_of)}), flush=True)
        loop = asyncio.get_running_loop()
        closed = asyncio.Event()
        loop.add_reader(sys.stdin.fileno(), lambda: closed.set() if not sys.stdin.buffer.read1(1) else None)
        await closed.wait()
        await runner.cleanup()

    asyncio.run(run())


@contextlib.contextmanager
def shops_running(shops: int, pages: int, seed: int) -> Iterator[list[int]]:
    server = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            "--shops",
            str(shops),
            "--pages",
            str(pages),
            "--seed",
            str(seed),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if not line:
            raise SystemExit("the shops' server did not start")
        yield json.loads(line)["ports"]
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


# ------------------------------------------------------------------------------------------------ the floor
def autothrottled(latencies: list[float]) -> float:
    """Seconds one shop takes for these answers, one at a time, under AutoThrottle (target concurrency 1, start
    delay 0, as promowatch.settings): a request starts when the previous one is answered and the slot's delay
    since the previous start has passed; each answer sets the delay to max(latency, mean of delay and latency)
    (scrapy.extensions.throttle)."""
    now = delay = 0.0
    for seconds in latencies:
        started = now
        delay = max(seconds, (delay + seconds) / 2)
        now = max(started + seconds, started + delay)
    return now


def floor(shops: int, pages: int, seed: int) -> tuple[float, float]:
    """The politeness floor of promowatch's crawl (offers, then stores, each starting with robots.txt in a slot
    of its own) and of the bare spider (every URL of a shop in one crawl)."""
    offers = [[latency(seed, s, p) for p in product_paths(pages)] for s in range(shops)]
    stores = [[latency(seed, s, p) for p in ["/api/stores", *stock_paths(pages)]] for s in range(shops)]
    robots = [latency(seed, s, "/robots.txt") for s in range(shops)]
    crawl = max(robots[s] + autothrottled(offers[s]) for s in range(shops)) + max(
        robots[s] + autothrottled(stores[s]) for s in range(shops)
    )
    bare = max(robots[s] + autothrottled(offers[s] + stores[s]) for s in range(shops))
    return crawl, bare


# ------------------------------------------------------------------------------------------------ measuring
def measured(command: list[str], env: dict[str, str]) -> tuple[float, float, float]:
    """Run ``command``: wall seconds, CPU seconds (its children included), peak RSS in MB summed over the
    process and its children (sampled every 50 ms)."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
    tree = psutil.Process(process.pid)
    peak = 0
    cpu: dict[int, float] = {}
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        total = 0
        with contextlib.suppress(psutil.Error):
            for each in [tree, *tree.children(recursive=True)]:
                with contextlib.suppress(psutil.Error):
                    total += each.memory_info().rss
                    if each.pid != process.pid:
                        times = each.cpu_times()
                        cpu[each.pid] = times.user + times.system
        peak = max(peak, total)
        time.sleep(0.05)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{command[:4]} failed with {os.waitstatus_to_exitcode(status)}")
    # wait4 counts the children the process waited for; one it did not wait for counts by its last sample
    seconds = usage.ru_utime + usage.ru_stime
    waited = usage.ru_utime + usage.ru_stime - sum(cpu.values())
    return time.monotonic() - started, max(seconds, waited + sum(cpu.values())), peak / 2**20


def checks_stored(database: Path) -> tuple[int, int]:
    """(offer checks, store-stock answers read) of the crawl, from its database and its crawl stats."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        offers = db.execute("SELECT count(*) FROM offer_observations").fetchone()[0]
        stock = 0
        for spider, stats in db.execute("SELECT spider, stats FROM crawl_runs"):
            if spider == "stores" and stats:
                figures = json.loads(stats)
                # every answer of the stores spider is a stock answer but each shop's one store list
                stock += sum(int(v) for k, v in figures.items() if k.endswith("/responses"))
                stock -= sum(1 for k in figures if k.endswith("/stores"))
    return int(offers), stock


def bare(urls_file: Path) -> None:
    """``--bare FILE``: a bare Scrapy spider fetching every URL of FILE (slot<TAB>url lines) with the settings
    of promowatch's crawl, keeping nothing."""
    from scrapy import Request, Spider
    from scrapy.crawler import AsyncCrawlerProcess

    from promowatch.crawl.runner import project_settings

    lines = [line.split("\t") for line in urls_file.read_text().splitlines()]
    slots = sorted({slot for slot, _ in lines})
    settings = project_settings()
    # Scrapy's own components only: no promowatch middleware, extension, pipeline or download handler
    for key in (
        "DOWNLOADER_MIDDLEWARES",
        "SPIDER_MIDDLEWARES",
        "EXTENSIONS",
        "ITEM_PIPELINES",
        "DOWNLOAD_HANDLERS",
    ):
        settings.set(key, {}, priority="cmdline")
    settings.set(
        "DOWNLOAD_SLOTS",
        {
            **settings.getdict("DOWNLOAD_SLOTS"),
            **{
                slot: {"concurrency": 1, "delay": settings.getfloat("DOWNLOAD_DELAY"), "jitter": 0.0}
                for slot in slots
            },
        },
        priority="cmdline",
    )
    # as promowatch.crawl.shop_slots: the total never holds a free shop back
    settings.set(
        "CONCURRENT_REQUESTS", max(settings.getint("CONCURRENT_REQUESTS"), len(slots)), priority="cmdline"
    )
    settings.set("LOG_LEVEL", os.environ.get("SWEEP_LOG_LEVEL", "ERROR"), priority="cmdline")

    class Bare(Spider):
        name = "bare"

        async def start(self) -> Any:
            for slot, url in lines:
                yield Request(url, dont_filter=True, meta={"download_slot": slot}, callback=self.parse)

        def parse(self, response: Any) -> None:
            return None

    process = AsyncCrawlerProcess(settings)
    process.crawl(Bare)
    process.start()


def row(
    label: str, wall: float, floor_seconds: float, cpu: float, checks: int, rss: float, extra: str = ""
) -> None:
    print(
        f"{label:<26} wall {wall:7.1f} s  {wall / floor_seconds:5.2f} x floor  "
        f"CPU {cpu / max(checks, 1) * 1000:5.2f} ms/check ({checks} checks)  peak RSS {rss:6.1f} MB {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shops", type=int, default=100)
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--seed", type=int, default=22)
    parser.add_argument("--processes", type=int, default=1, help="promowatch's crawl processes")
    parser.add_argument("--keep", action="store_true", help="keep the crawl's data directory (printed)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.shops, args.pages, args.seed)
        return
    if args.bare:
        bare(Path(args.bare))
        return
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # the server is stopped on the way out
    work = Path(tempfile.mkdtemp(prefix="promowatch-sweep-"))
    try:
        with shops_running(args.shops, args.pages, args.seed) as ports:
            sweep(args, ports, work)
    finally:
        if args.keep:
            print(f"data kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def sweep(args: argparse.Namespace, ports: list[int], work: Path) -> None:
    slugs = [f"shop-{n:03d}" for n in range(len(ports))]
    entries = [
        f'[[retailers]]\nslug = "{slug}"\nprofile = "{PROFILE}"\nbase_url = "http://127.0.0.1:{port}"\n'
        f"sweep = false\nproducts = {json.dumps(product_paths(args.pages))}\n"
        for slug, port in zip(slugs, ports, strict=True)
    ]
    watchlist = work / "watchlist.toml"
    watchlist.write_text("\n".join(entries))
    urls = work / "urls.txt"
    urls.write_text(
        "\n".join(
            f"{slug}\thttp://127.0.0.1:{port}{path}"
            for slug, port in zip(slugs, ports, strict=True)
            for path in [*product_paths(args.pages), "/api/stores", *stock_paths(args.pages)]
        )
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SCRAPY_SETTINGS_MODULE": "bench.sweep_settings"}
    env["SWEEP_SHOPS"] = str(len(ports))
    crawl_floor, bare_floor = floor(len(ports), args.pages, args.seed)
    requests = len(ports) * (2 * args.pages + 1)
    print(
        f"{len(ports)} shops x {args.pages} product pages + store list + {args.pages} stock answers "
        f"({requests} requests, {STORES} stores per answer), latency {LATENCY[0]:.2f}-{LATENCY[1]:.2f} s "
        f"(seed {args.seed}); {psutil.cpu_count()} cores"
    )
    print(
        f"politeness floor: {crawl_floor:.1f} s for promowatch's crawl (offers then stores), "
        f"{bare_floor:.1f} s for one bare crawl of the same URLs"
    )
    wall_bare, cpu_bare, rss_bare = measured([sys.executable, __file__, "--bare", str(urls)], env)
    row("bare Scrapy (fetch only)", wall_bare, bare_floor, cpu_bare, requests, rss_bare)
    data = work / "data"
    command = [str(Path(sys.executable).with_name("promowatch")), "crawl", "-w", str(watchlist), "-q"]
    command += ["--processes", str(args.processes)]
    wall, cpu, rss = measured([*command, "--data-dir", str(data)], env)
    offers, stock = checks_stored(data / "promowatch.db")
    row(
        f"promowatch crawl ({args.processes} process{'es' if args.processes > 1 else ''})",
        wall,
        crawl_floor,
        cpu,
        offers + stock,
        rss,
        f"({offers} offer + {stock} stock checks)",
    )
    verdict = {
        f"wall <= {TARGETS['floor']:.2f} x floor": wall <= TARGETS["floor"] * crawl_floor,
        f"wall <= {TARGETS['bare']:.2f} x bare": wall <= TARGETS["bare"] * wall_bare,
        f"peak RSS < {TARGETS['rss_mb']:.0f} MB": rss < TARGETS["rss_mb"],
        "every page and stock answer checked": offers == len(ports) * args.pages
        and stock == len(ports) * args.pages,
    }
    print(f"promowatch / bare wall time: {wall / wall_bare:.2f}")
    for target, met in verdict.items():
        print(f"  {'met ' if met else 'MISSED'} {target}")


if __name__ == "__main__":
    main()
