"""Reading a saved page and walking its tree the way a shopper sees it.

The tree is parsed once per page (lxml) and shared by every source. "Visible" here is what static HTML can
tell: not in ``<script>``/``<template>``, not ``hidden``, not ``display:none``, not in the page chrome
(header, menus, footer, cookie banner) and not in sections of other products (related, recommended, ...).
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path

import lxml.html
from lxml.html import HtmlElement
from w3lib.encoding import html_to_unicode

from promowatch.extract.budget import check


def read_page(path: Path) -> bytes:
    """The bytes of a saved page, ``.html`` or ``.html.gz``."""
    data = path.read_bytes()
    if path.suffix == ".gz" or data[:2] == b"\x1f\x8b":
        return gzip.decompress(data)
    return data


def parse_html(body: bytes, encoding: str | None = None) -> HtmlElement:
    """Decode (given encoding, else BOM / meta charset / UTF-8) and parse into an lxml tree."""
    if encoding:
        text = body.decode(encoding, errors="replace")
    else:
        _, text = html_to_unicode(None, body)
    text = text.replace("\x00", "")
    # lxml refuses str input that declares an encoding in an XML prolog.
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    if not text.strip():
        text = "<html><body></body></html>"
    return lxml.html.document_fromstring(text)


# Elements whose text a shopper never reads as part of the page.
SKIP_TAGS = frozenset(
    {
        "script",
        "style",
        "noscript",
        "template",
        "svg",
        "head",
        "title",
        "select",
        "option",
        "datalist",
        "iframe",
        "object",
        "textarea",
        "math",
    }
)
CHROME_TAGS = frozenset({"header", "nav", "footer", "aside", "dialog"})
_HIDDEN_CLASS = re.compile(
    r"^(?:(?:is|u|js|ui|x|ng|el)-)?(?:hidden|hide|none|d-none|invisible|display-none|visually-?hidden|"
    r"sr-only|screen-reader-text|no-display|offscreen)$"
)
_HIDDEN_STYLE = re.compile(r"(?<![-\w])(?:display\s*:\s*none|visibility\s*:\s*hidden)", re.IGNORECASE)
# Class or id words of sections that are not the main product: other products, chrome, overlays.
_OTHER_SECTION = re.compile(
    r"related|recommend|similar|upsell|up-sell|cross-?sell|also-?(?:bought|viewed|like|purchased)|"
    r"recently|you-?may|others-?bought|bought-?together|cookie|consent|gdpr|newsletter|mega-?menu|"
    r"breadcrumb|review|rating|comment|minicart|mini-cart|cart-?drawer|cart-?popup|modal|popup|overlay|"
    r"lightbox|sidebar|accessor|bundle|sponsored|\bads?\b|banner|promo-?bar|country-?select|"
    r"^(?:site|global|page|main|top|bottom)?-?(?:header|footer|nav|navigation|navbar|menu)$"
)

# "section--withoutSidebar", "has-banner": a modifier describing the element's layout, not a sidebar itself.
# "recommendations-visible", "modal-open": a state class put on the page wrapper, not such a section.
_LAYOUT_MODIFIER = re.compile(
    r"(?:with|without|has|no)[-_]?(?:sidebar|banner|overlay|modal|popup|reviews?|rating)|"
    r"(?:sidebar|banner|overlay|modal|popup|reviews?|rating|recommendations?|related|cookie|consent|minicart)"
    r"[-_](?:visible|open|opened|active|enabled|shown|closed|loaded|on)$"
)


def classes(element: HtmlElement) -> list[str]:
    return (element.get("class") or "").lower().split()


def is_hidden(element: HtmlElement) -> bool:
    """True when the element's own markup hides it (its ancestors are not looked at)."""
    if element.get("hidden") is not None:
        return True
    if element.get("aria-hidden") == "true" and not _page_wrapper(element):
        return True
    if element.get("type") == "hidden":
        return True
    style = element.get("style")
    if style and _HIDDEN_STYLE.search(style):
        return True
    return _hiding_classes(element.get("class"))


