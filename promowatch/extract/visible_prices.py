"""Prices printed in the product block: which node is the current price, which is struck through.

A node is read alone (never a whole paragraph): "499.– au lieu de 999.–" is two nodes or one node with a
reference phrase between them. Savings ("économisez 500.–") and instalments ("49.– / mois") are never prices.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from lxml.etree import Element
from lxml.html import HtmlElement

from promowatch.extract.budget import MAX_PRICE_CANDIDATES, check
from promowatch.extract.page import short_text, shown_text
from promowatch.extract.phrases import PhraseBook, normalise_text
from promowatch.extract.prices import parse_amount_in

_STRUCK_TAGS = frozenset({"del", "s", "strike"})


@lru_cache(maxsize=8192)
def _price_class(class_attribute: str) -> bool:
    """Class words of a price node: "price" or "preis" in any case, "prix", "prezzo", "strike"."""
    lower = class_attribute.lower()
    return (
        "price" in lower
        or "preis" in lower
        or any(w in class_attribute for w in ("prix", "prezzo", "strike"))
    )


def _price_candidates(block: HtmlElement) -> Iterator[HtmlElement]:
    """The elements under ``block`` that may show a price, in document order: by class, id, itemprop or tag.

    A walk with one cached look-up per distinct class attribute: the same test as an XPath of contains() and
    translate() costs several times more, evaluated on every element of the block. At most
    ``MAX_PRICE_CANDIDATES`` are given: the product's own price comes first in reading order.
    """
    given = 0
    for element in block.iterdescendants(Element):
        check("price candidates")
        if given >= MAX_PRICE_CANDIDATES:
            return
        if element.tag == "table" and (cell := _first_tier_price_cell(element)) is not None:
            given += 1
            yield cell  # before the table's own cells: a price class on a tier's cell comes after it
        elif (
            element.tag in _STRUCK_TAGS
            or _price_class(element.get("class") or "")
            or "price" in (element.get("id") or "").lower()
            or element.get("itemprop") == "price"
        ):
            given += 1
            yield element


# "Quantity | Price per unit / 1-9 | € 12,40 / 10-49 | € 11,20": a table of quantity tiers. The price is the
# first tier's, for the fewest items one can order; the others are prices for more.
_QUANTITY_HEADER = re.compile(
    r"qty|quantit|menge|anzahl|st[üu]ck|cantidad|ilo[śs][ćc]|mno[žz]stv|pcs|pieces|units?\b", re.IGNORECASE
)
_PRICE_HEADER = re.compile(r"price|preis|prix|prezzo|precio|pre[çc]o|cena|цена|價|价", re.IGNORECASE)
_TIER_START = re.compile(r"\s*(?:ab|from|de|da|od|>=?|≥)?\s*\d")
_TIER_CELL_MAX = 40


def _first_tier_price_cell(table: HtmlElement) -> HtmlElement | None:
    """The price cell of a quantity-tier table's first tier: a small table of short cells whose header names
    a quantity and a price, and whose rows start with a quantity (a page's layout tables are neither)."""
    rows = table.findall("tr") + table.findall("tbody/tr") + table.findall("thead/tr")
    if not 3 <= len(rows) <= 20:
        return None
    rows.sort(key=lambda row: row.sourceline or 0)
    grid = [[cell for cell in row if cell.tag in ("td", "th")] for row in rows]
    if any(not 2 <= len(cells) <= 4 for cells in grid):
        return None
    texts = [[" ".join(cell.text_content().split()) for cell in cells] for cells in grid]
    if any(len(text) > _TIER_CELL_MAX for row in texts for text in row):
        return None
    header = " ".join(texts[0])
    if not (_QUANTITY_HEADER.search(header) and _PRICE_HEADER.search(header)):
        return None
    if not _TIER_START.match(texts[1][0]):
        return None
    priced = (cell for cell, text in zip(grid[1], texts[1], strict=True) if any(ch.isdigit() for ch in text))
    return next(itertools.islice(priced, 1, None), None)  # after the tier's own quantity


_AMOUNT = re.compile(r"\d(?:[\d'’ .,]*\d)?(?:[.,]\s?[–-]{1,2})?")
_REFERENCE_CLASS = re.compile(
    r"old|was|strike|crossed|before|original|compare|list-?price|rrp|msrp|uvp|regular|reference|previous|"
    r"instead|statt|streich|barr|vorher|retail|higher|standard|(?:^|[-_ ])reg(?:[-_ ]|$)"
)
_SAVING_CLASS = re.compile(r"sav(e|ing)|discount|spar|econom|percent|badge|rabatt|reduction|off\b")
# Shipping fees printed as amounts of their own: "+S&H: $3.00", "דמי משלוח: 10 ₪", "Versand 4,95 €".
_SHIPPING = re.compile(
    r"s&h|shipping|delivery fee|versand|livraison|envío|envio|spedizione|verzending|wysyłka|доставка|"
    r"משלוח|送料|운송|배송비"
)
_COUNT_CLASS = re.compile(r"count|qty|quantity|sold|bought", re.IGNORECASE)
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
    kind: str  # current | reference | saving | instalment | shipping | unit | option


def price_nodes(
    block: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool], country: str | None
) -> list[PriceNode]:
    """Visible price-like nodes in reading order, each with one amount, classified."""
    accepted: list[PriceNode] = []
    taken: set[int] = set()
    for element in _price_candidates(block):  # _price_candidates checks the page's budget per element
        if any(id(a) in taken for a in element.iterancestors()):
            continue
        node = price_node(element, book, visible, country)
        if node is not None:
            taken.add(id(element))  # the accepted node holds the element: its id stays unique
            accepted.append(node)
    return accepted


