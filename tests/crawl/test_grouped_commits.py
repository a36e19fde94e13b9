"""Grouped commits (PROMOWATCH_COMMIT_EVERY) of the persistence pipeline, and revisit records across runs.

Built from real Scrapy settings against a temporary SQLite database, as tests/crawl/test_persist.py does; the
items are the shapes the offers and stores spiders yield.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select
from warcio.archiveiterator import ArchiveIterator

from pipelines.evidence import EvidencePipeline
from pipelines.persist import PersistPipeline
from promowatch.db.engine import open_database
from promowatch.db.models import EvidenceBlob, OfferObservation, StoreObservation
from promowatch.domain import Availability, Offer, Signal, SignalSource, StoreStock
from promowatch.evidence.chain import verify_chain
from promowatch.evidence.warc import find_records, read_index
from promowatch.items import Capture, OfferItem, StoreStockItem

T0 = datetime(2026, 11, 5, 10, tzinfo=UTC)
SHOP = "http://127.0.0.1:9"


def settings(tmp_path: Path, commit_every: int) -> dict[str, object]:
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "acme.toml").write_text(f'slug = "acme"\ncurrency = "CHF"\nbase_url = "{SHOP}"\n')
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text('[[retailers]]\nslug = "acme"\n')
    return {
        "PROMOWATCH_WATCHLIST": str(watchlist),
        "PROMOWATCH_DATA_DIR": str(tmp_path / "data"),
        "PROMOWATCH_DB": f"sqlite:///{tmp_path / 'data.db'}",
        "PROMOWATCH_COMMIT_EVERY": commit_every,
        "PROMOWATCH_COMMIT_SECONDS": 3600,  # only the group size decides in these tests
    }


def offer_item(n: int, body: bytes, retailer: str = "acme") -> OfferItem:
    url = f"{SHOP}/p/{n}"
    capture = Capture(url, 200, {"Content-Type": ["text/html"]}, body, "text/html")
    offer = Offer(url=url, sku=str(n), availability=Availability.IN_STOCK)
    return OfferItem(retailer, url, T0 + timedelta(minutes=n), offer, "http", capture)


def stock_item(at: datetime, levels: dict[str, int]) -> StoreStockItem:
    stocks = [
        StoreStock(sid, Availability.IN_STOCK if q else Availability.OUT_OF_STOCK, q)
        for sid, q in levels.items()
    ]
    capture = Capture(SHOP + "/api/stock/1", 200, {}, b"{}", "application/json")
    return StoreStockItem("acme", SHOP + "/p/1", at, stocks, capture)


def pipelines(tmp_path: Path, commit_every: int) -> tuple[EvidencePipeline, PersistPipeline]:
    crawler = get_crawler(settings_dict=settings(tmp_path, commit_every))
    evidence = build_from_crawler(EvidencePipeline, crawler)
    evidence.open_spider()
    return evidence, build_from_crawler(PersistPipeline, crawler)


def count(persist: PersistPipeline, model: type) -> int:
    with open_database(persist.config.data.db_url)() as session:  # another connection: sees commits only
        return session.scalar(select(func.count()).select_from(model)) or 0


def test_a_group_is_committed_when_full_with_its_blob_index_and_chain(tmp_path: Path) -> None:
    evidence, persist = pipelines(tmp_path, commit_every=3)
    items = [offer_item(n, f"<html>{n}</html>".encode()) for n in range(5)]
    seen = []
    for item in items:
        persist.process_item(evidence.file(item))
        seen.append((count(persist, OfferObservation), count(persist, EvidenceBlob)))
    # nothing shows before the third item; the group of three shows with its blob rows; the rest waits
    assert seen == [(0, 0), (0, 0), (3, 3), (3, 3), (3, 3)]
    persist.spider_closed("finished")
    evidence.close_spider()
    assert (count(persist, OfferObservation), count(persist, EvidenceBlob)) == (5, 5)
    with persist.sessions() as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 5, report.message


def test_each_observation_is_committed_with_its_blob_index_one_by_one(tmp_path: Path) -> None:
    # PROMOWATCH_COMMIT_EVERY = 1, a transaction per item: its observation, its chain entry and the index row of
    # its new bytes
    evidence, persist = pipelines(tmp_path, commit_every=1)
    bodies = [b"<html>1</html>", b"<html>2</html>", b"<html>1</html>"]  # the third look sees the first page
    seen = []
    for n, body in enumerate(bodies):
        persist.process_item(evidence.file(offer_item(n, body)))
        seen.append((count(persist, OfferObservation), count(persist, EvidenceBlob)))
    assert seen == [(1, 1), (2, 2), (3, 2)]
    persist.spider_closed("finished")
    evidence.close_spider()
    with persist.sessions() as session:
        rows = session.scalars(select(EvidenceBlob)).all()
        report = verify_chain(session)
    assert sorted((r.sha256, r.size, r.media_type) for r in rows) == sorted(
        (hashlib.sha256(body).hexdigest(), len(body), "text/html") for body in set(bodies)
    )
    assert report.ok and report.entries == 3, report.message


def test_a_failing_item_costs_only_itself_in_a_group(tmp_path: Path) -> None:
    evidence, persist = pipelines(tmp_path, commit_every=10)
    for n in range(2):
        persist.process_item(evidence.file(offer_item(n, f"<html>{n}</html>".encode())))
    broken = offer_item(2, b"<html>2</html>", retailer="not-in-watchlist")
    with pytest.raises(KeyError):
        persist.process_item(evidence.file(broken))
    # the two items before it were committed on their own
    assert count(persist, OfferObservation) == 2
    persist.process_item(evidence.file(offer_item(3, b"<html>3</html>")))
    persist.spider_closed("finished")
    assert count(persist, OfferObservation) == 3
    with persist.sessions() as session:
        assert verify_chain(session).ok


def three_items_the_second_refused_by_the_database() -> list[OfferItem]:
    """A value the database cannot bind fails the INSERT of the group that holds it, not the item's arrival."""
    items = [offer_item(n, f"<html>{n}</html>".encode()) for n in range(3)]
    unbindable = Signal("price", SignalSource.TEXT, "499.–", ["not", "a", "string"])  # type: ignore[arg-type]
    items[1] = replace(items[1], offer=replace(items[1].offer, signals=(unbindable,)))
    return items


