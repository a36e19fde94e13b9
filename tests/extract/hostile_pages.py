"""Product pages a hostile shop can serve to stall or crash extraction, generated at any size.

The shapes come from the probe in issue 19: a 7.9 MB page with 200,000 price elements kept ``check`` busy for
1,401 s; deep nesting and huge text nodes are the other ways a page can make per-page work grow faster than its
bytes. Shared by ``tests/extract/test_hostile_pages.py`` and ``bench/hostile.py``.
"""

from __future__ import annotations

URL = "https://hostile.example/product/coffee-machine"

_HEAD = (
    "<!doctype html><html lang='de'><head><title>Kaffeemaschine</title></head><body>"
    "<main><div class='product'><h1>Kaffeemaschine</h1>"
    "<div class='buy-box'><span class='price'>CHF 499.–</span>"
    "<button type='submit' class='add-to-cart'>In den Warenkorb</button></div>"
)
_TAIL = "</div></main></body></html>"


def price_elements(count: int) -> bytes:
    """The product block followed by ``count`` price elements, each in its own list item (about 40 bytes
    each, like the 200,000-element page of the probe)."""
    items = "".join(f"<li><span class='price'>CHF {i % 900 + 10}.50</span></li>" for i in range(count))
    return f"{_HEAD}<ul class='variants'>{items}</ul>{_TAIL}".encode()


def flat_price_elements(count: int) -> bytes:
    """``count`` price elements side by side in one box, no wrapper of their own."""
    items = "".join(f"<span class='price'>{i % 900 + 10}.50</span>" for i in range(count))
    return f"{_HEAD}<div class='prices'>{items}</div>{_TAIL}".encode()


def buttons(count: int) -> bytes:
    """``count`` disabled add-to-cart buttons in one box of the product block."""
    items = "".join(
        f"<button class='add-to-cart' disabled>In den Warenkorb {i}</button>" for i in range(count)
    )
    return f"{_HEAD}<div class='options'>{items}</div>{_TAIL}".encode()


def huge_text(size: int) -> bytes:
    """One text node of ``size`` characters of stock words and amounts beside the price."""
    chunk = "nicht an Lager 12.50 statt 19.90 sofort lieferbar "
    text = (chunk * (size // len(chunk) + 1))[:size]
    return f"{_HEAD}<p class='description'>{text}</p>{_TAIL}".encode()


def deep_nesting(depth: int) -> bytes:
    """The price box inside ``depth`` nested elements."""
    opening, closing = "<div class='level'>" * depth, "</div>" * depth
    return f"{_HEAD}{opening}<span class='price'>CHF 12.50</span>{closing}{_TAIL}".encode()


def deep_jsonld(depth: int) -> bytes:
    """A Product whose JSON-LD offers sit under ``depth`` nested objects and arrays."""
    nested = '{"@type": "Offer", "price": "499.00", "priceCurrency": "CHF", "x": '
    nested += '[{"a": ' * depth + "1" + "}]" * depth + "}"
    jsonld = f'{{"@context": "https://schema.org", "@type": "Product", "name": "Kaffeemaschine", "offers": {nested}}}'
    return f"<script type='application/ld+json'>{jsonld}</script>{_HEAD}{_TAIL}".encode()
