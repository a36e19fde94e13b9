"""The ``[offer]`` table drafted from one product page.

The extraction without a profile (``promowatch.extract``) says what the page offers: its title, price,
reference price, stock line and buy button. This module finds the elements that show those values, with the
extraction's own helpers (price nodes, buy controls, phrase tables), and names them with short selectors
scoped under the product block (the smallest element holding them all). Sections of the block that carry
prices or stock words of their own (a store widget, accessories) become ``exclude``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from lxml.html import HtmlElement

from promowatch.config import parse_profile
from promowatch.domain import Availability, Offer
from promowatch.extract import extract_offer
from promowatch.extract.buybox import buy_control_name
from promowatch.extract.page import is_visible_in, own_text, parse_html, short_text, shown_text
from promowatch.extract.phrases import (
    CATEGORIES,
    PhraseBook,
    bundled_locales,
    load_locale,
    normalise_text,
    phrase_book,
)
from promowatch.extract.prices import (
    country_of_language,
    country_of_url,
    currency_code,
    parse_amount_in,
)
from promowatch.extract.structured import jsonld_products, microdata_products
from promowatch.extract.visible_prices import PriceNode, price_nodes
from promowatch.onboarding.css import page_selector, relative_selector, scoped_selector, semantic_names
from promowatch.onboarding.draft import Section

# the phrase categories a stock line speaks in
STOCK_CATEGORIES = frozenset(CATEGORIES) - {
    "currently",  # a qualifier ("currently …"), not a state of its own
    "delivery",
    "saving",
    "instalment",
    "reference",
    "add_to_cart",
    "auction",
    "auction_ended",
    "classified",
    "price_comparison",
}
# what a stock line of these categories says of the online offer, when the bundled phrases give it no state:
# "only in stores" is stock somewhere (the buy box says it cannot be ordered), "not deliverable" is none online
_CATEGORY_STATE = {
    "store_only": Availability.IN_STOCK,
    "not_deliverable": Availability.OUT_OF_STOCK,
    "notify": Availability.OUT_OF_STOCK,
    "unavailable": Availability.OUT_OF_STOCK,
}
# placeholders a shop shows until its JavaScript has filled the stock line in
LOADING = re.compile(r"\b(chargement|loading|wird geladen|caricamento|cargando|laden)\b", re.IGNORECASE)
_DELIVERY_NAME = re.compile(r"deliver|liefer|livraison|shipping|versand|consegna|envio|dispatch", re.I)
_CONTROLS = ".//button | .//input[@type='submit'] | .//a | .//*[@role='button']"
_MAX_LINE = 120
_SPECIAL = re.compile(r"[.^$*+?{}\[\]\\|()]")


@dataclass
class OfferDraft:
    """What one product page showed, as profile keys, and the facts the other sections need."""

    offer: Section
    availability_map: Section
    read: Offer  # the extraction without a profile
    language: str | None = None
    country: str | None = None
    structured: list[str] = field(default_factory=list)  # the JSON-LD / microdata products, one line each
    stock_line_loading: bool = False  # the stock line is a placeholder that JavaScript fills in
    missing: list[str] = field(default_factory=list)  # keys nothing on the page showed


def draft_offer(html: bytes, url: str) -> OfferDraft:
    """Draft ``[offer]`` from the bytes of one product page at ``url``."""
    read = extract_offer(html, url)
    root = parse_html(html)
    body = root.find("body")
    page = body if body is not None else root
    book = phrase_book()
    lang = root.get("lang") or ""
    country = country_of_language(lang) or country_of_url(url)
    language = lang.split("-")[0].split("_")[0].lower() or None

    def visible(element: HtmlElement) -> bool:
        return is_visible_in(element, page)

    title = _title_element(page, read.title, visible)
    area = _price_area(title, page, book, visible, country, read.price)
    nodes = price_nodes(area, book, visible, country) if area is not None else []
    price = _node_for(nodes, read.price, ("current",))
    reference = _node_for(nodes, read.regular_price, ("reference",))
    search = area if area is not None else page
    button = _first(_buy_button(search, book, visible), lambda: _buy_button(page, book, visible))
    stock = _first(_stock_line(search, book, visible), lambda: _stock_line(page, book, visible))
    price_leaf = innermost_amount(price.element, price.amount, country) if price else None
    reference_leaf = innermost_amount(reference.element, reference.amount, country) if reference else None
    main = [e for e in (title, price_leaf, stock, button) if e is not None]
    block = _common_ancestor(main) if main else page
    whole_page = block is page or block.tag in ("body", "html")
    block_selector = None if whole_page else page_selector(block, root)
    draft = OfferDraft(
        offer=Section("offer"),
        availability_map=Section("offer.availability_map"),
        read=read,
        language=language,
        country=country,
        structured=_structured_lines(root),
    )
    section = draft.offer
    if block_selector is None:
        block, block_selector = page, "body"
        section.add("product_block", None, "no element holds the title, price and buy box together")
    else:
        section.add("product_block", block_selector, "holds the title, price, stock line and buy button")

    def selector_of(element: HtmlElement | None) -> str | None:
        return None if element is None else scoped_selector(element, block, block_selector, root)

    keep = {id(e) for e in [*main, reference_leaf] if e is not None}
    excluded = _exclusions(block, keep, book, visible, country)
    names = [s for s in (relative_selector(e, block) for e in excluded) if s]
    if names:
        section.add("exclude", names, "carry prices or stock words of their own (store lists, accessories)")

    section.add(*_field("title", selector_of(title), _reads(read.title)))
    for key, value in (("sku", read.sku), ("gtin", read.gtin)):
        element = _printed(block, value)
        chosen = selector_of(element) if element is not None else None
        if chosen is None and value:
            section.add(
                key, None, f"{value!r} is not printed in the product block (the structured data gives it)"
            )
        else:
            section.add(*_field(key, chosen, _reads(value)))
    section.add(*_field("price", selector_of(price_leaf), _reads(price.raw if price else None)))
    if reference_leaf is not None:
        shown = _reads(reference.raw if reference else None)
        section.add(*_field("regular_price", selector_of(reference_leaf), shown))
    else:
        section.add(
            "regular_price", None, "no reference price on this page: draft from a product on promotion"
        )
        draft.missing.append("regular_price")
    currency = _currency_element(price.element if price else None, country)
    if currency is not None and not _symbol_in(price_leaf, country):
        section.add("currency", selector_of(currency), f"the price box writes {own_text(currency)!r} apart")
    stock_text = own_text(stock) if stock is not None else None
    draft.stock_line_loading = bool(stock_text and LOADING.search(stock_text))
    note = f"reads {stock_text!r}" if stock_text else None
    if draft.stock_line_loading:
        note = f'reads {stock_text!r} here: JavaScript fills it in (render = "auto" reads it)'
    section.add(*_field("availability", selector_of(stock), note))
    if stock is None:
        draft.missing.append("availability")
    if button is not None:
        state = "disabled" if button.get("disabled") is not None else "enabled"
        section.add("buy_button", selector_of(button), f"{own_text(button)!r}, {state} on this page")
    else:
        section.add(
            "buy_button", None, "no add-to-cart control on this page: draft from a product one can order"
        )
        draft.missing.append("buy_button")
    delivery, delivery_note = _delivery(block, read.delivery, {id(e) for e in main})
    chosen_delivery = selector_of(delivery)
    section.add("delivery", chosen_delivery, delivery_note if chosen_delivery else f"{delivery_note}")
    _availability_map(draft.availability_map, stock, root, book, language)
    return draft


def _first(found: HtmlElement | None, otherwise: Callable[[], HtmlElement | None]) -> HtmlElement | None:
    return found if found is not None else otherwise()


def _field(key: str, selector: str | None, shown: str | None) -> tuple[str, str | None, str]:
    """A key found on the page (``shown``: what it reads there), or a note why it is not written."""
    if shown is None:
        return key, None, "not found on this page"
    if selector is None:
        return key, None, f"{shown}: no selector picks it alone"
    return key, selector, shown


def _title_element(
    page: HtmlElement, title: str | None, visible: Callable[[HtmlElement], bool]
) -> HtmlElement | None:
    headings = [h for h in page.iter("h1") if visible(h)]
    for heading in headings:
        if title and own_text(heading) == title:
            return heading
    return headings[0] if headings else None


def _price_area(
    title: HtmlElement | None,
    page: HtmlElement,
    book: PhraseBook,
    visible: Callable[[HtmlElement], bool],
    country: str | None,
    price: Decimal | None,
) -> HtmlElement | None:
    """The nearest ancestor of the title that shows the price (the product's own part of the page)."""
    if title is None or price is None:
        return None
    for ancestor in title.iterancestors():
        if any(
            n.amount == price and n.kind == "current" for n in price_nodes(ancestor, book, visible, country)
        ):
            return ancestor
        if ancestor is page:
            break
    return None


def _node_for(nodes: list[PriceNode], amount: Decimal | None, kinds: tuple[str, ...]) -> PriceNode | None:
    if amount is None:
        return None
    return next((n for n in nodes if n.amount == amount and n.kind in kinds), None)


def innermost_amount(element: HtmlElement, amount: Decimal, country: str | None) -> HtmlElement:
    """The innermost element under a price node that still shows its amount (``.price`` in ``.price-box``)."""
    current = element
    while True:
        for child in current:
            if not isinstance(child.tag, str):
                continue
            text = own_text(child)
            if text and parse_amount_in(text, None, country)[0] == amount:
                current = child
                break
        else:
            return current


def _symbol_in(element: HtmlElement | None, country: str | None) -> bool:
    """Whether the element's own text names its currency (``499,00 €``)."""
    if element is None:
        return True
    return parse_amount_in(own_text(element), None, country)[1] is not None


def _currency_element(box: HtmlElement | None, country: str | None) -> HtmlElement | None:
    """An element of the price box whose whole text is a currency (``<span class="currency">CHF</span>``)."""
    if box is None:
        return None
    for element in box.iter():
        text = own_text(element) if isinstance(element.tag, str) and element is not box else ""
        if 0 < len(text) <= 4 and currency_code(text, country) is not None:
            return element
    return None


def _buy_button(
    area: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool]
) -> HtmlElement | None:
    for element in area.xpath(_CONTROLS):
        if buy_control_name(element, book, visible) is not None:
            return element
    return None