# Pages repeat the same few class attributes hundreds of times: each distinct one is judged once.
@lru_cache(maxsize=8192)
def _hiding_classes(attribute: str | None) -> bool:
    return any(_HIDDEN_CLASS.match(token) for token in (attribute or "").lower().split())


@lru_cache(maxsize=8192)
def _other_section_words(attribute: str | None, ident: str | None) -> bool:
    words = (attribute or "").lower().split()
    if ident:
        words.append(ident.lower())
    return any(_OTHER_SECTION.search(word) and not _LAYOUT_MODIFIER.search(word) for word in words)


def _page_wrapper(element: HtmlElement) -> bool:
    # A script that opens a dialog marks the rest of the page aria-hidden; a page saved in that moment still
    # shows it. Off-screen slides and visual duplicates, the usual aria-hidden content, never hold the title.
    parent = element.getparent()
    if parent is not None and parent.tag == "body":
        return True
    return element.find(".//h1") is not None


def is_other_section(element: HtmlElement) -> bool:
    """True for page chrome and for sections about other products (related, recommended, ...)."""
    tag = element.tag
    if tag in CHROME_TAGS:
        return not (tag in _CONTENT_CHROME and _product_part(element))
    if element.get("role") in ("navigation", "banner", "contentinfo", "dialog"):
        return True
    if tag in _CONTROL_TAGS:
        return False  # a button's "modal" or "popup" class names what it opens, not a section it is in
    if _other_section_words(element.get("class"), element.get("id")):
        words = f"{element.get('class') or ''} {element.get('id') or ''}"
        return not (_WRAPPER_WORD.search(words) and _product_part(element))
    if tag in _LIST_TAGS:
        return is_link_menu(element)
    if tag in _SECTION_TAGS and len(element) and _headed_as_other_products(element):
        return not _product_part(element)
    return False


_SECTION_TAGS = frozenset({"div", "section"})
_HEADING_TAGS = frozenset({"h2", "h3", "h4", "h5", "h6", "strong", "b"})
# Headings of sections about other products, for sections no class names ("<p><strong>Customers also
# bought</strong></p>"): what follows them is another item's price and stock.
_OTHER_HEADING = re.compile(
    r"(?:customers?|people|shoppers) (?:who .{0,20})?(?:also )?(?:bought|viewed|purchased)|you (?:may|might) also"
    r"|related (?:products|items)|similar (?:products|items)|frequently bought together|recommended for you"
    r"|kunden (?:kauften|kaufen) auch|könnte (?:dich|sie|ihnen) auch|ähnliche (?:produkte|artikel)|passend dazu"
    r"|les clients ont (?:aussi|également)|vous aimerez aussi|produits (?:similaires|associés)"
    r"|potrebbe (?:interessarti|piacerti)|prodotti (?:simili|correlati)|también te (?:puede|podría)"
    r"|productos (?:relacionados|similares)|produtos (?:relacionados|semelhantes)|quem comprou"
    r"|podobné produkty|похожие товары|с этим товаром покупают",
    re.IGNORECASE,
)


def _headed_as_other_products(element: HtmlElement) -> bool:
    """True when the element opens with a short heading about other products ("Customers also bought")."""
    first = element[0]
    if first.tag in ("p", "div", "span") and len(first) == 1 and not (first.text or "").strip():
        first = first[0]  # "<p><strong>Customers also bought</strong></p>"
    if first.tag not in _HEADING_TAGS:
        return False
    heading = first.text_content()
    return len(heading) <= 80 and bool(_OTHER_HEADING.search(heading))


_LIST_TAGS = frozenset({"ul", "ol"})
_MENU_ENTRIES = 4
_MENU_WORDS = 40
_ACTION_LINK = re.compile(r"cart|basket|warenkorb|panier|carrello|carrito|korzin|kosik|koszyk|checkout", re.I)


