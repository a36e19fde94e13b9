"""Start requests go to Scrapy a few at a time per retailer (spiders/pacing.py): the scheduler never holds a whole
watchlist, a slow shop holds back only its own pages, and no page is lost or left waiting.

The pacer is driven directly with real Scrapy requests on an asyncio loop; the crawl test runs the real crawl
against tests/ops/faultserver.py, whose robots.txt forbids /private/ (requests dropped after they left the
scheduler).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from scrapy import Request
from sqlalchemy import select

from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation, Product
from spiders.pacing import RECOUNT_SECONDS, StartPacer
from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer


def requests(slug: str, count: int) -> list[Request]:
    return [Request(f"http://127.0.0.1:9/{slug}/{n}", meta={"retailer": slug}) for n in range(count)]


def test_each_retailer_keeps_at_most_ahead_of_its_pages_waiting_and_they_take_turns() -> None:
    async def take() -> tuple[list[str], bool, str]:
        pacer = StartPacer(ahead=3)
        a, b = requests("a", 10), requests("b", 10)
        handed = aiter(pacer.requests({"a": a, "b": b}))
        order = [(await anext(handed)).meta["retailer"] for _ in range(6)]
        seventh = asyncio.ensure_future(anext(handed))
        # longer than the pacer's recount: nothing left the scheduler, so nothing more may come
        done, _ = await asyncio.wait([seventh], timeout=RECOUNT_SECONDS * 2.5)
        held_back = not done
        pacer.left_scheduler(a[0])
        return order, held_back, (await seventh).meta["retailer"]

    order, held_back, after_one_left = asyncio.run(take())
    assert order == ["a", "b"] * 3
    assert held_back and after_one_left == "a"


def test_a_slow_retailer_holds_back_only_its_own_pages() -> None:
    async def take() -> tuple[list[str], int]:
        pacer = StartPacer(ahead=2)
        taken: list[str] = []
        fast = requests("fast", 50)
        async for request in pacer.requests({"slow": requests("slow", 50), "fast": fast}):
            taken.append(request.meta["retailer"])
            if request.meta["retailer"] == "fast":
                # the fast shop's pages leave the scheduler at once (on the loop, as the middleware tells it)
                asyncio.get_running_loop().call_soon(pacer.left_scheduler, request)
            if taken.count("fast") == 50:
                return taken, len(pacer.waiting["slow"])
        raise AssertionError("not every page of the fast shop was handed out")

    taken, slow_waiting = asyncio.run(asyncio.wait_for(take(), timeout=10))
    assert taken.count("slow") == 2 and slow_waiting == 2


def test_a_request_that_left_stops_counting_and_its_retries_and_redirects_never_count() -> None:
    pacer = StartPacer(ahead=1)

    async def first() -> Request:
        async for request in pacer.requests({"a": requests("a", 2)}):
            return request
        raise AssertionError

    request = asyncio.run(first())
    pacer.left_scheduler(request)
    pacer.left_scheduler(request.replace(url="http://127.0.0.1:9/moved"))  # a retry or redirect copies meta
    assert len(pacer.waiting["a"]) == 0


def test_a_request_dropped_unseen_does_not_hold_its_retailer_back() -> None:
    # dropped before the scheduler without a signal (a spider middleware's URL length limit, a request_scheduled
    # handler that refuses it): nothing holds it any more, so it stops counting
    async def take() -> list[str]:
        pacer = StartPacer(ahead=1)
        made = (Request(f"http://127.0.0.1:9/a/{n}", meta={"retailer": "a"}) for n in range(3))
        urls = []
        async for request in pacer.requests({"a": made}):
            urls.append(request.url)
            del request  # as Scrapy's engine lets go of it once it is scheduled
        return urls

    assert len(asyncio.run(asyncio.wait_for(take(), timeout=10))) == 3


def test_a_crawl_with_far_more_pages_than_may_wait_checks_every_one(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    # CONCURRENT_REQUESTS 2: at most 4 start requests wait; 20 pages robots.txt forbids leave the scheduler
    # and are dropped before any download, which must not stall the pacing
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
