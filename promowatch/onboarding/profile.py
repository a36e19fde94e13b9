"""A whole profile drafted from what was fetched: the product page (as sent, and rendered when asked), the
promotions page and the JSON answers. Pure: bytes in, :class:`ProfileDraft` out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from promowatch.onboarding.draft import Entry, ProfileDraft
from promowatch.onboarding.offer import OfferDraft, draft_offer
from promowatch.onboarding.promotions import draft_promotions
from promowatch.onboarding.stores import JsonAnswer, draft_stores

_FILLED_BY_SCRIPT = ("availability", "buy_button", "delivery")


@dataclass
class Pages:
    product_url: str
    product: bytes
    rendered: bytes | None = None  # the product page after its JavaScript ran (--browser)
    promotions_url: str | None = None
    promotions: bytes | None = None
    answers: list[JsonAnswer] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # what could not be fetched, for the header


def slug_of(url: str) -> str:
    """A slug from the shop's host name (``www.acme-electro.ch`` -> ``acme-electro``).

    >>> slug_of("https://www.acme-electro.ch/p/1"), slug_of("http://127.0.0.1:8123/p/1")
    ('acme-electro', 'shop-127-0-0-1-8123')
    """
    host = urlsplit(url).netloc.lower()
    labels = [label for label in host.split(".") if label not in ("www", "shop")]
    if host.replace(".", "").replace(":", "").isdigit() or len(labels) < 2:
        return "shop-" + re.sub(r"[^a-z0-9]+", "-", host).strip("-")
    return re.sub(r"[^a-z0-9]+", "-", labels[-2]).strip("-")


def draft_profile(pages: Pages, slug: str | None = None) -> ProfileDraft:
    parts = urlsplit(pages.product_url)
    base_url = f"{parts.scheme}://{parts.netloc}"
    offer = draft_offer(pages.product, pages.product_url)
    if pages.rendered is not None:
        _fill_from_rendered(offer, draft_offer(pages.rendered, pages.product_url))
    draft = ProfileDraft()
    draft.header = [
        f"Site profile drafted by `promowatch profile new` from {pages.product_url}"
        + (f" and {pages.promotions_url}" if pages.promotions_url else "")
        + (" (rendered in Chromium)" if pages.rendered is not None else "")
        + ".",
        "Keys it found are written out; what it could not settle is commented out, with the reason.",
        "Check with `promowatch profile test`; paths are relative to base_url.",
        *pages.problems,
    ]
    if offer.structured:
        draft.header.append("Structured data on the product page:")
        draft.header.extend(f"  {line}" for line in offer.structured)
    top = draft.section("")
    top.add("slug", slug or slug_of(pages.product_url))
    top.add("name", slug or slug_of(pages.product_url), "the shop's name as people know it")
    if offer.country:
        top.add("country", offer.country)
    else:
        top.add("country", None, 'the page names no country: write its ISO code ("DE")')
    currency = offer.read.currency
    top.add("currency", currency, "" if currency else "no price read", sure=currency is not None)
    if offer.language:
        top.add("language", offer.language, "the page's lang attribute")
    top.add("base_url", base_url)
    render = "auto" if offer.stock_line_loading else "http"
    top.add(
        "render",
        render,
        "the stock line is filled in by JavaScript: HTTP first, Chromium when it reads unknown"
        if render == "auto"
        else "the product page is readable as sent",
    )
    top.add("concurrency", 1, "one request at a time to this shop")
    top.add(
        "canary", _path(pages.product_url), "a product that is normally in stock: health check; check it is"
    )
    draft.sections.append(offer.offer)
    if offer.availability_map.entries:
        draft.sections.append(offer.availability_map)
    if pages.promotions is not None and pages.promotions_url is not None:
        draft.sections.append(draft_promotions(pages.promotions, pages.promotions_url))
    else:
        promotions = draft.section("promotions")
        promotions.notes.append("no promotions page given (--promotions URL)")
    stores = draft_stores(pages.answers, sku=offer.read.sku, gtin=offer.read.gtin, host=parts.netloc)
    if not pages.answers:
        stores.notes.insert(
            0,
            "no JSON answer was seen: --browser records those the product page fetches, "
            "--stores URL and --stock URL name them",
        )
    draft.sections.append(stores)
    return draft


def _path(url: str) -> str:
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _fill_from_rendered(sent: OfferDraft, rendered: OfferDraft) -> None:
    """Keys the page as sent lacks (its script draws the buy box) from the rendered page, said so."""
    found = {e.key: e for e in rendered.offer.entries if e.value is not None}
    for index, entry in enumerate(sent.offer.entries):
        better = found.get(entry.key)
        if (
            entry.key in _FILLED_BY_SCRIPT
            and better is not None
            and (entry.value is None or "empty" in entry.note)
        ):
            sent.offer.entries[index] = Entry(entry.key, better.value, f"{better.note} (drawn by JavaScript)")
