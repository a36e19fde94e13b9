"""End to end: real `promowatch run` subprocesses crawl the demo shop over simulated days on 127.0.0.1."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from promowatch.db.engine import open_database
from promowatch.db.models import ChainEntry, CrawlRun, OfferObservation, Product, Promotion
from promowatch.db.queries import list_findings
from promowatch.demo.run import CHECK_HOUR, DEMO_START, Inbox, run_day, timeline
from promowatch.demo.scenarios import scenario
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import demo_watchlist
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.case import export_case
from promowatch.evidence.case_verify import verify_case

DAYS = 8


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("e2e")
    inbox = Inbox()
    with DemoShop(DEMO_START) as shop, inbox.serving():
        watchlist = data / "watchlist.toml"
        watchlist.write_text(demo_watchlist(shop.url, inbox.url + "/consumer", inbox.url + "/watchdog"))
        for day in range(DAYS):
            now = DEMO_START + timedelta(days=day) + CHECK_HOUR
            shop.set_clock(now)
            inbox.day = day
            result = run_day(watchlist, data, now)
            assert result.returncode == 0, result.stderr[-3000:]
        yield {"data": data, "url": shop.url, "requests": dict(shop.requests), "inbox": inbox.messages}


def series(crawled: dict[str, Any], letter: str) -> list[dict[str, Any]]:
    db_url = f"sqlite:///{crawled['data'] / 'promowatch.db'}"
    by_title = timeline(db_url, DEMO_START, DAYS)
    return by_title[scenario(letter).title]


def test_bait_is_never_orderable_and_the_stores_are_empty(crawled: dict[str, Any]) -> None:
    days = series(crawled, "a")
    for row in days[3:]:  # the promotion runs from day 3
        assert row["orderable"] is False
        assert row["availability"] != "in_stock"
        assert row["stores_in_stock"] is not None and row["stores_in_stock"] <= 0.10
    assert {str(r["price"]) for r in days[:3]} == {"549.00"}  # charged before the promotion
    assert {str(r["price"]) for r in days[3:]} == {"499.00"}


def test_sell_out_on_day_2_and_restock_on_day_6(crawled: dict[str, Any]) -> None:
    days = series(crawled, "b")
    online = [r["availability"] for r in days]
    assert online[:2] == ["in_stock", "in_stock"]
    assert set(online[2:6]) == {"out_of_stock"}
    assert online[6:] == ["in_stock", "in_stock"]
    assert all(r["stores_in_stock"] < 0.1 for r in days[2:6])
    assert all(r["stores_in_stock"] > 0.5 for r in days[6:])


def test_jsonld_in_stock_but_page_sold_out_reads_out_of_stock_with_both_signals(
    crawled: dict[str, Any],
) -> None:
    sessions = open_database(f"sqlite:///{crawled['data'] / 'promowatch.db'}")
    with sessions() as session:
        product = session.scalars(select(Product).where(Product.url.endswith(scenario("f").path))).one()
        observation = session.scalars(
            select(OfferObservation).where(OfferObservation.product_id == product.id).limit(1)
        ).one()
        assert observation.availability == "out_of_stock"
        said = {(s.source, s.value) for s in observation.signals if s.field == "availability"}
    assert ("jsonld", "in_stock") in said
    assert any(source in ("text", "profile") and value == "out_of_stock" for source, value in said)


def test_javascript_stock_line_is_unknown_over_http(crawled: dict[str, Any]) -> None:
    sessions = open_database(f"sqlite:///{crawled['data'] / 'promowatch.db'}")
    with sessions() as session:
        product = session.scalars(select(Product).where(Product.url.endswith(scenario("e").path))).one()
        states = set(
            session.scalars(
                select(OfferObservation.availability).where(OfferObservation.product_id == product.id)
            )
        )
    assert states == {"unknown"}


def test_every_observation_has_its_evidence_and_chain_entry(crawled: dict[str, Any]) -> None:
    sessions = open_database(f"sqlite:///{crawled['data'] / 'promowatch.db'}")
    blobs = BlobStore(crawled["data"] / "evidence" / "blobs")
    with sessions() as session:
        observations = session.scalars(select(OfferObservation)).all()
        chained = set(session.scalars(select(ChainEntry.record_id).where(ChainEntry.record_kind == "offer")))
        promotions = session.scalars(select(Promotion)).all()
        runs = {r.id: r for r in session.scalars(select(CrawlRun))}
    assert len(observations) >= DAYS * 6
    # three spiders a day, each a finished run that its observations name
    assert len(runs) == DAYS * 3 and {r.status for r in runs.values()} == {"finished"}
    assert {runs[o.run_id].spider for o in observations if o.run_id} == {"offers"}
    assert all(o.run_id for o in observations)
    for observation in observations:
        assert observation.evidence_sha256 is not None and blobs.exists(observation.evidence_sha256)
        assert observation.id in chained
    # the sweep found the shop's promotions, with the advertised price of the promotions page
    advertised = {p.title: p.advertised_price for p in promotions}
    assert str(advertised[scenario("d").title]) == "49.90"


def test_the_crawl_is_polite(crawled: dict[str, Any]) -> None:
    assert crawled["requests"].get("/robots.txt", 0) >= 1
    assert not any(path.startswith(("/_admin/", "/panier", "/checkout")) for path in crawled["requests"])


def test_case_of_the_bait_exports_and_verifies(crawled: dict[str, Any], tmp_path: Path) -> None:
    # the chain interleaves every product's observations: the bundle must check its links all the same
    data = crawled["data"]
    sessions = open_database(f"sqlite:///{data / 'promowatch.db'}")
    findings = [f for f in list_findings(sessions()) if f["promotion"] == scenario("a").title]
    assert {f["rule"] for f in findings} >= {
        "unorderable_online",
        "store_stockout",
        "reference_price_unsupported",
    }
    rechecked = 0
    for finding in findings:
        bundle = export_case(
            sessions, data / "evidence" / "blobs", data / "evidence" / "warc", finding["id"], tmp_path
        )
        report = verify_case(bundle)
        assert report.ok, report.message
        with zipfile.ZipFile(bundle) as archive:
            case = json.loads(archive.read("case.json"))
            looks = [json.loads(line) for line in archive.read("observations.jsonl").splitlines()]
            warc = archive.read("evidence.warc.gz")
        answered_304 = {
            str(o["id"]) for o in looks if o["kind"] == "offer" and o["record"]["http_status"] == 304
        }
        # each look the shop answered 304 comes with that answer: a server-not-modified revisit in the bundle
        assert set(case["not_modified"]) == answered_304
        profiles = [
            r.rec_headers.get_header("WARC-Profile") or ""
            for r in ArchiveIterator(io.BytesIO(warc))
            if r.rec_type == "revisit"
        ]
        assert sum(p.endswith("/server-not-modified") for p in profiles) == len(answered_304)
        rechecked += len(answered_304)
    assert rechecked > 0, "the demo shop answers unchanged pages with 304: some looks must be re-checks"


def test_the_consumer_hears_of_the_restock_on_day_6_and_of_nothing_it_does_not_follow(
    crawled: dict[str, Any],
) -> None:
    received = [(m["day"], m["title"]) for m in crawled["inbox"] if m["path"] == "/consumer"]
    followed = scenario("b").title
    # the sell-out on day 2 and the restock on day 6, each in the run that saw it, once
    assert [day for day, title in received if "retour en stock" in title.lower()] == [6]
    assert [day for day, title in received if "rupture" in title.lower()] == [2]
    assert all(followed in title for _, title in received)


def test_the_watchdog_hears_of_each_finding_once(crawled: dict[str, Any]) -> None:
    titles = [m["title"] for m in crawled["inbox"] if m["path"] == "/watchdog"]
    assert len(titles) == len(set(titles))
    assert any(scenario("a").title in t and "commandable" in t for t in titles)
    assert not any(scenario("c").title in t for t in titles)  # the honest promotion
