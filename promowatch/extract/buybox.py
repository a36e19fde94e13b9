"""The buy box: is there an add-to-cart / order control for the main product, and can it be pressed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml.html import HtmlElement

from promowatch.extract.budget import check
from promowatch.extract.page import classes, is_hidden, shown_text
from promowatch.extract.phrases import PhraseBook, normalise_text

_CART_ATTRIBUTE = re.compile(
    r"add[-_ ]?to[-_ ]?(?:cart|bag|basket|trolley)|addto(?:cart|bag|basket)|add[-_]?cart|cart[-_]?add|"
    r"buy[-_]?(?:now|button|btn)|btn[-_]?(?:cart|buy)|product-form__(?:cart-)?submit|warenkorb|panier|carrello",
    re.IGNORECASE,
)
# A one-word order button ("Buy", "Kaufen"): too short a word to look for in other labels.
_BARE_BUY = frozenset(
    {"buy", "kaufen", "acheter", "comprar", "compra", "acquista", "kopen", "kup", "köp", "osta"}
)
_CART_LINK = re.compile(r"/cart/add|add-?to-?cart|addtocart|/basket/add|warenkorb", re.IGNORECASE)
_NOT_A_CONTROL = re.compile(r"info|help|tooltip", re.IGNORECASE)
_DISABLED_CLASS = re.compile(
    r"^(?:is-|btn-|button--|btn--)?(?:disabled|inactive|unavailable|soldout|sold-out)$"
)
_CONTROLS = (
    ".//button | .//input[@type='submit' or @type='button' or @type='image'] | .//a | .//*[@role='button']"
)


@dataclass(frozen=True, slots=True)
class BuyControl:
    """One add-to-cart / order control: its label and whether a shopper can press it."""

    label: str
    enabled: bool
    why: str  # what made it disabled, or "enabled"
    awaiting_choice: bool = False  # disabled only until a size/colour is chosen (a script enables it)
    sold_out_beside: bool = False  # disabled, with a hidden sold-out message in its buy box (a script picks)


def buy_controls(
    block: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool], *, states: bool = True
) -> list[BuyControl]:
    """The visible add-to-cart controls in the product block, by label or by class/id/name.

    ``states=False`` skips reading the surroundings of disabled controls (for callers that only ask
    whether there is a buy box).
    """
    found: list[BuyControl] = []
    chooser: bool | None = None
    # disabled controls side by side share a buy box: read each box once, not once per control in it
    sold_out_boxes: dict[HtmlElement, bool] = {}
    for element in block.xpath(_CONTROLS):
        check("buy controls")
        named = buy_control_name(element, book, visible)
        if named is None:
            continue
        label, attributes = named
        enabled, why = _enabled(element)
        if not enabled and chooser is None and states:
            chooser = has_variant_chooser(block)
        awaiting = not enabled and bool(chooser or _AWAITING_CLASS.search(attributes.lower()))
        beside = False
        if not enabled and states:
            box = _buy_box(element)
            if box not in sold_out_boxes:
                sold_out_boxes[box] = _hidden_sold_out_in(box, book)
            beside = sold_out_boxes[box]
        found.append(BuyControl(label or attributes, enabled, why, awaiting and not beside, beside))
    return found


def holds_buy_control(block: HtmlElement, is_control: Callable[[HtmlElement], bool]) -> bool:
    """True when ``block`` holds an element ``is_control`` accepts (``buy_control_name`` is not None), for a
    caller that asks the same of nested blocks and remembers each element's answer."""
    return any(is_control(element) for element in block.xpath(_CONTROLS))


def buy_control_name(
    element: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool]
) -> tuple[str, str] | None:
    """(label, class/id/name) of a visible add-to-cart control; None for any other element. The answer
    depends on the element alone, not on the block it is looked for in."""
    label = _label(element, book)
    if label is None:
        return None
    categories = book.categories(label)
    by_label = "add_to_cart" in categories or "preorder" in categories
    attributes = " ".join(filter(None, (element.get("class"), element.get("id"), element.get("name"))))
    by_attribute = bool(attributes) and bool(_CART_ATTRIBUTE.search(attributes))
    if not by_label and (label in _BARE_BUY or normalise_text(element.text or "") in _BARE_BUY):
        # "Buy" alone names an order control only on a button, or on a link that adds to the cart
        by_label = element.tag != "a" or bool(_CART_LINK.search(element.get("href") or ""))
    if element.tag == "a" and not by_label and (label or not by_attribute):
        # links named "cart" are usually the header's basket, not an order control; a nameless link
        # whose id says buy button is one drawn as an image
        return None
    if not (by_label or by_attribute):
        return None
    if not by_label and _NOT_A_CONTROL.search(attributes):
        return None  # an info icon or a link named after the add-to-cart it explains
    if categories & _NEGATIVE_LABELS:
        return None  # a "Sold out" button is stock text, read by the text source
    if not visible(element):
        return None
    return label, attributes