def test_an_item_refused_again_on_replay_costs_only_itself(tmp_path: Path) -> None:
    # a group is taken apart when an item fails; an earlier item the database refuses on its own must not stop
    # the ones after it from being stored, nor hide the first failure
    evidence, persist = pipelines(tmp_path, commit_every=10)
    items = three_items_the_second_refused_by_the_database()
    for item in items:
        persist.process_item(evidence.file(item))
    broken = offer_item(3, b"<html>3</html>", retailer="not-in-watchlist")
    with pytest.raises(KeyError):
        persist.process_item(evidence.file(broken))
    assert count(persist, OfferObservation) == 2
    assert persist.stats is not None and persist.stats.get_value("promowatch/persist_failed") == 1
    persist.spider_closed("finished")
    with persist.sessions() as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 2, report.message


def test_a_row_the_database_refuses_costs_only_its_item(tmp_path: Path) -> None:
    # a value the database cannot take fails the group's INSERT at commit, not when the item arrives: the
    # group is stored again item by item and only that item is lost
    evidence, persist = pipelines(tmp_path, commit_every=3)
    items = three_items_the_second_refused_by_the_database()
    for item in items:
        persist.process_item(evidence.file(item))
    assert count(persist, OfferObservation) == 2
    assert persist.stats is not None and persist.stats.get_value("promowatch/persist_failed") == 1
    persist.process_item(evidence.file(offer_item(3, b"<html>3</html>")))
    persist.spider_closed("finished")
    assert count(persist, OfferObservation) == 3
    with persist.sessions() as session:
        report = verify_chain(session)
    assert report.ok and report.entries == 3, report.message


@pytest.mark.parametrize("commit_every", [pytest.param(1, id="item-by-item"), pytest.param(4, id="grouped")])
def test_store_intervals_extend_the_same_in_groups(tmp_path: Path, commit_every: int) -> None:
    # the example of tests/crawl/test_persist.py: s1 stays at zero, s2 changes quantity at +2h
    evidence, persist = pipelines(tmp_path, commit_every)
    for hours, levels in ((0, {"s1": 0, "s2": 3}), (1, {"s1": 0, "s2": 3}), (2, {"s1": 0, "s2": 2})):
        persist.process_item(evidence.file(stock_item(T0 + timedelta(hours=hours), levels)))
    persist.spider_closed("finished")
    with persist.sessions() as session:
        rows = session.scalars(select(StoreObservation).order_by(StoreObservation.id)).all()
        assert sorted((r.first_seen, r.checks) for r in rows) == [
            (T0, 2),
            (T0, 3),
            (T0 + timedelta(hours=2), 1),
        ]
        report = verify_chain(session)
    assert report.ok, report.message


def test_an_unchanged_body_in_a_later_run_is_a_revisit_record(tmp_path: Path) -> None:
    # bytes that do not compress, so the WARC sizes show what is stored
    body = b"<html>" + b"".join(hashlib.sha256(bytes([i])).digest() for i in range(200)) + b"</html>"
    first, _ = pipelines(tmp_path, commit_every=1)
    first.file(offer_item(1, body))
    first.close_spider()
    second, _ = pipelines(tmp_path, commit_every=1)
    second.run_name += "-again"  # a later run writes its own WARC
    second.open_spider()
    second.file(offer_item(1, body))
    second.close_spider()
    sha = hashlib.sha256(body).hexdigest()
    kinds = [(r.warc, r.record_type) for r in read_index(second.warc_dir)]
    assert kinds == [
        (first.warc_path.name, "warcinfo"),
        (first.warc_path.name, "response"),
        (first.warc_path.name, "request"),
        (second.warc_path.name, "warcinfo"),
        (second.warc_path.name, "revisit"),
        (second.warc_path.name, "request"),
    ]
    with second.warc_path.open("rb") as stream:
        revisit = next(r for r in ArchiveIterator(stream) if r.rec_type == "revisit")
        assert revisit.rec_headers.get_header("WARC-Refers-To-Target-URI") == f"{SHOP}/p/1"
        assert revisit.rec_headers.get_header("WARC-Payload-Digest") == f"sha256:{sha}"
        assert revisit.content_stream().read() == b""
    assert second.warc_path.stat().st_size < first.warc_path.stat().st_size
    # a case export still finds the full response, in the first run's WARC
    assert find_records(second.warc_dir, [sha])[sha][0].warc == first.warc_path.name
