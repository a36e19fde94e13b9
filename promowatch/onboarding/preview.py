"""What a site profile reads from a shop's pages, section by section: ``promowatch profile test``.

Pure checks: page and API bytes plus the profile in, a report of per-key results out. A selector that selects
nothing on every page, a JSON path that finds nothing in any entry and a status no ``status_map`` pattern maps
are errors naming the key, so that a user who never read the code knows which line of the profile to fix.
Fetching lives in :mod:`promowatch.onboarding.fetch`; the reading is the crawl's own extraction.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urljoin

import regex
from parsel import Selector

from promowatch.config import SiteProfile, StoreApi
from promowatch.domain import PUBLIC_OFFER_KEYS, Availability
from promowatch.extract import extract_offer
from promowatch.extract.budget import profile_search
from promowatch.extract.jsonpath import ROOT, lookup
from promowatch.extract.prices import parse_amount
from promowatch.extract.promotions import first_text, parse_promotions, select
from promowatch.extract.stores import StoreDataError, parse_store_list, parse_store_stock

# the fields of a promotion card; link and price make a card a promotion, the others may be missing on some
CARD_KEYS = ("link", "title", "price", "regular_price", "valid_from", "valid_until", "region")
# product fields whose absence on a page is normal (no reduction, no delivery line): a note, unless on every page
OFFER_KEYS = (
    "title",
    "sku",
    "gtin",
    "price",
    "regular_price",
    "currency",
    "availability",
    "buy_button",
    "delivery",
)
STORE_KEYS = ("id", "name", "postcode", "city", "latitude", "longitude")
STOCK_KEYS = ("stock_store_id", "stock_quantity", "stock_status")
SHOWN_ROWS = 5


@dataclass(frozen=True)
class Page:
    """One fetched answer: its URL, HTTP status (0: no answer) and body, or why there is none."""

    url: str
    status: int
    body: bytes
    failure: str | None = None


@dataclass
class Section:
    """What one profile section read: a table to show, and its problems named by key."""

    name: str  # promotions, offer, stores, stock
    header: tuple[str, ...] = ()
    rows: list[tuple[str, ...]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def error(self, key: str, text: str) -> None:
        self.errors.append(f"[{self.name}] {key}: {text}")

    def note(self, key: str, text: str) -> None:
        self.notes.append(f"[{self.name}] {key}: {text}")


@dataclass
class ProfileReport:
    profile: str
    sections: list[Section] = field(default_factory=list)

    @property
    def errors(self) -> list[str]:
        return [error for section in self.sections for error in section.errors]


def _unanswered(section: Section, key: str, page: Page) -> bool:
    """A page that did not answer 200 is reported as such, and nothing is judged from it."""
    if page.failure is not None or page.status != 200:
        section.error(key, f"{page.url} answered {page.failure or page.status}")
        return True
    return False


# ---------------------------------------------------------------- promotions


def next_page_url(page: Page, profile: SiteProfile) -> str | None:
    """The promotions page's next page, as the promotions spider follows it."""
    selectors = profile.promotions
    if not selectors.next_page or page.status != 200:
        return None
    following = first_text(Selector(text=page.body.decode("utf-8", "replace")), selectors.next_page)
    return urljoin(page.url, following) if following else None


