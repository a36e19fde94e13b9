"""Structured data of a page: JSON-LD, microdata and OpenGraph, read straight from the shared lxml tree.

extruct would parse the page again per syntax; a direct pass over the few relevant nodes is much faster and
keeps what matters here: every Product, where it sits (main or a related product), and all its offers.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from lxml.html import HtmlElement

from promowatch.domain import SignalSource
from promowatch.extract.budget import check
from promowatch.extract.prices import parse_amount, structured_amount

PRODUCT_TYPES = frozenset(
    {
        "product",
        "productgroup",
        "individualproduct",
        "productmodel",
        "someproducts",
        "vehicle",
        "car",
        "book",
        "motorizedbicycle",
    }
)
# Properties that lead to other products than the one the node describes.
_OTHER_PRODUCT_KEYS = frozenset(
    {
        "isrelatedto",
        "issimilarto",
        "isaccessoryorsparepartfor",
        "isconsumablefor",
        "itemlistelement",
        "mainentity",
        "hasPart".lower(),
        "ispartof",
        "workexample",
        "review",
        "isvariantof",
    }
)
_REFERENCE_TYPES = ("listprice", "strikethroughprice", "msrp", "srp", "regularprice", "originalprice")


@dataclass
class StructuredOffer:
    """One offer of a product as the structured data states it."""

    price_raw: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    availability: str | None = None
    sku: str | None = None
    gtin: str | None = None
    url: str | None = None
    reference: Decimal | None = None
    reference_raw: str | None = None
    aggregate: bool = False


@dataclass
class StructuredProduct:
    """A Product node with its offers; ``related`` when it sits in a list or a related-product property."""

    source: SignalSource
    position: int
    name: str | None = None
    sku: str | None = None
    gtin: str | None = None
    url: str | None = None
    ids: tuple[str, ...] = ()
    related: bool = False
    offers: list[StructuredOffer] = field(default_factory=list)


# ---------------------------------------------------------------- JSON-LD


def _loads(text: str) -> Any:
    text = text.strip()
    if text.startswith("<!--"):
        text = text.removeprefix("<!--").removesuffix("-->")
    text = re.sub(r"^\s*//\s*<!\[CDATA\[|//\s*\]\]>\s*$", "", text)
    try:
        return json.loads(text, strict=False)
    except RecursionError:
        return None  # nested deeper than Python's stack: no shop's product data, a page built to crash
    except ValueError:
        # Shops hand-write JSON-LD: trailing commas and raw newlines are the usual faults.
        repaired = re.sub(r",\s*([}\]])", r"\1", text)
        try:
            return json.loads(repaired, strict=False)
        except ValueError:
            return None


def _types(node: dict[str, Any]) -> set[str]:
    kind = node.get("@type")
    kinds = kind if isinstance(kind, list) else [kind]
    return {k.rsplit("/", 1)[-1].lower() for k in kinds if isinstance(k, str)}


def _text(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("@id") or value.get("name") or value.get("value")
    if value is None or isinstance(value, bool):
        return None
    text = str(value).strip()
    return text or None


def _gtin(node: dict[str, Any]) -> str | None:
    for key in ("gtin13", "gtin", "gtin12", "gtin14", "gtin8", "ean"):
        value = _text(node.get(key))
        if value:
            return value
    return None


def _price_specs(value: Any) -> Iterator[dict[str, Any]]:
    for spec in value if isinstance(value, list) else [value]:
        if isinstance(spec, dict):
            yield spec
            yield from _price_specs(spec.get("priceComponent"))


def _offer(node: dict[str, Any]) -> StructuredOffer:
    offer = StructuredOffer(
        currency=_text(node.get("priceCurrency")),
        availability=_text(node.get("availability")),
        sku=_text(node.get("sku")),
        gtin=_gtin(node),
        url=_text(node.get("url")),
        aggregate="aggregateoffer" in _types(node),
    )
    raw = node.get("price")
    if raw is None and offer.aggregate:
        raw = node.get("lowPrice")
    for spec in _price_specs(node.get("priceSpecification")):
        spec_type = (_text(spec.get("priceType")) or "").rsplit("/", 1)[-1].lower()
        if any(t in spec_type for t in _REFERENCE_TYPES):
            offer.reference_raw = _text(spec.get("price"))
            offer.reference = structured_amount(spec.get("price"))
        elif raw is None and spec.get("price") is not None:
            raw = spec.get("price")
            offer.currency = offer.currency or _text(spec.get("priceCurrency"))
    if raw is not None and not isinstance(raw, dict | list):
        offer.price_raw = str(raw)
        offer.price = structured_amount(raw)
    return offer


def _offers(value: Any, sku: str | None) -> list[StructuredOffer]:
    result: list[StructuredOffer] = []
    for node in value if isinstance(value, list) else [value]:
        if not isinstance(node, dict):
            continue
        offer = _offer(node)
        offer.sku = offer.sku or sku
        nested = node.get("offers")
        if offer.aggregate and nested:
            inner = _offers(nested, sku)
            if offer.price is None and inner:
                result.extend(inner)
                continue
            result.append(offer)
            result.extend(o for o in inner if o.price is not None or o.availability)
            continue
        result.append(offer)
    return result


def _product(node: dict[str, Any], source: SignalSource, position: int, related: bool) -> StructuredProduct:
    sku = _text(node.get("sku")) or _text(node.get("productID")) or _text(node.get("mpn"))
    product = StructuredProduct(
        source=source,
        position=position,
        name=_text(node.get("name")),
        sku=sku,
        gtin=_gtin(node),
        url=_text(node.get("url")),
        ids=tuple(
            i for i in (_text(node.get("@id")), _text(node.get("productID")), _text(node.get("mpn"))) if i
        ),
        related=related,
        offers=_offers(node.get("offers"), sku),
    )
    for variant in node.get("hasVariant") or []:
        if isinstance(variant, dict):
            variant_sku = _text(variant.get("sku")) or _text(variant.get("productID"))
            for offer in _offers(variant.get("offers"), variant_sku):
                offer.url = offer.url or _text(variant.get("url"))
                offer.gtin = offer.gtin or _gtin(variant)
                product.offers.append(offer)
    return product


def _walk(node: Any, related: bool, found: list[StructuredProduct]) -> None:
    if isinstance(node, list):
        for item in node:
            _walk(item, related, found)
        return
    if not isinstance(node, dict):
        return
    kinds = _types(node)
    if kinds & PRODUCT_TYPES or ("offers" in node and "name" in node and not kinds & {"event", "offer"}):
        found.append(_product(node, SignalSource.JSONLD, len(found), related))
        for key, value in node.items():
            if key.lower() in _OTHER_PRODUCT_KEYS:
                _walk(value, True, found)
        return
    if "offer" in kinds and isinstance(node.get("itemOffered"), dict):
        item = dict(node["itemOffered"])
        item.setdefault("offers", {k: v for k, v in node.items() if k != "itemOffered"})
        _walk(item, related, found)
        return
    in_list = bool(kinds & {"itemlist", "offercatalog", "collectionpage", "searchresultspage"})
    for key, value in node.items():
        if isinstance(value, dict | list):
            _walk(value, related or in_list or key.lower() in _OTHER_PRODUCT_KEYS - {"mainentity"}, found)


def jsonld_products(root: HtmlElement) -> list[StructuredProduct]:
    """Every Product in the page's JSON-LD blocks (``@graph``, arrays, lists), in page order."""
    found: list[StructuredProduct] = []
    for script in root.iter("script"):
        kind = (script.get("type") or "").lower()
        if "ld+json" not in kind or not script.text:
            continue
        check("JSON-LD")
        data = _loads(script.text)
        if data is None:
            continue
        try:
            _walk(data, False, found)
        except RecursionError:
            continue  # the products above the deep part are read; below it there is nothing of a shop's
    return found


