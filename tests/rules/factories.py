"""Small builders for rule inputs; times are hours after T0 (Monday 2026-11-23 08:00 UTC, opening on day one)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from promowatch.domain import Availability
from promowatch.rules import OfferPoint, PromotionFacts, Sighting, StoreInterval

T0 = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def promotion(
    valid_from: float | None = 0,
    valid_until: float | None = 7 * 24,
    advertised: str = "499.00",
    reference: str | None = "999.00",
    sightings: tuple[tuple[float, float], ...] = (),
) -> PromotionFacts:
    return PromotionFacts(
        id=1,
        title="Coffee machine",
        advertised_price=Decimal(advertised),
        reference_price=Decimal(reference) if reference else None,
        currency="CHF",
        valid_from=at(valid_from) if valid_from is not None else None,
        valid_until=at(valid_until) if valid_until is not None else None,
        created_at=at(-24 * 60),
        sightings=tuple(Sighting(at(a), at(b)) for a, b in sightings),
    )


def offer(
    id: int,
    hours: float,
    orderable: bool | None = False,
    availability: str = "out_of_stock",
    price: str | None = "499.00",
) -> OfferPoint:
    return OfferPoint(
        id=id,
        observed_at=at(hours),
        availability=Availability(availability),
        orderable=orderable,
        price=Decimal(price) if price else None,
        currency="CHF",
    )


def series(spec: str, every: float = 3.0, start: float = 2.0) -> list[OfferPoint]:
    """One offer per letter, ``every`` hours apart: n = not orderable, o = orderable, u = unknown."""
    kinds = {
        "n": (False, "out_of_stock"),
        "o": (True, "in_stock"),
        "u": (None, "unknown"),
        "x": (False, "unknown"),  # a disabled buy box while the stock state is unknown
    }
    return [offer(i + 1, start + i * every, kinds[c][0], kinds[c][1]) for i, c in enumerate(spec)]


def prices(pairs: list[tuple[float, str]]) -> list[OfferPoint]:
    """In-stock observations at (hours, price)."""
    return [offer(i + 1, h, True, "in_stock", p) for i, (h, p) in enumerate(pairs)]


def interval(
    id: int,
    store: int,
    first: float,
    last: float,
    checks: int,
    availability: str,
    quantity: int | None = None,
) -> StoreInterval:
    return StoreInterval(id, store, at(first), at(last), checks, Availability(availability), quantity)
