"""Last pipeline: observations are committed with their evidence reference and their hash-chain entry, so a
crash mid-crawl leaves every committed observation intact (design.md invariant 2).

The items that reach it in one turn of the crawl's event loop share a transaction, committed at the end of that
turn (a group commit: up to ``PROMOWATCH_COMMIT_EVERY`` items). The evidence pipeline hands items on as its
filing thread files them, a group at a time, so one commit serves many observations, and none waits for a later
page: a crash loses only the turn it interrupts, as it would with a transaction per item.
``PROMOWATCH_COMMIT_SECONDS > 0`` keeps a group open that long across turns (a crash then loses at most that
window, never a committed observation); ``PROMOWATCH_COMMIT_EVERY = 1`` commits each item on its own. An item
that fails rolls back only itself: the items before it in the group are committed on their own first.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Self, cast

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import call_later
from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipelines.evidence import filed_blobs
from promowatch.db.engine import open_database
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    OfferObservation,
    OfferSignal,
    Product,
    Promotion,
    Store,
    StoreObservation,
)
from promowatch.db.queries import adjoining_gap, product_row, record_blobs, retailer_row, swept_promotion
from promowatch.domain import utcnow
from promowatch.evidence import chain
from promowatch.evidence.capture import StoredBlob
from promowatch.extract.blocked import BLOCKED_REASON
from promowatch.items import AdItem, Capture, OfferItem, StoreListItem, StoreStockItem
from promowatch.runconfig import RunConfig

logger = logging.getLogger(__name__)
# The statements of an offer check, built once (building one costs about what SQLite takes to run it). Core
# statements on the tables: the ORM's bulk paths cost several times more per row, for nothing these plain rows
# need; the product update by primary key cost more than the rest of an item's transaction.
_OBSERVATIONS = cast(Table, OfferObservation.__table__)
_NEW_OFFERS = insert(_OBSERVATIONS).returning(_OBSERVATIONS.c.id, sort_by_parameter_order=True)
_NEW_SIGNALS = insert(cast(Table, OfferSignal.__table__))
_PRODUCTS = cast(Table, Product.__table__)
_PRODUCT_IDENTITY = (
    update(_PRODUCTS)
    .where(_PRODUCTS.c.id == bindparam("product_id"))
    .values(sku=bindparam("sku"), gtin=bindparam("gtin"), name=bindparam("name"))
)
# Scrapy signal sent with the items of each transaction once it is committed (``items``): the item_scraped signal
# comes as an item leaves the pipelines, which can be before the end of the turn that commits it
LOOKS_COMMITTED = object()
# blob hashes a crawl remembers as indexed (about 150 bytes each), so that a long crawl's memory stays flat
INDEXED_REMEMBERED = 100_000


@dataclass
class _ProductState:
    """What this run last wrote or read of a product row: its id and the identity learned from pages."""

    id: int
    sku: str | None
    gtin: str | None
    name: str | None


@dataclass
class _NewOffer:
    """An offer observation of the open group: inserted with the group's others in one statement (an ORM
    object per observation and signal cost more than the rest of the pipeline), then chained."""

    row: dict[str, Any]
    signals: list[dict[str, Any]]


class PersistPipeline:
    def __init__(
        self,
        config: RunConfig,
        sessions: sessionmaker[Session],
        crawler: Crawler,
        *,
        commit_every: int = 1,
        commit_seconds: float = 0.0,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.crawler = crawler
        self.stats = crawler.stats
        self.run_id: int | None = None
        self.commit_every = max(1, commit_every)
        self.commit_seconds = commit_seconds
        self.session: Session | None = None  # the open group transaction
        self.pending: list[object] = []  # items in the open group, replayed one by one if one fails
        self.opened_at = 0.0
        # ids never change once a row exists; only committed rows are cached (cleared on any rollback)
        self.retailer_ids: dict[str, int] = {}
        self.products: dict[tuple[int, str], _ProductState] = {}
        self.preloaded: set[int] = set()  # retailers whose products were read in one query
        self._fresh_retailers: dict[str, int] = {}
        self._fresh_products: dict[tuple[int, str], _ProductState] = {}
        self._timer: object | None = None
        # the blob index rows go into the transaction of their item or group (see pipelines/evidence.py)
        self.indexed: set[str] = set()
        self._fresh_indexed: set[str] = set()
        # left for the end of the group (see _finish)
        self._product_updates: dict[int, dict[str, object]] = {}
        self._blob_rows: dict[str, StoredBlob] = {}
        self._offers: list[_NewOffer] = []
        self._chain_todo: list[tuple[chain.Observation | _NewOffer, datetime, dict[str, Any] | None]] = []
        self._fresh_stores: dict[int, dict[str, int]] = {}

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
        if self.commit_every > 1 and self.commit_seconds > 0:
            from twisted.internet import task

            # a group is committed within its time window even when no further item arrives
            timer = task.LoopingCall(self.commit_due)
            timer.start(self.commit_seconds, now=False)
            self._timer = timer

    def spider_closed(self, reason: str) -> None:
        if self._timer is not None:
            self._timer.stop()  # type: ignore[attr-defined]
            self._timer = None
        self.commit()
        if self.run_id is None:  # built without a spider run (tests)
            return
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
        pipeline = cls(
            config,
            open_database(config.data.db_url),
            crawler,
            commit_every=crawler.settings.getint("PROMOWATCH_COMMIT_EVERY", 1),
            commit_seconds=crawler.settings.getfloat("PROMOWATCH_COMMIT_SECONDS", 0.0),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def process_item(self, item: object) -> object:
        if self.session is None:
            self.session = self.sessions()
            self.session.begin()
            self.opened_at = time.monotonic()
            if self.commit_every > 1 and self.commit_seconds <= 0:
                call_later(0, self.commit)  # when this turn of the event loop ends
        try:
            self._store(self.session, item)
        except Exception:
            self._rollback()
            replay, self.pending = self.pending, []
            self._replay(replay)  # committed on their own, so one bad item costs only itself
            raise
        self.pending.append(item)
        if (
            len(self.pending) >= self.commit_every
            or 0 < self.commit_seconds <= time.monotonic() - self.opened_at
        ):
            self.commit()
        return item

    def commit_due(self) -> None:
        """Commit the open group when its time window is over."""
        if self.session is not None and time.monotonic() - self.opened_at >= self.commit_seconds:
            self.commit()

    def commit(self) -> None:
        """Commit the open group of items, if any. When the database refuses the group (one bad row), each
        item is stored again on its own: only the item the database refuses again is lost, and logged."""
        session, self.session = self.session, None
        if session is None:
            return
        try:
            self._finish(session)
            session.commit()
        except Exception:
            session.rollback()
            session.close()
            replay, self.pending = self.pending, []
            self._forget_fresh()
            self._replay(replay)
            return
        session.close()
        stored, self.pending = self.pending, []
        self._committed(stored)

    def _replay(self, items: list[object]) -> None:
        """Store each item of a group taken apart in a transaction of its own: an item the database refuses
        again is logged and counted, and the items after it are still stored."""
        for item in items:
            try:
                self._store_alone(item)
            except Exception:
                logger.exception("%s: not stored", getattr(item, "product_url", item))
                if self.stats is not None:
                    self.stats.inc_value("promowatch/persist_failed")
                if isinstance(getattr(item, "retailer", None), str):  # the run summary counts it as failed
                    self._inc(item.retailer, "not_stored")  # type: ignore[attr-defined]

    def _store_alone(self, item: object) -> None:
        """Store one item of a group taken apart in a transaction of its own; a failure leaves nothing of it."""
        try:
            with self.sessions.begin() as session:
                self._store(session, item)
                self._finish(session)
        except Exception:
            self._forget_fresh()
            raise
        self._committed([item])

    def _finish(self, session: Session) -> None:
        """What the group's items left for the end: identity updates, blob index rows, one flush (one
        multi-row INSERT per table instead of one round trip per item), then the chain entries in item order."""
        if self._product_updates:
            session.execute(_PRODUCT_IDENTITY, list(self._product_updates.values()))
        if self._blob_rows:
            record_blobs(session, list(self._blob_rows.values()), utcnow())
        self._insert_offers(session)
        session.flush()
        links: list[chain.Link] = []
        for observation, created_at, record in self._chain_todo:
            if isinstance(observation, _NewOffer):
                offer = observation.row
                record = chain.offer_record(offer, observation.signals)
                links.append(("offer", offer["id"], record, created_at))
            else:
                record = record or chain.observation_record(observation)
                links.append((record["kind"], observation.id, record, created_at))
        chain.append_all(session, links)
        self._clear_group_work()

    def _insert_offers(self, session: Session) -> None:
        """The group's offer observations in one multi-row INSERT (ids returned in order), then their signals."""
        if not self._offers:
            return
        ids = session.scalars(_NEW_OFFERS, [offer.row for offer in self._offers]).all()
        signals = []
        for offer, observation_id in zip(self._offers, ids, strict=True):
            offer.row["id"] = observation_id
            signals += [{**signal, "observation_id": observation_id} for signal in offer.signals]
        if signals:
            session.execute(_NEW_SIGNALS, signals)

    def _rollback(self) -> None:
        session, self.session = self.session, None
        if session is not None:
            session.rollback()
            session.close()
        self._forget_fresh()

    def _committed(self, items: list[object]) -> None:
        """``items`` are committed: what their transaction learned is known from now on, and whoever waits for
        them to be stored hears of it (``LOOKS_COMMITTED``)."""
        self.retailer_ids.update(self._fresh_retailers)
        self.products.update(self._fresh_products)
        if len(self.indexed) > INDEXED_REMEMBERED:
            self.indexed = set()  # only spares a look-up: record_blobs skips rows that exist
        self.indexed.update(self._fresh_indexed)
        self._forget_fresh()
        self.crawler.signals.send_catch_log(signal=LOOKS_COMMITTED, items=items)

    def _forget_fresh(self) -> None:
        self._fresh_retailers, self._fresh_products, self._fresh_indexed = {}, {}, set()
        self._clear_group_work()

    def _clear_group_work(self) -> None:
        """Drop what the open group left for its end (done or abandoned)."""
        self._product_updates, self._blob_rows, self._chain_todo, self._offers = {}, {}, [], []
        self._fresh_stores = {}

    def _chain_later(
        self, observation: chain.Observation | _NewOffer, created_at: datetime, extension: bool = False
    ) -> None:
        """Chain the observation when the group is finished: a new one once flushed (its id is in its record);
        an extended interval with its ``last_seen``/``checks`` as this item left them."""
        record = chain.extension_record(observation) if extension else None  # type: ignore[arg-type]
        self._chain_todo.append((observation, created_at, record))

    def _store(self, session: Session, item: object) -> None:
        capture = getattr(item, "capture", None)
        if isinstance(capture, Capture):
            for blob in filed_blobs(capture):
                if blob.sha256 not in self.indexed and blob.sha256 not in self._fresh_indexed:
                    self._blob_rows[blob.sha256] = blob
                    self._fresh_indexed.add(blob.sha256)
        if isinstance(item, OfferItem):
            self.store_offer(session, item)
        elif isinstance(item, StoreStockItem):
            self.store_stock(session, item)
        elif isinstance(item, StoreListItem):
            self.store_list(session, item)
        elif isinstance(item, AdItem):
            self.store_ads(session, item)

    def _retailer_id(self, session: Session, slug: str) -> int:
        known = self._fresh_retailers.get(slug) or self.retailer_ids.get(slug)
        if known is None:
            known = retailer_row(session, self.config.watchlist.retailer(slug)).id
            self._fresh_retailers[slug] = known
        return known

    def _store_ids(self, session: Session, retailer_id: int) -> dict[str, int]:
        """Store external id -> row id of a retailer, read once per group (a store list may add rows)."""
        ids = self._fresh_stores.get(retailer_id)
        if ids is None:
            rows = session.execute(
                select(Store.external_id, Store.id).where(Store.retailer_id == retailer_id)
            ).all()
            ids = self._fresh_stores[retailer_id] = {external: row_id for external, row_id in rows}
        return ids

    def _product(self, session: Session, retailer_id: int, url: str) -> _ProductState:
        key = (retailer_id, url)
        state = self._fresh_products.get(key) or self.products.get(key)
        if state is None and retailer_id not in self.preloaded:
            self._preload_products(retailer_id)
            state = self.products.get(key)
        if state is None:
            with session.no_autoflush:  # a look-up must not flush the whole group item by item
                row = product_row(session, retailer_id, url)
            state = _ProductState(row.id, row.sku, row.gtin, row.name)
            self._fresh_products[key] = state
        return state

    def _canonical(
        self, session: Session, retailer_id: int, url: str, alias: _ProductState, canonical_url: str
    ) -> _ProductState:
        """The product the page names as canonical, created if needed. The product at ``url`` becomes its
        alias, and the alias's promotions move to it. Observations the alias already has stay where they are:
        their hash-chain entries name the product they were filed under."""
        product = self._product(session, retailer_id, canonical_url)
        if product.id == alias.id:
            return product
        session.execute(update(_PRODUCTS).where(_PRODUCTS.c.id == alias.id).values(canonical_id=product.id))
        session.execute(
            update(Promotion).where(Promotion.product_id == alias.id).values(product_id=product.id)
        )
        self._fresh_products[(retailer_id, url)] = product
        return product

    def _preload_products(self, retailer_id: int) -> None:
        """Read the retailer's committed products once (the watchlist sync created them before the crawl)."""
        self.preloaded.add(retailer_id)
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Product.url, Product.id, Product.sku, Product.gtin, Product.name, Product.canonical_id
                ).where(Product.retailer_id == retailer_id)
            ).all()
        states = {row.id: _ProductState(row.id, row.sku, row.gtin, row.name) for row in rows}
        for row in rows:
            # an alias's observations are filed under its canonical product
            state = states.get(row.canonical_id, states[row.id]) if row.canonical_id else states[row.id]
            self.products.setdefault((retailer_id, row.url), state)

    def _inc(self, retailer: str, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"promowatch/{retailer}/{key}", count)

    def store_offer(self, session: Session, item: OfferItem) -> None:
        retailer_id = self._retailer_id(session, item.retailer)
        product = self._product(session, retailer_id, item.product_url)
        if item.canonical_url is not None:
            product = self._canonical(session, retailer_id, item.product_url, product, item.canonical_url)
        offer = item.offer
        # identity learned from the page; keep what we knew when this look could not read it (a block page's
        # title is never the product's name)
        title = None if (offer.reason or "").startswith(BLOCKED_REASON) else offer.title
        sku, gtin, name = offer.sku or product.sku, offer.gtin or product.gtin, title or product.name
        if (sku, gtin, name) != (product.sku, product.gtin, product.name):
            self._product_updates[product.id] = {
                "product_id": product.id,
                "sku": sku,
                "gtin": gtin,
                "name": name,
            }
            changed = _ProductState(product.id, sku, gtin, name)
            self._fresh_products[(retailer_id, item.canonical_url or item.product_url)] = changed
        capture = item.capture
        observation = _NewOffer(
            row={
                "product_id": product.id,
                "run_id": self.run_id,
                "observed_at": item.observed_at,
                "price": offer.price,
                "regular_price": offer.regular_price,
                "currency": offer.currency,
                "availability": offer.availability.value,
                "orderable": offer.orderable,
                "delivery": (offer.delivery or None) and offer.delivery[:500],
                "reason": (offer.reason or None) and offer.reason[:500],
                "http_status": capture.status if capture else None,
                "final_url": capture.url if capture else None,
                "render": item.render,
                "evidence_sha256": capture.body_sha256 if capture else None,
                "screenshot_sha256": capture.screenshot_sha256 if capture else None,
                "etag": capture.etag if capture else None,
                "last_modified": capture.last_modified if capture else None,
                "vantage": {**item.vantage, **({"wait": item.wait} if item.wait else {})},
            },
            signals=[
                {
                    "field": s.field,
                    "source": s.source.value,
                    "raw": s.raw[:2000],
                    "value": s.value[:500] if s.value else s.value,
                }
                for s in offer.signals
            ],
        )
        self._offers.append(observation)
        self._chain_later(observation, item.observed_at)
        self._inc(item.retailer, "offer_observations")
        self._inc(item.retailer, f"availability/{offer.availability.value}")

    def store_list(self, session: Session, item: StoreListItem) -> None:
        retailer_id = self._retailer_id(session, item.retailer)
        known = {
            s.external_id: s for s in session.scalars(select(Store).where(Store.retailer_id == retailer_id))
        }
        for info in item.stores:
            row = known.get(info.store_id)
            if row is None:
                row = Store(retailer_id=retailer_id, external_id=info.store_id, name=info.name)
                session.add(row)
            row.name, row.postcode, row.city = info.name, info.postcode, info.city
            row.latitude, row.longitude = info.latitude, info.longitude
        self._fresh_stores.pop(retailer_id, None)
        self._inc(item.retailer, "stores", len(item.stores))

    def store_stock(self, session: Session, item: StoreStockItem) -> None:
        """Extend each store's current interval when its state is unchanged; start a new one otherwise."""
        if item.reason:
            logger.warning("%s: %s", item.product_url, item.reason)
            self._inc(item.retailer, "store_unreadable")
        if not item.stocks:
            return
        retailer_id = self._retailer_id(session, item.retailer)
        product = self._product(session, retailer_id, item.product_url)
        stores = self._store_ids(session, retailer_id)
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
            store_id = stores.get(stock.store_id)
            if store_id is None:  # a store the list did not name: keep the observation all the same
                store = Store(retailer_id=retailer_id, external_id=stock.store_id, name=stock.store_id)
                session.add(store)
                session.flush()
                store_id = stores[stock.store_id] = store.id
            last = current.get(store_id)
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
                store_id=store_id,
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
        for observation in fresh:
            self._chain_later(observation, item.observed_at)
        for observation in extended:
            self._chain_later(observation, item.observed_at, extension=True)
        self._inc(item.retailer, "store_observations", len(fresh))
        self._inc(item.retailer, "store_checks", len(item.stocks))

    def store_ads(self, session: Session, item: AdItem) -> None:
        """A promotion per advertised product and window; a re-sighting of the same ad extends it."""
        watched = self.config.watchlist.retailer(item.retailer)
        retailer = retailer_row(session, watched)
        evidence = item.capture.body_sha256 if item.capture else None
        adjoining = adjoining_gap(watched.thresholds)
        for ad in item.promotions:
            product = product_row(session, retailer.id, ad.product_url)
            promotion, new = swept_promotion(
                session, retailer.id, product.id, ad, item.observed_at, adjoining
            )
            if new:
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
                self._chain_later(sighting, item.observed_at, extension=True)
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
            self._chain_later(sighting, item.observed_at)
            self._inc(item.retailer, "ad_sightings")
