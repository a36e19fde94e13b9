"""A profile's selectors (parsel CSS with ``::text`` / ``::attr(x)``, or ``xpath:...``) on the shared tree.

A CSS selector made of tags, classes, ids and plain attribute tests joined by descendant or child combinators
(nearly every profile selector) is matched through a :class:`PageIndex` of the page's elements by class, id
and tag, right to left as browsers do: the XPath that CSS translates to visits every element of the page
with string functions, once per selector, about 80 µs each on a small product page. Anything else (pseudo-
classes, other attribute operators, several selectors) goes through that XPath; both give the same elements
in document order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import cssselect
from cssselect.parser import Attrib, Class, CombinedSelector, Element, FunctionalPseudoElement, Hash, Tree
from lxml.etree import XPath
from lxml.html import HtmlElement
from parsel.csstranslator import HTMLTranslator

# XPath's normalize-space() separates at these four only (str.split() would also split at other spaces)
_CLASS_NAME = re.compile(r"[^ \t\n\r]+")
_CLASS_SEPARATOR = re.compile(r"[ \t\n\r]")


def _class_names(value: str) -> list[str]:
    """The class names of a class attribute, separated as XPath's normalize-space() does."""
    return _CLASS_NAME.findall(value)


@dataclass(frozen=True)
class _Compound:
    """One element's conditions: tag (None for any), ids, classes, attribute tests (name, value or None)."""

    tag: str | None
    ids: tuple[str, ...]
    classes: tuple[str, ...]
    attributes: tuple[tuple[str, str | None], ...]

    def matches(self, element: HtmlElement) -> bool:
        if self.tag is not None and element.tag != self.tag:
            return False
        if self.ids and any(element.get("id") != wanted for wanted in self.ids):
            return False
        if self.classes:
            have = _class_names(element.get("class") or "")
            if any(wanted not in have for wanted in self.classes):
                return False
        for name, value in self.attributes:
            actual = element.get(name)
            if actual is None or (value is not None and actual != value):
                return False
        return True


@dataclass(frozen=True)
class _Plan:
    """A selector as compounds right to left, each with the combinator to the next one on its left."""

    compounds: tuple[_Compound, ...]  # rightmost first
    combinators: tuple[str, ...]  # combinators[i] joins compounds[i] to compounds[i + 1]: " " or ">"
    pseudo: str | None  # "text", "attr:NAME" or None


def _compound(tree: Tree) -> _Compound | None:
    tag, ids, classes, attributes = None, [], [], []
    while not isinstance(tree, Element):
        if isinstance(tree, Class):
            classes.append(tree.class_name)
        elif isinstance(tree, Hash):
            ids.append(tree.id)
        elif isinstance(tree, Attrib) and tree.namespace is None and tree.operator in ("exists", "="):
            value = str(tree.value.value) if tree.operator == "=" and tree.value is not None else None
            attributes.append((tree.attrib.lower(), value))
        else:
            return None
        tree = tree.selector
    if tree.namespace is not None:
        return None
    if tree.element not in (None, "*"):
        tag = tree.element.lower()
    return _Compound(tag, tuple(ids), tuple(classes), tuple(attributes))


@lru_cache(maxsize=512)
def _plan(selector: str) -> _Plan | None:
    """The index plan of a CSS selector, or None when only its XPath can evaluate it."""
    if selector.startswith("xpath:"):
        return None
    try:
        parsed = cssselect.parse(selector)
    except cssselect.SelectorError:
        return None
    if len(parsed) != 1:
        return None
    pseudo = parsed[0].pseudo_element
    if isinstance(pseudo, FunctionalPseudoElement):
        if pseudo.name != "attr" or len(pseudo.arguments) != 1:
            return None
        pseudo_name: str | None = "attr:" + str(pseudo.arguments[0].value)
    elif pseudo in (None, "text"):
        pseudo_name = pseudo
    else:
        return None
    compounds, combinators = [], []
    tree = parsed[0].parsed_tree
    while isinstance(tree, CombinedSelector):
        if tree.combinator not in (" ", ">"):
            return None
        right = _compound(tree.subselector)
        if right is None:
            return None
        compounds.append(right)
        combinators.append(tree.combinator)
        tree = tree.selector
    last = _compound(tree)
    if last is None:
        return None
    compounds.append(last)
    return _Plan(tuple(compounds), tuple(combinators), pseudo_name)


@lru_cache(maxsize=512)
def _compiled(selector: str) -> XPath:
    if selector.startswith("xpath:"):
        return XPath(selector.removeprefix("xpath:"))
    return XPath(HTMLTranslator().css_to_xpath(selector))


_WITH_CLASS = XPath("descendant-or-self::*[@class]")
_WITH_ID = XPath("descendant-or-self::*[@id]")
_ELEMENTS = XPath("descendant-or-self::*")


