"""Prices printed in the product block: which node is the current price, which is struck through.

A node is read alone (never a whole paragraph): "499.– au lieu de 999.–" is two nodes or one node with a
reference phrase between them. Savings ("économisez 500.–") and instalments ("49.– / mois") are never prices.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from lxml.html import HtmlElement

from promowatch.extract.phrases import PhraseBook, normalise_text
from promowatch.extract.prices import parse_amount_in

_PRICE_NODES = (
    ".//*[contains(translate(@class,'PRICE','price'),'price') or contains(translate(@id,'PRICE','price'),'price')"
    " or @itemprop='price' or contains(translate(@class,'PREIS','preis'),'preis')"
    " or contains(@class,'prix') or contains(@class,'prezzo') or self::del or self::s or self::strike]"
)
_AMOUNT = re.compile(r"\d(?:[\d'’ .,]*\d)?(?:[.,]\s?[–-]{1,2})?")
_STRUCK_TAGS = frozenset({"del", "s", "strike"})
_REFERENCE_CLASS = re.compile(
    r"old|was|strike|crossed|before|original|compare|list-?price|rrp|msrp|uvp|regular|reference|previous|"
    r"instead|statt|streich|barr|vorher|retail|higher|standard"
)
_SAVING_CLASS = re.compile(r"sav(e|ing)|discount|spar|econom|percent|badge|rabatt|reduction|off\b")
_UNIT_PRICE = re.compile(
    r"/\s*(?:kg|g|l|ml|100\s?g|100\s?ml|m|m2|m²|st|stk|unit|each)\b|per\s+(?:kg|lb|oz|100)"
)


@dataclass(frozen=True, slots=True)
class PriceNode:
    """One visible node that shows one amount."""

    element: HtmlElement
    raw: str
    amount: Decimal
    currency: str | None
    kind: str  # current | reference | saving | instalment | unit


def price_nodes(
    block: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool], country: str | None
) -> list[PriceNode]:
    """Visible price-like nodes in reading order, each with one amount, classified."""
    accepted: list[PriceNode] = []
    taken: set[int] = set()
    keep: list[HtmlElement] = []
    for element in block.xpath(_PRICE_NODES):
        if any(id(a) in taken for a in element.iterancestors()):
            continue
        raw = " ".join(element.text_content().split())
        if not raw or len(raw) > 60 or not any(ch.isdigit() for ch in raw):
            continue
        amounts = _AMOUNT.findall(raw)
        if len(amounts) != 1 and not _single_split_amount(raw):
            continue
        if not visible(element):
            continue
        amount, currency = parse_amount_in(raw, None, country)
        if amount is None or amount <= 0:
            continue
        taken.add(id(element))
        keep.append(element)
        accepted.append(PriceNode(element, raw, amount, currency, _kind(element, raw, book)))
    return accepted


def _single_split_amount(raw: str) -> bool:
    # "$ 37 . 30" and "173 34 Lei" split a price over spans; a short node of digits and one separator is one.
    return bool(re.fullmatch(r"\D{0,6}\d{1,6}\s*[.,]?\s*\d{2}\D{0,6}", raw))


def _kind(element: HtmlElement, raw: str, book: PhraseBook) -> str:
    text = normalise_text(raw)
    categories = {hit.category for hit in book.find(text)}
    if "saving" in categories or "%" in raw:
        return "saving"
    if "instalment" in categories:
        return "instalment"
    if _UNIT_PRICE.search(text):
        return "unit"
    node: HtmlElement | None = element
    for _ in range(3):
        if node is None:
            break
        if node.tag in _STRUCK_TAGS or "line-through" in (node.get("style") or ""):
            return "reference"
        node = node.getparent()
    if "reference" in categories:
        return "reference"
    words = " ".join(filter(None, (element.get("class"), element.get("id")))).lower()
    if _SAVING_CLASS.search(words):
        return "saving"
    if _REFERENCE_CLASS.search(words):
        return "reference"
    return "current"


def reference_near(
    main: PriceNode, nodes: list[PriceNode], price: Decimal, book: PhraseBook
) -> PriceNode | None:
    """A struck-through or "instead of" amount in the price box of the main price node, above the price."""
    box = main.element
    for _ in range(4):
        parent = box.getparent()
        if parent is None or len(" ".join(parent.text_content().split())) > 300:
            break
        box = parent
    inside = {id(e) for e in box.iter()}
    for node in nodes:
        if node.kind == "reference" and id(node.element) in inside and node.amount > price:
            return node
    # "statt 999.–" written as text next to the price, not in a node of its own
    text = normalise_text(box.text_content())
    for hit in book.find(text):
        if hit.category != "reference":
            continue
        tail = text[hit.end : hit.end + 30]
        match = re.match(r"\s*:?\s*(\D{0,5}\d[\d'’ .,]*(?:[.,]\s?[–-]{1,2})?\D{0,4})", tail)
        if match:
            from promowatch.extract.prices import parse_amount

            amount, currency = parse_amount(match.group(1))
            if amount is not None and amount > price:
                return PriceNode(
                    box, text[hit.start : hit.end + len(match.group(0))], amount, currency, "reference"
                )
    return None
