"""extract_offer: a product page's bytes -> the Offer a shopper would read, with the signals behind it.

Evidence, strongest first (design.md §5): the profile's selectors; structured data (JSON-LD, microdata,
OpenGraph) of the main product; the buy box; the visible text of the product block. Visible text that says
out of stock beats structured data that says in stock; signals that cannot be reconciled give ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cached_property
from urllib.parse import parse_qsl, unquote, urlsplit

from lxml.html import HtmlElement
from parsel import Selector

from promowatch.config import OfferSelectors, SiteProfile
from promowatch.domain import Availability, Offer, Signal, SignalSource
from promowatch.extract.budget import (
    MAX_ELEMENTS,
    MAX_TEXT,
    PAGE_SECONDS,
    TOO_COMPLEX,
    PageTooComplex,
    page_budget,
    profile_search,
)
from promowatch.extract.buybox import BuyControl, buy_control_name, buy_controls, holds_buy_control
from promowatch.extract.listing import LISTING_CATEGORIES, Listing, ListingKind, current_bid, listing_of
from promowatch.extract.page import (
    is_skipped,
    is_visible_in,
    own_text,
    parse_html,
    visible_text,
)
from promowatch.extract.phrases import PhraseBook, PhraseHit, normalise_text, phrase_book
from promowatch.extract.prices import (
    COUNTRY_CURRENCY,
    DOLLAR_CURRENCIES,
    country_of_language,
    country_of_url,
    currency_code,
    parse_amount_in,
)
from promowatch.extract.structured import (
    StructuredOffer,
    StructuredProduct,
    jsonld_products,
    microdata_products,
    opengraph,
)
from promowatch.extract.visible_prices import (
    PriceNode,
    amount_leaf,
    holds_price,
    is_net_price,
    labelled_reference,
    price_beside_reference,
    price_node,
    price_nodes,
    reference_in_box,
    reference_near,
)
from promowatch.extract.vocabulary import item_availability

NEGATIVE = ("out_of_stock", "sold_out", "temporarily_unavailable", "discontinued")
_STATE_OF_CATEGORY = {
    "out_of_stock": Availability.OUT_OF_STOCK,
    "sold_out": Availability.OUT_OF_STOCK,
    "temporarily_unavailable": Availability.OUT_OF_STOCK,
    "discontinued": Availability.DISCONTINUED,
    "available_soon": Availability.OUT_OF_STOCK,
    "preorder": Availability.PREORDER,
    "backorder": Availability.BACKORDER,
    "limited": Availability.LIMITED,
    "in_stock": Availability.IN_STOCK,
}


_StructuredState = tuple[Availability, bool | None, SignalSource]


def _signal(name: str, source: SignalSource, raw: object, value: object) -> Signal:
    """What one source said: its raw text (at most 200 characters) and the value it maps to."""
    return Signal(name, source, str(raw)[:200], None if value is None else str(value))


# placeholders a shop shows until its JavaScript has filled the stock line in
_LOADING = re.compile(r"\b(chargement|loading|wird geladen|caricamento|cargando)\b", re.I)


def extract_offer(
    body: bytes,
    url: str,
    profile: SiteProfile | None = None,
    *,
    encoding: str | None = None,
    seconds: float = PAGE_SECONDS,
) -> Offer:
    """Read one product page. Unknown stays unknown: every value is backed by signals, or absent.

    A page that needs more than ``seconds`` of work, or holds more than ``MAX_ELEMENTS`` elements, is
    ``unknown`` with the reason "page too complex ...": a shop cannot stall a run with one page.
    """
    with page_budget(seconds):
        try:
            return _read_offer(body, url, profile, encoding)
        except PageTooComplex as error:
            reason = str(error)
            return Offer(
                url=url,
                availability=Availability.UNKNOWN,
                reason=reason,
                signals=(Signal("availability", SignalSource.TEXT, reason[:200], None),),
            )


def _read_offer(body: bytes, url: str, profile: SiteProfile | None, encoding: str | None) -> Offer:
    """Each source's collector reads its signals; the decision functions weigh them. Signals keep the order
    in which the sources are read."""
    root = parse_html(body, encoding)
    elements = sum(1 for _ in root.iter())
    if elements > MAX_ELEMENTS:
        raise PageTooComplex(f"{TOO_COMPLEX}: {elements} elements (at most {MAX_ELEMENTS} are read)")
    book = phrase_book(profile.phrases if profile else None)
    selectors = profile.offer if profile else OfferSelectors()
    og = opengraph(root)
    layout = _layout(root, selectors, book, og)
    data = _structured(root, url, layout.heading, og.get("og:title"))
    signals = [*layout.signals, *data.signals]

    text = _words(layout.block, layout.skipped)
    hits = [hit for hit in book.find(text) if _is_statement(text, hit) and not _shipping_limit(text, hit)]
    controls = _buy_box(layout, book, hits)
    listing, listing_text, found = _listing(layout, book, text, hits, controls)
    signals += found
    title, sku, gtin = _identity(root, selectors, data, og, layout.heading)

    country = (
        (profile.country if profile else None)
        or country_of_url(url)
        or country_of_language(root.get("lang") or og.get("og:locale"))
    )
    price, found = _profile_price(root, selectors, country)
    signals += found
    for collect in (_structured_price(data, og, country), _visible_price(layout, book, country)):
        price, found = collect(price)
        signals += found
    if listing.kind is ListingKind.AUCTION:
        price, found = _auction_price(price, listing_text, country)
        signals += found
    default_currency = (profile.currency if profile else None) or COUNTRY_CURRENCY.get(country or "")
    price, found = _currency(price, country, default_currency, body)
    signals += found
    regular, found = _reference_price(root, selectors, data, price, layout, book, country)
    signals += found

    profile_state, loading, found = _profile_availability(root, selectors, book)
    signals += found
    structured, found = _structured_state(data, og)
    signals += found
    signals += _stock_text_signals(text, hits)
    signals += [_signal("orderable", SignalSource.BUTTON, c.label, c.enabled) for c in controls]
    profile_button, found = _profile_buy_button(root, selectors)
    signals += found

    hits = [
        h
        for h in hits
        if not _about_other_price(text, h, {price.amount, regular}, country)
        and not _about_store_pickup(text, h)
        and not _about_delivery_date(text, h)
    ]
    availability, reason = _decide(profile_state, structured, hits, controls, profile_button, listing)
    if availability is Availability.OUT_OF_STOCK and layout.block is not layout.page:
        # "Discontinued" is often written in the description, below the product block: it refines out of
        # stock (never turns a buyable page unavailable).
        ended = _discontinued(layout.page_text, book)
        if ended is not None:
            signals.append(
                _signal("availability", SignalSource.TEXT, _snippet(layout.page_text, ended), ended.category)
            )
            availability = Availability.DISCONTINUED
    # "we do not ship, pick up at our shop" still keeps a disabled button from counting as awaiting a
    # choice above, but an order collected in the shop is an order
    order_hits = [h for h in hits if not _ordered_for_pickup(text, h)]
    if availability.buyable and profile_state is None and not {"in_stock", "limited"} & categories_of(hits):
        refused, refused_text = _refusal(order_hits, text, layout, book, body)
        if refused is not None:
            # The buy box and the structured data speak of online stock, which the page's words deny.
            signals.append(
                _signal("orderable", SignalSource.TEXT, _snippet(refused_text, refused), refused.category)
            )
            order_hits.append(refused)
            availability = Availability.UNKNOWN
            reason = f"the page says '{refused.matched}' but shows a buy box or in-stock data"
    orderable = _orderable(availability, structured, order_hits, controls, profile_button, listing)
    amount = price.amount
    if (
        availability.unavailable
        and negatives_in({h.category for h in hits})
        and price.node is None
        and price.source in (SignalSource.JSONLD, SignalSource.MICRODATA, SignalSource.OPENGRAPH)
    ):
        # A page that says the item cannot be had and shows no price: its data keeps the last price, the
        # shopper reads none, so none is reported (the signal keeps the structured amount).
        signals.append(
            _signal(
                "price", SignalSource.TEXT, f"{amount} is not shown on a page that cannot be bought", None
            )
        )
        amount, regular = None, None
    if loading and availability is Availability.UNKNOWN:
        # the stock line is a placeholder that JavaScript fills in: the buy box is not there yet either
        orderable = None
        reason = "the stock line is still loading (filled in by JavaScript): a browser is needed to read it"
    delivery, found = _delivery(root, selectors, text, hits)
    signals += found
    return Offer(
        url=url,
        title=title,
        sku=sku,
        gtin=gtin,
        price=amount,
        currency=price.currency if amount is not None else None,
        regular_price=regular,
        availability=availability,
        orderable=orderable,
        delivery=delivery,
        reason=reason,
        signals=tuple(signals),
    )


# ---------------------------------------------------------------- where the product is


@dataclass(frozen=True)
class _Layout:
    """Where the product is on the page: the page's body, the product block, what is never read, the heading."""

    page: HtmlElement
    block: HtmlElement
    skipped: Callable[[HtmlElement], bool]
    visible: Callable[[HtmlElement], bool]  # shown inside the product block (not in a skipped element)
    heading: str | None
    signals: tuple[Signal, ...]
    excluded: tuple[HtmlElement, ...]  # kept alive while the page is read: ``skipped`` knows them by id

    @cached_property
    def page_text(self) -> str:
        """The whole page's visible words, read only when the product block does not settle a question."""
        return _words(self.page, self.skipped)


