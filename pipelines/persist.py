"""Last pipeline: every observation is committed in its own transaction, with its evidence reference and its
hash-chain entry, so a crash mid-crawl leaves every committed observation intact (design.md invariant 2)."""

from __future__ import annotations

import logging
from typing import Self

from scrapy import signals
from scrapy.crawler import Crawler
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from promowatch.db.engine import open_database
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    OfferObservation,
    OfferSignal,
    Promotion,
    Store,
    StoreObservation,
)
from promowatch.db.queries import product_row, promotion_key, retailer_row
from promowatch.evidence import chain
from promowatch.items import AdItem, OfferItem, StoreListItem, StoreStockItem
from promowatch.runconfig import RunConfig

logger = logging.getLogger(__name__)


class PersistPipeline:
    def __init__(self, config: RunConfig, sessions: sessionmaker[Session], crawler: Crawler) -> None:
        self.config = config
        self.sessions = sessions
        self.crawler = crawler
        self.stats = crawler.stats
        self.run_id: int | None = None

    def open_spider(self) -> None:
        """Record the run, so every observation can say which crawl made it (and a killed one shows)."""
        spider = self.crawler.spider
        with self.sessions.begin() as session:
            run = CrawlRun(
                started_at=self.config.clock.now(), spider=spider.name if spider else "?", status="running"
            )
            session.add(run)
            session.flush()
            self.run_id = run.id

    def spider_closed(self, reason: str) -> None:
        stats = self.stats.get_stats() if self.stats is not None else {}
        with self.sessions.begin() as session:
            run = session.get(CrawlRun, self.run_id)
            if run is None:
                return
            run.finished_at = self.config.clock.now()
            run.status = "finished" if reason == "finished" else f"failed: {reason}"[:16]
            run.stats = {
                k: v for k, v in stats.items() if k.startswith("promowatch/") or k.startswith("item_")
            }

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = RunConfig.from_settings(crawler.settings)
        pipeline = cls(config, open_database(config.data.db_url), crawler)
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def process_item(self, item: object) -> object:
        with self.sessions.begin() as session:
            if isinstance(item, OfferItem):
                self.store_offer(session, item)
            elif isinstance(item, StoreStockItem):
                self.store_stock(session, item)
            elif isinstance(item, StoreListItem):
                self.store_list(session, item)
            elif isinstance(item, AdItem):
                self.store_ads(session, item)
        return item

    def _inc(self, retailer: str, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"promowatch/{retailer}/{key}", count)

    def store_offer(self, session: Session, item: OfferItem) -> None:
        retailer = retailer_row(session, self.config.watchlist.retailer(item.retailer))
        product = product_row(session, retailer.id, item.product_url)
        offer = item.offer
        # identity learned from the page; keep what we knew when this look could not read it
        product.sku = offer.sku or product.sku
        product.gtin = offer.gtin or product.gtin
        product.name = offer.title or product.name
        capture = item.capture
        observation = OfferObservation(
            product_id=product.id,
            run_id=self.run_id,
            observed_at=item.observed_at,
            price=offer.price,
            regular_price=offer.regular_price,
            currency=offer.currency,
            availability=offer.availability.value,
            orderable=offer.orderable,
            delivery=(offer.delivery or None) and offer.delivery[:500],
            reason=(offer.reason or None) and offer.reason[:500],
            http_status=capture.status if capture else None,
            final_url=capture.url if capture else None,
            render=item.render,
            evidence_sha256=capture.body_sha256 if capture else None,
            screenshot_sha256=capture.screenshot_sha256 if capture else None,
            vantage={**item.vantage, **({"wait": item.wait} if item.wait else {})},
            signals=[
                OfferSignal(field=s.field, source=s.source.value, raw=s.raw[:2000], value=s.value)
                for s in offer.signals
            ],
        )
        session.add(observation)
        session.flush()
        chain.append_observation(session, observation, item.observed_at)
        self._inc(item.retailer, "offer_observations")
        self._inc(item.retailer, f"availability/{offer.availability.value}")

    def store_list(self, session: Session, item: StoreListItem) -> None:
        retailer = retailer_row(session, self.config.watchlist.retailer(item.retailer))
        known = {
            s.external_id: s for s in session.scalars(select(Store).where(Store.retailer_id == retailer.id))
        }
        for info in item.stores:
            row = known.get(info.store_id)
            if row is None:
                row = Store(retailer_id=retailer.id, external_id=info.store_id, name=info.name)
                session.add(row)
            row.name, row.postcode, row.city = info.name, info.postcode, info.city
            row.latitude, row.longitude = info.latitude, info.longitude
        self._inc(item.retailer, "stores", len(item.stores))

    def store_stock(self, session: Session, item: StoreStockItem) -> None:
        """Extend each store's current interval when its state is unchanged; start a new one otherwise."""
        if item.reason:
            logger.warning("%s: %s", item.product_url, item.reason)
            self._inc(item.retailer, "store_unreadable")
        if not item.stocks:
            return
        retailer = retailer_row(session, self.config.watchlist.retailer(item.retailer))
        product = product_row(session, retailer.id, item.product_url)
        stores = {
            s.external_id: s for s in session.scalars(select(Store).where(Store.retailer_id == retailer.id))
        }
        latest_ids = (
            select(func.max(StoreObservation.id))
            .where(StoreObservation.product_id == product.id)
            .group_by(StoreObservation.store_id)
        )
        current = {
            o.store_id: o
            for o in session.scalars(select(StoreObservation).where(StoreObservation.id.in_(latest_ids)))
        }
        evidence = item.capture.body_sha256 if item.capture else None
        fresh, extended = [], []
        for stock in item.stocks:
            store = stores.get(stock.store_id)
            if store is None:  # a store the list did not name: keep the observation all the same
                store = Store(retailer_id=retailer.id, external_id=stock.store_id, name=stock.store_id)
                session.add(store)
                session.flush()
                stores[stock.store_id] = store
            last = current.get(store.id)
            if (
                last is not None
                and last.availability == stock.availability.value
                and last.quantity == stock.quantity
                and last.last_seen <= item.observed_at
            ):
                # only last_seen and checks move: the first sighting's fields are chained and never change
                last.last_seen = item.observed_at
                last.checks += 1
                extended.append(last)
                continue
            observation = StoreObservation(
                product_id=product.id,
                run_id=self.run_id,
                store_id=store.id,
                first_seen=item.observed_at,
                last_seen=item.observed_at,
                checks=1,
                availability=stock.availability.value,
                quantity=stock.quantity,
                source_time=stock.source_time,
                evidence_sha256=evidence,
            )
            session.add(observation)
            fresh.append(observation)
        session.flush()
        for observation in fresh:
            chain.append_observation(session, observation, item.observed_at)
        for observation in extended:
            chain.append_extension(session, observation, item.observed_at)
        self._inc(item.retailer, "store_observations", len(fresh))
        self._inc(item.retailer, "store_checks", len(item.stocks))

    def store_ads(self, session: Session, item: AdItem) -> None:
        """A promotion per advertised product and window; a re-sighting of the same ad extends it."""
        retailer = retailer_row(session, self.config.watchlist.retailer(item.retailer))
        evidence = item.capture.body_sha256 if item.capture else None
        for ad in item.promotions:
            product = product_row(session, retailer.id, ad.product_url)
            key = promotion_key(item.retailer, ad.product_url, ad.valid_from, ad.advertised_price)
            promotion = session.scalar(select(Promotion).where(Promotion.key == key))
            if promotion is None:
                promotion = Promotion(
                    key=key,
                    retailer_id=retailer.id,
                    product_id=product.id,
                    title=ad.title,
                    advertised_price=ad.advertised_price,
                    reference_price=ad.reference_price,
                    currency=ad.currency,
                    valid_from=ad.valid_from,
                    valid_until=ad.valid_until,
                    origin="sweep",
                    region=ad.region,
                    created_at=item.observed_at,
                )
                session.add(promotion)
                session.flush()
                self._inc(item.retailer, "promotions_new")
            sighting = session.scalar(
                select(AdSighting)
                .where(AdSighting.promotion_id == promotion.id, AdSighting.source_url == item.source_url)
                .order_by(AdSighting.id.desc())
                .limit(1)
            )
            if sighting is not None and sighting.evidence_sha256 == evidence:
                sighting.last_seen = item.observed_at
                sighting.checks += 1
                session.flush()
                chain.append_extension(session, sighting, item.observed_at)
                continue
            sighting = AdSighting(
                promotion_id=promotion.id,
                kind="web",
                source_url=item.source_url,
                seen_at=item.observed_at,
                last_seen=item.observed_at,
                checks=1,
                evidence_sha256=evidence,
            )
            session.add(sighting)
            session.flush()
            chain.append_observation(session, sighting, item.observed_at)
            self._inc(item.retailer, "ad_sightings")