def check_promotions(pages: Sequence[Page], profile: SiteProfile) -> Section:
    """The cards of the promotions pages as a table; a card key that selected nothing on every card is an error."""
    section = Section("promotions", ("title", "price", "instead of", "from", "until", "product"))
    selectors = profile.promotions
    if not selectors.urls:
        section.note("urls", "no promotions page in the profile")
        return section
    for key in ("item", "link", "price"):
        if getattr(selectors, key) is None:
            section.error(key, "missing: a card needs item, link and price to be read")
    cards = 0
    empty: Counter[str] = Counter()
    unreadable_prices = 0
    for page in pages:
        if _unanswered(section, "urls", page):
            continue
        tree = Selector(text=page.body.decode("utf-8", "replace"))
        if selectors.listing_valid_from and first_text(tree, selectors.listing_valid_from) is None:
            section.error("listing_valid_from", f"selected nothing on {page.url}")
        if selectors.item is None:
            continue
        found = select(tree, selectors.item)
        if not found:
            section.error("item", f"selected nothing on {page.url}")
        for card in found:
            cards += 1
            for key in CARD_KEYS:
                selector = getattr(selectors, key)
                if selector is not None and first_text(card, selector) is None:
                    empty[key] += 1
            shown = first_text(card, selectors.price) if selectors.price else None
            if shown and parse_amount(shown, profile.currency)[0] is None:
                unreadable_prices += 1
        promotions = parse_promotions(
            page.body, page.url, selectors, profile.currency, profile.tracking_params
        )
        for promotion in promotions:
            section.rows.append(
                (
                    promotion.title,
                    f"{promotion.advertised_price} {promotion.currency}",
                    "" if promotion.reference_price is None else str(promotion.reference_price),
                    promotion.valid_from.date().isoformat() if promotion.valid_from else "",
                    promotion.valid_until.date().isoformat() if promotion.valid_until else "",
                    promotion.product_url,
                )
            )
    for key in CARD_KEYS:
        if not cards or not empty[key]:
            continue
        text = f"selected nothing on {empty[key]} of {cards} cards"
        if empty[key] == cards:
            section.error(key, text)
        else:  # a card without a reference price or end date is a shop's choice
            section.note(key, text)
    if unreadable_prices:
        section.error(
            "price", f"selected text that reads as no amount on {unreadable_prices} of {cards} cards"
        )
    return section


def promoted_products(section: Section, limit: int) -> list[str]:
    """Product URLs of the first cards read, to be checked as product pages."""
    return list(dict.fromkeys(row[-1] for row in section.rows))[:limit]


# ---------------------------------------------------------------- product pages


def check_offers(pages: Sequence[Page], profile: SiteProfile) -> Section:
    """Each product page's fields with the signals behind them; an offer selector that selected nothing (or, for
    price, regular_price and availability, text its reading makes nothing of) on every page, and a stock line
    neither ``availability_map`` nor the phrase tables read, are errors."""
    section = Section("offer", ("page", "field", "value", "signals"))
    selectors = profile.offer
    read = 0
    empty: Counter[str] = Counter()
    unreadable: Counter[str] = Counter()  # selected text the key's reading made nothing of
    for page in pages:
        if _unanswered(section, "page", page):
            continue
        read += 1
        # the profile's selectors apply to the whole page, as the offer's extraction applies them
        tree = Selector(text=page.body.decode("utf-8", "replace"))
        nothing: set[str] = set()
        for key in ("product_block", *OFFER_KEYS):
            selector = getattr(selectors, key)
            if selector is None:
                continue
            found = (
                select(tree, selector)
                if key in ("product_block", "buy_button")
                else first_text(tree, selector)
            )
            if not found:
                empty[key] += 1
                nothing.add(key)
        offer = extract_offer(page.body, page.url, profile)
        for key in ("price", "regular_price", "availability"):
            # a price read elsewhere on the page (JSON-LD, visible text) must not hide that the profile's
            # selector reads a badge such as "Aktion"
            if getattr(selectors, key) is not None and key not in nothing:
                profiled = [s for s in offer.signals if s.field == key and s.source == "profile"]
                if profiled and all(s.value in (None, Availability.UNKNOWN) for s in profiled):
                    unreadable[key] += 1
        stock_line = first_text(tree, selectors.availability)
        if stock_line:
            # without an availability_map only the phrase tables read the line; unread, it is still an error
            mapped = any(profile_search(pattern, stock_line) for pattern in selectors.availability_map)
            profiled = [s for s in offer.signals if s.field == "availability" and s.source == "profile"]
            if not mapped and all(s.value in (None, Availability.UNKNOWN) for s in profiled):
                hint = "" if selectors.availability_map else " (the profile has no availability_map)"
                section.error(
                    "availability_map", f"stock line {stock_line!r} on {page.url} matches no pattern{hint}"
                )
        values = offer.to_json()
        for name in PUBLIC_OFFER_KEYS:
            if name in ("url", "signals"):
                continue
            signals = "; ".join(f"{s.source}={s.value}" for s in offer.signals if s.field == name)
            section.rows.append((page.url, name, "" if values[name] is None else str(values[name]), signals))
    for key in ("product_block", *OFFER_KEYS):
        if not read or not (empty[key] or unreadable[key]):
            continue
        text = f"selected nothing on {empty[key]} of {read} product page(s)"
        if unreadable[key]:
            what = "no state" if key == "availability" else "no amount"
            text = (
                f"read nothing on {empty[key] + unreadable[key]} of {read} product page(s): selected text "
                f"that reads as {what} on {unreadable[key]}"
            )
        if empty[key] + unreadable[key] == read:
            section.error(key, text)
        else:  # a product without a reduction has no "instead of" price
            section.note(key, text)
    return section