def _shown_in(block: HtmlElement, skipped: Callable[[HtmlElement], bool]) -> Callable[[HtmlElement], bool]:
    """Whether an element is shown inside ``block``: no skipped element on the way up to it."""

    def visible(element: HtmlElement) -> bool:
        node: HtmlElement | None = element
        while node is not None and node is not block:
            if skipped(node):
                return False
            node = node.getparent()
        return node is block

    return visible


def _layout(root: HtmlElement, selectors: OfferSelectors, book: PhraseBook, og: dict[str, str]) -> _Layout:
    """The product block (the profile's, else the heading's ancestor holding the buy box) and the heading."""
    signals = []
    body_element = root.find("body")
    page = body_element if body_element is not None else root
    block = page
    if selectors.product_block:
        matches = _select_all(root, selectors.product_block)
        if matches:
            block = matches[0]
            signals.append(_signal("product_block", SignalSource.PROFILE, selectors.product_block, "found"))
        else:
            signals.append(_signal("product_block", SignalSource.PROFILE, selectors.product_block, None))
    excluded = tuple(e for selector in selectors.exclude for e in _select_all(block, selector))
    excluded_ids = {id(e) for e in excluded}
    # every source asks about the same elements again and again: judge each once per page (the dict also
    # keeps the element proxies alive, so their ids stay unique while it lives)
    skip_memo: dict[HtmlElement, bool] = {}

    def skipped(element: HtmlElement) -> bool:
        known = skip_memo.get(element)
        if known is None:
            known = skip_memo[element] = id(element) in excluded_ids or is_skipped(element)
        return known

    visible = _shown_in(block, skipped)
    titles = [t for t in (og.get("og:title"), root.findtext(".//title")) if t]
    heading_element = _main_heading(block, visible, titles)
    heading = own_text(heading_element) if heading_element is not None else None
    if not selectors.product_block:
        found_block, how = _product_block(block, heading_element, book, visible)
        if found_block is not block:
            block = found_block
            signals.append(
                _signal(
                    "product_block", SignalSource.TEXT, f"<{block.tag} class={block.get('class')!r}>", how
                )
            )
    return _Layout(page, block, skipped, _shown_in(block, skipped), heading, tuple(signals), excluded)


# ---------------------------------------------------------------- collectors: what each source says


@dataclass(frozen=True)
class _Structured:
    """The main product in JSON-LD and in microdata, its offer for the page's variant, and all its offers."""

    product_ld: StructuredProduct | None
    product_md: StructuredProduct | None
    offer_ld: StructuredOffer | None
    offers_ld: list[StructuredOffer]
    offer_md: StructuredOffer | None
    offers_md: list[StructuredOffer]
    signals: tuple[Signal, ...]

    @property
    def offers(self) -> tuple[tuple[SignalSource, StructuredOffer | None], ...]:
        """The chosen offer of each syntax, strongest first."""
        return (SignalSource.JSONLD, self.offer_ld), (SignalSource.MICRODATA, self.offer_md)