def holds_price(block: HtmlElement, is_price: Callable[[HtmlElement], bool]) -> bool:
    """True when ``price_nodes(block, ...)`` is not empty, for a caller that asks the same of nested blocks and
    remembers each element's answer (``is_price``: ``price_node`` is not None). The first element accepted in
    reading order has no accepted ancestor before it, so any accepted element makes the list non-empty."""
    return any(is_price(element) for element in _price_candidates(block))


def price_node(
    element: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool], country: str | None
) -> PriceNode | None:
    """The element as a price node when it shows one visible amount; the answer depends on the element
    alone, not on the block it is looked for in."""
    full = short_text(element, 1999)
    if full is None:
        return None  # a whole section, not a price
    raw = full
    if len(raw) > 60 or _holds_code(element):
        raw = shown_text(element)  # an inline script or template beside the amount is not its text
    if element.find(".//sup") is not None:
        raw = _sup_cents(element, raw)
    if not raw or len(raw) > 60 or not any(ch.isdigit() for ch in raw):
        return None
    amounts = _AMOUNT.findall(raw)
    if len(amounts) != 1 and not _single_split_amount(raw):
        # "$69.99 <span>Earn up to 70 reward points</span>": the node's own words hold the price
        raw = _direct_text(element)
        if len(_AMOUNT.findall(raw)) != 1:
            return None
    if not visible(element):
        return None
    amount, currency = parse_amount_in(raw, None, country)
    if amount is None or amount <= 0:
        return None
    if currency is None and _COUNT_CLASS.search(f"{element.get('class') or ''} {element.get('id') or ''}"):
        return None  # "price_buy_count: 29 bought", "price-qty": a number of items, not money
    return PriceNode(element, raw, amount, currency, _kind(element, raw, book))


def _direct_text(element: HtmlElement) -> str:
    """The text written in the element itself, not inside its child elements."""
    parts = [element.text or ""] + [child.tail or "" for child in element]
    return " ".join(" ".join(parts).split())


def _holds_code(element: HtmlElement) -> bool:
    return element.find(".//script") is not None or element.find(".//template") is not None


