"""Promotions from an ad page (the shop's "actions of the week"), as the profile's ``[promotions]`` describes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from urllib.parse import urljoin

from parsel import Selector, SelectorList

from promowatch.config import PromotionSelectors
from promowatch.extract.prices import parse_amount
from promowatch.items import AdvertisedPromotion

_DMY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")


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


def parse_promotions(
    body: bytes | str, page_url: str, selectors: PromotionSelectors, default_currency: str | None
) -> list[AdvertisedPromotion]:
    """Every promotion card with a product link and an advertised price; others are skipped."""
    page = Selector(text=body.decode("utf-8", "replace") if isinstance(body, bytes) else body)
    if selectors.item is None or selectors.link is None or selectors.price is None:
        return []
    promotions = []
    for card in select(page, selectors.item):
        link = first_text(card, selectors.link)
        amount, currency = parse_amount(first_text(card, selectors.price) or "", default_currency)
        if not link or amount is None or (currency or default_currency) is None:
            continue
        reference, _ = parse_amount(first_text(card, selectors.regular_price) or "", default_currency)
        promotions.append(
            AdvertisedPromotion(
                product_url=urljoin(page_url, link),
                title=first_text(card, selectors.title) or link,
                advertised_price=amount,
                reference_price=reference,
                currency=currency or default_currency or "",
                valid_from=parse_day(first_text(card, selectors.valid_from)),
                valid_until=parse_day(first_text(card, selectors.valid_until), end_of_day=True),
                region=first_text(card, selectors.region),
            )
        )
    return promotions