# ---------------------------------------------------------------- microdata


def _itemprop_value(element: HtmlElement) -> str | None:
    for attribute in ("content", "href", "src", "value", "datetime"):
        value = element.get(attribute)
        if value is not None and (attribute != "href" or element.tag in ("link", "a")):
            return value.strip()
    return " ".join(element.text_content().split()) or None


def microdata_products(root: HtmlElement) -> list[StructuredProduct]:
    """Products marked up with itemscope/itemprop (schema.org/Product), outermost first."""
    found: list[StructuredProduct] = []
    by_scope: dict[HtmlElement, StructuredProduct] = {}
    for scope in root.xpath('//*[@itemscope][contains(translate(@itemtype,"PRODUCT","product"),"product")]'):
        check("microdata")
        outer = scope.xpath(
            'ancestor::*[@itemscope][contains(translate(@itemtype,"PRODUCT","product"),"product")]'
        )
        props: dict[str, str] = {}
        offers: list[StructuredOffer] = []
        _collect(scope, props, offers)
        product = StructuredProduct(
            source=SignalSource.MICRODATA,
            position=len(found),
            name=props.get("name"),
            sku=props.get("sku") or props.get("productid") or props.get("mpn"),
            gtin=next(
                (props[k] for k in ("gtin13", "gtin", "gtin12", "gtin14", "gtin8") if k in props), None
            ),
            url=props.get("url"),
            related=bool(outer) or scope.get("itemprop") in ("isRelatedTo", "isSimilarTo"),
            offers=offers,
        )
        if not offers and ("price" in props or "availability" in props):
            product.offers.append(_micro_offer(props))
        if outer and product.related and scope.get("itemprop") is None:
            # A page-wide Product scope holding one more Product scope with the data: the same product
            # marked up twice ("pdp-main" around "microdata"), not a related one.
            wrapper = by_scope.get(outer[-1])
            if wrapper is not None and not wrapper.offers and wrapper.name in (None, product.name):
                product.related = False
        by_scope[scope] = product
        found.append(product)
    return found


