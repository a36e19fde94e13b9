"""PostgreSQL and scrapy-redis: the same migrations and crawl on PostgreSQL, concurrent crawl processes keep
every observation, and two scrapy-redis workers check each of 2,000 product pages exactly once.

Source: the scripted fault server's /p/item-N pages (tests/ops/faultserver.py); real PostgreSQL and Redis.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import redis
from scrapy import Request, signals
from scrapy.http import HtmlResponse
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import func, inspect, select

from pipelines.persist import PersistPipeline
from promowatch.config import load_watchlist
from promowatch.datadir import DataDir
from promowatch.db.engine import create_db_engine, open_database
from promowatch.db.models import Base, OfferObservation, Product
from promowatch.db.queries import due_products, sync_watchlist
from promowatch.distributed import enqueue_due, wait_for_workers, worker_settings
from promowatch.evidence.chain import verify_chain
from promowatch.extract import extract_offer
from promowatch.items import OfferItem
from spiders.redis_offers import RedisOffersSpider, done_key
from tests.ops.conftest import PROFILE, PYTHON, ROOT, crawl_command, run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer, product

FAST = {"AUTOTHROTTLE_ENABLED": False, "LOG_LEVEL": "ERROR"}


def test_migrations_create_the_same_tables_on_postgresql(pg_database: str) -> None:
    open_database(pg_database)
    tables = set(inspect(create_db_engine(pg_database)).get_table_names())
    assert set(Base.metadata.tables) <= tables


def test_crawl_into_postgresql(tmp_path: Path, fault_server: FaultServer, pg_database: str) -> None:
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(20)] + [fault_server.url + "/p/error500"]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages)
    result, _ = run_crawl_process(watchlist, tmp_path / "data", db=pg_database, overrides=FAST)
    assert result.returncode == 0, result.stderr[-3000:]
    sessions = open_database(pg_database)
    with sessions() as session:
        rows = session.execute(select(OfferObservation.availability, OfferObservation.observed_at)).all()
        assert sorted(a for a, _ in rows) == ["in_stock"] * 20 + ["unknown"]
        assert all(t.tzinfo is not None for _, t in rows)
        assert verify_chain(session).ok


def test_every_product_of_a_watchlist_larger_than_a_statement_may_bind_is_due(
    tmp_path: Path, pg_database: str
) -> None:
    # PostgreSQL binds at most 65,535 parameters per statement: the watched URLs went into one IN list
    pages = [f"http://127.0.0.1:9/p/{n}" for n in range(70_000)]
    watchlist = load_watchlist(write_watchlist(tmp_path, "http://127.0.0.1:9", pages))
    now = datetime.now(UTC)
    sessions = open_database(pg_database)
    with sessions.begin() as session:
        sync_watchlist(session, watchlist, now)
    with sessions() as session:
        due = due_products(session, watchlist.retailers[0], now)
    assert sorted(product.url for product in due) == sorted(pages)


def test_concurrent_crawl_processes_keep_every_observation(
    tmp_path: Path, fault_server: FaultServer, pg_database: str
) -> None:
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(150)]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages, concurrency=8)
    # no registration beforehand: the three processes create the same retailer, products and blobs at once
    command = crawl_command(watchlist, tmp_path / "data", db=pg_database, spiders="offers", overrides=FAST)
    crawls = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    errors = []
    for crawl in crawls:
        _, stderr = crawl.communicate(timeout=300)
        assert crawl.returncode == 0, stderr[-3000:]
        errors += [line for line in stderr.splitlines() if "Error" in line]
    assert not errors, "\n".join(errors[:5])
    sessions = open_database(pg_database)
    with sessions() as session:
        per_product = session.execute(
            select(Product.url, func.count(OfferObservation.id)).join(OfferObservation).group_by(Product.url)
        ).all()
        assert len(per_product) == len(pages)
        assert {n for _, n in per_product} == {3}
        report = verify_chain(session)
        assert report.ok, report.message


def write_retailers(where: Path, base_url: str, pages: list[str], retailers: int, concurrency: int) -> Path:
    """A watchlist of ``retailers`` shops on ``base_url`` that share out ``pages``."""
    (where / "sites").mkdir(parents=True, exist_ok=True)
    lines = []
    for n in range(retailers):
        slug = f"shop-{n}"
        (where / "sites" / f"{slug}.toml").write_text(
            PROFILE.format(slug=slug, base_url=base_url, concurrency=concurrency)
        )
        lines += ["[[retailers]]", f'slug = "{slug}"', f"products = {json.dumps(pages[n::retailers])}", ""]
    path = where / "watchlist.toml"
    path.write_text("\n".join(lines))
    return path


def test_two_redis_workers_check_2000_pages_exactly_once(
    tmp_path: Path, fault_server: FaultServer, pg_database: str, redis_url: str
) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(2000)]
    # a worker owns whole retailers, as many as its 32 requests at once serve: two each
    watchlist_path = write_retailers(tmp_path, fault_server.url, pages, retailers=4, concurrency=16)
    data = DataDir.resolve(str(tmp_path / "data"), pg_database)
    ticket = enqueue_due(load_watchlist(watchlist_path), data, redis_url)
    assert len(ticket.urls) == 2000
    command = [
        PYTHON,
        "-m",
        "tests.ops.worker",
        str(watchlist_path),
        str(tmp_path / "data"),
        redis_url,
        pg_database,
        "--idle-exit",
        "3",
        "--set",
        "AUTOTHROTTLE_ENABLED=false",
        "--set",
        'LOG_LEVEL="ERROR"',
        "--set",
        "CONCURRENT_REQUESTS=32",
    ]
    workers = [
        subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    try:
        report = wait_for_workers(redis_url, ticket, timeout=240)
    finally:
        outputs = [w.communicate(timeout=120) for w in workers]
    for worker, (_, stderr) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, stderr[-3000:]
    assert not report.timed_out, str(report)
    assert report.errors == {}
    assert len(report.done) == 2000 and report.duplicates == 0
    assert all(n == 1 for n in report.done.values())
    fetched = [fault_server.hits[f"/p/item-{i}"] for i in range(2000)]
    assert set(fetched) == {1}, "a page was fetched twice or never"
    scraped = [int(json.loads(out.strip().splitlines()[-1])["item_scraped_count"]) for out, _ in outputs]
    assert all(n > 0 for n in scraped), f"both workers must share the crawl: {scraped}"
    sessions = open_database(pg_database)
    with sessions() as session:
        assert session.scalar(select(func.count(OfferObservation.id))) == 2000
        assert verify_chain(session).ok


def test_waiting_with_no_worker_says_so_once_and_gives_up(tmp_path: Path, redis_url: str) -> None:
    # a cron run whose workers are down must not sit silently for its whole wait
    redis.Redis.from_url(redis_url).flushdb()
    watchlist_path = write_watchlist(tmp_path, "http://127.0.0.1:9", ["http://127.0.0.1:9/p/item-1"])
    data = DataDir.resolve(str(tmp_path / "data"))
    ticket = enqueue_due(load_watchlist(watchlist_path), data, redis_url)
    heard: list[str] = []
    report = wait_for_workers(redis_url, ticket, timeout=1.5, poll=0.1, stalled=heard.append, stall_after=0.5)
    assert report.timed_out
    assert len(heard) == 1 and "is a `promowatch worker` running" in heard[0] and "0/1 done" in heard[0]
    redis.Redis.from_url(redis_url).flushdb()


def test_a_worker_reports_a_look_done_only_once_it_is_committed(tmp_path: Path, redis_url: str) -> None:
    # By default a look is committed as the turn of the event loop that stored it ends, after it has left the
    # pipelines (item_scraped): a worker killed in between must not have told the coordinator it was stored.
    # Real SQLite, Redis and Scrapy signals; the engine's part (the item leaving the pipelines) is sent here.
    url = "http://127.0.0.1:9/p/1"
    watchlist = write_watchlist(tmp_path, "http://127.0.0.1:9", [url])
    settings = {
        "PROMOWATCH_WATCHLIST": str(watchlist),
        "PROMOWATCH_DATA_DIR": str(tmp_path / "data"),
        "PROMOWATCH_COMMIT_EVERY": 100,  # promowatch's default (promowatch/settings.py)
        "PROMOWATCH_COMMIT_SECONDS": 0.0,
        **worker_settings(redis_url),
    }
    crawler = get_crawler(RedisOffersSpider, settings_dict=settings)
    spider = RedisOffersSpider.from_crawler(crawler)
    persist = build_from_crawler(PersistPipeline, crawler)
    server = redis.Redis.from_url(redis_url)
    server.flushdb()
    response = HtmlResponse(url, request=Request(url, meta={"run": "r1", "product_url": url}))
    item = OfferItem(
        "faulty", url, datetime.now(UTC), extract_offer(product("Kaffee", "SKU-1"), url), "http", None
    )

    async def look() -> tuple[object, object]:
        persist.process_item(item)
        crawler.signals.send_catch_log(
            signal=signals.item_scraped, item=item, response=response, spider=spider
        )
        reported_before = server.hget(done_key("r1"), url)
        await asyncio.sleep(0.05)  # the turn ends: the look is committed
        return reported_before, server.hget(done_key("r1"), url)

    assert asyncio.run(look()) == (None, b"1")
    with persist.sessions() as session:
        assert session.scalar(select(func.count()).select_from(OfferObservation)) == 1
