"""Builds a small real case: rows in a temp SQLite, captures filed by the evidence pipeline, a finding
raised by the real rule. Scenario: design.md §8, the bait promotion of the coffee machine (advertised
499.– instead of 999.–, not orderable online, stores empty)."""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from sqlalchemy.orm import Session, sessionmaker

from pipelines.evidence import EvidencePipeline, filed_blobs
from promowatch import rules
from promowatch.db.engine import open_database
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    Finding,
    OfferObservation,
    OfferSignal,
    Product,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
)
from promowatch.db.queries import record_blobs
from promowatch.domain import Availability, Offer
from promowatch.evaluate import load_store_crawls
from promowatch.evidence import chain
from promowatch.items import AdItem, Capture, OfferItem, StoreStockItem

START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
URL = "http://127.0.0.1:8765/p/coffee-machine-x1"


def tiny_png(shade: int) -> bytes:
    """A valid 4x4 grey PNG, different per shade."""
    raw = b"".join(b"\x00" + bytes([shade]) * 4 for _ in range(4))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def product_page(hour: int) -> bytes:
    # the page changes every 6 hours (a rotating banner), so some fetches repeat identical bytes
    banner = hour // 6
    return (
        f'<html><body><h1>Coffee machine X1</h1><p class="price">499.–</p><s>999.–</s>'
        f'<p class="stock">Nicht lieferbar</p><div class="banner">{banner}</div></body></html>'
    ).encode()


@dataclass
class CaseWorld:
    sessions: sessionmaker[Session]
    data_dir: Path
    blobs_root: Path
    warc_dir: Path
    finding_id: int
    offer_ids: list[int]
    store_ids: list[int]


