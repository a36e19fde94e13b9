"""A profile's selectors (parsel CSS with ``::text`` / ``::attr(x)``, or ``xpath:...``) on the shared tree."""

from __future__ import annotations

from functools import lru_cache

from lxml.etree import XPath
from lxml.html import HtmlElement
from parsel.csstranslator import HTMLTranslator


@lru_cache(maxsize=512)
def _compiled(selector: str) -> XPath:
    if selector.startswith("xpath:"):
        return XPath(selector.removeprefix("xpath:"))
    return XPath(HTMLTranslator().css_to_xpath(selector))


def _results(root: HtmlElement, selector: str) -> list[object]:
    result = _compiled(selector)(root)
    return result if isinstance(result, list) else [result]


def select_all(root: HtmlElement, selector: str) -> list[HtmlElement]:
    """The elements a selector matches (text or attribute results are dropped)."""
    return [r for r in _results(root, selector) if isinstance(r, HtmlElement)]


def select_text(root: HtmlElement, selector: str) -> str | None:
    """The text of the first match: a ``::text`` / ``::attr()`` string, or an element's whole text."""
    for result in _results(root, selector):
        if isinstance(result, HtmlElement):
            text = " ".join(result.text_content().split())
        else:
            text = " ".join(str(result).split())
        if text:
            return text
    return None