def _label(element: HtmlElement, book: PhraseBook) -> str | None:
    """The control's name from its text, value, aria-label and title; None for a content block.

    Screen-reader labels are often a sentence ("Add to bag. This button will add the item to your bag and
    open a dialog ..."): a long aria-label or title counts by its first sentence. A long text inside the
    control (a banner that is a link) is a content block, not a button.
    """
    raw = element.text_content()
    if len(raw) > 20 * _LABEL_MAX:
        return None  # whitespace aside, far too long for a button (checked before normalising)
    text = normalise_text(raw)
    if len(text) > _LABEL_MAX:
        return None
    names = [text] if text else []
    attributes = element.attrib
    for attribute in ("value", "aria-label", "title"):
        value = attributes.get(attribute)
        if not value:
            continue
        name = normalise_text(value)
        if len(name) > _LABEL_MAX and attribute != "value":
            name = re.split(r"[.!?:;]", name, maxsplit=1)[0].strip()
        if name and len(name) <= _LABEL_MAX:
            names.append(name)
    if not names:
        return ""
    label = " ".join(names)
    return label if len(label) <= _LABEL_MAX else names[0]


_LABEL_MAX = 60


# Size, colour and variant pickers: shops disable the add-to-cart until one is chosen, and the saved HTML
# keeps that default state although the visible page offers the item.
_CHOOSER = (
    ".//*[contains(@class,'swatch') or contains(@class,'variant') or"
    " contains(@class,'variation') or contains(@class,'size-select') or contains(@class,'select-size') or"
    " contains(@class,'size-option') or contains(@class,'option_size') or contains(@class,'option-size') or"
    " contains(@class,'size-picker') or contains(@class,'size-selector')]"
)
_AWAITING_CLASS = re.compile(r"no-?size|select-?size|choose-?size|no-?variant")


def has_variant_chooser(block: HtmlElement) -> bool:
    """True when the block offers a size / colour / variant choice."""
    return bool(block.xpath(_CHOOSER))


_NEGATIVE_LABELS = frozenset(
    {"out_of_stock", "sold_out", "temporarily_unavailable", "discontinued", "notify"}
)


def _buy_box(control: HtmlElement) -> HtmlElement:
    """The control's buy box: three levels up."""
    box = control
    for _ in range(3):
        parent = box.getparent()
        if parent is None:
            break
        box = parent
    return box


def _hidden_sold_out_in(box: HtmlElement, book: PhraseBook) -> bool:
    """A hidden "sold out" / "no longer available" message in a disabled control's buy box.

    Shops render both states of the buy box and let a script show one: a disabled button beside a hidden
    sold-out message may be waiting for a size, or be the sold-out state itself. (The control itself is
    visible, so it is never the hidden message.)
    """
    for element in box.iter():
        check("buy box")
        if not isinstance(element.tag, str) or not is_hidden(element):
            continue
        words = normalise_text(shown_text(element))
        if len(words) <= _MESSAGE_MAX and book.categories(words) & _SOLD_OUT:
            return True
    return False


_MESSAGE_MAX = 200
_SOLD_OUT = frozenset({"out_of_stock", "sold_out", "temporarily_unavailable", "discontinued"})


def _enabled(element: HtmlElement) -> tuple[bool, str]:
    if element.get("disabled") is not None:
        return False, "disabled attribute"
    if element.get("aria-disabled") == "true":
        return False, "aria-disabled"
    for token in classes(element):
        if _DISABLED_CLASS.match(token):
            return False, f"class {token}"
    fieldset = element.getparent()
    while fieldset is not None and fieldset.tag != "fieldset":
        fieldset = fieldset.getparent()
    if fieldset is not None and fieldset.get("disabled") is not None:
        return False, "disabled fieldset"
    return True, "enabled"