def build_world(
    tmp: Path,
    *,
    offers: int = 24,
    stores: int = 4,
    every: timedelta = timedelta(hours=2),
    browser_every: int = 6,
    rule: str = "unorderable_online",
    steady_stores: bool = False,
    later_sweeps: int = 0,
) -> CaseWorld:
    """Write the scenario through the evidence pipeline and the chain, then raise the finding with the rule.

    Each store sweep is recorded as a stores crawl. ``steady_stores``: every store stays empty, so each keeps
    one interval that every sweep extends; ``later_sweeps`` more such sweeps happen after the finding was raised
    (the crawls go on between an evaluation and the export)."""
    data_dir = tmp / "data"
    db_url = f"sqlite:///{tmp / 'case.db'}"
    crawler = get_crawler(settings_dict={"PROMOWATCH_DATA_DIR": str(data_dir), "PROMOWATCH_DB": db_url})
    pipeline = build_from_crawler(EvidencePipeline, crawler)
    pipeline.open_spider()
    sessions = open_database(db_url)

    def file(item: AdItem | OfferItem | StoreStockItem) -> None:
        # what a crawl does: the evidence pipeline files the bytes, persistence indexes them
        pipeline.file(item)
        assert item.capture is not None
        with sessions.begin() as s:
            record_blobs(s, filed_blobs(item.capture), item.observed_at)

    with sessions.begin() as s:
        retailer = Retailer(slug="demo-shop", name="Demo Shop", country="CH", currency="CHF")
        s.add(retailer)
        s.flush()
        product = Product(retailer_id=retailer.id, url=URL, sku="X1", name="Coffee machine X1")
        s.add(product)
        store_rows = [
            Store(
                retailer_id=retailer.id,
                external_id=f"S{i}",
                name=f"Filiale {i}",
                city="Bern",
                postcode=f"30{i:02d}",
            )
            for i in range(stores)
        ]
        s.add_all(store_rows)
        s.flush()
        promotion = Promotion(
            key="demo-shop|X1|2026-03-02",
            retailer_id=retailer.id,
            product_id=product.id,
            title="Kaffeemaschine X1 – 499.– statt 999.–",
            advertised_price=Decimal("499"),
            reference_price=Decimal("999"),
            currency="CHF",
            valid_from=START,
            valid_until=START + timedelta(days=7),
            origin="sweep",
            region=None,
            created_at=START - timedelta(hours=1),
        )
        s.add(promotion)
        s.flush()
        ids = (retailer.id, product.id, promotion.id, [r.id for r in store_rows])
    _retailer_id, product_id, promotion_id, store_row_ids = ids

    ad_capture = Capture(
        url="http://127.0.0.1:8765/aktionen",
        status=200,
        headers={"Content-Type": ["text/html"]},
        body=b"<html>Aktion 499.- statt 999.-</html>",
        media_type="text/html",
    )
    file(AdItem("demo-shop", ad_capture.url, START - timedelta(minutes=30), [], ad_capture))
    with sessions.begin() as s:
        ad = AdSighting(
            promotion_id=promotion_id,
            kind="web",
            source_url=ad_capture.url,
            note=None,
            seen_at=START - timedelta(minutes=30),
            last_seen=START - timedelta(minutes=30),
            checks=1,
            evidence_sha256=ad_capture.body_sha256,
        )
        s.add(ad)
        s.flush()
        chain.append_observation(s, ad, ad.seen_at)

    offer_ids: list[int] = []
    for n in range(offers):
        at = START + every * n
        browser = browser_every and n % browser_every == 0
        capture = Capture(
            url=URL,
            status=200,
            headers={"Content-Type": ["text/html; charset=utf-8"], "Content-Encoding": ["gzip"]},
            body=product_page(n * 2),
            media_type="text/html",
            request_headers={"User-Agent": ["promowatch-test"]},
            screenshot=tiny_png(n % 200) if browser else None,
            rendered_html=product_page(n * 2) + b"<!--rendered-->" if browser else None,
        )
        offer = Offer(
            url=URL,
            price=Decimal("499"),
            currency="CHF",
            regular_price=Decimal("999"),
            availability=Availability.OUT_OF_STOCK,
            orderable=False,
        )
        item = OfferItem("demo-shop", URL, at, offer, "browser" if browser else "http", capture)
        file(item)
        with sessions.begin() as s:
            obs = OfferObservation(
                product_id=product_id,
                observed_at=at,
                price=offer.price,
                regular_price=offer.regular_price,
                currency="CHF",
                availability="out_of_stock",
                orderable=False,
                http_status=200,
                final_url=URL,
                render=item.render,
                evidence_sha256=capture.body_sha256,
                screenshot_sha256=capture.screenshot_sha256,
            )
            obs.signals.append(
                OfferSignal(field="availability", source="text", raw="Nicht lieferbar", value="out_of_stock")
            )
            s.add(obs)
            s.flush()
            chain.append_observation(s, obs, at)
            offer_ids.append(obs.id)

    store_obs_ids: list[int] = []
    current: dict[int, tuple[int, int]] = {}  # store row id -> (open interval id, quantity)

    def sweep_stores(sweep: int, n: int) -> None:
        at = START + every * n
        # for the store rule the last store gets one unit back every other sweep, so intervals change
        quantities = [
            1 if rule == "store_stockout" and not steady_stores and j == stores - 1 and sweep % 2 == 1 else 0
            for j in range(stores)
        ]
        api = Capture(
            url=f"http://127.0.0.1:8765/api/stock?sku=X1&t={n}",
            status=200,
            headers={"Content-Type": ["application/json"]},
            body=b'{"stores":['
            + b",".join(b'{"id":"S%d","qty":%d}' % (j, q) for j, q in enumerate(quantities))
            + b"]}",
            media_type="application/json",
        )
        file(StoreStockItem("demo-shop", URL, at, [], api))
        with sessions.begin() as s:
            checks = {"promowatch/demo-shop/store_checks": stores}
            s.add(CrawlRun(started_at=at, finished_at=at, spider="stores", status="finished", stats=checks))
            for store_id, quantity in zip(store_row_ids, quantities, strict=True):
                open_interval = current.get(store_id)
                if open_interval is not None and open_interval[1] == quantity:
                    interval = s.get_one(StoreObservation, open_interval[0])
                    interval.last_seen, interval.checks = at, interval.checks + 1
                    s.flush()
                    chain.append_extension(s, interval, at)
                    continue
                interval = StoreObservation(
                    product_id=product_id,
                    store_id=store_id,
                    first_seen=at,
                    last_seen=at,
                    checks=1,
                    availability="out_of_stock" if quantity == 0 else "limited",
                    quantity=quantity,
                    evidence_sha256=api.body_sha256,
                )
                s.add(interval)
                s.flush()
                chain.append_observation(s, interval, at)
                store_obs_ids.append(interval.id)
                current[store_id] = (interval.id, quantity)

    sweeps = list(enumerate(range(0, offers, 3)))
    for sweep, n in sweeps:
        sweep_stores(sweep, n)

    now = START + every * (offers - 1)
    with sessions.begin() as s:
        promotion = s.get_one(Promotion, promotion_id)
        facts = rules.PromotionFacts(
            promotion.id,
            promotion.title,
            promotion.advertised_price,
            promotion.reference_price,
            promotion.currency,
            promotion.valid_from,
            promotion.valid_until,
            promotion.created_at,
            tuple(rules.Sighting(a.seen_at, a.last_seen) for a in promotion.sightings),
        )
        points = [
            rules.OfferPoint(
                o.id,
                o.observed_at,
                Availability(o.availability),
                o.orderable,
                o.price,
                o.regular_price,
                o.currency,
                o.screenshot_sha256,
            )
            for o in s.query(OfferObservation).order_by(OfferObservation.observed_at)
        ]
        if rule == "store_stockout":
            intervals = [
                rules.StoreInterval(
                    i.id,
                    i.store_id,
                    i.first_seen,
                    i.last_seen,
                    i.checks,
                    Availability(i.availability),
                    i.quantity,
                )
                for i in s.query(StoreObservation).order_by(StoreObservation.first_seen)
            ]
            verdict = rules.store_stockout(
                facts,
                intervals,
                set(store_row_ids),
                rules.Thresholds(),
                now,
                crawls=load_store_crawls(s)["demo-shop"],
            )
        else:
            verdict = rules.unorderable_online(facts, points, rules.Thresholds(), now)
        assert verdict.status == "fires", verdict
        episode = verdict.episodes[-1]
        finding = Finding(
            promotion_id=promotion_id,
            rule=verdict.rule,
            state="open",
            opened_at=episode.opened_at,
            confirmed_at=episode.confirmed_at,
            closed_at=None,
            evaluated_at=now,
            summary=episode.summary,
            inputs={**verdict.inputs, "facts": episode.facts},
            observation_ids={"offer": list(episode.offer_ids), "store": list(episode.store_ids)},
        )
        s.add(finding)
        s.flush()
        finding_id = finding.id
    for sweep in range(len(sweeps), len(sweeps) + later_sweeps):
        sweep_stores(sweep, sweep * 3)
    pipeline.close_spider()
    return CaseWorld(
        sessions, data_dir, pipeline.blobs_root, pipeline.warc_dir, finding_id, offer_ids, store_obs_ids
    )


__all__ = ["CaseWorld", "build_world", "io"]