def is_link_menu(element: HtmlElement) -> bool:
    """A list of at least four entries that are each one link to another page and nothing else: a site's
    menu ("Новинки | Предзаказ | Распродажа ..."), whatever its class. Its words name categories of the shop,
    never the state of the page's item. Lists with an add-to-cart link or a form control are the buy box's."""
    entries = [child for child in element if child.tag == "li"]
    if len(entries) < _MENU_ENTRIES or len(entries) != len(element):
        return False
    for entry in entries:
        links = entry.findall(".//a")
        if len(links) != 1 or entry.find(".//button") is not None or entry.find(".//input") is not None:
            return False
        href = links[0].get("href") or ""
        if not href or href.startswith(("#", "javascript")) or _ACTION_LINK.search(href):
            return False
        words = " ".join(links[0].text_content().split())
        if len(words) > _MENU_WORDS or " ".join(entry.text_content().split()) != words:
            return False  # a product tile (title, price, state) is not a menu entry
    return True


_CONTROL_TAGS = frozenset({"button", "input"})
# Shops also use <header> and <aside> inside the product: the title's header, the buy box in an <aside>
# beside the title. Such an element is part of the product, not the page chrome.
_CONTENT_CHROME = frozenset({"header", "aside"})
# Layout words that shops also give to a wrapper of the whole product ("header", "shopping-ads"): such an
# element holding the product's title is the product, not chrome or an advert.
_WRAPPER_WORD = re.compile(r"(?:^|\s)header(?:\s|$)|\bads?\b|banner|sidebar", re.IGNORECASE)


def _product_part(element: HtmlElement) -> bool:
    if element.tag == "aside":
        # the buy box beside the title: its parent (or grandparent) holds the product's heading
        parent = element.getparent()
        return parent is not None and any(
            _product_title(h1) and (h1.getparent() is parent or h1.getparent().getparent() is parent)
            for h1 in parent.iter("h1")
        )
    return any(_product_title(h1) for h1 in element.iter("h1"))


def _product_title(h1: HtmlElement) -> bool:
    # A site header's h1 is the logo: an image, or a link home; a product's title is text.
    if h1.find(".//img") is not None or h1.find(".//svg") is not None:
        return False
    text = " ".join(h1.text_content().split())
    links = " ".join(" ".join(a.text_content().split()) for a in h1.iter("a"))
    return bool(text) and links != text


# The product's pictures and their placeholders: a script writes "Immagine non disponibile" (image not available)
# there when a picture fails to load, a message about the picture, never the item's stock. Tags, and class or id
# words of picture containers ("main-image-container", "imageBlock", "product-gallery", "thumbnails").
MEDIA_TAGS = frozenset({"picture", "figure", "video", "audio"})
_MEDIA_WORD = re.compile(
    r"(?:^|[-_])(?:images?|img|gallery|thumb(?:nail)?s?|media(?!-(?:body|left|right|object|heading|list|middle)))"
    r"(?=$|[-_A-Z0-9])|(?<=[a-z])(?:Images?|Img|Gallery|Thumb(?:nail)?s?|Media)(?=$|[-_A-Z0-9])"
)


@lru_cache(maxsize=8192)
def _media_words(attribute: str | None, ident: str | None) -> bool:
    words = (attribute or "").split()
    if ident:
        words.append(ident)
    return any(_MEDIA_WORD.search(word) for word in words if word != "media")  # Bootstrap's layout "media"


def is_media(element: HtmlElement) -> bool:
    """True for the product's pictures and their containers, unless it also holds the product's title or a
    form (a wrapper of the whole product named after its gallery)."""
    if element.tag not in MEDIA_TAGS and not _media_words(element.get("class"), element.get("id")):
        return False
    return (
        element.find(".//form") is None
        and not any(_product_title(h1) for h1 in element.iter("h1"))
        and not any(_badge_classes(e.get("class")) for e in element.iter("div", "span", "p", "ul"))
    )


# A state badge laid over the main picture ("Na objednanie do 4 prac. dní" in a "tags" box, peb-bc5a68d0c2) is
# the shop's own words about the item, not a picture's placeholder: a picture container holding one is read.
_BADGE_CLASS = re.compile(r"^(?:product-?)?(?:tags?|badges?|flags?|stickers?|ribbons?|labels?)$")


