"""Politeness across processes: however many scrapy-redis workers run, a shop never sees more requests at once
than its profile allows (one by default), because a worker owns a retailer while it has its pages in flight.

Source: two local shops on 127.0.0.1 that count the product-page requests they are serving at once; real Redis,
PostgreSQL and worker processes (``promowatch worker`` through tests/ops/worker.py).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import redis

from promowatch.config import load_watchlist
from promowatch.datadir import DataDir
from promowatch.distributed import enqueue_due, wait_for_workers
from tests.ops.conftest import PYTHON, ROOT
from tests.ops.countingshop import PAGES_PER_SHOP, CountingShop, write_watchlist

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


def test_two_workers_never_send_a_shop_more_than_its_concurrency(
    tmp_path: Path, shops: dict[str, CountingShop], pg_database: str, redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    watchlist = write_watchlist(tmp_path, shops)
    ticket = enqueue_due(
        load_watchlist(watchlist), DataDir.resolve(str(tmp_path / "data"), pg_database), redis_url
    )
    assert len(ticket.urls) == 2 * PAGES_PER_SHOP
    command = [
        PYTHON,
        "-m",
        "tests.ops.worker",
        str(watchlist),
        str(tmp_path / "data"),
        redis_url,
        pg_database,
    ]
    # the two workers start together and each could take any page; AutoThrottle off: only the slots hold back
    command += ["--idle-exit", "3", "--set", "AUTOTHROTTLE_ENABLED=false", "--set", 'LOG_LEVEL="ERROR"']
    workers = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        report = wait_for_workers(redis_url, ticket, timeout=120, poll=0.1)
    finally:
        outputs = [worker.communicate(timeout=60) for worker in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    assert not report.timed_out and report.errors == {}, str(report)
    assert all(n == 1 for n in report.done.values()) and len(report.done) == 2 * PAGES_PER_SHOP
    for slug, shop in shops.items():
        assert len(shop.served) == PAGES_PER_SHOP, f"{slug}: a page fetched twice or never"
        assert shop.most_in_flight == 1, f"{slug} served {shop.most_in_flight} requests at once"