def _sup_cents(element: HtmlElement, raw: str) -> str:
    """ "$199<sup>00</sup>" reads "$19900" as text, "$<span>12</span> <sup>99</sup>" "$12 99": the raised two
    digits right after a number, in the text or in the element before them, are its cents."""
    for sup in element.iter("sup"):
        cents = (sup.text or "").strip()
        if len(cents) != 2 or not cents.isdigit():
            continue
        previous = sup.getprevious()
        if previous is None:
            before = sup.getparent().text or ""
        else:
            before = previous.tail or ""
            if not before.strip():  # the whole amount in its own element: "<span>12</span> <sup>99</sup>"
                before = previous.text_content() + before
        if before.rstrip()[-1:].isdigit():
            digits = before.strip().split()[-1]
            raw = re.sub(rf"{re.escape(digits)}\s*{cents}", f"{digits}.{cents}", raw, count=1)
    return raw


def _single_split_amount(raw: str) -> bool:
    # "$ 37 . 30" and "173 34 Lei" split a price over spans; a short node of digits and one separator is one.
    return bool(re.fullmatch(r"\D{0,6}\d{1,6}\s*[.,]?\s*\d{2}\D{0,6}", raw))


def _kind(element: HtmlElement, raw: str, book: PhraseBook) -> str:
    text = normalise_text(raw)
    categories = book.categories(text)
    if "saving" in categories or "%" in raw:
        return "saving"
    if "instalment" in categories:
        return "instalment"
    first_digit = next((i for i, ch in enumerate(text) if ch.isdigit()), 0)
    if _SHIPPING.search(text, 0, first_digit):
        return "shipping"  # the fee's label comes first; "$89.00 & free shipping" is a price
    if _UNIT_PRICE.search(text):
        return "unit"
    if _CONDITIONAL.search(text) or _CONDITIONAL_CLASS.search(
        f"{element.get('class') or ''} {element.get('id') or ''}"
    ):
        return "conditional"  # a price only members or card holders pay: not the shop's price
    if _in_option(element):
        return "option"
    node: HtmlElement | None = element
    for _ in range(3):
        if node is None:
            break
        if node.tag in _STRUCK_TAGS or "line-through" in (node.get("style") or ""):
            return "reference"
        node = node.getparent()
    if "reference" in categories:
        return "reference"
    for inner in element.iterdescendants():
        # "OUR PRICE: <span class="strikeout">$51.00</span>": the node is the label and its struck amount
        if isinstance(inner.tag, str) and _struck(inner) and any(ch.isdigit() for ch in inner.text_content()):
            return "reference"
    words = " ".join(filter(None, (element.get("class"), element.get("id")))).lower()
    if _SAVING_CLASS.search(words):
        return "saving"
    if _REFERENCE_CLASS.search(words):
        return "reference"
    return "current"


# Prices for some buyers only, worded on the amount's own node: "$4.99 with Club Card", "Member price $89.99",
# "Mitgliederpreis", "prix adhérent", "prezzo soci", "precio socio", "preço sócio".
_CONDITIONAL = re.compile(
    r"\bmembers?\b(?: price| only|ship)?|club ?card|with (?:the |your )?(?:card|app)|loyalty|rewards? price|"
    r"mitglieder(?:preis)?|mit (?:der )?kundenkarte|(?:prix|tarif) (?:adh[ée]rent|membre|fid[ée]lit[ée])|"
    r"avec (?:la )?carte|prezzo soci|con (?:la )?(?:carta|tessera)|precio socio|con tarjeta|pre[çc]o s[óo]cio"
)
_CONDITIONAL_CLASS = re.compile(r"member|club|loyalty|card-?price", re.IGNORECASE)


def _in_option(element: HtmlElement) -> bool:
    """True inside the label of a checkbox or radio: an add-on (protection plan, gift wrap) priced alone."""
    node = element.getparent()
    for _ in range(4):
        if node is None:
            return False
        if node.tag == "label":
            return bool(node.xpath(".//input[@type='checkbox' or @type='radio']"))
        node = node.getparent()
    return False