def _collect(scope: HtmlElement, props: dict[str, str], offers: list[StructuredOffer]) -> None:
    for child in scope.iterchildren():
        if not isinstance(child.tag, str):
            continue
        name = (child.get("itemprop") or "").split()
        if child.get("itemscope") is not None:
            if "offers" in name:
                offer_props: dict[str, str] = {}
                nested: list[StructuredOffer] = []
                _collect(child, offer_props, nested)
                offers.append(_micro_offer(offer_props))
                offers.extend(nested)
            continue
        for prop in name:
            value = _itemprop_value(child)
            if value and prop.lower() not in props:
                props[prop.lower()] = value
        _collect(child, props, offers)


# Two symbol-marked amounts in one itemprop="price" text: the struck price and the sale price together.
_MARKED_AMOUNT = re.compile(r"[$€£¥₽₹]\s?\d[\d.,]*|\d[\d.,]*\s?[€£₽₹]")


def _micro_offer(props: dict[str, str]) -> StructuredOffer:
    raw = props.get("price") or props.get("lowprice")
    offer = StructuredOffer(
        price_raw=raw,
        price=structured_amount(raw) if raw else None,
        currency=props.get("pricecurrency"),
        availability=props.get("availability"),
        sku=props.get("sku"),
        url=props.get("url"),
        aggregate="lowprice" in props,
    )
    marked = _MARKED_AMOUNT.findall(raw or "")
    if len(marked) == 2:
        amounts = [structured_amount(m) for m in marked]
        if all(amounts) and len(set(amounts)) == 2:
            low, high = sorted(a for a in amounts if a is not None)
            offer.price, offer.reference, offer.reference_raw = low, high, raw
            offer.currency = offer.currency or parse_amount(marked[0])[1]
    return offer


# ---------------------------------------------------------------- OpenGraph


def opengraph(root: HtmlElement) -> dict[str, str]:
    """``og:*`` and ``product:*`` meta properties (first value of each), keys lower case."""
    found: dict[str, str] = {}
    for meta in root.iter("meta"):
        key = (meta.get("property") or meta.get("name") or "").strip().lower()
        if key.startswith(("og:", "product:")) and key not in found:
            content = meta.get("content")
            if content and content.strip():
                found[key] = content.strip()
    return found