def _structured(root: HtmlElement, url: str, heading: str | None, og_title: str | None) -> _Structured:
    """JSON-LD and microdata: the product the page is about and the offer of the page's variant."""
    jsonld = jsonld_products(root)
    micro = microdata_products(root)
    main_ld, why_ld = _main_product(jsonld, url, heading, og_title)
    main_md, why_md = _main_product(micro, url, heading, og_title)
    signals = []
    if main_ld is not None:
        signals.append(_signal("product", SignalSource.JSONLD, main_ld.name or main_ld.sku or "", why_ld))
    if main_md is not None and main_ld is None:
        signals.append(_signal("product", SignalSource.MICRODATA, main_md.name or main_md.sku or "", why_md))
    offer_ld, offers_ld, why_offer = _main_offer(main_ld, url)
    if offer_ld is not None and why_offer:
        signals.append(
            _signal("offer", SignalSource.JSONLD, offer_ld.sku or offer_ld.price_raw or "", why_offer)
        )
    offer_md, offers_md, _ = _main_offer(main_md, url)
    return _Structured(main_ld, main_md, offer_ld, offers_ld, offer_md, offers_md, tuple(signals))


def _buy_box(layout: _Layout, book: PhraseBook, hits: list[PhraseHit]) -> list[BuyControl]:
    """The add-to-cart controls of the product block, else the page's only one."""
    controls = buy_controls(layout.block, book, layout.visible)
    page = layout.page
    if not controls and layout.block is not page and not any(h.category in NEGATIVE for h in hits):
        # One add-to-cart on the whole page is the main product's, wherever the layout puts it; not when the
        # product block says it cannot be had (the lone button is then a sticky bar's or a bundle's).
        page_controls = buy_controls(page, book, lambda e: is_visible_in(e, page))
        if 0 < len({c.label for c in page_controls}) == 1 and len(page_controls) <= 2:
            controls = page_controls[:1]
    return controls


def _listing(
    layout: _Layout, book: PhraseBook, text: str, hits: list[PhraseHit], controls: list[BuyControl]
) -> tuple[Listing, str, list[Signal]]:
    """How the item is bought (shop, auction, classified...) and the text that said so: bidding, seller
    contact and "see prices" may sit outside the product block."""
    listing = listing_of(hits)
    read = text
    if (
        listing.kind is ListingKind.SHOP
        and layout.block is not layout.page
        and not any(c.enabled for c in controls)
    ):
        # An enabled add-to-cart already settles how it is bought; otherwise read the rest of the page too.
        read = layout.page_text
        listing = listing_of(book.find(read, LISTING_CATEGORIES))
    if listing.kind is ListingKind.SHOP:
        return listing, read, []
    return listing, read, [_signal("listing", SignalSource.TEXT, listing.evidence, listing.kind)]


def _identity(
    root: HtmlElement, selectors: OfferSelectors, data: _Structured, og: dict[str, str], heading: str | None
) -> tuple[str | None, str | None, str | None]:
    """Title, SKU and GTIN: the profile's, else structured data's, else the page's own."""
    main_ld, main_md, offer_ld = data.product_ld, data.product_md, data.offer_ld
    title = _first(
        _select_text(root, selectors.title) if selectors.title else None,
        main_ld.name if main_ld else None,
        main_md.name if main_md else None,
        og.get("og:title"),
        heading,
    )
    sku = _first(
        _select_text(root, selectors.sku) if selectors.sku else None,
        offer_ld.sku if offer_ld else None,
        main_ld.sku if main_ld else None,
        main_md.sku if main_md else None,
        og.get("product:retailer_item_id"),
    )
    gtin = _first(
        _select_text(root, selectors.gtin) if selectors.gtin else None,
        offer_ld.gtin if offer_ld else None,
        main_ld.gtin if main_ld else None,
        main_md.gtin if main_md else None,
    )
    return title, sku, gtin


@dataclass(frozen=True)
class _Price:
    """The price as read so far: amount, currency, the source it came from, the visible nodes."""

    amount: Decimal | None = None
    currency: str | None = None
    source: SignalSource | None = None
    node: PriceNode | None = None  # the visible node that shows it
    nodes: list[PriceNode] = field(default_factory=list)  # the price nodes of the product block (or page)


_PriceCollector = Callable[[_Price], tuple[_Price, list[Signal]]]


def _profile_price(
    root: HtmlElement, selectors: OfferSelectors, country: str | None
) -> tuple[_Price, list[Signal]]:
    """The price and currency the profile's selectors point at."""
    price, signals = _Price(), []
    if selectors.price:
        raw = _select_text(root, selectors.price)
        if raw:
            amount, currency = parse_amount_in(raw, None, country)
            signals.append(_signal("price", SignalSource.PROFILE, raw, amount))
            price = _Price(amount, currency, SignalSource.PROFILE)
    if selectors.currency:
        raw_currency = _select_text(root, selectors.currency)
        if raw_currency:
            currency = currency_code(raw_currency, country) or price.currency
            signals.append(_signal("currency", SignalSource.PROFILE, raw_currency, currency))
            price = replace(price, currency=currency)
    return price, signals


def _structured_price(data: _Structured, og: dict[str, str], country: str | None) -> _PriceCollector:
    """The price JSON-LD, microdata and OpenGraph state, when no stronger source gave one."""

    def collect(price: _Price) -> tuple[_Price, list[Signal]]:
        signals = []
        for source, offer in data.offers:
            if offer is None or offer.price_raw is None:
                continue
            if offer.price is None or offer.price <= 0:
                signals.append(
                    _signal("price", source, offer.price_raw, None)
                )  # "0" placeholders say nothing
                continue
            signals.append(_signal("price", source, offer.price_raw, offer.price))
            if price.amount is None:
                # "$52.00" as the price itself: the symbol is the currency when no code is given
                currency = (
                    price.currency
                    or currency_code(offer.currency, country)
                    or parse_amount_in(offer.price_raw, None, country)[1]
                )
                price = replace(price, amount=offer.price, source=source, currency=currency)
        og_price = og.get("product:price:amount") or og.get("og:price:amount")
        if og_price:
            og_amount, _ = parse_amount_in(og_price, None, country)
            signals.append(_signal("price", SignalSource.OPENGRAPH, og_price, og_amount))
            if price.amount is None and og_amount:
                currency = price.currency or currency_code(
                    og.get("product:price:currency") or og.get("og:price:currency"), country
                )
                price = replace(price, amount=og_amount, source=SignalSource.OPENGRAPH, currency=currency)
        return price, signals

    return collect


