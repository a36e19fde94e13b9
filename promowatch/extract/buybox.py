"""The buy box: is there an add-to-cart / order control for the main product, and can it be pressed."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from lxml.html import HtmlElement

from promowatch.extract.page import classes
from promowatch.extract.phrases import PhraseBook, normalise_text

_CART_ATTRIBUTE = re.compile(
    r"add[-_ ]?to[-_ ]?(?:cart|bag|basket|trolley)|addto(?:cart|bag|basket)|add[-_]?cart|cart[-_]?add|"
    r"buy[-_]?(?:now|button|btn)|btn[-_]?(?:cart|buy)|product-form__(?:cart-)?submit|warenkorb|panier|carrello",
    re.IGNORECASE,
)
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


def buy_controls(
    block: HtmlElement, book: PhraseBook, visible: Callable[[HtmlElement], bool]
) -> list[BuyControl]:
    """The visible add-to-cart controls in the product block, by label or by class/id/name."""
    found: list[BuyControl] = []
    chooser: bool | None = None
    for element in block.xpath(_CONTROLS):
        label = normalise_text(
            " ".join(
                filter(
                    None,
                    (
                        element.text_content(),
                        element.get("value"),
                        element.get("aria-label"),
                        element.get("title"),
                    ),
                )
            )
        )
        if len(label) > 60:
            continue
        by_label = any(hit.category in ("add_to_cart", "preorder") for hit in book.find(label))
        attributes = " ".join(filter(None, (element.get("class"), element.get("id"), element.get("name"))))
        by_attribute = bool(attributes) and bool(_CART_ATTRIBUTE.search(attributes))
        if element.tag == "a" and not by_label:
            continue  # links named "cart" are usually the header's basket, not an order control
        if not (by_label or by_attribute):
            continue
        negative = [h for h in book.find(label) if h.category in _NEGATIVE_LABELS]
        if negative:
            continue  # a "Sold out" button is stock text, read by the text source
        if not visible(element):
            continue
        enabled, why = _enabled(element)
        if not enabled and chooser is None:
            chooser = has_variant_chooser(block)
        awaiting = not enabled and bool(chooser or _AWAITING_CLASS.search(attributes.lower()))
        found.append(BuyControl(label or attributes, enabled, why, awaiting))
    return found


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
