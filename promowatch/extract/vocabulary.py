"""schema.org ItemAvailability and OpenGraph availability words -> Availability (+ what they say of ordering)."""

from __future__ import annotations

import re

from promowatch.domain import Availability

# value: (availability, orderable online or None when the word says nothing about ordering)
_ITEM_AVAILABILITY: dict[str, tuple[Availability, bool | None]] = {
    "instock": (Availability.IN_STOCK, None),
    "outofstock": (Availability.OUT_OF_STOCK, False),
    "soldout": (Availability.OUT_OF_STOCK, False),
    "preorder": (Availability.PREORDER, True),
    "presale": (Availability.PREORDER, True),
    "backorder": (Availability.BACKORDER, True),
    "limitedavailability": (Availability.LIMITED, None),
    "instoreonly": (Availability.IN_STOCK, False),
    "onlineonly": (Availability.IN_STOCK, True),
    "discontinued": (Availability.DISCONTINUED, False),
    "madetoorder": (Availability.BACKORDER, True),
    # schema.org: "the item is reserved and therefore not available"
    "reserved": (Availability.OUT_OF_STOCK, False),
    # OpenGraph / Facebook catalogue words
    "oos": (Availability.OUT_OF_STOCK, False),
    "availablefororder": (Availability.BACKORDER, True),
    "available": (Availability.IN_STOCK, None),
    "pending": (Availability.UNKNOWN, None),
}
_PREFIX = re.compile(r"^(?:https?:)?(?://)?(?:www\.)?schema\.org/", re.IGNORECASE)


def item_availability(value: str) -> tuple[Availability, bool | None] | None:
    """Map ``https://schema.org/InStock``, ``http://schema.org/SoldOut``, ``InStock``, ``in stock``, ``oos``.

    None when the word is not part of the vocabulary (the caller records it as an unmapped signal).
    """
    key = re.sub(r"[\s_\-]+", "", _PREFIX.sub("", value.strip())).lower()
    return _ITEM_AVAILABILITY.get(key)
