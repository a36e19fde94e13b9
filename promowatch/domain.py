"""Value types shared by extraction, rules, persistence and notification.

These are plain frozen dataclasses: no Scrapy, no SQL. Money is ``Decimal`` with an ISO 4217 code,
times are timezone-aware UTC, availability is an enum that includes ``unknown``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any


class Availability(StrEnum):
    IN_STOCK = "in_stock"
    LIMITED = "limited"
    OUT_OF_STOCK = "out_of_stock"
    PREORDER = "preorder"
    BACKORDER = "backorder"
    DISCONTINUED = "discontinued"
    UNKNOWN = "unknown"

    @property
    def buyable(self) -> bool:
        """True for states in which a shopper can get the item now."""
        return self in (Availability.IN_STOCK, Availability.LIMITED)

    @property
    def unavailable(self) -> bool:
        """True for states that positively say the item cannot be had (``unknown`` is not one)."""
        return self in (Availability.OUT_OF_STOCK, Availability.DISCONTINUED)


class SignalSource(StrEnum):
    JSONLD = "jsonld"
    MICRODATA = "microdata"
    OPENGRAPH = "opengraph"
    PROFILE = "profile"
    BUTTON = "button"
    TEXT = "text"
    STORE_API = "store_api"
    HTTP = "http"


@dataclass(frozen=True, slots=True)
class Signal:
    """One piece of evidence for one value: where it came from, what it said, what it maps to."""

    field: str  # "price", "regular_price", "availability", "orderable", "currency", "delivery", ...
    source: SignalSource
    raw: str
    value: str | None

    def to_json(self) -> dict[str, Any]:
        return {"field": self.field, "source": str(self.source), "raw": self.raw, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Signal:
        return cls(
            field=data["field"], source=SignalSource(data["source"]), raw=data["raw"], value=data["value"]
        )


def money_str(amount: Decimal | None) -> str | None:
    """Render an amount as the public contract wants it: two decimals, or None."""
    if amount is None:
        return None
    return str(amount.quantize(Decimal("0.01")))


# The public, stable object of ``promowatch extract --json`` (design.md §5); to_json() adds delivery and reason.
PUBLIC_OFFER_KEYS = (
    "url",
    "title",
    "sku",
    "gtin",
    "price",
    "currency",
    "regular_price",
    "availability",
    "orderable",
    "signals",
)


@dataclass(frozen=True, slots=True)
class Offer:
    """What one product page says about the product: the result of extraction."""

    url: str
    title: str | None = None
    sku: str | None = None
    gtin: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    regular_price: Decimal | None = None
    availability: Availability = Availability.UNKNOWN
    orderable: bool | None = None
    delivery: str | None = None
    reason: str | None = None  # why availability is unknown, when it is
    signals: tuple[Signal, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """The public object of design.md §5 (plus ``delivery`` and ``reason``)."""
        return {
            "url": self.url,
            "title": self.title,
            "sku": self.sku,
            "gtin": self.gtin,
            "price": money_str(self.price),
            "currency": self.currency,
            "regular_price": money_str(self.regular_price),
            "availability": str(self.availability),
            "orderable": self.orderable,
            "delivery": self.delivery,
            "reason": self.reason,
            "signals": [s.to_json() for s in self.signals],
        }


@dataclass(frozen=True, slots=True)
class StoreStock:
    """One store's stock of one product as the retailer's store API reports it."""

    store_id: str
    availability: Availability
    quantity: int | None = None
    source_time: datetime | None = None  # the retailer's own data time, when it gives one
    raw: str | None = None


@dataclass(frozen=True, slots=True)
class StoreInfo:
    store_id: str
    name: str
    postcode: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None


def utcnow() -> datetime:
    """The current time, timezone-aware UTC."""
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """Naive datetimes from the database are UTC; make them aware."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