def _visible_price(layout: _Layout, book: PhraseBook, country: str | None) -> _PriceCollector:
    """The price boxes a shopper sees: the node showing the price read so far, else the page's own price."""

    def collect(price: _Price) -> tuple[_Price, list[Signal]]:
        block, page, amount, source = layout.block, layout.page, price.amount, price.source
        signals = []
        nodes = price_nodes(block, book, layout.visible, country)
        main_node = _visible_main_price(nodes, amount)
        if main_node is None and amount is None and block is not page:
            # The block found from the heading may hold only the title; the first current price on the page
            # (chrome and other products' sections skipped) is then the best visible reading.
            nodes = price_nodes(page, book, lambda e: is_visible_in(e, page), country)
            main_node = _visible_main_price(nodes, amount)
        if main_node is None and amount is None:
            # Only the struck price has markup; the price paid is words beside it
            reference = next((n for n in nodes if n.kind == "reference"), None)
            main_node = price_beside_reference(reference, book, country) if reference is not None else None
        if main_node is None and amount is not None:
            main_node = amount_leaf(block, amount, layout.visible, country)
        if main_node is None and amount is not None and source is not SignalSource.PROFILE:
            # The structured price is printed nowhere in the product block, which shows another one: the
            # visible page wins (structured data of configurable products often states a variant's price).
            shown = _visible_main_price(nodes, None)
            if shown is not None and block is not page:
                signals.append(
                    _signal(
                        "price",
                        SignalSource.TEXT,
                        f"{amount} is not shown; the page shows {shown.raw}",
                        shown.amount,
                    )
                )
                amount, source, main_node = shown.amount, SignalSource.TEXT, shown
        currency = price.currency
        if main_node is not None:
            signals.append(_signal("price", SignalSource.TEXT, main_node.raw, main_node.amount))
            if amount is None:
                amount, source = main_node.amount, SignalSource.TEXT
            currency = currency or main_node.currency
        return _Price(amount, currency, source, main_node, nodes), signals

    return collect


def _auction_price(price: _Price, text: str, country: str | None) -> tuple[_Price, list[Signal]]:
    """An auction lot's price is the bid so far: its structured data states the starting price."""
    if price.source is SignalSource.PROFILE:
        return price, []
    bid = current_bid(text, country)
    if bid is None:
        return price, []
    currency = price.currency or bid[1]
    return replace(price, amount=bid[0], source=SignalSource.TEXT, currency=currency), [
        _signal("price", SignalSource.TEXT, bid[2], bid[0])
    ]


def _currency(
    price: _Price, country: str | None, default_currency: str | None, body: bytes
) -> tuple[_Price, list[Signal]]:
    """The price's currency: as read, else a visible node's, else the country's."""
    if price.amount is None:
        return price, []
    currency = (
        price.currency or next((n.currency for n in price.nodes if n.currency), None) or default_currency
    )
    if currency == "USD" and country is None and price.node is not None and _bare_dollar(price.node.raw):
        # "$5.000" on a generic domain: the currency the page's own data declares tells which dollar or peso
        declared = _declared_currencies(body)
        if len(declared) == 1 and next(iter(declared)) in DOLLAR_CURRENCIES:
            currency = next(iter(declared))
    price = replace(price, currency=currency)
    if not currency:
        return price, []
    return price, [_signal("currency", price.source or SignalSource.TEXT, currency, currency)]


def _reference_price(
    root: HtmlElement,
    selectors: OfferSelectors,
    data: _Structured,
    price: _Price,
    layout: _Layout,
    book: PhraseBook,
    country: str | None,
) -> tuple[Decimal | None, list[Signal]]:
    """The "instead of" price: the profile's, structured data's, or a struck price beside the price."""
    regular, signals, amount, node = None, [], price.amount, price.node
    if selectors.regular_price:
        raw = _select_text(root, selectors.regular_price)
        if raw:
            regular, _ = parse_amount_in(raw, None, country)
            signals.append(_signal("regular_price", SignalSource.PROFILE, raw, regular))
    for source, offer in data.offers:
        if regular is None and offer is not None and offer.reference and offer.reference > 0:
            signals.append(_signal("regular_price", source, offer.reference_raw, offer.reference))
            regular = offer.reference
    if regular is None and node is not None and amount is not None:
        near = reference_near(node, price.nodes, amount, book)
        if near is not None:
            signals.append(_signal("regular_price", SignalSource.TEXT, near.raw, near.amount))
            regular = near.amount
    if regular is None and node is not None and amount is not None and node.amount == amount:
        boxed = reference_in_box(node, amount, book, layout.visible, country)
        if boxed is not None:
            signals.append(_signal("regular_price", SignalSource.TEXT, boxed.raw, boxed.amount))
            regular = boxed.amount
    if regular is not None and amount is not None and regular <= amount:
        signals.append(
            _signal("regular_price", SignalSource.TEXT, f"{regular} not above price {amount}", None)
        )
        regular = None
    return regular, signals


def _profile_availability(
    root: HtmlElement, selectors: OfferSelectors, book: PhraseBook
) -> tuple[Availability | None, bool, list[Signal]]:
    """The state the profile's stock line says, and whether that line is still a loading placeholder."""
    if not selectors.availability:
        return None, False, []
    raw = _select_text(root, selectors.availability)
    if not raw:
        return None, False, []
    state = _profile_state(raw, selectors.availability_map, book)
    return state, bool(_LOADING.search(raw)), [_signal("availability", SignalSource.PROFILE, raw, state)]


def _stock_text_signals(text: str, hits: list[PhraseHit]) -> list[Signal]:
    """The stock and delivery lines of the product block's visible text."""
    return [
        _signal(_field_of(hit.category), SignalSource.TEXT, _snippet(text, hit), hit.category)
        for hit in hits
        if hit.category in _STATE_OF_CATEGORY or hit.category in ("store_only", "not_deliverable", "notify")
    ]


def _profile_buy_button(root: HtmlElement, selectors: OfferSelectors) -> tuple[bool | None, list[Signal]]:
    """Whether the profile's add-to-cart control is there and enabled (None without such a selector)."""
    if not selectors.buy_button:
        return None, []
    buttons = _select_all(root, selectors.buy_button)
    if not buttons:
        return False, [_signal("orderable", SignalSource.PROFILE, f"no {selectors.buy_button}", False)]
    state = buttons[0].get("disabled") is None and buttons[0].get("aria-disabled") != "true"
    return state, [_signal("orderable", SignalSource.PROFILE, own_text(buttons[0])[:80], state)]


