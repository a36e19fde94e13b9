"""Browser rendering throughput and memory against the real demo shop.

`promowatch crawl` runs in a subprocess with a copy of the demo-shop profile set to render = "browser" and renders
the shop's JavaScript bench pages ``/p/bench-live-{i}`` (scenario (e)'s page: stock line, buy button and store
widget filled in by shop.js from /api/stock/{sku} and /api/stores), with and without a full-page screenshot each.

Memory is the crawler plus every process under it (Playwright's Node driver, every Chromium process), sampled
while it runs, reported three ways (psutil):
  RSS  summed resident set sizes: counts pages shared between Chromium's processes once per process (too high);
  PSS  proportional set size: each shared page split among the processes sharing it (the honest sum);
  USS  unique set size: pages only that process holds (what killing it would free; a lower bound).
Printed: pages/s while rendering (first to last page served) and over the whole run with start-up, the peak of
each measure, the RSS/PSS peak per quarter of the pages (steady or growing), CPU seconds per process kind.

    .venv/bin/python bench/browser.py [--pages 500] [--shot-pages 200] [--parallel 4] [--hydration-ms 0]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promowatch.crawl.browser import browser_executable
from promowatch.demo.scenarios import DEFAULT_START
from promowatch.demo.shop import DemoShop
from tests.browser.crawling import crawl_command, observations, write_demo_watchlist

PAGE_PREFIX = "/p/bench-live-"
NOW = "2026-11-05T09:00:00+00:00"  # day 3 of the demo shop started at DEFAULT_START


def kind(process: psutil.Process) -> str:
    name = process.name().lower()
    if "chrom" in name:
        types = [a.removeprefix("--type=") for a in process.cmdline() if a.startswith("--type=")]
        return f"chromium {types[0] if types else 'browser'}"
    if "node" in name:
        return "node"
    return "crawler"


@dataclass
class Sampler:
    """Memory and CPU of a process tree, sampled from outside it."""

    root: psutil.Process
    rss: list[tuple[int, int]] = field(default_factory=list)  # (pages served, summed RSS)
    pss: list[tuple[int, int, int]] = field(default_factory=list)  # (pages served, summed PSS, summed USS)
    pss_at_peak: dict[str, int] = field(default_factory=dict)  # process kind -> PSS at the highest PSS sample
    cpu: dict[int, tuple[str, float]] = field(default_factory=dict)  # pid -> (kind, CPU seconds)
    processes: int = 0

    def members(self) -> list[psutil.Process]:
        try:
            return [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def sample(self, served: int, full: bool) -> None:
        rss = pss = uss = 0
        by_kind: dict[str, int] = {}
        members = self.members()
        self.processes = max(self.processes, len(members))
        for member in members:
            try:
                if full:
                    info = member.memory_full_info()
                    by_kind[kind(member)] = by_kind.get(kind(member), 0) + info.pss
                    pss += info.pss
                    uss += info.uss
                    rss += info.rss
                else:
                    rss += member.memory_info().rss
                times = member.cpu_times()
                self.cpu[member.pid] = (kind(member), times.user + times.system)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        self.rss.append((served, rss))
        if full:
            if pss > max((p for _, p, _ in self.pss), default=0):
                self.pss_at_peak = by_kind
            self.pss.append((served, pss, uss))

    def cpu_by_kind(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, seconds in self.cpu.values():
            totals[name] = totals.get(name, 0.0) + seconds
        return totals


def served(shop: DemoShop) -> int:
    return sum(n for path, n in list(shop.requests.items()) if path.startswith(PAGE_PREFIX))


def warm(shop: DemoShop, paths: list[str]) -> None:
    """Render every page and stock answer once, so the crawl measures the client, not the shop's templates."""
    for path in [*paths, "/api/stores"]:
        with urllib.request.urlopen(shop.url + path) as response:
            response.read()
        sku = "9" + path.removeprefix(PAGE_PREFIX).zfill(6) if path.startswith(PAGE_PREFIX) else None
        if sku is not None:
            with urllib.request.urlopen(f"{shop.url}/api/stock/{sku}") as response:
                response.read()