@lru_cache(maxsize=8192)
def _badge_classes(attribute: str | None) -> bool:
    return any(_BADGE_CLASS.match(token) for token in (attribute or "").lower().split())


def is_skipped(element: HtmlElement) -> bool:
    """Not read as the product's visible text: non-text tags, hidden markup, other sections, pictures."""
    tag = element.tag
    if not isinstance(tag, str) or tag in SKIP_TAGS:
        return True
    return is_hidden(element) or is_other_section(element) or is_media(element)


def visible_chunks(root: HtmlElement, skip: Callable[[HtmlElement], bool] = is_skipped) -> Iterator[str]:
    """Pieces of visible text in reading order; block boundaries yield a separator. An element ``skip`` names
    (by default :func:`is_skipped`) is left out with everything in it, but not its tail."""
    stack: list[tuple[HtmlElement, bool]] = [(root, False)]
    while stack:
        check("visible text")
        element, closing = stack.pop()
        if closing:
            yield " | " if element.tag in _BLOCK_TAGS else " "
            if element.tail and element is not root:
                yield element.tail
            continue
        if element is not root and skip(element):
            if element.tail:
                yield element.tail
            continue
        yield " | " if element.tag in _BLOCK_TAGS else " "
        if element.text:
            yield element.text
        stack.append((element, True))
        for child in reversed(element):
            stack.append((child, False))


def visible_text(root: HtmlElement, skip: Callable[[HtmlElement], bool] = is_skipped) -> str:
    """The visible text under ``root`` as one string; blocks separated by " | "."""
    return "".join(visible_chunks(root, skip))


def is_visible_in(element: HtmlElement, root: HtmlElement) -> bool:
    """True when neither the element nor an ancestor up to ``root`` is skipped."""
    node: HtmlElement | None = element
    while node is not None and node is not root:
        if is_skipped(node):
            return False
        node = node.getparent()
    return True


def shown_text(element: HtmlElement) -> str:
    """The text under an element without scripts, styles and templates, whitespace collapsed.

    Price boxes carry inline scripts ("var price = ...") whose text would make a small box look large.
    """
    parts: list[str] = []
    _collect_shown(element, parts)
    return " ".join("".join(parts).split())


def _collect_shown(element: HtmlElement, parts: list[str]) -> None:
    if element.text:
        parts.append(element.text)
    for child in element:
        if isinstance(child.tag, str) and child.tag not in _CODE_TAGS:
            _collect_shown(child, parts)
        if child.tail:
            parts.append(child.tail)


_CODE_TAGS = frozenset({"script", "style", "template", "noscript"})


def own_text(element: HtmlElement) -> str:
    """All text under an element, whitespace collapsed (hidden parts included: use on small nodes)."""
    return " ".join(element.text_content().split())


def short_text(element: HtmlElement, limit: int) -> str | None:
    """:func:`own_text` when it has at most ``limit`` characters, else None.

    Reads no more of a large element than it takes to tell: a price's box is asked about once per price in
    it, and a box of 200,000 prices must not be read 200,000 times. Markup with more than a few kilobytes of
    whitespace around so few characters counts as long.
    """
    parts: list[str] = []
    shown = raw = 0
    most = 16 * limit + 4096
    for piece in element.itertext():
        piece = piece[: most - raw + 1]  # one huge text node costs no more than the limit either
        parts.append(piece)
        raw += len(piece)
        shown += len("".join(piece.split()))
        if shown > limit or raw > most:
            return None
    text = " ".join("".join(parts).split())
    return text if len(text) <= limit else None


_BLOCK_TAGS = frozenset(
    {
        "div",
        "p",
        "li",
        "ul",
        "ol",
        "section",
        "article",
        "main",
        "table",
        "tr",
        "td",
        "th",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "form",
        "fieldset",
        "dl",
        "dt",
        "dd",
        "br",
        "button",
        "label",
    }
)
