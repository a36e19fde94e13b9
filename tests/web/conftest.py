"""A small real SQLite database for the dashboard's tests: one retailer, a promotion whose title is markup, a
week of offer observations, stores with stock intervals, a finding and its event."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from promowatch.clock import Clock
from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    Event,
    Finding,
    OfferObservation,
    OfferSignal,
    Product,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
)
from promowatch.evidence.blobs import BlobStore
from promowatch.web.app import Dashboard, create_app

START = datetime(2026, 11, 2, 10, tzinfo=UTC)
HOSTILE_TITLE = "<img src=x onerror=alert(1)>"
# what the captured page holds: a script that must never run on the dashboard's origin
CAPTURED_PAGE = (
    b"<html><body><h1>Kaffeevollautomat</h1><script>parent.document.title='owned'</script></body></html>"
)
SCREENSHOT = b"\x89PNG\r\n\x1a\n fixture screenshot"
OBSERVATIONS = 7


def fill(data: DataDir) -> dict[str, Any]:
    """Write the fixture rows; returns the ids the tests address."""
    sessions = open_database(data.db_url)
    blobs = BlobStore(data.blobs)
    page_sha, _ = blobs.put(CAPTURED_PAGE)
    shot_sha, _ = blobs.put(SCREENSHOT)
    with sessions() as s:
        retailer = Retailer(slug="demo-shop", name="Demo Shop", country="CH", currency="CHF")
        s.add(retailer)
        s.flush()
        product = Product(retailer_id=retailer.id, url="http://127.0.0.1:9/p/1", sku="1", name=HOSTILE_TITLE)
        s.add(product)
        s.flush()
        promotion = Promotion(
            key="demo-shop|1",
            retailer_id=retailer.id,
            product_id=product.id,
            title=HOSTILE_TITLE,
            advertised_price=Decimal("499.00"),
            reference_price=Decimal("999.00"),
            currency="CHF",
            valid_from=START + timedelta(days=1),
            valid_until=START + timedelta(days=6),
            origin="sweep",
            window_basis="stated",
            created_at=START,
        )
        s.add(promotion)
        s.flush()
        s.add(
            AdSighting(
                promotion_id=promotion.id,
                kind="web",
                source_url="http://127.0.0.1:9/aktionen",
                seen_at=START,
                last_seen=START + timedelta(days=5),
                checks=6,
                evidence_sha256=page_sha,
            )
        )
        run = CrawlRun(
            started_at=START, finished_at=START + timedelta(minutes=5), spider="stores", status="finished"
        )
        s.add(run)
        s.flush()
        offers = []
        for day in range(OBSERVATIONS):
            o = OfferObservation(
                product_id=product.id,
                run_id=run.id,
                observed_at=START + timedelta(days=day),
                price=Decimal("549.00") if day == 0 else Decimal("499.00"),
                regular_price=None if day == 0 else Decimal("999.00"),
                currency="CHF",
                availability="out_of_stock",
                orderable=False,
                http_status=200,
                final_url=product.url,
                render="browser",
                evidence_sha256=page_sha,
                screenshot_sha256=shot_sha,
            )
            o.signals.append(
                OfferSignal(field="availability", source="text", raw="Nur im Laden", value="out_of_stock")
            )
            s.add(o)
            offers.append(o)
        stores = [Store(retailer_id=retailer.id, external_id=str(i), name=f"Filiale {i}") for i in range(4)]
        s.add_all(stores)
        s.flush()
        store_obs = []
        for i, store in enumerate(stores):
            so = StoreObservation(
                product_id=product.id,
                store_id=store.id,
                run_id=run.id,
                first_seen=START,
                last_seen=START + timedelta(days=OBSERVATIONS - 1),
                checks=OBSERVATIONS,
                availability="in_stock" if i == 0 else "out_of_stock",
                quantity=3 if i == 0 else 0,
            )
            s.add(so)
            store_obs.append(so)
        s.flush()
        finding = Finding(
            promotion_id=promotion.id,
            rule="unorderable_online",
            state="confirmed",
            opened_at=START + timedelta(days=2),
            confirmed_at=START + timedelta(days=3),
            evaluated_at=START + timedelta(days=6),
            summary=f"Not orderable online while the promotion advertised 499.00 CHF ({HOSTILE_TITLE})",
            inputs={"thresholds": {"confirm_observations": 3}},
            observation_ids={"offer": [o.id for o in offers[1:]], "store": [so.id for so in store_obs]},
        )
        s.add(finding)
        s.flush()
        s.add(
            Event(
                kind="finding_opened",
                dedup_key=f"finding_opened:{finding.id}",
                created_at=START + timedelta(days=2),
                occurred_at=START + timedelta(days=1),
                retailer_id=retailer.id,
                product_id=product.id,
                promotion_id=promotion.id,
                finding_id=finding.id,
                payload={},
            )
        )
        s.commit()
        ids = {
            "promotion": promotion.id,
            "finding": finding.id,
            "product": product.id,
            "offers": len(offers),
            "page_sha": page_sha,
            "shot_sha": shot_sha,
        }
    sessions.kw["bind"].dispose()
    return ids


@pytest.fixture
def data(tmp_path: Path) -> DataDir:
    return DataDir.resolve(str(tmp_path / "data"))


@pytest.fixture
def ids(data: DataDir) -> dict[str, Any]:
    return fill(data)


@pytest.fixture
def board(data: DataDir, ids: dict[str, Any]) -> Iterator[Dashboard]:
    dashboard = Dashboard(data, clock=Clock.parse("2026-11-09T12:00Z"))
    yield dashboard
    dashboard.close()


@pytest.fixture
def client(board: Dashboard) -> TestClient:
    return TestClient(create_app(board), base_url="http://127.0.0.1")
