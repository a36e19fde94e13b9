"""One write function per kind of crawl item: offer observation, store list, store observations, ad sightings.

Each takes the open session, the typed item and the :class:`Group` of items sharing the transaction. What is
cheaper done once per transaction (product identity updates, blob index rows, the offer observations as one
multi-row INSERT, the hash-chain entries in item order) is left in the group and done by :func:`finish_group`.
What a committed transaction made known (row ids, blob hashes) is kept in :class:`Known` for the next groups;
a group that rolls back leaves nothing there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from promowatch.config import Watchlist
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    OfferObservation,
    OfferSignal,
    Order,
    OrderStatus,
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
from promowatch.items import AdItem, OfferItem, StoreListItem, StoreStockItem

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
# a stock answer names every store (tens to hundreds): its intervals are read, extended and started as plain rows.
# bench/store_stock.py, 200 answers x 50 stores, CPU ms per answer, ORM objects -> rows: all new 16.4 -> 8.1, all
# unchanged 9.8 -> 6.3, all changed 13.8 -> 7.3 (the hash chain's entries included)
_STOCK = cast(Table, StoreObservation.__table__)
_NEW_STOCK = insert(_STOCK).returning(_STOCK.c.id, sort_by_parameter_order=True)
_STOCK_EXTENDED = (
    update(_STOCK)
    .where(_STOCK.c.id == bindparam("stock_id"))
    .values(last_seen=bindparam("seen"), checks=bindparam("checks"))
)
_CURRENT_STOCK = select(
    _STOCK.c.id,
    _STOCK.c.store_id,
    _STOCK.c.availability,
    _STOCK.c.quantity,
    _STOCK.c.last_seen,
    _STOCK.c.checks,
).where(
    _STOCK.c.id.in_(
        select(func.max(_STOCK.c.id))
        .where(_STOCK.c.product_id == bindparam("product_id"))
        .group_by(_STOCK.c.store_id)
    )
)
# blob hashes a crawl remembers as indexed (about 150 bytes each), so that a long crawl's memory stays flat
INDEXED_REMEMBERED = 100_000

Count = Callable[[str, str, int], None]  # (retailer, key, amount): the crawl's per-retailer figures


@dataclass
class ProductState:
    """What this crawl last wrote or read of a product row: its id and the identity learned from pages."""

    id: int
    sku: str | None
    gtin: str | None
    name: str | None


@dataclass
class NewOffer:
    """An offer observation of the open group: inserted with the group's others in one statement (an ORM
    object per observation and signal cost more than the rest of the pipeline), then chained."""

    row: dict[str, Any]
    signals: list[dict[str, Any]]


@dataclass
class NewStock:
    """A store observation of the open group, inserted with the group's others in one statement, then chained."""

    row: dict[str, Any]


@dataclass
class Known:
    """Rows committed by earlier transactions of this crawl: ids never change once a row exists."""

    sessions: sessionmaker[Session]
    retailer_ids: dict[str, int] = field(default_factory=dict)
    products: dict[tuple[int, str], ProductState] = field(default_factory=dict)
    preloaded: set[int] = field(default_factory=set)  # retailers whose products were read in one query
    indexed: set[str] = field(default_factory=set)  # blob hashes with an index row

    def preload_products(self, retailer_id: int) -> None:
        """Read the retailer's committed products once (the watchlist sync created them before the crawl)."""
        self.preloaded.add(retailer_id)
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Product.url, Product.id, Product.sku, Product.gtin, Product.name, Product.canonical_id
                ).where(Product.retailer_id == retailer_id)
            ).all()
        states = {row.id: ProductState(row.id, row.sku, row.gtin, row.name) for row in rows}
        for row in rows:
            # an alias's observations are filed under its canonical product
            state = states.get(row.canonical_id, states[row.id]) if row.canonical_id else states[row.id]
            self.products.setdefault((retailer_id, row.url), state)