# Words that label the price paid now: "$64.95 Now $52.00", "Price: $119.99 Deal of the Day: $89.00".
_NOW_LABEL = re.compile(
    r"^(?:now|sale|sale price|deal|deal price|deal of the day|today|today's price|our price|your price|"
    r"special price|featured price|offer price|jetzt|nur|maintenant|ahora|ora|teraz|nu)\b"
)


def is_now_price(node: PriceNode) -> bool:
    """True when the node's own words label its amount as the price paid now ("Now $52.00")."""
    return bool(_NOW_LABEL.match(normalise_text(node.raw)))


def labelled_reference(main: PriceNode, nodes: list[PriceNode]) -> PriceNode | None:
    """The higher unlabelled amount printed just before a "now" price: the price it replaces."""
    if not is_now_price(main):
        return None
    position = next((i for i, node in enumerate(nodes) if node is main), None)
    if not position:
        return None
    before = nodes[position - 1]
    if before.kind in ("current", "reference") and before.amount > main.amount and not is_now_price(before):
        return before
    return None


_STRUCK_CLASS = re.compile(r"strike|crossed|line-?through|old-?price|was-?price")


def _struck(element: HtmlElement) -> bool:
    return (
        element.tag in _STRUCK_TAGS
        or "line-through" in (element.get("style") or "")
        or bool(_STRUCK_CLASS.search((element.get("class") or "").lower()))
    )


def reference_near(
    main: PriceNode, nodes: list[PriceNode], price: Decimal, book: PhraseBook
) -> PriceNode | None:
    """A struck-through or "instead of" amount in the price box of the main price node, above the price."""
    box = main.element
    for _ in range(4):
        parent = box.getparent()
        if parent is None or len(shown_text(parent)) > 300:
            break
        box = parent
    inside = {id(e) for e in box.iter()}
    for node in nodes:
        if node.kind == "reference" and id(node.element) in inside and node.amount > price:
            return node
    before = labelled_reference(main, nodes)
    if before is not None and id(before.element) in inside:
        return before
    # "statt 999.–" written as text next to the price, not in a node of its own
    text = normalise_text(shown_text(box))
    for hit in book.find(text):
        if hit.category != "reference":
            continue
        tail = text[hit.end : hit.end + 30]
        match = _AMOUNT_AFTER_LABEL.match(tail)
        if match:
            from promowatch.extract.prices import parse_amount

            amount, currency = parse_amount(match.group(1))
            if amount is not None and amount > price:
                return PriceNode(
                    box, text[hit.start : hit.end + len(match.group(0))], amount, currency, "reference"
                )
    return None


# "statt 1'299.–", "RRP: $10.95": groups of three after a separator, then cents (a space is no decimal mark).
_AMOUNT_AFTER_LABEL = re.compile(
    r"\s*:?\s*(\D{0,5}\d+(?:[ '’.,]\d{3})*(?:[.,]\d{1,2})?(?:[.,]\s?[–-]{1,2})?(?!\d)\D{0,4})"
)
# An amount written with its currency, in running text: "294 元", "$11.37", "36,49 zł".
_MARKED_AMOUNT = re.compile(
    r"(?:[a-z]{0,2}\$|[€£¥₩₹₽])\s?\d(?:[\d,.'’ ]*\d)?|"
    r"\d(?:[\d,.'’ ]*\d)?\s?(?:元|円|원|€|£|₽|zł|kč|kr|lei|руб)",
    re.IGNORECASE,
)
_BOX_TEXT_MAX = 600
_WINDOW_BEFORE, _WINDOW_AFTER = 30, 40