def _discontinued(page_text: str, book: PhraseBook) -> PhraseHit | None:
    """A statement anywhere on the page that the product is discontinued (not a cart or wishlist message)."""
    return next(
        (
            h
            for h in book.find(page_text, ("discontinued",))
            if _is_statement(page_text, h)
            and (
                not _GENERIC_UNAVAILABLE.search(h.phrase)
                or _NAMES_ITEM.search(page_text, max(0, h.start - 30), h.start)
            )
        ),
        None,
    )


def _refusal(
    order_hits: list[PhraseHit], text: str, layout: _Layout, book: PhraseBook, body: bytes
) -> tuple[PhraseHit | None, str]:
    """A statement that this item cannot be ordered online, and the text that holds it."""
    refused = next((h for h in order_hits if h.category == "not_deliverable"), None)
    if refused is None and layout.block is not layout.page and _MAY_REFUSE.search(body):
        # "This item cannot be purchased online" is often written in the description, below the block
        return _refused_online(layout.page_text, book), layout.page_text
    return refused, text


def _delivery(
    root: HtmlElement, selectors: OfferSelectors, text: str, hits: list[PhraseHit]
) -> tuple[str | None, list[Signal]]:
    """The delivery line: the profile's, else the product block's delivery phrase."""
    if selectors.delivery:
        delivery = _select_text(root, selectors.delivery)
        if delivery:
            return delivery, [_signal("delivery", SignalSource.PROFILE, delivery, delivery)]
    delivery_hit = next((h for h in hits if h.category == "delivery"), None)
    if delivery_hit is None:
        return None, []
    delivery = _snippet(text, delivery_hit, before=0)
    return delivery, [_signal("delivery", SignalSource.TEXT, delivery, delivery)]


# ---------------------------------------------------------------- main product and offer


def _main_heading(
    block: HtmlElement, visible: Callable[[HtmlElement], bool], titles: list[str]
) -> HtmlElement | None:
    """The product's title: the first visible h1 that is not a link's (a product tile's title is one).

    Without one, an h2 whose text the document title repeats (shops that give h1 to their carousels).
    """
    for heading in block.iter("h1"):
        if visible(heading) and own_text(heading) and next(heading.iterancestors("a"), None) is None:
            return heading
    names = [normalise_text(t) for t in titles]
    for heading in block.iter("h2"):
        text = normalise_text(own_text(heading))
        if len(text) > 3 and any(text in name for name in names) and visible(heading):
            return heading
    return None


def _product_block(
    page: HtmlElement, heading: HtmlElement | None, book: PhraseBook, visible: Callable[[HtmlElement], bool]
) -> tuple[HtmlElement, str]:
    """The main product's container: the smallest ancestor of the heading that also holds the buy box.

    Stock words of related products, footers and shipping policies then fall outside. Without a heading
    or a buy box near it, the whole page is the block (with chrome and other sections skipped).
    """
    if heading is None:
        return page, "page"
    # each level up asks again about the elements of the level below: judge each element once
    controls: dict[HtmlElement, bool] = {}
    prices: dict[HtmlElement, bool] = {}

    def is_control(element: HtmlElement) -> bool:
        if element not in controls:
            controls[element] = buy_control_name(element, book, visible) is not None
        return controls[element]

    def is_price(element: HtmlElement) -> bool:
        if element not in prices:
            prices[element] = price_node(element, book, visible, None) is not None
        return prices[element]

    node = heading.getparent()
    while node is not None and node is not page:
        if holds_buy_control(node, is_control):
            return node, "ancestor of the heading holding the buy box"
        if holds_price(node, is_price):
            # The buy box may sit a few levels up, beside the title-and-price column.
            upper = node.getparent()
            for _ in range(3):
                if upper is None or upper is page:
                    break
                if holds_buy_control(upper, is_control):
                    return upper, "ancestor of the heading holding the price and the buy box"
                upper = upper.getparent()
            # Out-of-stock pages often have no buy box; take one level more for the stock line.
            parent = node.getparent()
            return (parent if parent is not None else node), "ancestor of the heading holding the price"
        node = node.getparent()
    return page, "page"


def _url_key(value: str | None) -> str:
    if not value:
        return ""
    parts = urlsplit(value)
    return unquote(parts.path).rstrip("/").lower()


def _main_product(
    products: list[StructuredProduct], url: str, heading: str | None, og_title: str | None
) -> tuple[StructuredProduct | None, str]:
    """The product the page is about, and why: URL, SKU in the URL, name as the heading, position."""
    if not products:
        return None, ""
    page_path = _url_key(url)
    page_url = unquote(url).lower()
    names = [normalise_text(n) for n in (heading, og_title) if n]
    best: tuple[int, int] | None = None
    chosen, why = products[0], ""
    for product in products:
        score, reasons = 0, []
        if page_path and any(_url_key(u) == page_path for u in (product.url, *product.ids) if u):
            score += 8
            reasons.append("URL")
        for key in (product.sku, product.gtin):
            if key and len(key) >= 4 and key.lower() in page_url:
                score += 4
                reasons.append("SKU in URL")
                break
        if product.name and names:
            name = normalise_text(product.name)
            if any(name == n for n in names):
                score += 5
                reasons.append("name = heading")
            elif any(name in n or (len(n) > 8 and n in name) for n in names):
                score += 3
                reasons.append("name ~ heading")
        if product.offers:
            score += 1
        if product.related:
            score -= 6
        rank = (score, -product.position)
        if best is None or rank > best:
            best, chosen = rank, product
            why = ", ".join(reasons) or ("page position" if not product.related else "only product")
    others = len(products) - 1
    return chosen, f"main product of {others + 1} by {why}" if others else f"only product ({why})"


