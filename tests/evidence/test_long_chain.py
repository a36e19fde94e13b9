"""Issue 18's acceptance: ``promowatch evidence verify`` passes on 50,000+ chain entries written by a real crawl.

The demo shop in bench mode (bench/sites/bench-shop.toml) serves ``PRODUCTS`` synthetic products, each stocked
in ``STORES`` stores, crawled once a simulated day for ``DAYS`` days. Each crawl chains an entry per offer
observation and per store check: a new store interval where the stock changed since the day before, an
extension of the open one where it did not. ``DAYS`` x ``PRODUCTS`` x (1 + ``STORES``) entries in all: ten
batches of the verify's default size, each ended by an entry of the crawl.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from promowatch.demo.shop import DemoShop

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "bench" / "sites" / "bench-shop.toml"
PRODUCTS = 500
STORES = 50
DAYS = 2
START = datetime(2026, 11, 2, 8, tzinfo=UTC)
# the demo shop on 127.0.0.1 only: no politeness delay, as bench/throughput.py crawls it
LOCAL_SHOP = {
    "AUTOTHROTTLE_ENABLED": False,
    "CONCURRENT_REQUESTS": 32,
    "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
    "LOG_LEVEL": "ERROR",
    "TELNETCONSOLE_ENABLED": False,
}


def _crawl(watchlist: Path, data: Path, now: datetime) -> dict[str, int]:
    """One crawl of the offers and the stores in its own process (the reactor runs once); its counts."""
    command = [sys.executable, "-m", "tests.ops.runner", str(watchlist), str(data), "--now", now.isoformat()]
    for key, value in LOCAL_SHOP.items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    stats = json.loads(result.stdout.strip().splitlines()[-1])["stats"]
    return {key: value for key, value in stats.items() if isinstance(value, int)}


def test_evidence_verify_passes_on_50000_entries_of_a_real_crawl(tmp_path: Path) -> None:
    started = time.monotonic()
    data = tmp_path / "data"
    stats = []
    with DemoShop(START, bench_products=PRODUCTS, bench_stores=STORES) as shop:
        urls = [f"{shop.url}/p/bench-{i}" for i in range(PRODUCTS)]
        watchlist = tmp_path / "watchlist.toml"
        watchlist.write_text(
            f'[[retailers]]\nslug = "bench-shop"\nprofile = "{PROFILE}"\nbase_url = "{shop.url}"\n'
            f"products = {json.dumps(urls)}\n"
        )
        for day in range(DAYS):
            shop.set_clock(START + timedelta(days=day))
            shop.prerender()
            stats.append(_crawl(watchlist, data, shop.now))
    crawled = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "promowatch.cli", "evidence", "verify", "--data-dir", str(data)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    verified = time.monotonic()
    new_intervals = [day.get("promowatch/bench-shop/store_observations", 0) for day in stats]
    print(
        f"\n{DAYS} crawls {crawled - started:.1f} s, evidence verify {verified - crawled:.1f} s;"
        f" new store intervals by day {new_intervals}; {result.stdout.strip()}"
    )
    assert result.returncode == 0, result.stdout + result.stderr
    found = re.search(r"evidence intact: (\d+) chain entries", result.stdout)
    assert found, result.stdout
    assert int(found.group(1)) == DAYS * PRODUCTS * (1 + STORES) >= 50_000
    # the second day both opened intervals and extended others: both kinds of store entry are chained
    assert 0 < new_intervals[-1] < PRODUCTS * STORES
