"""More crawl processes, each owning whole retailers (``promowatch crawl --processes N``): every page is looked at
once, each shop still gets one request at a time, and the retailers are shared out by their work.

Source: two local shops on 127.0.0.1 counting the product-page requests they serve at once
(tests/ops/countingshop.py), crawled by the real command in a subprocess.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest
from sqlalchemy import create_engine, text

from promowatch.crawl.parallel import partition
from promowatch.run import EXIT_INTERRUPTED
from tests.ops.conftest import PYTHON, ROOT
from tests.ops.conftest import write_watchlist as write_one
from tests.ops.countingshop import PAGES_PER_SHOP, CountingShop, write_watchlist
from tests.ops.faultserver import FaultServer


@pytest.mark.parametrize(
    ("work", "parts", "groups"),
    [
        pytest.param({"a": 5, "b": 5}, 2, [("a",), ("b",)], id="two-equal-shops-two-processes"),
        pytest.param({"a": 9, "b": 5, "c": 4}, 2, [("a",), ("b", "c")], id="the-large-shop-alone"),
        pytest.param({"a": 1, "b": 1}, 4, [("a",), ("b",)], id="no-more-processes-than-shops"),
        pytest.param(
            {"a": 0, "b": 0, "c": 0}, 2, [("a", "c"), ("b",)], id="shops-with-no-pages-yet-count-one"
        ),
    ],
)
def test_retailers_are_shared_out_by_their_pages(
    work: dict[str, int], parts: int, groups: list[tuple[str, ...]]
) -> None:
    assert partition(work, parts) == groups


def test_two_processes_crawl_every_page_once_and_keep_each_shop_polite(
    tmp_path: Path, shops: dict[str, CountingShop]
) -> None:
    watchlist = write_watchlist(tmp_path, shops, delay=0.0)
    data = tmp_path / "data"
    command = [PYTHON, "-m", "promowatch.cli", "crawl", "-w", str(watchlist), "--data-dir", str(data)]
    result = subprocess.run(
        [*command, "--processes", "2"], cwd=ROOT, capture_output=True, text=True, timeout=180
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for slug, shop in shops.items():
        assert len(shop.served) == PAGES_PER_SHOP, f"{slug}: a page fetched twice or never"
        assert shop.most_in_flight == 1, f"{slug} served {shop.most_in_flight} requests at once"
    engine = create_engine(f"sqlite:///{data / 'promowatch.db'}")
    with engine.connect() as connection:
        stored = dict(
            connection.execute(
                text(
                    "SELECT r.slug, count(*) FROM offer_observations o JOIN products p ON p.id = o.product_id "
                    "JOIN retailers r ON r.id = p.retailer_id GROUP BY r.slug"
                )
            ).all()
        )
    engine.dispose()
    assert stored == {slug: PAGES_PER_SHOP for slug in shops}
    # each process wrote its own crawl log: the crawl ran in two processes, not one
    assert (data / "logs" / "crawl.log").stat().st_size > 0
    assert (data / "logs" / "crawl.2.log").stat().st_size > 0
    # the summary names both retailers, as a crawl in one process does
    assert all(slug in result.stdout + result.stderr for slug in shops)


def test_ctrl_c_stops_every_crawl_process_once_and_keeps_their_looks(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    # two retailers on one server, one process each; each has a page that answers only after 6 s
    watchlist = ""
    for slug, items in (("shop-a", range(0, 6)), ("shop-b", range(6, 12))):
        pages = [f"{fault_server.url}/p/item-{i}" for i in items] + [f"{fault_server.url}/p/slow"]
        watchlist += write_one(tmp_path, fault_server.url, pages, slug=slug).read_text() + "\n"
    (tmp_path / "watchlist.toml").write_text(watchlist)
    data = tmp_path / "data"
    command = [PYTHON, "-m", "promowatch.cli", "crawl", "-w", str(tmp_path / "watchlist.toml")]
    crawl = subprocess.Popen(
        [*command, "--data-dir", str(data), "--processes", "2"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not all(fault_server.hits[f"/p/item-{i}"] for i in range(12)):
        time.sleep(0.05)
    time.sleep(1.0)  # the items read while the slow pages are still loading
    # the crawl processes, not multiprocessing's resource tracker
    parts = [
        p for p in psutil.Process(crawl.pid).children() if "resource_tracker" not in " ".join(p.cmdline())
    ]
    assert len(parts) == 2
    os.killpg(crawl.pid, signal.SIGINT)  # Ctrl+C at a terminal: the foreground group, the parent alone here
    _, stderr = crawl.communicate(timeout=60)

    assert crawl.returncode == EXIT_INTERRUPTED, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    engine = create_engine(f"sqlite:///{data / 'promowatch.db'}")
    with engine.connect() as connection:
        stored = connection.execute(text("SELECT count(*) FROM offer_observations")).scalar_one()
    engine.dispose()
    assert stored >= 12  # every item looked at by either process is stored; the slow pages may be
    for part in parts:  # each part stopped as a crawl stops on Ctrl+C: it stored what it had and ended
        assert not part.is_running() or part.status() == psutil.STATUS_ZOMBIE