class PageIndex:
    """The elements of one parsed page by class (and id and tag when asked), in document order, each list
    built at its first use."""

    def __init__(self, root: HtmlElement) -> None:
        self.root = root
        self._classes: dict[str, list[HtmlElement]] | None = None
        self._ids: dict[str, list[HtmlElement]] | None = None
        self._tags: dict[str, list[HtmlElement]] = {}
        self._all: list[HtmlElement] | None = None
        self._matching: dict[_Compound, set[HtmlElement]] = {}

    def _by_class(self) -> dict[str, list[HtmlElement]]:
        if self._classes is None:
            classes: dict[str, list[HtmlElement]] = {}
            self._classes = classes
            for element in _WITH_CLASS(self.root):
                value = element.get("class")
                # most class attributes hold one name: no need to split them
                for name in (
                    _class_names(value) if _CLASS_SEPARATOR.search(value) else (value,) if value else ()
                ):
                    bucket = classes.get(name)
                    if bucket is None:
                        classes[name] = [element]
                    elif bucket[-1] is not element:  # class="a a": listed once
                        bucket.append(element)
        return self._classes

    def _by_id(self) -> dict[str, list[HtmlElement]]:
        if self._ids is None:
            self._ids = {}
            for element in _WITH_ID(self.root):
                self._ids.setdefault(element.get("id"), []).append(element)
        return self._ids

    def _by_tag(self, tag: str) -> list[HtmlElement]:
        if tag not in self._tags:
            self._tags[tag] = list(self.root.iter(tag))
        return self._tags[tag]

    def candidates(self, compound: _Compound) -> list[HtmlElement]:
        """The smallest list of elements that holds every match of ``compound``."""
        lists = [self._by_id().get(i, []) for i in compound.ids]
        lists += [self._by_class().get(c, []) for c in compound.classes]
        if compound.tag is not None and not lists:
            lists.append(self._by_tag(compound.tag))
        if lists:
            return min(lists, key=len)
        if self._all is None:
            self._all = list(_ELEMENTS(self.root))
        return self._all

    def matching(self, compound: _Compound) -> set[HtmlElement]:
        """Every element of the page that ``compound`` matches (an ancestor is then judged by a look-up)."""
        found = self._matching.get(compound)
        if found is None:
            found = self._matching[compound] = {e for e in self.candidates(compound) if compound.matches(e)}
        return found

    def select(self, plan: _Plan) -> list[HtmlElement]:
        first, rest = plan.compounds[0], plan.compounds[1:]
        return [
            element
            for element in self.candidates(first)
            if first.matches(element) and self._leftwards(element, rest, plan.combinators)
        ]

    def _leftwards(
        self, element: HtmlElement, compounds: tuple[_Compound, ...], combinators: tuple[str, ...]
    ) -> bool:
        """True when the compounds left of ``element``'s own match its ancestors as their combinators say."""
        if not compounds:
            return True
        matching = self.matching(compounds[0])
        parent = element.getparent()
        if combinators[0] == ">":
            return parent in matching and self._leftwards(parent, compounds[1:], combinators[1:])
        while parent is not None:  # any ancestor that matches and whose own ancestors match the rest
            if parent in matching and self._leftwards(parent, compounds[1:], combinators[1:]):
                return True
            parent = parent.getparent()
        return False


def _pseudo_results(elements: list[HtmlElement], pseudo: str | None) -> list[object]:
    if pseudo is None:
        return list(elements)
    if pseudo == "text":  # the text nodes of each element itself, as XPath's text() gives them
        texts: list[object] = []
        for element in elements:
            if element.text:
                texts.append(element.text)
            texts += [child.tail for child in element if child.tail]
        return texts
    name = pseudo.removeprefix("attr:")
    return [element.get(name) for element in elements if element.get(name) is not None]


def _results(root: HtmlElement, selector: str, index: PageIndex | None) -> list[object]:
    plan = _plan(selector) if index is not None and index.root is root else None
    if plan is not None and index is not None:
        elements = index.select(plan)
        # the text nodes of several elements, perhaps nested, come in document order only from the XPath
        if plan.pseudo != "text" or len(elements) <= 1:
            return _pseudo_results(elements, plan.pseudo)
    result = _compiled(selector)(root)
    return result if isinstance(result, list) else [result]


def select_all(root: HtmlElement, selector: str, index: PageIndex | None = None) -> list[HtmlElement]:
    """The elements a selector matches (text or attribute results are dropped); ``index`` is the page's own
    :class:`PageIndex` when ``root`` is its root."""
    return [r for r in _results(root, selector, index) if isinstance(r, HtmlElement)]


def select_text(root: HtmlElement, selector: str, index: PageIndex | None = None) -> str | None:
    """The text of the first match: a ``::text`` / ``::attr()`` string, or an element's whole text."""
    for result in _results(root, selector, index):
        if isinstance(result, HtmlElement):
            text = " ".join(result.text_content().split())
        else:
            text = " ".join(str(result).split())
        if text:
            return text
    return None
