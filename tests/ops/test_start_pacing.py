"""Start requests go to Scrapy's scheduler as it takes them, the retailers taking turns (spiders.base.taking_turns):
every shop gets its first page early, not shop after shop, and no page is lost or left waiting.

The crawl test runs the real crawl against tests/ops/faultserver.py, whose robots.txt forbids /private/ (requests
dropped after they left the scheduler).
"""

from __future__ import annotations

from pathlib import Path

from scrapy import Request
from sqlalchemy import select

from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation, Product
from spiders.base import taking_turns
from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer


def requests(slug: str, count: int) -> list[Request]:
    return [Request(f"http://127.0.0.1:9/{slug}/{n}", meta={"retailer": slug}) for n in range(count)]


def test_every_retailer_gets_its_first_page_before_any_gets_its_second() -> None:
    order = [
        r.url.split("/", 3)[3] for r in taking_turns([requests("a", 3), requests("b", 1), requests("c", 2)])
    ]
    assert order == ["a/0", "b/0", "c/0", "a/1", "c/1", "a/2"]


def test_a_crawl_with_far_more_pages_than_may_wait_checks_every_one(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    # CONCURRENT_REQUESTS 2: the downloader is full most of the time and the scheduler holds the rest; 20 pages
    # robots.txt forbids are dropped before any download, which must not stall the crawl
    pages = [f"{fault_server.url}/p/item-{n}" for n in range(60)]
    forbidden = [f"{fault_server.url}/private/{n}" for n in range(20)]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages + forbidden)
    result, _ = run_crawl_process(
        watchlist,
        tmp_path / "data",
        overrides={"CONCURRENT_REQUESTS": 2, "PROMOWATCH_COMMIT_EVERY": 1},
        spiders="offers",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    with open_database(f"sqlite:///{tmp_path / 'data' / 'promowatch.db'}")() as session:
        looks = session.execute(select(Product.url, OfferObservation.availability).join(Product)).all()
    assert sorted(url for url, _ in looks) == sorted(pages + forbidden)
    assert {url: state for url, state in looks if "/private/" in url} == dict.fromkeys(forbidden, "unknown")
    assert fault_server.hits.get("/p/item-0") == 1 and not any("/private/" in p for p in fault_server.hits)