def _stock_words(element: HtmlElement, book: PhraseBook) -> bool:
    text = short_text(element, _MAX_LINE)
    if not text:
        return False
    return bool(LOADING.search(text)) or any(
        h.category in STOCK_CATEGORIES for h in book.find(normalise_text(text))
    )


def _repeated_row(element: HtmlElement, area: HtmlElement) -> bool:
    """Inside a list of like rows (a store list's "in stock (6)" lines), not the product's own line."""
    node: HtmlElement | None = element
    while node is not None and node is not area:
        parent = node.getparent()
        if parent is not None:
            like = [s for s in parent if s.tag == node.tag and s.get("class") == node.get("class")]
            if len(like) >= 2:
                return True
        node = parent
    return False


def _stock_line(
    area: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool]
) -> HtmlElement | None:
    """The first innermost visible element of the area whose text is a stock statement."""
    for element in area.iter():
        if not isinstance(element.tag, str) or element.tag in ("button", "a", "option", "script", "style"):
            continue
        if not _stock_words(element, book) or not visible(element):
            continue
        if any(_stock_words(child, book) for child in element if isinstance(child.tag, str)):
            continue  # a child says it alone
        if buy_control_name(element, book, visible) is not None or _repeated_row(element, area):
            continue
        return element
    return None


