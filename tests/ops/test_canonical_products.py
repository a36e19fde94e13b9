"""Product identity (issue 18, item 9): promotion cards link with tracking parameters and to an alias page whose
``<link rel="canonical">`` names the watched URL. Real crawls (promotions, then offers) on two simulated days
against the fault server: one product, its history continuous."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer

PROMOTIONS_PROFILE = """
[promotions]
urls = ["/promotions"]
item = ".promo"
link = "a::attr(href)"
price = ".price"
valid_until = ".until"
"""
DAYS = ("2026-12-01T06:00:00+00:00", "2026-12-02T06:00:00+00:00")


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    server = FaultServer().start()
    try:
        where = tmp_path_factory.mktemp("canonical")
        watchlist = write_watchlist(where, server.url, ["/p/canon"], profile=PROMOTIONS_PROFILE)
        for day in DAYS:
            result, _ = run_crawl_process(
                watchlist,
                where / "data",
                overrides={"AUTOTHROTTLE_ENABLED": False},
                spiders="promotions,offers",
                now=day,
                timeout=180,
            )
            assert result.returncode == 0, result.stderr[-3000:]
        yield where / "data" / "promowatch.db", server.url
    finally:
        server.stop()


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def test_tracking_links_and_alias_pages_make_no_second_product(crawled: Any) -> None:
    db, base = crawled
    products = {
        url.removeprefix(base): (product_id, canonical)
        for product_id, url, canonical in rows(db, "select id, url, canonical_id from products")
    }
    assert set(products) == {"/p/canon", "/aktion/espresso-deal"}, products
    canon_id = products["/p/canon"][0]
    assert products["/p/canon"][1] is None
    assert products["/aktion/espresso-deal"][1] == canon_id  # the alias names its canonical product


def test_observations_and_promotions_are_filed_under_the_canonical_product(crawled: Any) -> None:
    db, base = crawled
    (canon_id,) = rows(db, f"select id from products where url = '{base}/p/canon'")[0]
    looks = rows(db, "select product_id, observed_at, final_url from offer_observations order by observed_at")
    assert {product_id for product_id, _, _ in looks} == {canon_id}
    # the price history is continuous: both days, on the one product, whichever URL the page was read at
    assert {observed[:10] for _, observed, _ in looks} == {day[:10] for day in DAYS}
    assert any(url.endswith("/aktion/espresso-deal") for _, _, url in looks)
    promoted = rows(db, "select distinct product_id from promotions")
    assert promoted == [(canon_id,)]
