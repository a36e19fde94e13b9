"""What the rules read and what they answer. Plain values: the edge (evaluate.py) builds them from rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from promowatch.domain import Availability

Status = Literal["fires", "clear", "insufficient_history", "not_applicable"]


@dataclass(frozen=True, slots=True)
class OfferPoint:
    """One offer observation as the rules see it."""

    id: int
    observed_at: datetime
    availability: Availability
    orderable: bool | None
    price: Decimal | None = None
    regular_price: Decimal | None = None
    currency: str | None = None
    screenshot_sha256: str | None = None
    delivery: str | None = None  # the delivery line as the page stated it (delivery_slipping reads it)

    @property
    def known(self) -> bool:
        """Invariant 1: an unknown observation never counts for or against."""
        return self.availability is not Availability.UNKNOWN


@dataclass(frozen=True, slots=True)
class StoreInterval:
    """One store's stock state over first_seen..last_seen (``checks`` looks at it)."""

    id: int
    store_id: int
    first_seen: datetime
    last_seen: datetime
    checks: int
    availability: Availability
    quantity: int | None = None

    @property
    def zero_stock(self) -> bool | None:
        """True: no stock; False: stock; None: cannot tell."""
        if self.availability is Availability.UNKNOWN:
            return None
        if self.quantity is not None and self.quantity <= 0:
            return True
        if self.availability.unavailable:
            return True
        if self.availability.buyable:
            return False
        return None


def zero_stock_states(intervals: Sequence[StoreInterval]) -> list[bool | None]:
    """``zero_stock`` of each interval, computed once per distinct (availability, quantity <= 0)."""
    known: dict[tuple[Availability, bool], bool | None] = {}
    result = []
    for interval in intervals:
        key = (interval.availability, interval.quantity is not None and interval.quantity <= 0)
        if key not in known:
            known[key] = interval.zero_stock
        result.append(known[key])
    return result


@dataclass(frozen=True, slots=True)
class Sighting:
    seen_at: datetime
    last_seen: datetime


@dataclass(frozen=True, slots=True)
class PromotionFacts:
    """What the ad claims."""

    id: int
    title: str
    advertised_price: Decimal
    reference_price: Decimal | None
    currency: str
    valid_from: datetime | None
    valid_until: datetime | None
    created_at: datetime
    sightings: tuple[Sighting, ...] = ()
    origin: str = "sweep"  # "sweep" (found on the shop's ad pages) or "watchlist" (entered by hand)
    window_basis: str | None = None  # "listing" when the ad page's header stated the start (see rules.window)


@dataclass(frozen=True)
class Episode:
    """One stretch during which a rule's condition held persistently."""

    opened_at: datetime
    confirmed_at: datetime | None
    closed_at: datetime | None
    offer_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
    facts: dict[str, Any] = field(default_factory=dict)
    summary: str = ""


@dataclass(frozen=True)
class Verdict:
    """A rule's answer about one promotion at ``now``: status, the measured inputs, and its episodes."""

    rule: str
    status: Status
    summary: str
    inputs: dict[str, Any]
    episodes: tuple[Episode, ...] = ()
    offer_ids: tuple[int, ...] = ()
    store_ids: tuple[int, ...] = ()
