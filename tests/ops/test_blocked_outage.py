"""A shop that sends every Nth product page to a bot check (issue 18, item 8): real crawls against the fault
server, one per simulated day.

Each blocked look is stored as unknown, reason "blocked", orderable unknown (null), with the block page as its
evidence; the page is asked for again later in the same run and read right; the product keeps its own name; the
operator hears once when the outage starts and once when it ends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer

PAGES = [f"/p/shy-{n}" for n in range(1, 13)]
OVERRIDES = {"AUTOTHROTTLE_ENABLED": False, "PROMOWATCH_BACKOFF_BASE": 0.2}
DAYS = ["2026-12-01T06:00:00+00:00", "2026-12-02T06:00:00+00:00", "2026-12-03T06:00:00+00:00"]
DAYS.append("2026-12-04T06:00:00+00:00")


@pytest.fixture(scope="module")
def outage(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Path, FaultServer, list[dict[str, Any]]]]:
    """Two days with a captcha instead of every 4th product page, then two days without."""
    server = FaultServer().start()
    try:
        where = tmp_path_factory.mktemp("outage")
        watchlist = write_watchlist(where, server.url, [server.url + p for p in PAGES], concurrency=2)
        summaries = []
        for day, captcha_every in zip(DAYS, (4, 4, 0, 0), strict=True):
            server.captcha_every = captcha_every
            result, summary = run_crawl_process(
                watchlist, where / "data", overrides=OVERRIDES, spiders="offers", now=day, timeout=180
            )
            assert result.returncode == 0, result.stderr[-3000:]
            # what the evaluation after this run would name each product by
            summary["names"] = dict(rows(where / "data" / "promowatch.db", "select url, name from products"))
            summaries.append(summary)
        yield where / "data" / "promowatch.db", server, summaries
    finally:
        server.stop()


def rows(db: Path, query: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(db) as connection:
        return connection.execute(query).fetchall()


def test_blocked_looks_are_unknown_blocked_and_not_orderable_false(outage: Any) -> None:
    db, _, _ = outage
    blocked = rows(
        db,
        "select availability, orderable, reason, evidence_sha256, http_status from offer_observations "
        "where reason like 'blocked%'",
    )
    assert blocked, "the captcha pages left no blocked look"
    for availability, orderable, reason, evidence, status in blocked:
        assert (availability, orderable, status) == ("unknown", None, 200), reason
        assert evidence is not None, "the block page is the look's evidence"


def test_blocked_pages_are_retried_later_in_the_run_and_read_right(outage: Any) -> None:
    db, server, _ = outage
    looks = rows(
        db,
        "select p.url, o.run_id, o.id, o.availability, o.reason from offer_observations o "
        "join products p on p.id = o.product_id order by o.id",
    )
    blocked = [
        (url, run, look_id) for url, run, look_id, _, reason in looks if (reason or "").startswith("blocked")
    ]
    for url, run, look_id in blocked:
        later = [a for u, r, i, a, _ in looks if u == url and r == run and i > look_id]
        assert later and later[-1] == "in_stock", f"{url} was not read right later in run {run}"
    # every page of every run ends read right
    latest: dict[tuple[str, int], str] = {}
    for url, run, _, availability, _ in looks:
        latest[(url, run)] = availability
    assert set(latest.values()) == {"in_stock"}
    assert len(latest) == len(PAGES) * len(DAYS)
    assert sum(server.hits[p] for p in PAGES) == len(PAGES) * len(DAYS) + len(blocked)


def test_the_product_keeps_its_own_name(outage: Any) -> None:
    db, _, summaries = outage
    for day, summary in zip(DAYS, summaries, strict=True):
        for url, name in summary["names"].items():
            assert name == "Kaffeemaschine " + url.rsplit("/", 1)[-1], (day, url, name)
    payloads = " ".join(str(p) for (p,) in rows(db, "select payload from events"))
    assert "Sicherheits" not in payloads


def test_the_operator_hears_once_when_the_outage_starts_and_once_when_it_ends(outage: Any) -> None:
    db, _, summaries = outage
    events = rows(db, "select kind, occurred_at from events order by occurred_at, id")
    kinds = [kind for kind, _ in events]
    assert kinds == ["crawl_unhealthy", "crawl_recovered"], events
    assert events[0][1].startswith("2026-12-01") and events[1][1].startswith("2026-12-03")
    # the second day was still unhealthy, and said so in the run's summary, without a second message
    assert summaries[1]["health"]["faulty"], summaries[1]
    assert summaries[2]["health"]["faulty"] == summaries[3]["health"]["faulty"] == []