def _main_offer(
    product: StructuredProduct | None, url: str
) -> tuple[StructuredOffer | None, list[StructuredOffer], str]:
    """The offer for the page's variant: the one the URL names, else the product's SKU, else the lowest."""
    if product is None or not product.offers:
        return None, [], ""
    offers = product.offers
    if len(offers) == 1:
        return offers[0], offers, ""
    query = {v.lower() for _, v in parse_qsl(urlsplit(url).query) if v}
    fragment = urlsplit(url).fragment.lower()
    for offer in offers:
        keys = {k.lower() for k in (offer.sku, offer.gtin) if k}
        if keys & query or any(k and k in fragment for k in keys):
            return (
                offer,
                offers,
                f"offer {offer.sku or offer.gtin} of {len(offers)}: variant named in the URL",
            )
        if offer.url and urlsplit(offer.url).query and unquote(offer.url).lower() == unquote(url).lower():
            return offer, offers, f"offer of {len(offers)}: its URL is the page URL"
    if product.sku:
        same = [o for o in offers if o.sku and o.sku.lower() == product.sku.lower() and not o.aggregate]
        if len(same) == 1:
            return same[0], offers, f"offer {product.sku} of {len(offers)}: the product's own SKU"
    priced = [o for o in offers if o.price is not None and o.price > 0]
    if not priced:
        return offers[0], offers, f"first of {len(offers)} offers: none has a price"
    if len({o.price for o in priced}) == 1:
        return priced[0], offers, f"{len(offers)} offers at one price"
    buyable = [o for o in priced if _offer_state(o)[0] in (Availability.IN_STOCK, Availability.LIMITED)]
    pool = buyable or priced
    lowest = min(pool, key=lambda o: o.price or Decimal(0))
    return lowest, offers, f"lowest price of {len(offers)} offers" + (" in stock" if buyable else "")


def _offer_state(offer: StructuredOffer) -> tuple[Availability, bool | None]:
    if not offer.availability:
        return Availability.UNKNOWN, None
    return item_availability(offer.availability) or (Availability.UNKNOWN, None)


def _structured_state(data: _Structured, og: dict[str, str]) -> tuple[_StructuredState | None, list[Signal]]:
    """The availability structured data states for the main product (strongest syntax first)."""
    results: list[_StructuredState] = []
    signals = []
    for source, offers, chosen in (
        (SignalSource.JSONLD, data.offers_ld, data.offer_ld),
        (SignalSource.MICRODATA, data.offers_md, data.offer_md),
    ):
        states = [(o, _offer_state(o)) for o in offers if o.availability]
        if not states:
            continue
        for offer, (state, _) in states[:6]:
            signals.append(_signal("availability", source, offer.availability, state))
        picked = next((s for o, s in states if o is chosen), None)
        if picked is None or picked[0] is Availability.UNKNOWN:
            buyable = [s for _, s in states if s[0].buyable]
            picked = buyable[0] if buyable else states[0][1]
        elif len(states) > 1 and not picked[0].buyable:
            # A variant not named by the URL: if any other variant can be bought, the page can be.
            buyable = [s for o, s in states if s[0].buyable]
            if buyable and chosen is not None and not chosen.sku:
                picked = buyable[0]
        if picked[0] is not Availability.UNKNOWN:
            results.append((picked[0], picked[1], source))
    og_value = og.get("product:availability") or og.get("og:availability")
    if og_value:
        mapped = item_availability(og_value)
        signals.append(
            _signal("availability", SignalSource.OPENGRAPH, og_value, mapped[0] if mapped else None)
        )
        if mapped and mapped[0] is not Availability.UNKNOWN:
            results.append((mapped[0], mapped[1], SignalSource.OPENGRAPH))
    ordered_later = [r for r in results if r[0] in (Availability.BACKORDER, Availability.PREORDER)]
    if ordered_later and not any(r[0].buyable and r not in ordered_later for r in results):
        # OutOfStock in one syntax, BackOrder in another: not on the shelf, yet it can be ordered.
        return ordered_later[0], signals
    return (results[0] if results else None), signals


# ---------------------------------------------------------------- deciding


def _decide(
    profile_state: Availability | None,
    structured: tuple[Availability, bool | None, SignalSource] | None,
    hits: list[PhraseHit],
    controls: list[BuyControl],
    profile_button: bool | None,
    listing: Listing,
) -> tuple[Availability, str | None]:
    if profile_state is not None and profile_state is not Availability.UNKNOWN:
        return profile_state, None
    if listing.kind is ListingKind.DIGITAL:
        return (
            Availability.UNKNOWN,
            f"a digital download ('{listing.evidence}'), not a shop's stock of the item",
        )
    if listing.kind is ListingKind.AUCTION_ENDED and not any(c.enabled for c in controls):
        return Availability.OUT_OF_STOCK, None
    categories = [h.category for h in hits]
    negatives = [c for c in categories if c in NEGATIVE]
    positives = [c for c in categories if c in ("in_stock", "limited")]
    enabled = profile_button if profile_button is not None else any(c.enabled for c in controls)
    disabled = profile_button is False or (bool(controls) and not enabled)
    awaiting = any(c.awaiting_choice for c in controls) and "not_deliverable" not in categories
    if not negatives and disabled and profile_button is None and awaiting:
        # Disabled only until a size or colour is chosen: the shopper sees an add-to-cart to use.
        enabled, disabled = True, False
    if listing.kind in (ListingKind.AUCTION, ListingKind.CLASSIFIED) and not negatives and not enabled:
        return Availability.IN_STOCK, None  # the item is there; bidding or contacting the seller gets it
    if negatives:
        if enabled or positives:
            said = "an enabled add-to-cart" if enabled else f"'{positives[0].replace('_', ' ')}'"
            return Availability.UNKNOWN, (
                f"conflicting visible signals: text says '{negatives[0].replace('_', ' ')}' and page shows {said}"
            )
        if "discontinued" in negatives:
            return Availability.DISCONTINUED, None
        return Availability.OUT_OF_STOCK, None
    for category in ("preorder", "backorder"):
        if category in categories:
            return _STATE_OF_CATEGORY[category], None
    if structured is not None and structured[0] in (Availability.PREORDER, Availability.BACKORDER):
        return structured[0], None
    if "limited" in categories:
        return Availability.LIMITED, None
    if "store_only" in categories and "not_deliverable" not in categories:
        return Availability.IN_STOCK, None  # in stock in stores; _orderable says it cannot be ordered
    if "in_stock" in categories:
        return Availability.IN_STOCK, None
    if enabled and any(_PREORDER_LABEL.search(c.label) for c in controls if c.enabled):
        return Availability.PREORDER, None
    if enabled:
        if structured is not None and structured[0] is Availability.LIMITED:
            return Availability.LIMITED, None
        return Availability.IN_STOCK, None
    if structured is not None:
        if disabled and structured[0].buyable:
            return Availability.UNKNOWN, (
                f"{structured[2]} says {structured[0]} but the add-to-cart control is disabled"
            )
        return structured[0], None
    if "available_soon" in categories:
        return Availability.OUT_OF_STOCK, None
    if disabled and any(c.sold_out_beside for c in controls):
        return Availability.UNKNOWN, (
            "the add-to-cart control is disabled beside a hidden sold-out message: the shop's script decides"
        )
    if disabled:
        return Availability.UNKNOWN, "the add-to-cart control is disabled and nothing states the stock"
    return Availability.UNKNOWN, "no availability signal on the page"


