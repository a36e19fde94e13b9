"""What the spiders hand to the pipelines: one dataclass per kind of look.

The raw ``body`` travels with the item so the evidence pipeline can store it before the observation is
persisted; the persistence pipeline only sees its SHA-256. Scrapy's feed exports (``scrapy crawl offers -O
offers.jsonl``) write a capture without its bytes: its URL, status, headers and the SHA-256 under which the
evidence store keeps them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from promowatch.domain import Offer, StoreInfo, StoreStock


@dataclass
class Capture:
    """The bytes behind an observation, as fetched."""

    url: str
    status: int
    headers: dict[str, list[str]]
    body: bytes
    media_type: str
    request_method: str = "GET"
    request_headers: dict[str, list[str]] = field(default_factory=dict)
    screenshot: bytes | None = None  # PNG, browser fetches only
    rendered_html: bytes | None = None  # the DOM as rendered, browser fetches only
    body_sha256: str | None = None  # set by the evidence pipeline
    etag: str | None = None  # the page's validators, for a conditional re-check
    last_modified: str | None = None
    screenshot_sha256: str | None = None
    rendered_sha256: str | None = None
    ip_address: str | None = None  # the shop's address the response came from, when known


CAPTURE_BYTES = ("body", "screenshot", "rendered_html")


def exported_capture(capture: Capture | None) -> dict[str, Any] | None:
    """A capture as a feed export writes it: everything but its bytes (JSON has no bytes; the evidence store
    has them, under the SHA-256 given here)."""
    if capture is None:
        return None
    return {k: v for k, v in asdict(capture).items() if k not in CAPTURE_BYTES}


# an item's capture field: Scrapy's feed exporters write it through exported_capture
CAPTURE_EXPORT = {"serializer": exported_capture}


@dataclass
class OfferItem:
    retailer: str
    product_url: str
    observed_at: datetime
    offer: Offer
    render: str  # http | browser
    # None when nothing was received (timeout, DNS, reset)
    capture: Capture | None = field(metadata=CAPTURE_EXPORT)
    vantage: dict[str, Any] = field(default_factory=dict)
    wait: str | None = None  # browser: the wait condition met, or why not
    # the product's URL as the page names it (rel=canonical, same site, tracking stripped) when not product_url
    canonical_url: str | None = None


@dataclass
class AdvertisedPromotion:
    """One promotion as an ad page shows it."""

    product_url: str
    title: str
    advertised_price: Decimal
    reference_price: Decimal | None
    currency: str
    valid_from: datetime | None
    valid_until: datetime | None
    region: str | None = None
    # how valid_from was established: "stated" on the card, "listing" from the page's header, None: not at all
    window_basis: str | None = None


@dataclass
class AdItem:
    retailer: str
    source_url: str
    observed_at: datetime
    promotions: list[AdvertisedPromotion]
    capture: Capture | None = field(metadata=CAPTURE_EXPORT)


@dataclass
class StoreListItem:
    retailer: str
    observed_at: datetime
    stores: list[StoreInfo]
    capture: Capture | None = field(metadata=CAPTURE_EXPORT)


@dataclass
class StoreStockItem:
    retailer: str
    product_url: str
    observed_at: datetime
    stocks: list[StoreStock]
    capture: Capture | None = field(metadata=CAPTURE_EXPORT)
    reason: str | None = None  # why no stock could be read
