"""The persistence pipeline, built from real settings against a temporary database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy import func, select

from pipelines.persist import PersistPipeline
from promowatch.db.engine import open_database
from promowatch.db.models import AdSighting, ChainEntry, OfferObservation, Promotion, Store, StoreObservation
from promowatch.domain import Availability, Offer, Signal, SignalSource, StoreInfo, StoreStock
from promowatch.evidence.chain import verify_chain
from promowatch.items import AdItem, AdvertisedPromotion, Capture, OfferItem, StoreListItem, StoreStockItem

T0 = datetime(2026, 11, 5, 10, tzinfo=UTC)
SHOP = "http://127.0.0.1:9"


@pytest.fixture
def pipeline(tmp_path: Path) -> PersistPipeline:
    (tmp_path / "sites").mkdir()
    (tmp_path / "sites" / "acme.toml").write_text(f'slug = "acme"\ncurrency = "CHF"\nbase_url = "{SHOP}"\n')
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text('[[retailers]]\nslug = "acme"\n')
    settings = {
        "PROMOWATCH_WATCHLIST": str(watchlist),
        "PROMOWATCH_DATA_DIR": str(tmp_path / "data"),
        "PROMOWATCH_DB": f"sqlite:///{tmp_path / 'data.db'}",
    }
    return build_from_crawler(PersistPipeline, get_crawler(settings_dict=settings))


def stock_item(at: datetime, levels: dict[str, int], body: bytes = b"{}") -> StoreStockItem:
    # the shop's own data time moves with every answer, as real store APIs' "updated_at" does
    stocks = [
        StoreStock(sid, Availability.IN_STOCK if q else Availability.OUT_OF_STOCK, q, source_time=at)
        for sid, q in levels.items()
    ]
    capture = Capture(SHOP + "/api/stock/1", 200, {}, body, "application/json", body_sha256="a" * 64)
    return StoreStockItem("acme", SHOP + "/p/1", at, stocks, capture)


def test_unchanged_store_state_extends_the_interval(pipeline: PersistPipeline) -> None:
    pipeline.process_item(
        StoreListItem("acme", T0, [StoreInfo("s1", "Lausanne"), StoreInfo("s2", "Morges")], None)
    )
    pipeline.process_item(stock_item(T0, {"s1": 0, "s2": 3}))
    pipeline.process_item(stock_item(T0 + timedelta(hours=1), {"s1": 0, "s2": 3}))
    pipeline.process_item(stock_item(T0 + timedelta(hours=2), {"s1": 0, "s2": 2}))
    with pipeline.sessions() as session:
        rows = session.scalars(select(StoreObservation).order_by(StoreObservation.id)).all()
        by_store = {(session.get(Store, r.store_id).external_id, r.first_seen, r.checks) for r in rows}  # type: ignore[union-attr]
    # s1 stayed at zero: one interval of three checks; s2 changed quantity at +2h: a new interval
    assert by_store == {
        ("s1", T0, 3),
        ("s2", T0, 2),
        ("s2", T0 + timedelta(hours=2), 1),
    }
    assert max(r.last_seen for r in rows) == T0 + timedelta(hours=2)
    with pipeline.sessions() as session:
        report = verify_chain(session)
    assert report.ok, report.message


def test_offer_observation_keeps_signals_evidence_and_chain(pipeline: PersistPipeline) -> None:
    offer = Offer(
        url=SHOP + "/p/1",
        sku="123",
        price=Decimal("499.00"),
        currency="CHF",
        regular_price=Decimal("999.00"),
        availability=Availability.OUT_OF_STOCK,
        orderable=False,
        signals=(
            Signal("availability", SignalSource.JSONLD, "https://schema.org/InStock", "in_stock"),
            Signal("availability", SignalSource.TEXT, "Épuisé", "out_of_stock"),
        ),
    )
    capture = Capture(SHOP + "/p/1", 200, {}, b"<html/>", "text/html", body_sha256="b" * 64)
    pipeline.process_item(OfferItem("acme", SHOP + "/p/1", T0, offer, "http", capture, {"logged_in": False}))
    with pipeline.sessions() as session:
        observation = session.scalars(select(OfferObservation)).one()
        assert (observation.price, observation.availability, observation.orderable) == (
            Decimal("499.00"),
            "out_of_stock",
            False,
        )
        assert observation.evidence_sha256 == "b" * 64
        assert [(s.source, s.value) for s in observation.signals] == [
            ("jsonld", "in_stock"),
            ("text", "out_of_stock"),
        ]
        assert observation.product.sku == "123"
        assert session.scalar(select(func.count()).select_from(ChainEntry)) == 1


def test_the_same_ad_seen_again_extends_its_sighting(pipeline: PersistPipeline) -> None:
    ad = AdvertisedPromotion(SHOP + "/p/1", "Coffee machine", Decimal("499"), Decimal("999"), "CHF", T0, None)
    for hours in (0, 1):
        capture = Capture(SHOP + "/promotions", 200, {}, b"same", "text/html", body_sha256="c" * 64)
        pipeline.process_item(
            AdItem("acme", SHOP + "/promotions", T0 + timedelta(hours=hours), [ad], capture)
        )
    with pipeline.sessions() as session:
        promotion = session.scalars(select(Promotion)).one()
        sighting = session.scalars(select(AdSighting)).one()
    assert promotion.advertised_price == Decimal("499.00") and promotion.origin == "sweep"
    assert (sighting.checks, sighting.last_seen) == (2, T0 + timedelta(hours=1))


def test_nothing_committed_is_lost_when_a_later_item_fails(pipeline: PersistPipeline) -> None:
    pipeline.process_item(stock_item(T0, {"s1": 0}))
    broken = stock_item(T0, {"s1": 0})
    broken.retailer = "not-in-watchlist"
    with pytest.raises(KeyError):
        pipeline.process_item(broken)
    sessions = open_database(pipeline.config.data.db_url)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(StoreObservation)) == 1