# ---------------------------------------------------------------- store API


def stock_url(api: StoreApi, product_url: str, sku: str | None, gtin: str | None) -> str | None:
    """The stock API URL of one product, as the stores spider builds it; None when a value it needs is unknown."""
    if not api.stock_url:
        return None
    if (sku is None and "{sku}" in api.stock_url) or (gtin is None and "{gtin}" in api.stock_url):
        return None
    return api.stock_url.format(
        sku=quote(str(sku), safe=""), gtin=quote(str(gtin), safe=""), product_url=quote(product_url, safe="")
    )


def _entries(body: bytes, path: str, key: str, section: Section) -> list[Any] | None:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        section.error(key, f"the answer is not JSON ({error})")
        return None
    entries = lookup(data, path)
    if not isinstance(entries, list):
        where = "the top level" if path == ROOT else repr(path)
        hint = ' (the answer is a top-level array: write "$")' if isinstance(data, list) else ""
        section.error(key, f"found no list at {where}{hint}")
        return None
    if not entries:
        section.error(key, f"the list at {path!r} is empty")
    return entries


def _missing(entries: list[Any], paths: dict[str, str], section: Section, what: str) -> None:
    """A JSON path that found nothing in every entry is an error; in some entries, a note."""
    for key, path in paths.items():
        missing = sum(1 for entry in entries if lookup(entry, path) in (None, ""))
        if not missing:
            continue
        text = f"{path!r} found nothing in {missing} of {len(entries)} {what}"
        if missing == len(entries):
            section.error(key, text)
        else:
            section.note(key, text)


def check_store_list(page: Page, api: StoreApi) -> Section:
    """How many stores the list names, with names, postcodes and coordinates, and a few of them."""
    section = Section("stores", ("id", "name", "postcode", "city", "latitude", "longitude"))
    if _unanswered(section, "list_url", page):
        return section
    entries = _entries(page.body, api.list_path, "list_path", section)
    if not entries:
        return section
    paths = {key: getattr(api, key) for key in STORE_KEYS if getattr(api, key)}
    _missing(entries, paths, section, "stores")
    try:
        stores = parse_store_list(page.body, api)
    except StoreDataError:
        return section
    counts = {
        "names": sum(1 for s in stores if s.name != s.store_id),
        "postcodes": sum(1 for s in stores if s.postcode),
        "coordinates": sum(1 for s in stores if s.latitude is not None and s.longitude is not None),
    }
    section.note(
        "list_url", f"{len(stores)} stores: " + ", ".join(f"{n} with {what}" for what, n in counts.items())
    )
    for store in stores[:SHOWN_ROWS]:
        section.rows.append(
            tuple(
                "" if value is None else str(value)
                for value in (
                    store.store_id,
                    store.name,
                    store.postcode,
                    store.city,
                    store.latitude,
                    store.longitude,
                )
            )
        )
    return section


