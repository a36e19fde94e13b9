"""Short CSS selectors for elements found on one page, verified against that page.

A drafted selector must keep working on the retailer's other pages, where the product, its state and the
recommendations differ. So it is built from the names a developer gave the element (ids and classes that read
as words), never from positions or from classes that name a state (``stock-sold_out``, ``is-active``), and it
is checked to select exactly the element it was made for.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import lru_cache

from lxml import etree
from lxml.html import HtmlElement
from parsel.csstranslator import HTMLTranslator

_CSS = HTMLTranslator()

# classes and ids that say what state something is in, or that a build tool generated: they differ from page to
# page (a sold-out page's stock line is "stock-line stock-sold_out", an in-stock one's "stock-line stock-in_stock")
_STATEFUL = re.compile(
    r"(?:^|[-_])(?:is|has|js)(?:[-_]|$)|--|__.*_|"
    r"active|disabled|enabled|selected|current|loaded|loading|hidden|visible|show|open|closed|"
    r"in_?stock|out_?of_?stock|sold_?out|store_?only|limited|available|unavailable|preorder|backorder|"
    r"\d{3,}|[0-9a-f]{6,}|(?:^|-)(?=[A-Za-z]*\d)[A-Za-z0-9]{5,}$",
    re.IGNORECASE,
)
_NAME = re.compile(r"-?[A-Za-z_][A-Za-z0-9_-]*")


@lru_cache(maxsize=512)
def _compiled(selector: str) -> etree.XPath:
    return etree.XPath(_CSS.css_to_xpath(selector))


def select_all(root: HtmlElement, selector: str) -> list[HtmlElement]:
    """The elements a CSS selector picks in ``root`` or below (as parsel reads a profile's selectors)."""
    found = _compiled(selector)(root)
    return [e for e in found if isinstance(e, HtmlElement)] if isinstance(found, list) else []


def semantic_names(value: str | None) -> list[str]:
    """The words of a class attribute that can serve in a selector, in their order.

    >>> semantic_names("stock-line stock-sold_out")
    ['stock-line']
    >>> semantic_names("btn btn-primary btn-cart is-active")
    ['btn', 'btn-primary', 'btn-cart']
    """
    return [n for n in (value or "").split() if _NAME.fullmatch(n) and not _STATEFUL.search(n)]


def element_steps(element: HtmlElement) -> list[str]:
    """Ways to name ``element`` alone, best first: its id, its classes, its tag with a class, its tag."""
    steps: list[str] = []
    ident = element.get("id")
    if ident and _NAME.fullmatch(ident) and not _STATEFUL.search(ident):
        steps.append(f"#{ident}")
    names = semantic_names(element.get("class"))
    # the most specific class is usually the last (``btn btn-primary btn-cart``): try it first
    steps.extend(f".{name}" for name in reversed(names))
    steps.extend(f"{element.tag}.{name}" for name in reversed(names))
    steps.append(str(element.tag))
    if element.tag in ("button", "input") and element.get("type"):
        steps.append(f"{element.tag}[type={element.get('type')}]")
    return steps


def _ancestor_steps(element: HtmlElement, scope: HtmlElement) -> Iterator[str]:
    """Names of the ancestors of ``element`` below ``scope``, nearest first (class or id only: a bare tag of an
    ancestor says too little to be worth its length)."""
    node = element.getparent()
    while node is not None and node is not scope:
        for step in element_steps(node):
            if step.startswith(("#", ".")):
                yield step
        node = node.getparent()


def _plainness(selector: str) -> tuple[bool, int]:
    """Sort key, best first: a selector that names something (an id or class) before one of bare tags, then
    the fewest steps; otherwise the order the steps were made in (the element's most specific class first)."""
    return (not any(c in selector for c in "#."), selector.count(" "))


def relative_selector(element: HtmlElement, scope: HtmlElement) -> str | None:
    """The shortest selector that picks ``element`` and nothing else inside ``scope`` (a descendant of it)."""
    own = element_steps(element)
    candidates = list(own)
    ancestors = list(_ancestor_steps(element, scope))
    candidates.extend(f"{above} {step}" for above in ancestors for step in own)
    for candidate in sorted(candidates, key=_plainness):
        if select_all(scope, candidate) == [element]:
            return candidate
    return None


def scoped_selector(
    element: HtmlElement, scope: HtmlElement, scope_selector: str, root: HtmlElement
) -> str | None:
    """``"<scope> <relative>"``, checked to select exactly ``element`` on the whole page."""
    if element is scope:
        return scope_selector
    relative = relative_selector(element, scope)
    if relative is None:
        return None
    full = f"{scope_selector} {relative}"
    return full if select_all(root, full) == [element] else None


def page_selector(element: HtmlElement, root: HtmlElement) -> str | None:
    """A selector that picks ``element`` alone on the page, for an element that scopes others (the product
    block): its own name where that is unique, else under a named ancestor."""
    return relative_selector(element, root)


def group_selector(elements: list[HtmlElement], root: HtmlElement) -> str | None:
    """A selector of one step that picks exactly ``elements`` on the page (the promotion cards)."""
    first = elements[0]
    wanted = set(elements)
    for step in element_steps(first):
        found = select_all(root, step)
        if len(found) == len(elements) and set(found) == wanted:
            return step
    return None


def common_relative_selector(targets: list[HtmlElement], scopes: list[HtmlElement]) -> str | None:
    """One selector whose first match in each scope is that scope's target (one field of every card)."""
    candidates: list[str] = []
    for target, scope in zip(targets, scopes, strict=True):
        for candidate in [
            *element_steps(target),
            *(f"{a} {s}" for a in _ancestor_steps(target, scope) for s in element_steps(target)),
        ]:
            if candidate not in candidates:
                candidates.append(candidate)
        break  # the first card names the candidates; every card must agree with one of them
    for candidate in sorted(candidates, key=_plainness):
        if all(
            (found := select_all(scope, candidate)) and found[0] is target
            for target, scope in zip(targets, scopes, strict=True)
        ):
            return candidate
    return None
