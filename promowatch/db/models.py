"""SQLAlchemy 2 typed models. Portable: the same schema runs on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC, always returns timezone-aware UTC (SQLite drops the offset otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: promowatch stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


Money = Numeric(12, 2, asdecimal=True)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime,
        Decimal: Money,
        dict[str, Any]: JSON,
    }


class Retailer(Base):
    __tablename__ = "retailers"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    country: Mapped[str | None] = mapped_column(String(2))
    currency: Mapped[str | None] = mapped_column(String(3))


class Store(Base):
    __tablename__ = "stores"
    __table_args__ = (UniqueConstraint("retailer_id", "external_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"))
    external_id: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(16))
    city: Mapped[str | None] = mapped_column(String(100))
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]


class Product(Base):
    __tablename__ = "products"
    __table_args__ = (UniqueConstraint("retailer_id", "url"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"))
    url: Mapped[str] = mapped_column(String(2000))
    sku: Mapped[str | None] = mapped_column(String(100), index=True)
    gtin: Mapped[str | None] = mapped_column(String(14))
    name: Mapped[str | None] = mapped_column(String(500))
    # set when the page named another URL as canonical: this row is then an alias of that product
    canonical_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    retailer: Mapped[Retailer] = relationship()


class Promotion(Base):
    """A claim made in advertising. ``key`` identifies it across sweeps (retailer, product, window)."""

    __tablename__ = "promotions"
    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(300), unique=True)
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"))
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True)
    title: Mapped[str] = mapped_column(String(500))
    advertised_price: Mapped[Decimal]
    reference_price: Mapped[Decimal | None]
    currency: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime | None]
    valid_until: Mapped[datetime | None]
    origin: Mapped[str] = mapped_column(String(16))  # "sweep" (promotions spider) or "watchlist"
    region: Mapped[str | None] = mapped_column(String(100))
    # how the running window was established: "stated" (the ad gave its start), "listing" (the ad page's
    # header gave it), "sighting" (no start given: it runs from the first ad sighting), "entered" (by hand)
    window_basis: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    product: Mapped[Product] = relationship()
    retailer: Mapped[Retailer] = relationship()
    sightings: Mapped[list[AdSighting]] = relationship(
        back_populates="promotion", order_by="AdSighting.seen_at"
    )


class AdSighting(Base):
    """One capture of an ad source that shows a promotion. Re-sightings extend ``last_seen``."""

    __tablename__ = "ad_sightings"
    __table_args__ = (Index("ix_ad_sightings_promotion_seen", "promotion_id", "last_seen"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    kind: Mapped[str] = mapped_column(String(16))  # web, flyer, print, tv, radio
    source_url: Mapped[str | None] = mapped_column(String(2000))
    note: Mapped[str | None] = mapped_column(Text)
    seen_at: Mapped[datetime]
    last_seen: Mapped[datetime]
    checks: Mapped[int] = mapped_column(Integer, default=1)
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    promotion: Mapped[Promotion] = relationship(back_populates="sightings")


class OfferObservation(Base):
    """One look at the product online. Never updated after commit."""

    __tablename__ = "offer_observations"
    __table_args__ = (Index("ix_offer_observations_product_time", "product_id", "observed_at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"), index=True)
    observed_at: Mapped[datetime]
    price: Mapped[Decimal | None]
    regular_price: Mapped[Decimal | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    availability: Mapped[str] = mapped_column(String(16))
    orderable: Mapped[bool | None] = mapped_column(Boolean)
    delivery: Mapped[str | None] = mapped_column(String(500))
    reason: Mapped[str | None] = mapped_column(String(500))
    http_status: Mapped[int | None]
    final_url: Mapped[str | None] = mapped_column(String(2000))
    render: Mapped[str] = mapped_column(String(16), default="http")  # http | browser
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    screenshot_sha256: Mapped[str | None] = mapped_column(String(64))
    # the page's validators (ETag, Last-Modified) for the next conditional re-check; not part of the chained
    # record, which they predate: the WARC holds them as the shop sent them
    etag: Mapped[str | None] = mapped_column(String(200))
    last_modified: Mapped[str | None] = mapped_column(String(64))
    vantage: Mapped[dict[str, Any] | None]
    signals: Mapped[list[OfferSignal]] = relationship(
        back_populates="observation", cascade="all, delete-orphan", order_by="OfferSignal.id"
    )
    product: Mapped[Product] = relationship()


class OfferSignal(Base):
    __tablename__ = "offer_signals"
    id: Mapped[int] = mapped_column(primary_key=True)
    observation_id: Mapped[int] = mapped_column(ForeignKey("offer_observations.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(16))
    raw: Mapped[str] = mapped_column(Text)
    value: Mapped[str | None] = mapped_column(String(500))
    observation: Mapped[OfferObservation] = relationship(back_populates="signals")


class StoreObservation(Base):
    """One store's stock of one product over an interval: a re-check that sees the same state extends it."""

    __tablename__ = "store_observations"
    __table_args__ = (
        Index("ix_store_observations_product_store_last", "product_id", "store_id", "last_seen"),
        Index("ix_store_observations_product_last", "product_id", "last_seen"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"))
    store_id: Mapped[int] = mapped_column(ForeignKey("stores.id"))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("crawl_runs.id"))
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    checks: Mapped[int] = mapped_column(Integer, default=1)
    availability: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int | None]
    source_time: Mapped[datetime | None]
    evidence_sha256: Mapped[str | None] = mapped_column(String(64))
    store: Mapped[Store] = relationship()


class EvidenceBlob(Base):
    """Immutable bytes on disk, content-addressed by SHA-256."""

    __tablename__ = "evidence_blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int]
    media_type: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]