@dataclass
class Group:
    """The items of one transaction: what they learned (kept only once committed) and what they left for
    :func:`finish_group`."""

    known: Known
    watchlist: Watchlist
    run_id: int | None
    count: Count
    retailer_ids: dict[str, int] = field(default_factory=dict)
    products: dict[tuple[int, str], ProductState] = field(default_factory=dict)
    indexed: set[str] = field(default_factory=set)
    stores: dict[int, dict[str, int]] = field(default_factory=dict)  # retailer id -> external id -> row id
    product_updates: dict[int, dict[str, object]] = field(default_factory=dict)
    blob_rows: dict[str, StoredBlob] = field(default_factory=dict)
    offers: list[NewOffer] = field(default_factory=list)
    stocks: list[NewStock] = field(default_factory=list)
    stocked: set[int] = field(default_factory=set)  # products with observations in ``stocks``
    # what to chain, in item order: a new row (its id known once inserted) or an extension's record
    chain_todo: list[
        tuple[chain.Observation | NewOffer | NewStock | None, datetime, dict[str, Any] | None]
    ] = field(default_factory=list)

    def committed(self) -> None:
        """The group's transaction is committed: what it learned is known from now on."""
        self.known.retailer_ids.update(self.retailer_ids)
        self.known.products.update(self.products)
        if len(self.known.indexed) > INDEXED_REMEMBERED:
            self.known.indexed = set()  # only spares a look-up: record_blobs skips rows that exist
        self.known.indexed.update(self.indexed)

    def chain_later(
        self, observation: chain.Observation | NewOffer, created_at: datetime, extension: bool = False
    ) -> None:
        """Chain the observation when the group is finished: a new one once flushed (its id is in its record);
        an extended interval with its ``last_seen``/``checks`` as this item left them."""
        record = chain.extension_record(observation) if extension else None  # type: ignore[arg-type]
        self.chain_todo.append((observation, created_at, record))

    def retailer_id(self, session: Session, slug: str) -> int:
        known = self.retailer_ids.get(slug) or self.known.retailer_ids.get(slug)
        if known is None:
            known = retailer_row(session, self.watchlist.retailer(slug)).id
            self.retailer_ids[slug] = known
        return known

    def product(self, session: Session, retailer_id: int, url: str) -> ProductState:
        key = (retailer_id, url)
        state = self.products.get(key) or self.known.products.get(key)
        if state is None and retailer_id not in self.known.preloaded:
            self.known.preload_products(retailer_id)
            state = self.known.products.get(key)
        if state is None:
            with session.no_autoflush:  # a look-up must not flush the whole group item by item
                row = product_row(session, retailer_id, url)
            state = ProductState(row.id, row.sku, row.gtin, row.name)
            self.products[key] = state
        return state

    def store_ids(self, session: Session, retailer_id: int) -> dict[str, int]:
        """Store external id -> row id of a retailer, read once per group (a store list may add rows)."""
        ids = self.stores.get(retailer_id)
        if ids is None:
            rows = session.execute(
                select(Store.external_id, Store.id).where(Store.retailer_id == retailer_id)
            ).all()
            ids = self.stores[retailer_id] = {external: row_id for external, row_id in rows}
        return ids


def start_crawl_run(session: Session, spider: str, started_at: datetime) -> int:
    """Record a crawl as running, so every observation can say which crawl made it (and a killed one shows)."""
    run = CrawlRun(started_at=started_at, spider=spider, status="running")
    session.add(run)
    session.flush()
    return run.id


def finish_crawl_run(
    session: Session, run_id: int, finished_at: datetime, reason: str, stats: dict[str, Any]
) -> None:
    """Record how the crawl ended and its figures (the per-retailer ones and the item counts)."""
    run = session.get(CrawlRun, run_id)
    if run is None:
        return
    run.finished_at = finished_at
    run.status = "finished" if reason == "finished" else f"failed: {reason}"[:16]
    run.stats = {k: v for k, v in stats.items() if k.startswith("promowatch/") or k.startswith("item_")}


def index_blobs(group: Group, blobs: Iterable[StoredBlob]) -> None:
    """Index rows for the stored blobs of an item, written with its group (see pipelines/evidence.py)."""
    for blob in blobs:
        if blob.sha256 not in group.known.indexed and blob.sha256 not in group.indexed:
            group.blob_rows[blob.sha256] = blob
            group.indexed.add(blob.sha256)