def _common_ancestor(elements: list[HtmlElement]) -> HtmlElement:
    chains = [[e, *e.iterancestors()] for e in elements]
    first = chains[0]
    for candidate in first:
        if all(candidate in chain for chain in chains[1:]):
            return candidate
    return first[-1]


def _printed(area: HtmlElement, value: str | None) -> HtmlElement | None:
    """The innermost visible element whose whole text is ``value`` (an article number, an EAN)."""
    if not value:
        return None
    found = None
    for element in area.iter():
        if (
            isinstance(element.tag, str)
            and element.tag not in ("script", "style", "td")
            and own_text(element) == value
        ):
            found = element  # iter() is depth first: a later match inside is the inner one
    return found


def _exclusions(
    block: HtmlElement,
    keep: set[int],
    book: PhraseBook,
    visible: Callable[[HtmlElement], bool],
    country: str | None,
) -> list[HtmlElement]:
    """The largest parts of the block that hold none of the product's own elements but prices or stock words."""
    found: list[HtmlElement] = []

    def holds_kept(element: HtmlElement) -> bool:
        return any(id(e) in keep for e in element.iter())

    def walk(element: HtmlElement) -> None:
        for child in element:
            if not isinstance(child.tag, str) or child.tag in ("script", "style", "form", "input"):
                continue
            if holds_kept(child):
                walk(child)
            elif _speaks_of_stock(child, book) or price_nodes(child, book, visible, country):
                found.append(child)

    walk(block)
    return [e for e in found if _stock_list(e, book)]


def _speaks_of_stock(element: HtmlElement, book: PhraseBook) -> bool:
    text = normalise_text(shown_text(element))
    return any(h.category in STOCK_CATEGORIES for h in book.find(text))


def _stock_list(element: HtmlElement, book: PhraseBook) -> bool:
    """A part worth excluding: several stock statements or prices (a store list, accessories' cards), not one
    note such as the recycling fee beside the price."""
    text = normalise_text(shown_text(element))
    return len([h for h in book.find(text) if h.category in STOCK_CATEGORIES]) >= 2 or _priced_rows(element)


def _priced_rows(element: HtmlElement) -> bool:
    rows = [
        e for e in element.iter() if isinstance(e.tag, str) and e.get("class") and e.find(".//a") is not None
    ]
    return len(rows) >= 2 and any(ch.isdigit() for ch in shown_text(element))


def _reads(value: str | None) -> str | None:
    return None if value is None else f"reads {value!r}"