def _orderable(
    availability: Availability,
    structured: tuple[Availability, bool | None, SignalSource] | None,
    hits: list[PhraseHit],
    controls: list[BuyControl],
    profile_button: bool | None,
    listing: Listing,
) -> bool | None:
    categories = {h.category for h in hits}
    if profile_button is not None:
        return profile_button and not availability.unavailable
    if listing.kind is ListingKind.DIGITAL:
        return None
    if listing.kind is not ListingKind.SHOP and not any(c.enabled for c in controls):
        return False  # bought by bidding, by contacting the seller, or in another shop

    if "store_only" in categories or "not_deliverable" in categories:
        return False
    if structured is not None and structured[1] is False and structured[0] is Availability.IN_STOCK:
        return False  # InStoreOnly
    if availability.unavailable:
        return False
    if controls:
        if not any(c.enabled for c in controls):
            if not negatives_in(categories) and any(c.awaiting_choice for c in controls):
                return None if availability is Availability.UNKNOWN else True
            if not negatives_in(categories) and any(c.sold_out_beside for c in controls):
                return None  # both states of the buy box are in the markup; the static page shows neither
            return False
        # An enabled button on a page whose stock cannot be told is not proof it can be ordered.
        return None if availability is Availability.UNKNOWN else True
    if availability is Availability.UNKNOWN:
        return None
    return True


# ---------------------------------------------------------------- small helpers


def _profile_state(raw: str, mapping: dict[str, Availability] | object, book: PhraseBook) -> Availability:
    if isinstance(mapping, dict):
        for pattern, state in mapping.items():
            if profile_search(pattern, raw):
                return Availability(state)
    mapped = item_availability(raw)
    if mapped is not None:
        return mapped[0]
    for hit in book.find(normalise_text(raw)):
        if hit.category in _STATE_OF_CATEGORY:
            return _STATE_OF_CATEGORY[hit.category]
    return Availability.UNKNOWN


def _visible_main_price(nodes: list[PriceNode], price: Decimal | None) -> PriceNode | None:
    """The visible node showing the price: the one equal to the structured price, else the first current one."""
    current = [n for n in nodes if n.kind == "current"]
    gross = [n for n in current if not is_net_price(n)]
    current = gross or current  # the consumer pays the gross price; a net one alone is still the price
    if price is not None:
        for node in nodes:
            if node.amount == price and node.kind != "reference":
                return node
        return None
    if len(current) >= 2:
        # "$64.95 Now $52.00": a higher bare amount just before a "now" price is the one it replaces
        position = nodes.index(current[0])
        following = nodes[position + 1] if position + 1 < len(nodes) else None
        if following is not None and following.kind == "current" and labelled_reference(following, nodes):
            return following
    return current[0] if current else None


_AMOUNT_NEAR = re.compile(
    r"(?:[$€£₹¥]|chf|eur|usd|gbp)\s?\d[\d,.'’]*(?:[.,]\s?[–-]{1,2})?|\d[\d,.'’]*\s?(?:[€£₹]|chf|eur)"
)


def _about_other_price(text: str, hit: PhraseHit, own: set[Decimal | None], country: str | None) -> bool:
    """A stock phrase printed next to other amounts than this product's belongs to another offer."""
    if own == {None} or hit.category not in NEGATIVE:
        return False
    window = text[max(0, hit.start - 30) : hit.end + 25]
    amounts = {parse_amount_in(m, None, country)[0] for m in _AMOUNT_NEAR.findall(window)} - {None}
    return bool(amounts) and not amounts & own


# Pickup and store-stock lines: "unavailable to pick up at nearby stores" says nothing of online stock.
_STORE_SCOPE = re.compile(
    r"pick ?up|pickup|nearby stores?|in (?:a |your )?stores?\b|store availability|at (?:a |your )?store|"
    r"click (?:&|and) collect|abholung|abholen|in der filiale|retrait|en magasin|en tienda|recogida|"
    r"ritiro|in negozio|odbiór|w sklepie"
)


# "Sorry, this item is currently unavailable. Available as early as: Tue, Jul 25": the chosen delivery date
# is taken, the item is not (flowers, meal kits, rentals).
_NEXT_DATE = re.compile(
    r"[\s|.!]*(?:available as early as|next available (?:delivery|date)|earliest delivery)"
)


def _about_delivery_date(text: str, hit: PhraseHit) -> bool:
    """An unavailability phrase followed by the next date it can be delivered speaks of a date, not stock."""
    start = _sentence_end(text, hit.end)
    return hit.category in NEGATIVE and bool(_NEXT_DATE.match(text, start, start + 80))


def _sentence_end(text: str, position: int) -> int:
    end = text.find(".", position, position + 40)
    return end + 1 if end >= 0 else position


# "No longer available" outside the product block is as often a cart or wishlist message as a statement;
# "this product is no longer available" names the page's own product.
_GENERIC_UNAVAILABLE = re.compile(r"avail|verfüg|dispon|dostęp")
_NAMES_ITEM = re.compile(r"(?:this|the) (?:product|item|article) (?:is|has been) $")


def _about_store_pickup(text: str, hit: PhraseHit) -> bool:
    """A stock phrase whose line speaks of store pickup or store stock, not of ordering online."""
    if hit.category not in NEGATIVE:
        return False
    segment = _segment(text, hit)
    return bool(_STORE_SCOPE.search(segment) or _STORE_SCOPE.search(_label_above(text, hit)))


_LABEL_LENGTH = 40


def _label_above(text: str, hit: PhraseHit) -> str:
    """The short line just above a hit's line: the label of a fulfilment card ("Store pickup" over "Currently
    unavailable", "Abholung im Markt" over "Zurzeit nicht verfügbar")."""
    start = _segment_bounds(text, hit)[0]
    above = [part.strip() for part in text[max(0, start - 3 * _LABEL_LENGTH) : start].split("|")]
    label = next((part for part in reversed(above) if part), "")
    return label if len(label) <= _LABEL_LENGTH else ""


# "this item cannot be purchased online": a refusal that names the page's own item, even inside a paragraph
_THIS_ITEM = re.compile(r"(?:this|the) (?:product|item|article)(?: is)? $")


