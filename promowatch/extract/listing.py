"""What kind of listing a product page is: a shop's offer, an auction, a classified ad or a price comparison.

Only a shop's offer can be put in a basket. An open auction or a classified ad shows an item that exists
(in stock) but is bought by bidding or by contacting the seller (not orderable); an ended auction is gone
(out of stock); a price-comparison page sends the shopper to other shops (not orderable here); a digital
download ("Buy MP3 album") has no stock at all, so its availability and orderability stay unknown. The kind is
read from generic page wording (bid buttons, "current bid", "contact seller", "see prices"), never from a
shop's name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from promowatch.extract.phrases import PhraseHit
from promowatch.extract.prices import parse_amount_in

LISTING_CATEGORIES = ("auction_ended", "auction", "classified", "price_comparison", "digital")


class ListingKind(StrEnum):
    SHOP = "shop"
    AUCTION = "auction"
    AUCTION_ENDED = "auction_ended"
    CLASSIFIED = "classified"
    PRICE_COMPARISON = "price_comparison"
    DIGITAL = "digital"  # a download (MP3 album, e-book): no stock of a thing to run out of


@dataclass(frozen=True, slots=True)
class Listing:
    """The listing kind and the words that showed it."""

    kind: ListingKind
    evidence: str = ""


def listing_of(hits: list[PhraseHit]) -> Listing:
    """The listing kind from phrase hits of the whole page; an ended auction outranks an open one."""
    by_category: dict[str, PhraseHit] = {}
    for hit in hits:
        if hit.category in LISTING_CATEGORIES:
            by_category.setdefault(hit.category, hit)
    for category in LISTING_CATEGORIES:
        if category in by_category:
            return Listing(ListingKind(category), by_category[category].matched)
    return Listing(ListingKind.SHOP)


_AMOUNT = r"((?:[$€£₹¥]|chf|eur|usd|gbp|us \$)?\s?\d[\d,.'’]*(?:\s?(?:[€£]|chf|eur|usd|gbp))?)"
_BID_WORDS = r"(?:bids|bid|gebote|gebot|enchères|enchère|offerte|pujas|biedingen)"
# The amount bid so far: "current bid: $200", or "$200 2 bids" (a count of at least one bid next to it).
_CURRENT_BID = re.compile(
    r"(?:current bid|aktuelles gebot|enchère actuelle|offerta attuale|puja actual|huidig bod)\s*:?[\s|]*"
    + _AMOUNT
    + r"|"
    + _AMOUNT
    + r"[\s|\[]*[1-9]\d*\s"
    + _BID_WORDS
    + r"(?!\w)"
)


def current_bid(text: str, country: str | None) -> tuple[Decimal, str | None, str] | None:
    """(amount, currency, matched text) of the highest bid so far in a normalised page text, if printed."""
    for match in _CURRENT_BID.finditer(text):
        raw = match.group(1) or match.group(2)
        amount, currency = parse_amount_in(raw.strip(), None, country)
        if amount is not None and amount > 0:
            return amount, currency, match.group(0).strip(" |")
    return None