def finish_group(session: Session, group: Group) -> None:
    """What the group's items left for the end: identity updates, blob index rows, one flush (one multi-row
    INSERT per table instead of one round trip per item), then the chain entries in item order."""
    if group.product_updates:
        session.execute(_PRODUCT_IDENTITY, list(group.product_updates.values()))
    if group.blob_rows:
        record_blobs(session, list(group.blob_rows.values()), utcnow())
    _insert_offers(session, group.offers)
    _insert_stocks(session, group)
    session.flush()
    links: list[chain.Link] = []
    for observation, created_at, record in group.chain_todo:
        if isinstance(observation, NewOffer):
            offer = observation.row
            record = chain.offer_record(offer, observation.signals)
            links.append(("offer", offer["id"], record, created_at))
        elif isinstance(observation, NewStock):
            links.append(("store", observation.row["id"], chain.store_record(observation.row), created_at))
        elif observation is None:  # an extension, its record made when the item was written
            assert record is not None
            links.append((record["kind"], record["id"], record, created_at))
        else:
            record = record or chain.observation_record(observation)
            links.append((record["kind"], observation.id, record, created_at))
    chain.append_all(session, links)
    group.product_updates, group.blob_rows, group.offers, group.chain_todo = {}, {}, [], []


def _insert_offers(session: Session, offers: list[NewOffer]) -> None:
    """The group's offer observations in one multi-row INSERT (ids returned in order), then their signals."""
    if not offers:
        return
    ids = session.scalars(_NEW_OFFERS, [offer.row for offer in offers]).all()
    signals = []
    for offer, observation_id in zip(offers, ids, strict=True):
        offer.row["id"] = observation_id
        signals += [{**signal, "observation_id": observation_id} for signal in offer.signals]
    if signals:
        session.execute(_NEW_SIGNALS, signals)


def _insert_stocks(session: Session, group: Group) -> None:
    """The group's new store observations in one multi-row INSERT, their ids returned in order."""
    if not group.stocks:
        return
    ids = session.scalars(_NEW_STOCK, [stock.row for stock in group.stocks]).all()
    for stock, observation_id in zip(group.stocks, ids, strict=True):
        stock.row["id"] = observation_id
    group.stocks, group.stocked = [], set()


def _canonical(
    session: Session, group: Group, retailer_id: int, url: str, alias: ProductState, canonical_url: str
) -> ProductState:
    """The product the page names as canonical, created if needed. The product at ``url`` becomes its alias,
    and the alias's promotions move to it. Observations the alias already has stay where they are: their
    hash-chain entries name the product they were filed under."""
    product = group.product(session, retailer_id, canonical_url)
    if product.id == alias.id:
        return product
    session.execute(update(_PRODUCTS).where(_PRODUCTS.c.id == alias.id).values(canonical_id=product.id))
    session.execute(update(Promotion).where(Promotion.product_id == alias.id).values(product_id=product.id))
    group.products[(retailer_id, url)] = product
    return product


