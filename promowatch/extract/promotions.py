"""Promotions from an ad page (the shop's "actions of the week"), as the profile's ``[promotions]`` describes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from urllib.parse import urljoin

from parsel import Selector, SelectorList

from promowatch.config import PromotionSelectors
from promowatch.extract.prices import parse_amount
from promowatch.items import AdvertisedPromotion
from promowatch.urls import strip_tracking

_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
# a day and month without the year, as listing headers write them ("vom 30.11. bis 06.12.")
_DM = re.compile(r"(?<![\d.])(\d{1,2})\.(\d{1,2})\.(?!\d)")


def select(node: Selector, selector: str) -> SelectorList[Selector]:
    """Apply a profile selector: parsel CSS, or XPath when written ``xpath:...``."""
    if selector.startswith("xpath:"):
        return node.xpath(selector.removeprefix("xpath:"))
    return node.css(selector)


def first_text(node: Selector, selector: str | None) -> str | None:
    """The whitespace-normalised text of the first match, or None."""
    if selector is None:
        return None
    found = select(node, selector)
    if not found:
        return None
    first = found[0]
    # ::text and ::attr() results are strings; an element stands for all the text inside it
    text = first.root if isinstance(first.root, str) else " ".join(first.xpath(".//text()").getall())
    text = " ".join(text.split())
    return text or None


def parse_day(text: str | None, *, end_of_day: bool = False) -> datetime | None:
    """``2026-11-02`` (ISO, as in ``<time datetime>``) or ``02.11.2026``; a date alone covers the whole day."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        match = _DMY.search(text)
        if not match:
            return None
        day, month, year = (int(g) for g in match.groups())
        try:
            moment = datetime.combine(date(year, month, day), time.min)
        except ValueError:
            return None
        if end_of_day:
            moment = datetime.combine(moment.date(), time.max)
        return moment.replace(tzinfo=UTC)
    if moment.tzinfo is None:
        if end_of_day and len(text.strip()) <= 10:
            moment = datetime.combine(moment.date(), time.max)
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_listing_start(text: str | None, near: datetime) -> datetime | None:
    """The first day stated in a listing header, at its start; a day without a year takes the year that puts
    it nearest to ``near`` (a header "vom 30.11. bis 06.12." read on 2 January is the previous year's)."""
    if not text:
        return None
    full, short = _DMY.search(text), _DM.search(text)
    if full is not None and (short is None or full.start() <= short.start()):
        return parse_day(full.group(0))
    if short is None:
        return parse_day(text)  # an ISO date, as in <time datetime>
    day, month = int(short.group(1)), int(short.group(2))
    candidates = []
    for year in (near.year - 1, near.year, near.year + 1):
        try:
            candidates.append(datetime(year, month, day, tzinfo=UTC))
        except ValueError:
            continue
    return min(candidates, key=lambda moment: abs(moment - near)) if candidates else None


def parse_promotions(
    body: bytes | str,
    page_url: str,
    selectors: PromotionSelectors,
    default_currency: str | None,
    tracking_params: tuple[str, ...] = (),
    seen_at: datetime | None = None,
) -> list[AdvertisedPromotion]:
    """Every promotion card with a product link and an advertised price; others are skipped. Links lose their
    tracking parameters (promowatch.urls, plus the profile's ``tracking_params``): the card's product is the
    product watched at the plain URL."""
    page = Selector(text=body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    if selectors.item is None or selectors.link is None or selectors.price is None:
        return []
    listing_start = parse_listing_start(
        first_text(page, selectors.listing_valid_from), seen_at or datetime.now(UTC)
    )
    promotions = []
    for card in select(page, selectors.item):
        link = first_text(card, selectors.link)
        amount, currency = parse_amount(first_text(card, selectors.price) or "", default_currency)
        if not link or amount is None or (currency or default_currency) is None:
            continue
        reference, _ = parse_amount(first_text(card, selectors.regular_price) or "", default_currency)
        valid_from = parse_day(first_text(card, selectors.valid_from))
        basis = "stated" if valid_from is not None else None
        if valid_from is None and listing_start is not None:
            valid_from, basis = listing_start, "listing"
        promotions.append(
            AdvertisedPromotion(
                product_url=strip_tracking(urljoin(page_url, link), tracking_params),
                title=first_text(card, selectors.title) or link,
                advertised_price=amount,
                reference_price=reference,
                currency=currency or default_currency or "",
                valid_from=valid_from,
                valid_until=parse_day(first_text(card, selectors.valid_until), end_of_day=True),
                region=first_text(card, selectors.region),
                window_basis=basis,
            )
        )
    return promotions
