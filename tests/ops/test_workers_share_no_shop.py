"""Politeness across processes: however many scrapy-redis workers run, a shop never sees more requests at once
than its profile allows (one by default), because a worker owns a retailer while it has its pages in flight.

Source: two local shops on 127.0.0.1 that count the product-page requests they are serving at once; real Redis,
PostgreSQL and worker processes (``promowatch worker`` through tests/ops/worker.py).
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from promowatch.config import WatchedRetailer, load_watchlist
from promowatch.datadir import DataDir
from promowatch.distributed import RetailerLeases, enqueue_due, lease_key, queue_key, wait_for_workers
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


def _leased(where: Path, redis_url: str, seconds: float) -> tuple[RetailerLeases, WatchedRetailer]:
    """A worker's leases holding one retailer whose pages are queued."""
    server = redis.Redis.from_url(redis_url)
    server.flushdb()
    shop = SimpleNamespace(url="http://127.0.0.1:9")  # never asked: only the leases are tried
    (retailer,) = load_watchlist(write_watchlist(where, {"kaffee-ag": shop})).retailers  # type: ignore[dict-item]
    server.rpush(queue_key(retailer.slug), b"{}")
    leases = RetailerLeases(server, seconds=seconds)
    assert leases.claim([retailer], capacity=16) == [retailer]
    return leases, retailer


def test_a_lease_another_worker_took_is_lost_at_the_next_renewal(tmp_path: Path, redis_url: str) -> None:
    leases, retailer = _leased(tmp_path, redis_url, seconds=30)
    redis.Redis.from_url(redis_url).delete(lease_key(retailer.slug))  # expired and taken meanwhile
    assert leases.renew() == [retailer.slug]


def test_a_lease_redis_cannot_renew_is_given_up_before_its_term_ends(tmp_path: Path, redis_url: str) -> None:
    # Redis unreachable: the renewal goes on trying while the lease may still be ours, and says the retailer
    # is lost once two thirds of its term passed, before any other worker could claim it
    leases, retailer = _leased(tmp_path, redis_url, seconds=6)
    claimed = time.monotonic()
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        # no retries: redis-py's default backoff would spend seconds of the term on a refused connection
        unreachable = redis.Redis(
            host="127.0.0.1",
            port=closed.getsockname()[1],
            socket_connect_timeout=1,
            retry=Retry(NoBackoff(), 0),
        )
        leases.held[retailer.slug].redis = unreachable
        assert leases.renew() == []
        time.sleep(max(0.0, claimed + 4.2 - time.monotonic()))
        assert leases.renew() == [retailer.slug]