# bytes test before the page's text is built for _refused_online (most pages say no such thing)
_MAY_REFUSE = re.compile(
    rb"(?:[Tt]his|[Tt]he) (?:product|item|article)(?: is)? (?:not|cannot|can ?not|unavail)[^<>]{0,30}"
    rb"(?:online|deliver)"
)


def _refused_online(page_text: str, book: PhraseBook) -> PhraseHit | None:
    """A sentence anywhere on the page saying this very item cannot be bought online."""
    for hit in book.find(page_text, ("not_deliverable",)):
        if (
            _THIS_ITEM.search(page_text, max(0, hit.start - 30), hit.start)
            and not _ordered_for_pickup(page_text, hit)
            and not _shipping_limit(page_text, hit)
        ):
            return hit
    return None


def categories_of(hits: list[PhraseHit]) -> set[str]:
    """The phrase categories among the hits."""
    return {h.category for h in hits}


_SHIPPING_WORDS = re.compile(
    r"ship|deliver|versand|liefer|livr|envío|envio|spedi|consegn|verzend|lever|wysył"
)
# where a delivery phrase may say it does not go: "nicht lieferbar nach Österreich", "cannot be delivered to
# the Canary Islands", "non livrable en Corse", "non spedibile all'estero"
_DESTINATION = re.compile(
    r" ?(?:nach|ins|in|to|into|outside|abroad|internationally|en|vers|hors|à|au|aux|verso|fuori|all'estero|"
    r"naar|buiten|na|do|till|utanför)(?!\w)(?! (?:ligne|linea)(?!\w))"
)


def _shipping_limit(text: str, hit: PhraseHit) -> bool:
    """A delivery refusal that names where it does not deliver: a shipping limit, not a stock state."""
    if hit.category not in NEGATIVE and hit.category != "not_deliverable":
        return False
    return bool(_SHIPPING_WORDS.search(hit.matched)) and _DESTINATION.match(text, hit.end) is not None


def _ordered_for_pickup(text: str, hit: PhraseHit) -> bool:
    """ "We do not ship ordered items. Pick up is at our shop": the order is collected, not refused."""
    if hit.category != "not_deliverable" or not _SHIPPING_WORDS.search(hit.phrase):
        return False
    segment = _segment(text, hit)
    return bool(_STORE_SCOPE.search(segment))


_DECLARED_CURRENCY = re.compile(
    rb'"priceCurrency"\s*:\s*"([A-Z]{3})"|itemprop=["\']priceCurrency["\'][^>]*content=["\']([A-Z]{3})'
)


def _declared_currencies(body: bytes) -> set[str]:
    """ISO codes the page's structured data declares anywhere (events and offers not read as the product)."""
    return {(a or b).decode() for a, b in _DECLARED_CURRENCY.findall(body)}


def _bare_dollar(raw: str) -> bool:
    # "$5.000", "$ 1.299.990": dots grouping thousands are how pesos and reais are written, not US dollars
    return bool(_DOTTED_DOLLAR.search(raw)) and not re.search(r"[A-Za-z]{1,3}\s?\$|USD", raw)


_DOTTED_DOLLAR = re.compile(r"\$\s?\d{1,3}(?:\.\d{3})+(?![\d,])")


_SEGMENT_REACH = 400


def _segment(text: str, hit: PhraseHit) -> str:
    """The line (between " | " block breaks) around a hit, at most ``_SEGMENT_REACH`` characters each side.

    A longer line is a paragraph anyway; searching the whole text for every hit costs hits × text on a page
    that is one huge paragraph of stock words.
    """
    start, end = _segment_bounds(text, hit)
    return text[start:end]


def _segment_bounds(text: str, hit: PhraseHit) -> tuple[int, int]:
    low = max(0, hit.start - _SEGMENT_REACH)
    high = min(len(text), hit.end + _SEGMENT_REACH)
    start = text.rfind(" | ", low, hit.start)
    end = text.find(" | ", hit.end, high)
    return (start + 1 if start >= 0 else low), (end if end >= 0 else high)


def _is_statement(text: str, hit: PhraseHit) -> bool:
    """Stock lines are short; the same words inside a long paragraph (shipping policy, FAQ) are not one."""
    if hit.category not in _STATE_OF_CATEGORY and hit.category not in ("store_only", "not_deliverable"):
        return True
    segment = _segment(text, hit)
    return len(segment) <= _STATEMENT_LENGTH


_STATEMENT_LENGTH = 140
_PREORDER_LABEL = re.compile(r"pre-?order|précommand|vorbestell|preordin|prenota")


def negatives_in(categories: set[str]) -> bool:
    """True when the visible text says the item cannot be had."""
    return any(c in NEGATIVE for c in categories)


def _field_of(category: str) -> str:
    return "orderable" if category in ("store_only", "not_deliverable") else "availability"


def _snippet(text: str, hit: PhraseHit, before: int = 30) -> str:
    start = max(0, hit.start - before)
    end = text.find(" | ", hit.end, hit.end + 83)
    end = min(len(text), hit.end + 80) if end < 0 else end
    return text[start:end].strip(" |")


def _words(root: HtmlElement, skipped: Callable[[HtmlElement], bool]) -> str:
    """The visible text under ``root`` as phrases are matched on, its first ``MAX_TEXT`` characters: stock
    lines are read near the product, and a page of megabytes of words is not read to its end."""
    return normalise_text(visible_text(root, skipped)[:MAX_TEXT])


def _selected(root: HtmlElement, selector: str) -> list[object]:
    """What a profile selector (parsel CSS with ``::text`` / ``::attr()``, or ``xpath:...``) gives under
    ``root``: elements, strings, or an XPath function's value."""
    node = Selector(root=root)
    if selector.startswith("xpath:"):
        return [found.root for found in node.xpath(selector.removeprefix("xpath:"))]
    return [found.root for found in node.css(selector)]


def _select_all(root: HtmlElement, selector: str) -> list[HtmlElement]:
    """The elements a profile selector matches (text and attribute results are dropped)."""
    return [found for found in _selected(root, selector) if isinstance(found, HtmlElement)]


def _select_text(root: HtmlElement, selector: str) -> str | None:
    """The text of the first match: a ``::text`` / ``::attr()`` string, or an element's whole text."""
    for found in _selected(root, selector):
        raw = found.text_content() if isinstance(found, HtmlElement) else str(found)
        text = " ".join(raw.split())
        if text:
            return text
    return None


def _first(*values: str | None) -> str | None:
    for value in values:
        if value and value.strip():
            return value.strip()
    return None