def price_beside_reference(reference: PriceNode, book: PhraseBook, country: str | None) -> PriceNode | None:
    """The lower amount printed as text beside a struck or "was" price that no price node marks.

    "建議售價 <del>$420</del> 元 一次付清特價 7 折 294 元": the reference has markup, the price paid is
    only words. Within a few words of the reference, the nearest lower amount written with its currency is
    the price; savings, instalments and unit prices are not.
    """
    box = reference.element
    anchor_text = normalise_text(reference.raw)
    for _ in range(4):
        parent = box.getparent()
        if parent is None:
            return None
        text = normalise_text(shown_text(parent))
        if len(text) > _BOX_TEXT_MAX:
            return None
        box = parent
        anchor = text.find(anchor_text)
        if anchor < 0:
            return None
        start = max(0, anchor - _WINDOW_BEFORE)
        window = text[start : anchor + len(anchor_text) + _WINDOW_AFTER]
        best: tuple[int, PriceNode] | None = None
        for match in _MARKED_AMOUNT.finditer(window):
            if _not_the_price(window, match, book):
                continue
            amount, currency = parse_amount_in(match.group(0), None, country)
            if amount is None or not (reference.amount / 20 < amount < reference.amount):
                continue
            distance = abs(start + match.start() - anchor)
            if best is None or distance < best[0]:
                best = (distance, PriceNode(box, match.group(0).strip(), amount, currency, "current"))
        if best is not None:
            return best[1]
    return None


def _not_the_price(window: str, match: re.Match[str], book: PhraseBook) -> bool:
    """A saving, an instalment or a unit price: the words right around the amount say so."""
    before = window[max(0, match.start() - 10) : match.start()]
    after = window[match.end() : match.end() + 8]
    if _FROM_OR_PER.match(after) or _MEASURE_UNIT.search(match.group(0) + after):
        return True
    categories = {hit.category for hit in book.find(before)}
    return bool(categories & {"saving", "instalment"}) or bool(
        _PER_PERIOD.search(before + match.group(0) + after)
    )


# "-30%", "$99元起/包" (from 99 per pack), "$5/ea": a share, a from-price or a price per unit
_FROM_OR_PER = re.compile(r"\s?(?:元\s?)?(?:%|起|~|/|\+)")


# instalment wording that the phrase tables do not hold as words ("每期$98": per period)
_PER_PERIOD = re.compile(r"每期|/\s?(?:mo|month|mes|mois|monat)\b|x\s?\d+\s?(?:mes|cuotas)")


_LEAF_MAX = 40
_BOX_MAX = 160


def amount_leaf(
    block: HtmlElement, price: Decimal, visible: Callable[[HtmlElement], bool], country: str | None
) -> PriceNode | None:
    """The visible element whose own short text is the given price, where no price class marks it.

    Shops with generated class names ("uqkIZw ka2E9k") print the price in anonymous spans; the structured
    price tells which one.
    """
    digits = str(int(price))
    for element in block.iter():
        check("amount leaf")
        text = element.text
        if not text or not isinstance(element.tag, str) or len(element) > 2:
            continue
        raw = short_text(element, _LEAF_MAX)
        if raw is None or digits not in re.sub(r"\D", "", raw):
            continue
        if len(_AMOUNT.findall(raw)) != 1 and not _single_split_amount(raw):
            continue
        amount, currency = parse_amount_in(raw, None, country)
        if amount == price and visible(element):
            return PriceNode(element, raw, amount, currency, "current")
    return None


def reference_in_box(
    main: PriceNode,
    price: Decimal,
    book: PhraseBook,
    visible: Callable[[HtmlElement], bool],
    country: str | None,
) -> PriceNode | None:
    """The one higher amount printed beside the price in a small price box that shows a discount.

    Struck-through styling often lives in a stylesheet (or behind generated class names): "16% off €41.30
    €49.10", "1 529 ₽ 899 ₽ -41%", "$24.99 $39.99". The smallest box around the price holding one higher
    amount decides: that amount is the reference when the box shows a saving, a "now" word, or nothing but
    the two amounts; never beside net-of-tax, shipping or measure-unit wording (those pairs are other prices).
    """
    box = main.element
    for _ in range(4):
        parent = box.getparent()
        if parent is None:
            return None
        text = normalise_text(shown_text(parent))
        if len(text) > _BOX_MAX:
            return None
        box = parent
        higher = _higher_amounts(box, main, price, book, visible, country)
        if not higher:
            continue
        if len({node.amount for node in higher}) != 1:
            return None
        if _NOT_A_REFERENCE.search(text) or _MEASURE_UNIT.search(text) or _RANGE.search(text):
            return None
        categories = book.categories(text)
        if "instalment" in categories:
            return None
        if "%" in text or "saving" in categories or _NOW.search(text) or not _BARE.sub("", text):
            return higher[0]
        # A badge ("16% off") may sit one level further out; "VAT included" beside the pair says nothing.
    return None