def check_store_stock(page: Page, api: StoreApi) -> Section:
    """One product's stock answer mapped through ``status_map``; every status it cannot map is an error."""
    section = Section("stock", ("store", "status", "quantity", "reads"))
    if _unanswered(section, "stock_url", page):
        return section
    entries = _entries(page.body, api.stock_path, "stock_path", section)
    if not entries:
        return section
    paths = {key: getattr(api, key) for key in STOCK_KEYS if getattr(api, key)}
    _missing(entries, paths, section, "stock entries")
    if api.stock_time:
        try:
            data = json.loads(page.body)
        except ValueError:
            data = None
        if lookup(data, api.stock_time) in (None, ""):
            section.error("stock_time", f"{api.stock_time!r} found nothing in the answer")
    try:
        stocks = parse_store_stock(page.body, api)
    except StoreDataError:
        return section
    unmapped: Counter[str] = Counter()
    for stock in stocks:
        word = (stock.raw or "").strip()
        if word and not any(_maps(pattern, word) for pattern in api.status_map):
            unmapped[word] += 1
    for word, count in sorted(unmapped.items()):
        section.error("status_map", f"status {word!r} ({count} store(s)) matches no pattern")
    if stocks and all(stock.availability is Availability.UNKNOWN for stock in stocks):
        # the keys a state is read from; neither named: the profile reads no state at all
        keys = [key for key in ("stock_status", "stock_quantity") if getattr(api, key)] or ["stock_status"]
        for key in keys:
            section.error(key, f"every one of the {len(stocks)} store(s) reads unknown")
    states = Counter(str(stock.availability) for stock in stocks)
    section.note("stock_url", f"{len(stocks)} stores: " + ", ".join(f"{n} {s}" for s, n in states.items()))
    for stock in stocks[:SHOWN_ROWS]:
        quantity = "" if stock.quantity is None else str(stock.quantity)
        section.rows.append((stock.store_id, stock.raw or "", quantity, str(stock.availability)))
    return section


def _maps(pattern: str, word: str) -> bool:
    """As the stores' reading matches a status word: the whole word, any case."""
    try:
        return bool(regex.fullmatch(pattern, word, regex.IGNORECASE, timeout=0.1))
    except TimeoutError:
        return False


# ---------------------------------------------------------------- the whole profile


def check_profile(
    profile: SiteProfile,
    promotions: Sequence[Page],
    products: Sequence[Page],
    store_list: Page | None,
    stock: Page | None,
) -> ProfileReport:
    """Every section the profile has, read from the answers fetched for it."""
    report = ProfileReport(profile.slug)
    if profile.promotions.urls or promotions:
        report.sections.append(check_promotions(promotions, profile))
    offers = check_offers(products, profile)
    if not products:
        offers.error("page", "no product page to read: name one in the watchlist's products")
    report.sections.append(offers)
    api = profile.stores
    if api.list_url:
        if store_list is None:
            section = Section("stores")
            section.error("list_url", "not fetched (off the retailer's host?)")
            report.sections.append(section)
        else:
            report.sections.append(check_store_list(store_list, api))
    if api.stock_url:
        if stock is None:
            section = Section("stock")
            section.error("stock_url", f"no product page gave the values {api.stock_url!r} needs")
            report.sections.append(section)
        else:
            report.sections.append(check_store_stock(stock, api))
    return report


def report_lines(report: ProfileReport, clean: Any = str) -> list[str]:
    """The report as text: each section's table, its notes, then every error; ``clean`` makes shop text safe
    for a terminal."""
    lines: list[str] = []
    for section in report.sections:
        lines.append(f"[{section.name}]")
        if section.rows:
            rows = [tuple(clean(cell) for cell in row) for row in section.rows]
            widths = [min(48, max(len(h), *(len(r[i]) for r in rows))) for i, h in enumerate(section.header)]
            head = "  ".join(h.ljust(w) for h, w in zip(section.header, widths, strict=True))
            lines.append(("  " + head).rstrip())
            for row in rows:
                cells = (c if len(c) <= w else c[: w - 1] + "…" for c, w in zip(row, widths, strict=True))
                lines.append(
                    "  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()
                )
        else:
            lines.append("  (nothing read)")
        lines += [f"  note: {clean(note)}" for note in section.notes]
    errors = report.errors
    lines.append("")
    if errors:
        lines += [f"error: {clean(error)}" for error in errors]
        lines.append(f"{report.profile}: {len(errors)} error(s)")
    else:
        lines.append(f"{report.profile}: every section read something")
    return lines