def write_offer(session: Session, item: OfferItem, group: Group) -> None:
    """An offer observation with its signals, and the product identity the page showed."""
    retailer_id = group.retailer_id(session, item.retailer)
    product = group.product(session, retailer_id, item.product_url)
    if item.canonical_url is not None:
        product = _canonical(session, group, retailer_id, item.product_url, product, item.canonical_url)
    offer = item.offer
    # identity learned from the page; keep what we knew when this look could not read it (a block page's
    # title is never the product's name)
    title = None if (offer.reason or "").startswith(BLOCKED_REASON) else offer.title
    sku, gtin, name = offer.sku or product.sku, offer.gtin or product.gtin, title or product.name
    if (sku, gtin, name) != (product.sku, product.gtin, product.name):
        group.product_updates[product.id] = {"product_id": product.id, "sku": sku, "gtin": gtin, "name": name}
        changed = ProductState(product.id, sku, gtin, name)
        group.products[(retailer_id, item.canonical_url or item.product_url)] = changed
    capture = item.capture
    observation = NewOffer(
        row={
            "product_id": product.id,
            "run_id": group.run_id,
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
    group.offers.append(observation)
    group.chain_later(observation, item.observed_at)
    group.count(item.retailer, "offer_observations", 1)
    group.count(item.retailer, f"availability/{offer.availability.value}", 1)


def write_store_list(session: Session, item: StoreListItem, group: Group) -> None:
    """The retailer's stores: new ones added, known ones with their name and place as listed now."""
    retailer_id = group.retailer_id(session, item.retailer)
    known = {s.external_id: s for s in session.scalars(select(Store).where(Store.retailer_id == retailer_id))}
    for info in item.stores:
        row = known.get(info.store_id)
        if row is None:
            row = Store(retailer_id=retailer_id, external_id=info.store_id, name=info.name)
            session.add(row)
        row.name, row.postcode, row.city = info.name, info.postcode, info.city
        row.latitude, row.longitude = info.latitude, info.longitude
    group.stores.pop(retailer_id, None)
    group.count(item.retailer, "stores", len(item.stores))
    # what this list gave, for the run's health check: the Store rows also hold stores from earlier lists and
    # stores known only from stock answers, stored under their id
    group.count(item.retailer, "stores_unnamed", sum(info.name == info.store_id for info in item.stores))
    group.count(item.retailer, "stores_without_postcode", sum(info.postcode is None for info in item.stores))


def write_store_stock(session: Session, item: StoreStockItem, group: Group) -> None:
    """Extend each store's current interval when its state is unchanged; start a new one otherwise."""
    if not item.stocks:
        return
    retailer_id = group.retailer_id(session, item.retailer)
    product = group.product(session, retailer_id, item.product_url)
    stores = group.store_ids(session, retailer_id)
    if product.id in group.stocked:  # the same product twice in one group: its first intervals count
        _insert_stocks(session, group)
    current = {row.store_id: row for row in session.execute(_CURRENT_STOCK, {"product_id": product.id})}
    evidence = item.capture.body_sha256 if item.capture else None
    fresh: list[NewStock] = []
    extended: list[dict[str, Any]] = []
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
            extended.append({"stock_id": last.id, "seen": item.observed_at, "checks": last.checks + 1})
            continue
        row = {
            "product_id": product.id,
            "run_id": group.run_id,
            "store_id": store_id,
            "first_seen": item.observed_at,
            "last_seen": item.observed_at,
            "checks": 1,
            "availability": stock.availability.value,
            "quantity": stock.quantity,
            "source_time": stock.source_time,
            "evidence_sha256": evidence,
        }
        fresh.append(NewStock(row))
    if extended:
        session.execute(_STOCK_EXTENDED, extended)
    group.stocks += fresh
    if fresh:
        group.stocked.add(product.id)
    for new in fresh:
        group.chain_todo.append((new, item.observed_at, None))
    for moved in extended:
        record = chain.interval_extension("store", moved["stock_id"], moved["seen"], moved["checks"])
        group.chain_todo.append((None, item.observed_at, record))
    group.count(item.retailer, "store_observations", len(fresh))
    group.count(item.retailer, "store_checks", len(item.stocks))


def write_ad_sightings(session: Session, item: AdItem, group: Group) -> None:
    """A promotion per advertised product and window; a re-sighting of the same ad extends it."""
    watched = group.watchlist.retailer(item.retailer)
    retailer = retailer_row(session, watched)
    evidence = item.capture.body_sha256 if item.capture else None
    adjoining = adjoining_gap(watched.thresholds)
    for ad in item.promotions:
        product = product_row(session, retailer.id, ad.product_url)
        promotion, new = swept_promotion(session, retailer.id, product.id, ad, item.observed_at, adjoining)
        if new:
            group.count(item.retailer, "promotions_new", 1)
        sighting = session.scalar(
            select(AdSighting)
            .where(AdSighting.promotion_id == promotion.id, AdSighting.source_url == item.source_url)
            .order_by(AdSighting.id.desc())
            .limit(1)
        )
        if sighting is not None and sighting.evidence_sha256 == evidence:
            sighting.last_seen = item.observed_at
            sighting.checks += 1
            group.chain_later(sighting, item.observed_at, extension=True)
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
        group.chain_later(sighting, item.observed_at)
        group.count(item.retailer, "ad_sightings", 1)


# ---------------------------------------------------------------- a consumer's own orders


def write_order(session: Session, order: Order, now: datetime) -> Order:
    """Insert a consumer's order and chain it, inside the caller's transaction."""
    order.created_at = now
    session.add(order)
    session.flush()
    chain.append_observation(session, order, now)
    return order


def write_order_status(
    session: Session, status: OrderStatus, now: datetime, file: StoredBlob | None = None
) -> OrderStatus:
    """Insert one status of an order and chain it with its file's hash (the file already in the blob store),
    inside the caller's transaction."""
    if file is not None:
        record_blobs(session, [file], now)
        status.file_sha256 = file.sha256
    status.created_at = now
    session.add(status)
    session.flush()
    chain.append_observation(session, status, now)
    return status
