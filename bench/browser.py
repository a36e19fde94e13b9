"""Browser rendering throughput and memory: `promowatch crawl` in a subprocess renders product pages whose stock
line only JavaScript fills in (tests/browser/jsshop.py, the demo shop's scenario (e) page), with and without a
full-page screenshot each.

Prints pages/s (rendering phase: first to last page served, and whole run including start-up) and the peak of
summed RSS of the crawler plus every Chromium/Playwright process (psutil), sampled every 50 ms, with the peak per
quarter of the run to show whether memory stays steady.

    .venv/bin/python bench/browser.py [--pages 500] [--shot-pages 200] [--parallel 4]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.browser.crawling import Shop, crawl_command, observations, write_watchlist
from tests.browser.jsshop import JsShop


def tree_rss(process: psutil.Process) -> int:
    total = 0
    for member in [process, *process.children(recursive=True)]:
        try:
            total += member.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def run(shop: JsShop, pages: int, parallel: int, screenshot: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        products = tuple(f"/p/js/{n}?shot={int(screenshot)}" for n in range(1, pages + 1))
        watchlist = write_watchlist(
            root, shop.url, [Shop("bench", "browser", products, screenshot=screenshot, concurrency=parallel)]
        )
        served_before = shop.hits("/p/js")
        started = time.monotonic()
        process = psutil.Popen(crawl_command(watchlist, root / "data"))
        samples: list[tuple[int, int]] = []  # (pages served so far, summed RSS)
        first_page = last_page = None
        while process.poll() is None:
            served = shop.hits("/p/js") - served_before
            now = time.monotonic()
            if served and first_page is None:
                first_page = now
            if served >= pages and last_page is None:
                last_page = now
            samples.append((served, tree_rss(process)))
            time.sleep(0.05)
        wall = time.monotonic() - started
        seen = observations(root / "data")
        read = sum(1 for s in seen.values() if s["availability"] in ("in_stock", "out_of_stock"))
        shots = sum(1 for s in seen.values() if s["screenshot_sha256"])
        rendering = (last_page or time.monotonic()) - (first_page or started)
        peak = max(rss for _, rss in samples)
        quarters = []
        for q in range(4):
            low, high = pages * q / 4, pages * (q + 1) / 4
            in_quarter = [
                rss for served, rss in samples if low <= served < high or (q == 3 and served >= high)
            ]
            quarters.append(f"{max(in_quarter) / 2**20:.0f}" if in_quarter else "-")
        label = "screenshot on " if screenshot else "screenshot off"
        print(
            f"{label}: {pages} pages, {parallel} in parallel: {pages / rendering:.1f} pages/s rendering "
            f"({pages / wall:.1f}/s over the whole {wall:.1f} s run incl. start-up); {read}/{pages} read, "
            f"{shots} screenshots; peak RSS crawler+browser {peak / 2**20:.0f} MiB "
            f"(per quarter of the pages: {' / '.join(quarters)} MiB); exit {process.returncode}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=500, help="pages rendered without screenshots")
    parser.add_argument("--shot-pages", type=int, default=200, help="pages rendered with a screenshot each")
    parser.add_argument(
        "--parallel", type=int, default=4, help="pages rendered at once (profile concurrency)"
    )
    args = parser.parse_args()
    print(f"{psutil.cpu_count()} cores; Chromium from $PROMOWATCH_CHROMIUM or /usr/bin/chromium")
    shop = JsShop().start()
    try:
        run(shop, args.pages, args.parallel, screenshot=False)
        run(shop, args.shot_pages, args.parallel, screenshot=True)
    finally:
        shop.stop()


if __name__ == "__main__":
    main()