def _higher_amounts(
    box: HtmlElement,
    main: PriceNode,
    price: Decimal,
    book: PhraseBook,
    visible: Callable[[HtmlElement], bool],
    country: str | None,
) -> list[PriceNode]:
    higher: list[PriceNode] = []
    for element in box.iter():
        check("higher amounts")
        if element is main.element or not isinstance(element.tag, str) or len(element) > 2:
            continue
        raw = short_text(element, _LEAF_MAX)
        if not raw or "%" in raw or not any(ch.isdigit() for ch in raw):
            continue
        if main.element in element.iterdescendants() or element in main.element.iterdescendants():
            continue
        if len(_AMOUNT.findall(raw)) != 1 and not _single_split_amount(raw):
            continue
        amount, currency = parse_amount_in(raw, None, country)
        if amount is None or amount <= price or not visible(element):
            continue
        if currency != main.currency and (currency is None or main.currency is not None):
            continue  # another currency, or a bare number (count, rating) beside a priced amount
        if _kind(element, raw, book) in ("saving", "instalment", "unit"):
            continue
        higher.append(PriceNode(element, raw, amount, currency, "reference"))
    return higher


_NOT_A_REFERENCE = re.compile(
    r"excl|\bbez\b|ohne|\bht\b|\bnet\b|ex\.? ?vat|\+ ?vat|zzgl\. mwst|shipping|delivery|versand|"
    r"\bfrom\b|\bab\b|\bdès\b|starting|\bmember|\bclub\b|\bcard\b"
)
_MEASURE_UNIT = re.compile(r"/\s*(?:kg|g|l|ml|100\s?g|100\s?ml|m|m2|m²|lb|oz)\b|per\s+(?:kg|lb|oz|100)")
_NOW = re.compile(r"\bnow\b|\bsale\b|\bdeal\b")
_BARE = re.compile(r"[\d\s.,'’|]|[$€£¥₽₹₩]|zł|kč|chf|eur|usd")
# "$19.95 – $24.95", "38.17 - 48.27": a price range over options, not a price and its reference.
_RANGE = re.compile(r"\d\s*(?:[-–—~]|\bto\b|\bbis\b)\s*(?:[^\d\s%]{1,4}\s*)?\d(?![\d.,]*\s*%)")


# Net-of-tax labels: B2B shops print the price without VAT beside the one a consumer pays.
_NET_LABEL = re.compile(
    r"bez dph|bez vat|excl\.?\s*(?:vat|tax|btw|gst|mwst)|exkl\.?\s*(?:mwst|moms|ust)|ohne mwst|zzgl\.?\s*mwst|"
    r"\bnetto\b|\bnet\b|\bht\b|hors tax|sans tva|ex\.?\s*(?:vat|gst)|excluding (?:vat|tax)|sin iva|senza iva|"
    r"brez ddv|ilman alv|exclusief btw|bez pdv|fără tva"
)


def is_net_price(node: PriceNode) -> bool:
    """True when the label printed with the amount ("bez DPH 3,56 €", "excl. VAT") marks it net of tax."""
    box, label = node.element, None
    for _ in range(2):
        parent = box.getparent()
        if parent is None:
            break
        text = short_text(parent, 60)  # the whole parent's text would make a list of n prices cost n²
        if text is None:
            break
        box, label = parent, text
        if len(text) > len(node.raw) + 2:
            break  # the smallest box that holds a label beside the amount is the amount's own
    return bool(_NET_LABEL.search(normalise_text(label if label is not None else box.text_content())))
