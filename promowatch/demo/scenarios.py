"""What each product looks like on each simulated day: pure functions of (product, day).

Day 0 is the calendar day (UTC) of the shop's start; the scenarios span days 0 to 13.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from promowatch.demo.catalogue import (
    CANARY_SKU,
    DELIVERY_TEXT,
    PRODUCTS,
    OnlineStock,
    Product,
    Promotion,
    Store,
    product_by_sku,
)

DEFAULT_START = datetime.fromisoformat("2026-11-02T07:00:00+00:00")  # a Monday morning


@dataclass(frozen=True)
class Scenario:
    letter: str
    path: str
    sku: str
    title: str
    shows: str


_SHOWS = {
    "a": "bait: 549.– on days 0-2, then advertised 499.– au lieu de 999.– (never charged) on days 3-13, "
    "not orderable online on days 3-8, then orderable on days 9-13 with a delivery promise three working days "
    "later each day, at least 90 % of stores empty every promotion day",
    "b": "promotion days 0-13; sold out online and in nearly all stores on days 2-5, restocked from day 6",
    "c": "honest promotion: 349.– charged on days 0-9, then 279.– au lieu de 349.– on days 10-13, always "
    "available online and in stores",
    "d": "price mismatch: promotions page advertises 49.90, the product page charges 59.90 (days 0-13)",
    "e": "stock line, buy button and store widget filled by JavaScript from /api/stock/{sku}; no JSON-LD "
    "availability, so only a browser can read the stock: in stock, except sold out online on days 8-9",
    "f": "JSON-LD says InStock while the page says Épuisé with add-to-cart disabled (days 0-13 promotion)",
}

SCENARIOS: tuple[Scenario, ...] = tuple(
    Scenario(letter, product.path, product.sku, product.title, _SHOWS[letter])
    for letter, product in zip("abcdef", PRODUCTS, strict=False)
)


def scenario(letter: str) -> Scenario:
    """The scenario with this letter (``"a"`` .. ``"f"``)."""
    for item in SCENARIOS:
        if item.letter == letter:
            return item
    raise KeyError(letter)


def canary_path() -> str:
    return product_by_sku()[CANARY_SKU].path


def day_index(start: datetime, now: datetime) -> int:
    """Simulated day number of ``now``: calendar days (UTC) since the start's day."""
    return (now.date() - start.date()).days


@dataclass(frozen=True)
class DayOffer:
    """The product page's state on one day."""

    product: Product
    day: int
    price: Decimal
    regular_price: Decimal | None
    online: OnlineStock
    store_zero_share: float
    delivery: str | None = None  # the delivery line of the buy box (only while orderable)

    @property
    def jsonld_availability(self) -> str | None:
        mode = self.product.jsonld_availability
        if mode == "mirror":
            return self.online.schema_org
        return mode

    @property
    def saving(self) -> Decimal | None:
        if self.regular_price is None or self.regular_price <= self.price:
            return None
        return self.regular_price - self.price


def offer_on(product: Product, day: int) -> DayOffer:
    """Apply the product's phases that cover ``day``, in order; bench products follow their index."""
    if product.bench_index is not None:
        return _bench_offer(product, product.bench_index, day)
    price, regular, online, share = product.price, None, product.online, product.store_zero_share
    delivery = DELIVERY_TEXT
    for phase in product.phases:
        if phase.first_day <= day <= phase.last_day:
            if phase.price is not None:
                price, regular = phase.price, phase.regular_price
            online = phase.online or online
            share = phase.store_zero_share if phase.store_zero_share is not None else share
            if phase.delivery_growth is not None:
                low = 2 + phase.delivery_growth * (day - phase.first_day)
                delivery = f"Livraison sous {low} à {low + 2} jours ouvrables"
    return DayOffer(product, day, price, regular, online, share, delivery if online.orderable else None)


def _bench_offer(product: Product, index: int, day: int) -> DayOffer:
    turn = (index * 7 + day) % 10
    online = {0: OnlineStock.SOLD_OUT, 1: OnlineStock.LIMITED, 2: OnlineStock.STORE_ONLY}.get(
        turn, OnlineStock.IN_STOCK
    )
    on_promotion = index % 4 == 0
    price = (product.price * Decimal("0.8")).quantize(Decimal("1")) if on_promotion else product.price
    return DayOffer(
        product,
        day,
        price,
        product.price if on_promotion else None,
        online,
        ((index * 3 + day) % 10) / 10,
        DELIVERY_TEXT if online.orderable else None,
    )


@dataclass(frozen=True)
class RunningPromotion:
    product: Product
    promotion: Promotion
    valid_from: date
    valid_until: date  # inclusive


def promotion_window(promotion: Promotion, start: datetime) -> tuple[date, date]:
    """The calendar days (inclusive) a promotion is advertised for, given the shop's start."""
    first = start.date()
    return first + timedelta(days=promotion.first_day), first + timedelta(days=promotion.last_day)


def promotions_on(start: datetime, day: int) -> list[RunningPromotion]:
    """Promotions whose window contains ``day``, as the promotions page lists them."""
    running = []
    for product in PRODUCTS:
        promotion = product.promotion
        if promotion is not None and promotion.first_day <= day <= promotion.last_day:
            running.append(RunningPromotion(product, promotion, *promotion_window(promotion, start)))
    return running


@dataclass(frozen=True)
class StoreLevel:
    store: Store
    quantity: int
    status: str  # "available" / "low" / "none"


def store_levels(sku: str, day: int, zero_share: float, stores: tuple[Store, ...]) -> list[StoreLevel]:
    """Each store's stock of one product on one day: a stable pseudo-random spread with exactly
    ``round(zero_share * len(stores))`` empty stores."""
    prefix, suffix = f"{sku}:".encode(), f":{day}".encode()
    draws = [zlib.crc32(prefix + store.store_id.encode() + suffix) for store in stores]
    empty = set(sorted(range(len(stores)), key=draws.__getitem__)[: round(zero_share * len(stores))])
    levels = []
    for index, store in enumerate(stores):
        quantity = 0 if index in empty else 1 + (draws[index] >> 8) % 14
        status = "none" if quantity == 0 else "low" if quantity <= 3 else "available"
        levels.append(StoreLevel(store, quantity, status))
    return levels
