"""The ``[promotions]`` table drafted from the shop's promotions page.

The promotion cards are the repeated element holding a price and a product link: elements are grouped by
parent, tag and class, and the largest such group whose members each show a price and link somewhere is taken.
The fields are then named relative to the card, each checked on every card.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable
from urllib.parse import urlsplit

from lxml.html import HtmlElement

from promowatch.extract.page import is_visible_in, own_text, parse_html
from promowatch.extract.phrases import PhraseBook, phrase_book
from promowatch.extract.prices import country_of_language, country_of_url
from promowatch.extract.visible_prices import PriceNode, price_nodes
from promowatch.onboarding.css import common_relative_selector, group_selector, relative_selector
from promowatch.onboarding.draft import Section
from promowatch.onboarding.offer import innermost_amount

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}|\d{1,2}\.\d{1,2}\.(?:\d{4})?")
_UNTIL = re.compile(r"\b(bis|until|till|to|au|jusqu|al|fino|hasta|t/m)\b|–|-\s", re.IGNORECASE)
_FROM = re.compile(r"\b(ab|vom|von|from|du|dès|dal|desde|valid from)\b", re.IGNORECASE)
_NEXT = re.compile(
    r"^\s*(next|weiter|nächste|suivant|suivante|avanti|successiv[oa]|siguiente|›|»|>)\s*", re.I
)


def _signature(element: HtmlElement) -> tuple[str, str]:
    return str(element.tag), " ".join(sorted((element.get("class") or "").split()))


def promotion_cards(root: HtmlElement) -> list[HtmlElement]:
    """The largest sibling group of like elements that each hold a visible price and a link."""
    book = phrase_book()
    groups: dict[tuple[int, tuple[str, str]], list[HtmlElement]] = defaultdict(list)
    for element in root.iter():
        parent = element.getparent()
        if isinstance(element.tag, str) and parent is not None:
            groups[(id(parent), _signature(element))].append(element)
    best: list[HtmlElement] = []
    for members in groups.values():
        if len(members) < 2 or len(members) <= len(best):
            continue
        if all(card.find(".//a[@href]") is not None and _prices(card, book) for card in members):
            best = members
    return best


def _visible_in(card: HtmlElement) -> Callable[[HtmlElement], bool]:
    return lambda element: is_visible_in(element, card)


def _prices(card: HtmlElement, book: PhraseBook) -> list[PriceNode]:
    return price_nodes(card, book, _visible_in(card), None)


def draft_promotions(html: bytes, url: str) -> Section:
    """Draft ``[promotions]`` from the promotions page at ``url``."""
    root = parse_html(html)
    section = Section("promotions")
    parts = urlsplit(url)
    section.add("urls", [parts.path + (f"?{parts.query}" if parts.query else "")], "the page given")
    cards = promotion_cards(root)
    if not cards:
        section.notes.append("no repeated element with a price and a link was found on this page")
        for key in ("item", "link", "price"):
            section.add(key, None, "not found")
        return section
    item = group_selector(cards, root)
    section.add("item", item, f"{len(cards)} cards on this page")
    if item is None:
        section.add("item", None, "the cards have no name of their own: write a selector for them")
        return section
    country = country_of_language(root.get("lang")) or country_of_url(url)
    book = phrase_book()
    links = [card.find(".//a[@href]") for card in cards]
    link = common_relative_selector(links, cards)
    section.add("link", f"{link}::attr(href)" if link else None, "the card's first link")
    titles = [_title(card) for card in cards]
    if all(t is not None for t in titles):
        title = common_relative_selector(titles, cards)
        section.add("title", title, f"reads {own_text(titles[0]):.60}")
    nodes = [price_nodes(card, book, _visible_in(card), country) for card in cards]
    for key, kind in (("price", "current"), ("regular_price", "reference")):
        found = [next((n for n in card_nodes if n.kind == kind), None) for card_nodes in nodes]
        with_value = [(n, c) for n, c in zip(found, cards, strict=True) if n is not None]
        if not with_value:
            section.add(key, None, f"no {kind} price on the cards")
            continue
        leaves = [innermost_amount(n.element, n.amount, country) for n, _ in with_value]
        chosen = common_relative_selector(leaves, [c for _, c in with_value])
        section.add(
            key, chosen, f"reads {with_value[0][0].raw!r}" if chosen else "no selector fits every card"
        )
    _validity(section, cards)
    _listing_start(section, root, cards)
    _next_page(section, root)
    return section


def _title(card: HtmlElement) -> HtmlElement | None:
    for element in card.iter():
        if element.tag in ("h1", "h2", "h3", "h4", "h5", "h6"):
            return element
    for element in card.iter():
        if isinstance(element.tag, str) and re.search(r"title|name|titel", element.get("class") or "", re.I):
            return element
    return None


def _validity(section: Section, cards: list[HtmlElement]) -> None:
    """valid_from / valid_until: ``<time datetime>`` elements, else short texts with a date and "from"/"until"."""
    times = [card.findall(".//time[@datetime]") for card in cards]
    if all(len(t) >= 2 for t in times):
        for key, position in (("valid_from", 0), ("valid_until", -1)):
            chosen = common_relative_selector([t[position] for t in times], cards)
            section.add(key, f"{chosen}::attr(datetime)" if chosen else None, "the card's <time datetime>")
        return
    for key, words in (("valid_from", _FROM), ("valid_until", _UNTIL)):
        found = [_dated(card, words) for card in cards]
        if all(f is not None for f in found):
            chosen = common_relative_selector(found, cards)
            section.add(key, chosen, f"reads {own_text(found[0]):.60}")
        else:
            section.add(key, None, "the cards state no such date")


def _dated(card: HtmlElement, words: re.Pattern[str]) -> HtmlElement | None:
    """The innermost element with a short text holding a date and one of ``words``."""
    found = None
    for element in card.iter():
        if not isinstance(element.tag, str):
            continue
        text = own_text(element)
        if len(text) <= 80 and _DATE.search(text) and words.search(text):
            found = element
    return found


def _listing_start(section: Section, root: HtmlElement, cards: list[HtmlElement]) -> None:
    """A heading outside the cards that states when the page's promotions start ("Angebote vom 04.11.")."""
    if section.value("valid_from") is not None:
        return
    for heading in root.iter("h1", "h2"):
        if any(card in heading.iterancestors() or card is heading for card in cards):
            continue
        text = own_text(heading)
        if len(_DATE.findall(text)) >= 1 and _FROM.search(text):
            chosen = relative_selector(heading, root)
            section.add(
                "listing_valid_from", chosen, f"reads {text[:60]!r}: the start of cards that give only an end"
            )
            return


def _next_page(section: Section, root: HtmlElement) -> None:
    for link in root.iter("a"):
        if link.get("href") and (
            "next" in (link.get("rel") or "").split() or _NEXT.fullmatch(own_text(link) or "-")
        ):
            if "next" in (link.get("rel") or "").split():
                section.add("next_page", "a[rel=next]::attr(href)", "the page links its next page")
                return
            chosen = relative_selector(link, root)
            section.add(
                "next_page", f"{chosen}::attr(href)" if chosen else None, f"a link reading {own_text(link)!r}"
            )
            return
    section.add(
        "next_page",
        "a[rel=next]::attr(href)",
        "no next-page link on this page: check on a longer listing",
        sure=False,
    )
