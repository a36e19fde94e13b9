"""One crawl process keeps each shop's concurrency: one request at a time by default, the profile's own limit
when it sets one, even with no delay of its own (Scrapy 2.19 sends every request waiting in a slot whose delay
is 0 at once; promowatch.settings.DOWNLOAD_DELAY is the floor that keeps the limit).

Source: two local shops on 127.0.0.1 counting the product-page requests they serve at the same time
(tests/ops/countingshop.py), crawled by the real crawl in a subprocess.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from tests.ops.conftest import run_crawl_process
from tests.ops.countingshop import PAGES_PER_SHOP, CountingShop, write_watchlist


@pytest.mark.parametrize(
    ("concurrency", "allowed"),
    [pytest.param(None, 1, id="profile-default-one-at-a-time"), pytest.param(2, 2, id="profile-allows-two")],
)
def test_a_shop_never_gets_more_requests_at_once_than_its_profile_allows(
    tmp_path: Path, shops: dict[str, CountingShop], concurrency: int | None, allowed: int
) -> None:
    watchlist = write_watchlist(tmp_path, shops, delay=0.0, concurrency=concurrency)
    # AutoThrottle off: only the download slots hold requests back
    result, _ = run_crawl_process(
        watchlist, tmp_path / "data", overrides={"AUTOTHROTTLE_ENABLED": False}, spiders="offers", timeout=120
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for slug, shop in shops.items():
        assert len(shop.served) == PAGES_PER_SHOP, f"{slug}: a page fetched twice or never"
        assert shop.most_in_flight <= allowed, f"{slug} served {shop.most_in_flight} requests at once"
    # the shops are asked side by side: the limit is per shop, not a crawl one page at a time
    assert max(shop.most_in_flight for shop in shops.values()) == allowed


def test_a_delay_the_profile_asks_for_holds_under_autothrottle(
    tmp_path: Path, shops: dict[str, CountingShop]
) -> None:
    # AutoThrottle on (the default): it would bring a fast shop's gap down to its latency, far below 0.4 s
    watchlist = write_watchlist(tmp_path, shops, delay=0.4)
    result, _ = run_crawl_process(watchlist, tmp_path / "data", spiders="offers", timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    for slug, shop in shops.items():
        gaps = [later - earlier for earlier, later in itertools.pairwise(shop.arrivals)]
        assert len(gaps) == PAGES_PER_SHOP - 1 and min(gaps) >= 0.35, f"{slug}: gaps {gaps}"