def quarters(samples: list[tuple[int, int]], pages: int) -> str:
    peaks = []
    for q in range(4):
        low, high = pages * q / 4, pages * (q + 1) / 4
        values = [v for s, v in samples if low <= s < high or (q == 3 and s >= high)]
        peaks.append(f"{max(values) / 2**20:.0f}" if values else "-")
    return " / ".join(peaks)


def run(shop: DemoShop, pages: int, parallel: int, screenshot: bool, keep: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="promowatch-browserbench-") as tmp:
        root = keep or Path(tmp)
        paths = [f"{PAGE_PREFIX}{n}" for n in range(pages)]
        warm(shop, paths)
        watchlist = write_demo_watchlist(
            root, shop.url, paths, screenshot=screenshot, concurrency=parallel, stores=False
        )
        before = served(shop)
        load_before = os.getloadavg()[0]
        started = time.monotonic()
        process = psutil.Popen(crawl_command(watchlist, root / "data", now=NOW))
        sampler = Sampler(process)
        first = last = None
        tick = 0
        while process.poll() is None:
            done = served(shop) - before
            now = time.monotonic()
            if done and first is None:
                first = now
            if done >= pages and last is None:
                last = now
            sampler.sample(done, full=tick % 5 == 0)  # PSS reads smaps: every 250 ms, RSS every 50 ms
            tick += 1
            time.sleep(0.05)
        wall = time.monotonic() - started
        seen = observations(root / "data")
        read = sum(1 for s in seen.values() if s["availability"] not in ("unknown",))
        shots = sum(1 for s in seen.values() if s["screenshot_sha256"])
        rendering = (last or time.monotonic()) - (first or started)
        rss_peak = max(v for _, v in sampler.rss)
        pss_peak = max((p for _, p, _ in sampler.pss), default=0)
        uss_peak = max((u for _, _, u in sampler.pss), default=0)
        cpu = ", ".join(f"{k} {v:.0f} s" for k, v in sorted(sampler.cpu_by_kind().items()))
        label = "screenshot on " if screenshot else "screenshot off"
        print(
            f"{label}: {pages} pages, {parallel} in parallel: {pages / rendering:.1f} pages/s rendering "
            f"({pages / wall:.1f}/s over the whole {wall:.1f} s run incl. start-up); {read}/{pages} read, "
            f"{shots} screenshots; exit {process.returncode}\n"
            f"    peak memory crawler+browser ({sampler.processes} processes): PSS {pss_peak / 2**20:.0f} MiB, "
            f"USS {uss_peak / 2**20:.0f} MiB, summed RSS {rss_peak / 2**20:.0f} MiB\n"
            f"    PSS at the peak by process: "
            + ", ".join(f"{k} {v / 2**20:.0f}" for k, v in sorted(sampler.pss_at_peak.items()))
            + " MiB\n"
            f"    per quarter of the pages: RSS {quarters(sampler.rss, pages)} MiB; "
            f"PSS {quarters([(s, p) for s, p, _ in sampler.pss], pages)} MiB\n"
            f"    CPU: {cpu}; load average {load_before:.1f} before the run",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500, help="pages rendered without screenshots")
    parser.add_argument("--shot-pages", type=int, default=200, help="pages rendered with a screenshot each")
    parser.add_argument(
        "--parallel", type=int, default=4, help="pages rendered at once (profile concurrency)"
    )
    parser.add_argument(
        "--hydration-ms", type=int, default=0, help="pause of shop.js before it asks for the stock (e: 400)"
    )
    parser.add_argument("--keep", type=Path, help="keep the data directory here (screenshots, database)")
    args = parser.parse_args()
    print(
        f"{psutil.cpu_count()} cores; Chromium {browser_executable()}; "
        f"demo shop pages {PAGE_PREFIX}N, hydration {args.hydration_ms} ms",
        flush=True,
    )
    count = max(args.pages, args.shot_pages)
    with DemoShop(DEFAULT_START, bench_products=count, bench_hydration_ms=args.hydration_ms) as shop:
        shop.set_clock(datetime.fromisoformat(NOW))
        if args.pages:
            run(shop, args.pages, args.parallel, screenshot=False, keep=None)
        if args.shot_pages:
            run(shop, args.shot_pages, args.parallel, screenshot=True, keep=args.keep)


if __name__ == "__main__":
    main()
