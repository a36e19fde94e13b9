"""Every fault a shop can throw ends as a retried success or an unknown look with its reason; the run finishes.

Source of the cases: tests/ops/faultserver.py (one path per fault), crawled for real in a subprocess.
"""

from __future__ import annotations

import itertools
import sqlite3
from typing import Any

import pytest

from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer

CASES = [
    pytest.param("/p/ok", "in_stock", None, id="healthy-page"),
    pytest.param("/p/ratelimited", "in_stock", None, id="429-retry-after-then-success"),
    pytest.param("/p/slow", "unknown", "Timeout", id="timeout"),
    pytest.param("/p/reset", "unknown", "", id="connection-reset"),
    pytest.param("/p/error500", "unknown", "HTTP 500", id="http-500"),
    pytest.param("/p/unavailable", "unknown", "HTTP 503", id="503-backoff-gives-up"),
    pytest.param("/p/captcha", "unknown", "blocked: ", id="captcha-page-200"),
    pytest.param("/p/forbidden", "unknown", "blocked: ", id="403-block-page"),
    pytest.param("/p/loop", "unknown", "redirect", id="redirect-loop"),
    pytest.param("/p/refresh", "unknown", "redirected to another page", id="meta-refresh-elsewhere"),
    pytest.param("/p/refresh-utf16", "unknown", "redirected to another page", id="meta-refresh-in-utf-16"),
    # Scrapy 2.19 / w3lib 2.6 decode only WHATWG encodings: a page declaring EBCDIC (cp500) is read as ASCII
    # bytes, so its refresh is not seen; the page must still read unknown with a reason, never a stock state
    pytest.param("/p/refresh-ebcdic", "unknown", "", id="meta-refresh-in-ebcdic"),
    pytest.param("/p/huge", "unknown", "max size", id="50-mb-page"),
    pytest.param("/p/malformed", "unknown", "", id="malformed-html"),
    pytest.param("/p/charset", "in_stock", None, id="wrong-charset"),
    pytest.param("/p/gone", "unknown", "HTTP 404", id="not-found"),
]
OVERRIDES = {"DOWNLOAD_TIMEOUT": 3, "AUTOTHROTTLE_ENABLED": False, "PROMOWATCH_BACKOFF_BASE": 0.5}


@pytest.fixture(scope="module")
def fault_run(tmp_path_factory: pytest.TempPathFactory) -> Any:
    server = FaultServer(slow_seconds=6.0).start()
    try:
        where = tmp_path_factory.mktemp("faults")
        paths = [str(case.values[0]) for case in CASES]
        watchlist = write_watchlist(where, server.url, [server.url + p for p in paths], canary="/p/ok")
        result, summary = run_crawl_process(watchlist, where / "data", overrides=OVERRIDES, timeout=240)
        assert result.returncode == 0, result.stderr[-3000:]
        with sqlite3.connect(where / "data" / "promowatch.db") as db:
            rows = db.execute(
                "select p.url, o.availability, o.reason from offer_observations o join products p on p.id = o.product_id"
            ).fetchall()
        looks = {url.removeprefix(server.url): (availability, reason) for url, availability, reason in rows}
        yield looks, summary, server, len(rows)
    finally:
        server.stop()


@pytest.mark.parametrize(("path", "availability", "reason"), CASES)
def test_each_fault_ends_as_a_look(fault_run: Any, path: str, availability: str, reason: str | None) -> None:
    looks, _, _, _ = fault_run
    assert path in looks, f"{path} left no observation"
    got_availability, got_reason = looks[path]
    assert got_availability == availability, got_reason
    if reason is None:
        assert got_reason is None
    else:
        assert got_reason, "an unknown look must say why"
        assert reason.lower() in got_reason.lower()


def test_one_look_per_page_and_the_run_finishes(fault_run: Any) -> None:
    looks, _, server, count = fault_run
    # the 200 captcha page is asked for again twice later in the run, each time a look of its own
    assert server.hits["/p/captcha"] == 3
    assert count == len(CASES) + 2
    assert len(looks) == len(CASES)


def test_429_waits_for_retry_after(fault_run: Any) -> None:
    _, _, server, _ = fault_run
    first, second = server.times["/p/ratelimited"][:2]
    assert server.hits["/p/ratelimited"] == 2
    assert second - first >= 0.9  # Retry-After: 1


def test_backoff_grows_on_503(fault_run: Any) -> None:
    _, _, server, _ = fault_run
    times = server.times["/p/unavailable"]
    assert len(times) == 4  # the first try and three backoffs, then Scrapy's retry must not add more
    assert all(b - a >= 0.9 for a, b in itertools.pairwise(times))


def test_block_pages_make_the_run_unhealthy(fault_run: Any) -> None:
    _, summary, _, _ = fault_run
    problems = summary["health"]["faulty"]
    assert any("block or captcha page" in p for p in problems), problems
