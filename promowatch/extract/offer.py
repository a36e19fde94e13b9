"""extract_offer: a product page's bytes -> the Offer a shopper would read, with the signals behind it.

Evidence, strongest first (design.md §5): the profile's selectors; structured data (JSON-LD, microdata,
OpenGraph) of the main product; the buy box; the visible text of the product block. Visible text that says
out of stock beats structured data that says in stock; signals that cannot be reconciled give ``unknown``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import parse_qsl, unquote, urlsplit

from lxml.html import HtmlElement

from promowatch.config import SiteProfile
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
from promowatch.extract.selectors import PageIndex, select_all, select_text
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


@dataclass
class _Findings:
    """What the sources said, gathered before deciding."""

    signals: list[Signal] = field(default_factory=list)

    def add(self, name: str, source: SignalSource, raw: object, value: object) -> None:
        self.signals.append(Signal(name, source, str(raw)[:200], None if value is None else str(value)))


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
    root = parse_html(body, encoding)
    elements = sum(1 for _ in root.iter())
    if elements > MAX_ELEMENTS:
        raise PageTooComplex(f"{TOO_COMPLEX}: {elements} elements (at most {MAX_ELEMENTS} are read)")
    index = PageIndex(root)
    book = phrase_book(profile.phrases if profile else None)
    found = _Findings()
    selectors = profile.offer if profile else None

    body_element = root.find("body")
    page = body_element if body_element is not None else root
    block = page
    if selectors and selectors.product_block:
        matches = select_all(root, selectors.product_block, index)
        if matches:
            block = matches[0]
            found.add("product_block", SignalSource.PROFILE, selectors.product_block, "found")
        else:
            found.add("product_block", SignalSource.PROFILE, selectors.product_block, None)
    keep_alive = [e for sel in (selectors.exclude if selectors else ()) for e in select_all(block, sel)]
    excluded = {id(e) for e in keep_alive}
    # every source asks about the same elements again and again: judge each once per page (the dict also
    # keeps the element proxies alive, so their ids stay unique while it lives)
    skip_memo: dict[HtmlElement, bool] = {}

    def skipped(element: HtmlElement) -> bool:
        known = skip_memo.get(element)
        if known is None:
            known = skip_memo[element] = id(element) in excluded or is_skipped(element)
        return known

    def visible(element: HtmlElement) -> bool:
        node: HtmlElement | None = element
        while node is not None and node is not block:
            if skipped(node):
                return False
            node = node.getparent()
        return node is block

    og = opengraph(root)
    titles = [t for t in (og.get("og:title"), root.findtext(".//title")) if t]
    heading_element = _main_heading(block, visible, titles)
    heading = own_text(heading_element) if heading_element is not None else None
    if not (selectors and selectors.product_block):
        found_block, how = _product_block(block, heading_element, book, visible)
        if found_block is not block:
            block = found_block
            found.add("product_block", SignalSource.TEXT, f"<{block.tag} class={block.get('class')!r}>", how)

    # ---- structured data: pick the main product, then its offer
    jsonld = jsonld_products(root)
    micro = microdata_products(root)
    main_ld, why_ld = _main_product(jsonld, url, heading, og.get("og:title"))
    main_md, why_md = _main_product(micro, url, heading, og.get("og:title"))
    if main_ld is not None:
        found.add("product", SignalSource.JSONLD, main_ld.name or main_ld.sku or "", why_ld)
    if main_md is not None and main_ld is None:
        found.add("product", SignalSource.MICRODATA, main_md.name or main_md.sku or "", why_md)
    offer_ld, offers_ld, why_offer = _main_offer(main_ld, url)
    if offer_ld is not None and why_offer:
        found.add("offer", SignalSource.JSONLD, offer_ld.sku or offer_ld.price_raw or "", why_offer)
    offer_md, offers_md, _ = _main_offer(main_md, url)

    # ---- visible text of the product block
    text = _words(block, skipped)
    hits = [hit for hit in book.find(text) if _is_statement(text, hit) and not _shipping_limit(text, hit)]
    controls = buy_controls(block, book, visible)
    if not controls and block is not page and not any(h.category in NEGATIVE for h in hits):
        # One add-to-cart on the whole page is the main product's, wherever the layout puts it; not when the
        # product block says it cannot be had (the lone button is then a sticky bar's or a bundle's).
        page_controls = buy_controls(page, book, lambda e: is_visible_in(e, page))
        if 0 < len({c.label for c in page_controls}) == 1 and len(page_controls) <= 2:
            controls = page_controls[:1]

    # ---- listing kind: bidding, seller contact and "see prices" may sit outside the product block
    page_text = text
    listing = listing_of(hits)
    if listing.kind is ListingKind.SHOP and block is not page and not any(c.enabled for c in controls):
        # An enabled add-to-cart already settles how it is bought; otherwise read the rest of the page too.
        page_text = _words(page, skipped)
        listing = listing_of(book.find(page_text, LISTING_CATEGORIES))
    if listing.kind is not ListingKind.SHOP:
        found.add("listing", SignalSource.TEXT, listing.evidence, listing.kind)

    # ---- identity
    title = _first(
        select_text(root, selectors.title, index) if selectors and selectors.title else None,
        main_ld.name if main_ld else None,
        main_md.name if main_md else None,
        og.get("og:title"),
        heading,
    )
    sku = _first(
        select_text(root, selectors.sku, index) if selectors and selectors.sku else None,
        offer_ld.sku if offer_ld else None,
        main_ld.sku if main_ld else None,
        main_md.sku if main_md else None,
        og.get("product:retailer_item_id"),
    )
    gtin = _first(
        select_text(root, selectors.gtin, index) if selectors and selectors.gtin else None,
        offer_ld.gtin if offer_ld else None,
        main_ld.gtin if main_ld else None,
        main_md.gtin if main_md else None,
    )

    # ---- price and currency
    country = (
        (profile.country if profile else None)
        or country_of_url(url)
        or country_of_language(root.get("lang") or og.get("og:locale"))
    )
    default_currency = (profile.currency if profile else None) or COUNTRY_CURRENCY.get(country or "")
    price, currency, price_source = None, None, None
    if selectors and selectors.price:
        raw = select_text(root, selectors.price, index)
        if raw:
            price, currency = parse_amount_in(raw, None, country)
            found.add("price", SignalSource.PROFILE, raw, price)
            price_source = SignalSource.PROFILE
    if selectors and selectors.currency:
        raw_currency = select_text(root, selectors.currency, index)
        if raw_currency:
            currency = currency_code(raw_currency, country) or currency
            found.add("currency", SignalSource.PROFILE, raw_currency, currency)
    for source, offer in ((SignalSource.JSONLD, offer_ld), (SignalSource.MICRODATA, offer_md)):
        if offer is None or offer.price_raw is None:
            continue
        if offer.price is None or offer.price <= 0:
            found.add("price", source, offer.price_raw, None)  # "0" placeholders say nothing
            continue
        found.add("price", source, offer.price_raw, offer.price)
        if price is None:
            price, price_source = offer.price, source
            # "$52.00" as the price itself: the symbol is the currency when no code is given
            currency = (
                currency
                or currency_code(offer.currency, country)
                or parse_amount_in(offer.price_raw, None, country)[1]
            )
    og_price = og.get("product:price:amount") or og.get("og:price:amount")
    if og_price:
        og_amount, _ = parse_amount_in(og_price, None, country)
        found.add("price", SignalSource.OPENGRAPH, og_price, og_amount)
        if price is None and og_amount:
            price, price_source = og_amount, SignalSource.OPENGRAPH
            currency = currency or currency_code(
                og.get("product:price:currency") or og.get("og:price:currency"), country
            )
    nodes = price_nodes(block, book, visible, country)
    main_node = _visible_main_price(nodes, price)
    if main_node is None and price is None and block is not page:
        # The block found from the heading may hold only the title; the first current price on the page
        # (chrome and other products' sections skipped) is then the best visible reading.
        nodes = price_nodes(page, book, lambda e: is_visible_in(e, page), country)
        main_node = _visible_main_price(nodes, price)
    if main_node is None and price is None:
        # Only the struck price has markup; the price paid is words beside it
        reference = next((n for n in nodes if n.kind == "reference"), None)
        main_node = price_beside_reference(reference, book, country) if reference is not None else None
    if main_node is None and price is not None:
        main_node = amount_leaf(block, price, visible, country)
    if main_node is None and price is not None and price_source is not SignalSource.PROFILE:
        # The structured price is printed nowhere in the product block, which shows another one: the
        # visible page wins (structured data of configurable products often states a variant's price).
        shown = _visible_main_price(nodes, None)
        if shown is not None and block is not page:
            found.add(
                "price", SignalSource.TEXT, f"{price} is not shown; the page shows {shown.raw}", shown.amount
            )
            price, price_source, main_node = shown.amount, SignalSource.TEXT, shown
    if main_node is not None:
        found.add("price", SignalSource.TEXT, main_node.raw, main_node.amount)
        if price is None:
            price, price_source = main_node.amount, SignalSource.TEXT
        currency = currency or main_node.currency
    if listing.kind is ListingKind.AUCTION and price_source is not SignalSource.PROFILE:
        # Structured data of auction lots states the starting price; the buyer pays the bid so far.
        bid = current_bid(page_text, country)
        if bid is not None:
            found.add("price", SignalSource.TEXT, bid[2], bid[0])
            price, price_source = bid[0], SignalSource.TEXT
            currency = currency or bid[1]
    if price is not None:
        currency = currency or next((n.currency for n in nodes if n.currency), None) or default_currency
        if currency == "USD" and country is None and main_node is not None and _bare_dollar(main_node.raw):
            # "$5.000" on a generic domain: the currency the page's own data declares tells which dollar or peso
            declared = _declared_currencies(body)
            if len(declared) == 1 and next(iter(declared)) in DOLLAR_CURRENCIES:
                currency = next(iter(declared))
        if currency:
            found.add("currency", price_source or SignalSource.TEXT, currency, currency)

    # ---- reference ("instead of") price
    regular = None
    if selectors and selectors.regular_price:
        raw = select_text(root, selectors.regular_price, index)
        if raw:
            regular, _ = parse_amount_in(raw, None, country)
            found.add("regular_price", SignalSource.PROFILE, raw, regular)
    for source, offer in ((SignalSource.JSONLD, offer_ld), (SignalSource.MICRODATA, offer_md)):
        if regular is None and offer is not None and offer.reference and offer.reference > 0:
            found.add("regular_price", source, offer.reference_raw, offer.reference)
            regular = offer.reference
    if regular is None and main_node is not None and price is not None:
        near = reference_near(main_node, nodes, price, book)
        if near is not None:
            found.add("regular_price", SignalSource.TEXT, near.raw, near.amount)
            regular = near.amount
    if regular is None and main_node is not None and price is not None and main_node.amount == price:
        boxed = reference_in_box(main_node, price, book, visible, country)
        if boxed is not None:
            found.add("regular_price", SignalSource.TEXT, boxed.raw, boxed.amount)
            regular = boxed.amount
    if regular is not None and price is not None and regular <= price:
        found.add("regular_price", SignalSource.TEXT, f"{regular} not above price {price}", None)
        regular = None

    # ---- availability and orderability
    profile_state: Availability | None = None
    loading = False
    if selectors and selectors.availability:
        raw = select_text(root, selectors.availability, index)
        if raw:
            profile_state = _profile_state(raw, selectors.availability_map, book)
            found.add("availability", SignalSource.PROFILE, raw, profile_state)
            loading = bool(_LOADING.search(raw))
    structured = _structured_state(found, offers_ld, offer_ld, offers_md, offer_md, og)
    for hit in hits:
        if hit.category in _STATE_OF_CATEGORY or hit.category in ("store_only", "not_deliverable", "notify"):
            found.add(_field_of(hit.category), SignalSource.TEXT, _snippet(text, hit), hit.category)
    for control in controls:
        found.add("orderable", SignalSource.BUTTON, control.label, control.enabled)
    profile_button: bool | None = None
    if selectors and selectors.buy_button:
        buttons = select_all(root, selectors.buy_button, index)
        if buttons:
            state = buttons[0].get("disabled") is None and buttons[0].get("aria-disabled") != "true"
            profile_button = state
            found.add("orderable", SignalSource.PROFILE, own_text(buttons[0])[:80], state)
        else:
            profile_button = False
            found.add("orderable", SignalSource.PROFILE, f"no {selectors.buy_button}", False)

    hits = [h for h in hits if not _about_other_price(text, h, {price, regular}, country)]
    hits = [h for h in hits if not _about_store_pickup(text, h)]
    hits = [h for h in hits if not _about_delivery_date(text, h)]
    availability, reason = _decide(profile_state, structured, hits, controls, profile_button, listing)
    if availability is Availability.OUT_OF_STOCK and block is not page:
        # "Discontinued" is often written in the description, below the product block: it refines out of
        # stock (never turns a buyable page unavailable).
        page_text = page_text if page_text is not text else _words(page, skipped)
        ended = next(
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
        if ended is not None:
            found.add("availability", SignalSource.TEXT, _snippet(page_text, ended), ended.category)
            availability = Availability.DISCONTINUED
    # "we do not ship, pick up at our shop" still keeps a disabled button from counting as awaiting a
    # choice above, but an order collected in the shop is an order
    order_hits = [h for h in hits if not _ordered_for_pickup(text, h)]
    if availability.buyable and profile_state is None and not {"in_stock", "limited"} & categories_of(hits):
        refused = next((h for h in order_hits if h.category == "not_deliverable"), None)
        refused_text = text
        if refused is None and block is not page and _MAY_REFUSE.search(body):
            # "This item cannot be purchased online" is often written in the description, below the block
            page_text = page_text if page_text is not text else _words(page, skipped)
            refused = _refused_online(page_text, book)
            refused_text = page_text
        if refused is not None:
            # The buy box and the structured data speak of online stock, which the page's words deny.
            found.add("orderable", SignalSource.TEXT, _snippet(refused_text, refused), refused.category)
            order_hits.append(refused)
            availability = Availability.UNKNOWN
            reason = f"the page says '{refused.matched}' but shows a buy box or in-stock data"
    orderable = _orderable(availability, structured, order_hits, controls, profile_button, listing)
    if (
        availability.unavailable
        and negatives_in({h.category for h in hits})
        and main_node is None
        and price_source in (SignalSource.JSONLD, SignalSource.MICRODATA, SignalSource.OPENGRAPH)
    ):
        # A page that says the item cannot be had and shows no price: its data keeps the last price, the
        # shopper reads none, so none is reported (the signal keeps the structured amount).
        found.add("price", SignalSource.TEXT, f"{price} is not shown on a page that cannot be bought", None)
        price, regular = None, None
    if loading and availability is Availability.UNKNOWN:
        # the stock line is a placeholder that JavaScript fills in: the buy box is not there yet either
        orderable = None
        reason = "the stock line is still loading (filled in by JavaScript): a browser is needed to read it"
    delivery = None
    if selectors and selectors.delivery:
        delivery = select_text(root, selectors.delivery, index)
        if delivery:
            found.add("delivery", SignalSource.PROFILE, delivery, delivery)
    if delivery is None:
        delivery_hit = next((h for h in hits if h.category == "delivery"), None)
        if delivery_hit is not None:
            delivery = _snippet(text, delivery_hit, before=0)
            found.add("delivery", SignalSource.TEXT, delivery, delivery)
    del keep_alive
    return Offer(
        url=url,
        title=title,
        sku=sku,
        gtin=gtin,
        price=price,
        currency=currency if price is not None else None,
        regular_price=regular,
        availability=availability,
        orderable=orderable,
        delivery=delivery,
        reason=reason,
        signals=tuple(found.signals),
    )


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


def _structured_state(
    found: _Findings,
    offers_ld: list[StructuredOffer],
    offer_ld: StructuredOffer | None,
    offers_md: list[StructuredOffer],
    offer_md: StructuredOffer | None,
    og: dict[str, str],
) -> tuple[Availability, bool | None, SignalSource] | None:
    """The availability structured data states for the main product (strongest syntax first)."""
    results: list[tuple[Availability, bool | None, SignalSource]] = []
    for source, offers, chosen in (
        (SignalSource.JSONLD, offers_ld, offer_ld),
        (SignalSource.MICRODATA, offers_md, offer_md),
    ):
        states = [(o, _offer_state(o)) for o in offers if o.availability]
        if not states:
            continue
        for offer, (state, _) in states[:6]:
            found.add("availability", source, offer.availability, state)
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
        found.add("availability", SignalSource.OPENGRAPH, og_value, mapped[0] if mapped else None)
        if mapped and mapped[0] is not Availability.UNKNOWN:
            results.append((mapped[0], mapped[1], SignalSource.OPENGRAPH))
    ordered_later = [r for r in results if r[0] in (Availability.BACKORDER, Availability.PREORDER)]
    if ordered_later and not any(r[0].buyable and r not in ordered_later for r in results):
        # OutOfStock in one syntax, BackOrder in another: not on the shelf, yet it can be ordered.
        return ordered_later[0]
    return results[0] if results else None


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
    return bool(_STORE_SCOPE.search(segment))


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
    low = max(0, hit.start - _SEGMENT_REACH)
    high = min(len(text), hit.end + _SEGMENT_REACH)
    start = text.rfind(" | ", low, hit.start)
    end = text.find(" | ", hit.end, high)
    return text[start + 1 if start >= 0 else low : end if end >= 0 else high]


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


def _first(*values: str | None) -> str | None:
    for value in values:
        if value and value.strip():
            return value.strip()
    return None