def _delivery(block: HtmlElement, delivery: str | None, used: set[int]) -> tuple[HtmlElement | None, str]:
    """The element stating the delivery time; on a page without one, an element named for it."""
    if delivery:
        wanted = normalise_text(delivery)
        found = None
        for element in block.iter():
            if isinstance(element.tag, str) and wanted in normalise_text(own_text(element)):
                found = element
        if found is not None:
            return found, f"reads {own_text(found)!r}"
    for element in block.iter():
        if not isinstance(element.tag, str) or id(element) in used:
            continue
        names = " ".join(semantic_names(element.get("class"))) + " " + (element.get("id") or "")
        if _DELIVERY_NAME.search(names):
            return element, f"empty on this page; its name says delivery: {own_text(element)[:60]!r}"
    return None, "none on this page: draft from a product that can be delivered"


def _structured_lines(root: HtmlElement) -> list[str]:
    lines = []
    for product in [*jsonld_products(root), *microdata_products(root)]:
        if product.related:
            continue
        parts = [f"{product.source.value} Product {product.name!r}"]
        parts += [f"sku {product.sku}"] if product.sku else []
        parts += [f"gtin {product.gtin}"] if product.gtin else []
        for offer in product.offers[:3]:
            shown = f"offer {offer.price_raw} {offer.currency or ''}".rstrip()
            if offer.reference_raw:
                shown += f" (reference {offer.reference_raw})"
            if offer.availability:
                shown += f", {offer.availability.rsplit('/', 1)[-1]}"
            parts.append(shown)
        lines.append("; ".join(parts))
    return lines


# ---------------------------------------------------------------- availability_map


def stock_state(text: str, language: str | None) -> Availability:
    """What the extraction reads from a stock line with this text and no ``availability_map`` (asked through
    the public extraction, so that the draft follows it)."""
    profile = parse_profile({"slug": "draft", "offer": {"availability": ".line"}}, "draft")
    html = f'<html lang="{language or ""}"><body><p class="line">{_escape(text)}</p></body></html>'
    offer = extract_offer(html.encode(), "http://draft.invalid/", profile)
    for signal in offer.signals:
        if signal.field == "availability" and signal.source.value == "profile":
            return Availability(signal.value) if signal.value else Availability.UNKNOWN
    return Availability.UNKNOWN


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def stock_pattern(text: str) -> str:
    """A regular expression for a stock line's words, any count in it standing for every count.

    >>> print(stock_pattern("Plus que 3 articles (env.)"))
    ^Plus que \\d+ articles \\(env\\.\\)
    """
    return "^" + re.sub(r"\d+", r"\\d+", _SPECIAL.sub(r"\\\g<0>", text))


def _stock_texts(stock: HtmlElement, root: HtmlElement) -> Iterator[str]:
    """The stock line's text, then those of the page's other elements of its class (recommendations' lines)."""
    seen: set[str] = set()
    names = set(semantic_names(stock.get("class")))
    for element in [stock, *root.iter(stock.tag)]:
        if element is not stock and not names & set(semantic_names(element.get("class"))):
            continue
        text = own_text(element)
        if text and len(text) <= _MAX_LINE and text not in seen:
            seen.add(text)
            yield text


def _availability_map(
    section: Section, stock: HtmlElement | None, root: HtmlElement, book: PhraseBook, language: str | None
) -> None:
    if stock is None:
        return
    _seen_texts(section, stock, root, book, language)
    # the bundled phrases of these categories give a stock line no state of its own; every stock line of the
    # shop may use them, also those this page does not show
    for category in ("not_deliverable", "store_only"):
        phrases = (
            [p for p in load_locale(language or "en").get(category, ()) if "{" not in p]
            if language in bundled_locales()
            else []
        )
        if phrases:
            state = _CATEGORY_STATE[category]
            pattern = "|".join(_SPECIAL.sub(r"\\\g<0>", p) for p in phrases)
            section.add(pattern, state.value, f"the {language} phrases of category {category}: check")


def _seen_texts(
    section: Section, stock: HtmlElement, root: HtmlElement, book: PhraseBook, language: str | None
) -> None:
    for text in _stock_texts(stock, root):
        if LOADING.search(text):
            continue
        if stock_state(text, language) is not Availability.UNKNOWN:
            continue  # the bundled phrases read it
        categories = [h.category for h in book.find(normalise_text(text)) if h.category in _CATEGORY_STATE]
        if categories:
            state = _CATEGORY_STATE[categories[0]]
            section.add(stock_pattern(text), state.value, f"phrase category {categories[0]}: check")
        else:
            section.add(
                stock_pattern(text),
                "unknown",
                "the bundled phrases do not read it: write its state",
                sure=False,
            )