class ChainEntry(Base):
    """Append-only hash chain over observations: each entry's hash covers the previous one."""

    __tablename__ = "chain_entries"
    seq: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime]
    record_kind: Mapped[str] = mapped_column(String(16))  # offer, store, ad
    record_id: Mapped[int]
    record_sha256: Mapped[str] = mapped_column(String(64))
    prev_sha256: Mapped[str] = mapped_column(String(64))
    entry_sha256: Mapped[str] = mapped_column(String(64), unique=True)


class ChainTimestamp(Base):
    """An RFC 3161 token over the chain's head as a run left it: its imprint is entry ``seq``'s entry_sha256.
    The token's bytes are an evidence blob."""

    __tablename__ = "chain_timestamps"
    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(index=True)
    head_sha256: Mapped[str] = mapped_column(String(64))
    stamped_at: Mapped[datetime]  # the time the authority put in the token
    requested_at: Mapped[datetime]  # the run's clock when it asked
    authority: Mapped[str] = mapped_column(String(200))  # scheme, host and port: never the URL's secrets
    token_sha256: Mapped[str] = mapped_column(String(64))


class CrawlRun(Base):
    __tablename__ = "crawl_runs"
    id: Mapped[int] = mapped_column(primary_key=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    spider: Mapped[str] = mapped_column(String(32))
    retailer_id: Mapped[int | None] = mapped_column(ForeignKey("retailers.id"))
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, finished, failed
    stats: Mapped[dict[str, Any] | None]
    warc_path: Mapped[str | None] = mapped_column(String(500))


class Finding(Base):
    """A rule's verdict about a promotion over a time window. Opens, is confirmed, closes."""

    __tablename__ = "findings"
    __table_args__ = (Index("ix_findings_promotion_rule", "promotion_id", "rule", "state"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    promotion_id: Mapped[int] = mapped_column(ForeignKey("promotions.id"))
    rule: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))  # open, confirmed, closed
    opened_at: Mapped[datetime]
    confirmed_at: Mapped[datetime | None]
    closed_at: Mapped[datetime | None]
    evaluated_at: Mapped[datetime]
    summary: Mapped[str] = mapped_column(Text)
    inputs: Mapped[dict[str, Any]]
    observation_ids: Mapped[dict[str, Any]]  # {"offer": [...], "store": [...]}
    promotion: Mapped[Promotion] = relationship()


class Event(Base):
    """The outbox: written in the same transaction as the state change that caused it."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedup_key: Mapped[str] = mapped_column(String(300), unique=True)
    created_at: Mapped[datetime]
    occurred_at: Mapped[datetime]
    retailer_id: Mapped[int | None] = mapped_column(ForeignKey("retailers.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"))
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("findings.id"))
    payload: Mapped[dict[str, Any]]


class Delivery(Base):
    """One event to one target. Delivered only on Apprise SUCCESS; retried with backoff otherwise."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "target"),
        Index("ix_deliveries_status_next", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id"))
    target: Mapped[str] = mapped_column(String(128))  # subscription name + hash of its URL, never the URL
    status: Mapped[str] = mapped_column(String(16))  # pending, delivered, failed (gave up)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    event: Mapped[Event] = relationship()


class Order(Base):
    """A consumer's own order, as they entered it. Chained when recorded and never updated after."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)  # the id the consumer chose
    retailer_id: Mapped[int] = mapped_column(ForeignKey("retailers.id"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    # as given or resolved when recorded; None: resolved from the product at each evaluation
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"))
    ordered_at: Mapped[datetime]
    paid_at: Mapped[datetime | None]
    price_paid: Mapped[Decimal]
    currency: Mapped[str] = mapped_column(String(3))
    reference: Mapped[str] = mapped_column(String(200))  # the shop's order number
    promise: Mapped[str | None] = mapped_column(String(500))  # the delivery text shown when ordering
    origin: Mapped[str] = mapped_column(String(16))  # "watchlist" or "command"
    created_at: Mapped[datetime]
    statuses: Mapped[list[OrderStatus]] = relationship(back_populates="order", order_by="OrderStatus.id")


class OrderStatus(Base):
    """One status the consumer saw for an order ("in processing"), with an optional file as its exhibit."""

    __tablename__ = "order_status"
    __table_args__ = (Index("ix_order_status_order_at", "order_id", "at"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    at: Mapped[datetime]
    text: Mapped[str] = mapped_column(String(500))
    outcome: Mapped[str | None] = mapped_column(String(16))  # "delivered" or "cancelled" when marked so
    file_name: Mapped[str | None] = mapped_column(String(500))
    file_sha256: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    order: Mapped[Order] = relationship(back_populates="statuses")


class Subscription(Base):
    """When promowatch first saw a subscription (keyed like a delivery target): it receives events from then on."""

    __tablename__ = "subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    target: Mapped[str] = mapped_column(String(128), unique=True)
    first_seen: Mapped[datetime]


class WebSubscription(Base):
    """A subscription made in the dashboard. Its Apprise URL is a secret kept outside the database (a file
    named by ``target`` in the data directory); the row holds only the URL's schema and what it follows."""

    __tablename__ = "web_subscriptions"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(128), unique=True)  # name + hash of the URL, as deliveries
    url_schema: Mapped[str] = mapped_column(String(32))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("products.id"))
    promotion_id: Mapped[int | None] = mapped_column(ForeignKey("promotions.id"))
    postcode: Mapped[str | None] = mapped_column(String(16))
    radius_km: Mapped[float | None]
    events: Mapped[dict[str, Any]]  # {"kinds": [...]}
    language: Mapped[str] = mapped_column(String(2))
    created_at: Mapped[datetime]
    tested_at: Mapped[datetime | None]
    test_result: Mapped[str | None] = mapped_column(String(300))  # masked
