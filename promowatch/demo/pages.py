"""HTML and JSON of the demo shop: pure rendering from catalogue data and one day's state.

Pages imitate a French-speaking Swiss electronics retailer, traps included: an "économisez 500.–" badge next to
the price, related products with their own prices and stock lines, a store widget that says "Épuisé" for some
stores, and a recycling fee amount under the price.
"""

from __future__ import annotations

import heapq
import json
import math
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from html import escape
from typing import Any

from promowatch.demo.catalogue import CATEGORIES, PRODUCTS, Category, Product, Store
from promowatch.demo.scenarios import DayOffer, RunningPromotion, StoreLevel

SHOP_NAME = "Demo Shop"
CURRENCY = "CHF"
_HOME = (46.5210, 6.6290)  # the store widget lists the stores nearest to Lausanne
_WEEKDAYS = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
_MONTHS = (
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
)
INFO_PAGES = {
    "contact": "Contact",
    "livraison": "Livraison & frais de port",
    "retours": "Retours & échanges",
    "garantie": "Garantie & réparations",
    "reprise": "Reprise des appareils (TAR)",
    "a-propos": "À propos de Demo Shop",
    "emplois": "Emplois",
    "presse": "Presse",
    "durabilite": "Durabilité",
    "paiement": "Modes de paiement",
    "cartes-cadeaux": "Cartes cadeaux",
    "cgv": "Conditions générales de vente",
    "protection-des-donnees": "Protection des données",
    "mentions-legales": "Mentions légales",
    "cookies": "Paramètres des cookies",
}


@dataclass(frozen=True)
class PageContext:
    base_url: str
    now: datetime
    day: int


def chf(amount: Decimal) -> str:
    """Swiss shop style: ``499.–``, ``1’299.–``, ``59.90``."""
    whole, cents = divmod(amount.quantize(Decimal("0.01")), 1)
    grouped = f"{int(whole):,}".replace(",", "’")
    return f"{grouped}.–" if cents == 0 else f"{grouped}.{int(cents * 100):02d}"


def money(amount: Decimal) -> str:
    """The JSON-LD / API form: ``499.00``."""
    return str(amount.quantize(Decimal("0.01")))


def long_date(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


def _category(slug: str) -> Category:
    return next(c for c in CATEGORIES if c.slug == slug)


# ---------------------------------------------------------------- layout

_ICON_CART = (
    '<svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><path d="M7 18a2 2 0 1 0 '
    "0 4 2 2 0 0 0 0-4zm10 0a2 2 0 1 0 0 4 2 2 0 0 0 0-4zM7.2 14.8h9.9c.8 0 1.4-.4 1.7-1.1l3.4-7.2-1.8-.9-3.3 "
    '6.9H8.1L4.3 2H1v2h2.1l3.6 7.6-1.4 2.4c-.7 1.3.3 2.8 1.9 2.8H19v-2H7.2z"/></svg>'
)
_ICON_USER = (
    '<svg class="icon" viewBox="0 0 24 24" width="24" height="24" aria-hidden="true"><path d="M12 12a5 5 0 1 0 '
    '0-10 5 5 0 0 0 0 10zm0 2c-4.4 0-9 2.2-9 5v3h18v-3c0-2.8-4.6-5-9-5z"/></svg>'
)
_ICON_SEARCH = (
    '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M15.5 14h-.8l-.3-.3'
    'A6.5 6.5 0 1 0 14 15.5l.3.3v.8l5 5 1.5-1.5-5-5zm-6 0a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9z"/></svg>'
)
_ICON_STORE = (
    '<svg class="icon" viewBox="0 0 24 24" width="20" height="20" aria-hidden="true"><path d="M20 4H4v2h16V4zm1 '
    '10v-2l-1-5H4l-1 5v2h1v6h10v-6h4v6h2v-6h1zm-9 4H6v-4h6v4z"/></svg>'
)


@cache  # the chrome is the same on every page of a section: render it once
def _header(active: str | None) -> str:
    items = []
    for category in CATEGORIES:
        subs = "".join(
            f'<li><a href="{category.path}#{n}">{escape(name)}</a></li>'
            for n, name in enumerate(category.subcategories, start=1)
        )
        current = ' aria-current="true"' if active == category.slug else ""
        items.append(
            f'<li class="nav-item has-dropdown"><a class="nav-link" href="{category.path}"{current}>'
            f'{escape(category.name)}</a><div class="mega-menu"><ul class="mega-list">{subs}'
            f'<li class="mega-all"><a href="{category.path}">Tout voir : {escape(category.name)}</a></li>'
            "</ul></div></li>"
        )
    promo_current = ' aria-current="true"' if active == "promotions" else ""
    items.append(
        f'<li class="nav-item nav-promo"><a class="nav-link" href="/promotions"{promo_current}>'
        "Promotions</a></li>"
    )
    items.append('<li class="nav-item"><a class="nav-link" href="/magasins">Magasins</a></li>')
    return (
        '<div class="topbar"><div class="container topbar-inner">'
        '<ul class="usp"><li>Livraison gratuite dès 50.–</li><li>30 jours pour changer d\'avis</li>'
        "<li>Plus de 50 magasins en Suisse romande</li></ul>"
        '<ul class="service-links"><li><a href="/info/contact">Aide &amp; contact</a></li>'
        '<li><a href="/magasins">Trouver un magasin</a></li>'
        '<li class="lang"><span aria-current="true">FR</span> <span>DE</span> <span>IT</span></li></ul>'
        "</div></div>"
        '<header class="site-header"><div class="container header-inner">'
        f'<a class="logo" href="/" title="{SHOP_NAME} – page d\'accueil">'
        f'<img src="/static/logo.svg" alt="{SHOP_NAME}" width="148" height="36"></a>'
        '<form class="search" action="/recherche" method="get" role="search">'
        '<label class="visually-hidden" for="search-q">Rechercher</label>'
        '<input id="search-q" type="search" name="q" placeholder="Rechercher parmi plus de 25 000 articles" '
        f'autocomplete="off"><button type="submit" aria-label="Rechercher">{_ICON_SEARCH}</button></form>'
        '<div class="header-actions">'
        f'<a class="header-action" href="/magasins">{_ICON_STORE}<span>Magasins</span></a>'
        f'<a class="header-action" href="/info/contact">{_ICON_USER}<span>Mon compte</span></a>'
        f'<a class="header-action cart-link" href="/panier">{_ICON_CART}<span>Panier</span>'
        '<span class="cart-count" data-cart-count>0</span></a>'
        "</div></div>"
        f'<nav class="main-nav" aria-label="Navigation principale"><div class="container"><ul class="nav-list">'
        f"{''.join(items)}</ul></div></nav></header>"
    )


@cache
def _footer(year: int) -> str:
    columns = (
        ("Service client", ("contact", "livraison", "retours", "garantie", "reprise")),
        (SHOP_NAME, ("a-propos", "emplois", "presse", "durabilite")),
        ("Achats", ("paiement", "cartes-cadeaux")),
        ("Informations légales", ("cgv", "protection-des-donnees", "mentions-legales", "cookies")),
    )
    cols = "".join(
        f'<div class="footer-col"><h2 class="footer-title">{escape(title)}</h2><ul>'
        + "".join(f'<li><a href="/info/{slug}">{escape(INFO_PAGES[slug])}</a></li>' for slug in slugs)
        + (
            '<li><a href="/promotions">Promotions</a></li><li><a href="/magasins">Nos magasins</a></li>'
            if title == "Achats"
            else ""
        )
        + "</ul></div>"
        for title, slugs in columns
    )
    payment = "".join(
        f'<li class="payment-method">{name}</li>'
        for name in (
            "TWINT",
            "PostFinance",
            "Visa",
            "Mastercard",
            "American Express",
            "Facture",
            "Carte cadeau",
        )
    )
    return (
        '<footer class="site-footer"><div class="container">'
        '<section class="newsletter"><h2>Newsletter</h2><p>Les actions de la semaine chaque lundi dans votre '
        'boîte aux lettres électronique.</p><form action="/info/contact" method="get">'
        '<label class="visually-hidden" for="nl-mail">Adresse e-mail</label>'
        '<input id="nl-mail" type="email" name="email" placeholder="Votre adresse e-mail">'
        '<button type="submit" class="btn">S\'abonner</button></form></section>'
        f'<div class="footer-cols">{cols}</div>'
        f'<ul class="payment-methods" aria-label="Moyens de paiement">{payment}</ul>'
        f'<p class="copyright">© {year} {SHOP_NAME} SA, Avenue de la Démo 1, 1003 Lausanne. '
        "Tous les prix en CHF, TVA incluse. Sous réserve d'erreurs et de modifications de prix. "
        "Offres valables dans la limite des stocks disponibles.</p>"
        "</div></footer>"
    )


def _cookie_banner() -> str:
    return (
        '<div id="cookie-banner" class="cookie-banner" role="dialog" aria-live="polite" '
        'aria-label="Cookies"><div class="container cookie-inner"><p>Nous utilisons des cookies pour '
        "améliorer votre expérience d'achat, mesurer l'audience et personnaliser les offres. "
        '<a href="/info/cookies">En savoir plus</a></p><div class="cookie-actions">'
        '<button type="button" class="btn btn-secondary" id="cookie-settings">Paramètres</button>'
        '<button type="button" class="btn btn-primary" id="cookie-accept">Tout accepter</button>'
        "</div></div></div>"
    )


def layout(
    ctx: PageContext,
    title: str,
    main: str,
    *,
    path: str,
    description: str = "",
    active: str | None = None,
    head: str = "",
) -> str:
    """A full page around ``main``."""
    description = description or f"{SHOP_NAME} – électronique, ménage et maison en Suisse romande."
    return (
        '<!DOCTYPE html><html lang="fr-CH"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} | {SHOP_NAME}</title>"
        f'<meta name="description" content="{escape(description)}">'
        f'<link rel="canonical" href="{ctx.base_url}{path}">'
        '<link rel="icon" href="/static/logo.svg" type="image/svg+xml">'
        '<link rel="stylesheet" href="/static/shop.css">'
        f"{head}"
        '<script src="/static/shop.js" defer></script></head>'
        f'<body class="page-{escape(active or "generic")}">'
        '<a class="skip-link" href="#content">Aller au contenu</a>'
        f"{_header(active)}"
        f'<main id="content" class="container">{main}</main>'
        f"{_footer(ctx.now.year)}{_cookie_banner()}</body></html>"
    )


def _breadcrumbs(trail: list[tuple[str, str | None]]) -> str:
    items = "".join(
        f'<li><a href="{href}">{escape(name)}</a></li>'
        if href
        else f'<li aria-current="page">{escape(name)}</li>'
        for name, href in [("Accueil", "/"), *trail]
    )
    return f'<nav class="breadcrumbs" aria-label="Fil d\'Ariane"><ol>{items}</ol></nav>'


def _json_script(data: Any) -> str:
    text = json.dumps(data, ensure_ascii=False).replace("</", "<\\/")
    return f'<script type="application/ld+json">{text}</script>'


def _price_box(offer: DayOffer, *, badge: bool) -> str:
    parts = [f'<span class="currency">{CURRENCY}</span> <span class="price">{chf(offer.price)}</span>']
    if offer.regular_price is not None:
        parts.append(f' <del class="price-regular">au lieu de {chf(offer.regular_price)}</del>')
    if badge and offer.saving is not None:
        parts.append(f' <span class="badge badge-saving">économisez {chf(offer.saving)}</span>')
    return f'<div class="price-box">{"".join(parts)}</div>'


def _stars(rating: tuple[float, int]) -> str:
    score, count = rating
    full = round(score)
    shown = f"{score:.1f}".replace(".", ",")
    return (
        f'<div class="rating" title="{shown} sur 5"><span class="stars" aria-hidden="true">'
        f'{"★" * full}{"☆" * (5 - full)}</span> <span class="rating-value">{shown}</span> '
        f'<a href="#avis">({count} avis)</a></div>'
    )


def product_card(offer: DayOffer) -> str:
    """A product tile (categories, search, related products): its own price and stock line."""
    product = offer.product
    button = (
        '<button type="button" class="btn btn-cart btn-small">Ajouter au panier</button>'
        if offer.online.orderable
        else '<button type="button" class="btn btn-cart btn-small" disabled>Ajouter au panier</button>'
    )
    return (
        f'<article class="product-card" data-sku="{product.sku}">'
        f'<a class="product-card-link" href="{product.path}"><img src="/img/{product.sku}.svg" alt="" '
        f'width="160" height="160" loading="lazy"><h3 class="product-card-title">{escape(product.title)}</h3></a>'
        f"{_stars(product.rating)}{_price_box(offer, badge=False)}"
        f'<p class="stock-line stock-{offer.online.value}">{offer.online.label}</p>{button}</article>'
    )


# ---------------------------------------------------------------- product page


def _store_widget(levels: list[StoreLevel]) -> str:
    nearest = heapq.nsmallest(6, levels, key=lambda level: _distance(level.store))
    with_stock = sum(1 for level in levels if level.quantity > 0)
    rows = "".join(
        f'<li class="store-row"><span class="store-name">{escape(level.store.name)}</span> '
        f'<span class="store-stock store-stock-{level.status}">{_store_label(level)}</span></li>'
        for level in nearest
    )
    return (
        '<div class="store-availability"><h2 class="store-title">Disponibilité en magasin</h2>'
        f'<p class="store-summary">Disponible dans {with_stock} magasins sur {len(levels)}</p>'
        f'<ul class="store-list">{rows}</ul><a class="store-more" href="/magasins">Voir tous les magasins</a>'
        "</div>"
    )


def _store_label(level: StoreLevel) -> str:
    if level.status == "none":
        return "Épuisé"
    if level.status == "low":
        return f"Stock faible ({level.quantity})"
    return f"En stock ({level.quantity})"


def _distance(store: Store) -> float:
    return math.hypot(store.latitude - _HOME[0], (store.longitude - _HOME[1]) * 0.69)


def _buy_block(offer: DayOffer) -> str:
    product = offer.product
    if product.live_stock:
        return (
            '<p class="stock-line" data-state="loading" aria-live="polite">chargement…</p>'
            '<p class="delivery" hidden></p><div class="buy-actions" data-live-buy></div>'
            '<noscript><p class="noscript">Activez JavaScript pour voir la disponibilité et commander.</p>'
            "</noscript>"
        )
    delivery = f'<p class="delivery">{escape(offer.delivery)}</p>' if offer.delivery else ""
    disabled = "" if offer.online.orderable else " disabled"
    return (
        f'<p class="stock-line stock-{offer.online.value}" data-state="loaded">{offer.online.label}</p>'
        f"{delivery}"
        '<form class="add-to-cart" action="/panier" method="post">'
        f'<input type="hidden" name="sku" value="{product.sku}">'
        '<label class="visually-hidden" for="qty">Quantité</label>'
        '<input id="qty" class="qty" type="number" name="qty" value="1" min="1" max="10">'
        f'<button type="submit" class="btn btn-primary btn-cart"{disabled}>Ajouter au panier</button></form>'
    )


def _live_store_widget(product: Product) -> str:
    return (
        f'<div class="store-availability" data-live-stores="{product.sku}">'
        '<h2 class="store-title">Disponibilité en magasin</h2>'
        '<p class="store-summary">chargement…</p><ul class="store-list"></ul>'
        '<a class="store-more" href="/magasins">Voir tous les magasins</a></div>'
    )


def _product_jsonld(ctx: PageContext, offer: DayOffer, valid_until: date | None) -> dict[str, Any]:
    product = offer.product
    score, count = product.rating
    offer_data: dict[str, Any] = {
        "@type": "Offer",
        "url": f"{ctx.base_url}{product.path}",
        "price": money(offer.price),
        "priceCurrency": CURRENCY,
    }
    availability = offer.jsonld_availability
    if availability is not None:
        offer_data["availability"] = availability
    offer_data["itemCondition"] = "https://schema.org/NewCondition"
    if offer.regular_price is not None:
        offer_data["priceSpecification"] = [
            {"@type": "UnitPriceSpecification", "price": money(offer.price), "priceCurrency": CURRENCY},
            {
                "@type": "UnitPriceSpecification",
                "priceType": "https://schema.org/StrikethroughPrice",
                "price": money(offer.regular_price),
                "priceCurrency": CURRENCY,
            },
        ]
    if valid_until is not None:
        offer_data["priceValidUntil"] = valid_until.isoformat()
    offer_data["seller"] = {"@type": "Organization", "name": SHOP_NAME}
    return {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": product.title,
        "sku": product.sku,
        "gtin13": product.gtin,
        "brand": {"@type": "Brand", "name": product.brand},
        "image": [f"{ctx.base_url}/img/{product.sku}.svg"],
        "description": _summary(product),
        "aggregateRating": {"@type": "AggregateRating", "ratingValue": f"{score:.1f}", "reviewCount": count},
        "offers": offer_data,
    }


def _summary(product: Product) -> str:
    features = ", ".join(f.lower() for f in product.features[:3])
    return f"{product.title} de {product.brand}" + (f" : {features}." if features else ".")


_REVIEWS = (
    ("Claire M.", "Genève", 5, "Très satisfaite", "Conforme à la description, livraison rapide et soignée."),
    (
        "Marc-André B.",
        "Fribourg",
        4,
        "Bon rapport qualité-prix",
        "Fait ce qu'on lui demande. La notice pourrait être plus claire, mais rien de grave.",
    ),
    ("Sandrine P.", "Sion", 3, "Correct", "Fonctionne bien, un peu bruyant à mon goût."),
)


def product_page(
    ctx: PageContext,
    offer: DayOffer,
    levels: list[StoreLevel],
    related: list[DayOffer],
    valid_until: date | None,
) -> str:
    """The product page of ``offer.product`` on the context's day."""
    product = offer.product
    category = _category(product.category)
    features = "".join(f"<li>{escape(f)}</li>" for f in product.features)
    specs = "".join(
        f'<tr><th scope="row">{escape(k)}</th><td>{escape(v)}</td></tr>' for k, v in product.specs
    )
    reviews = "".join(
        f'<article class="review"><header><span class="review-stars">{"★" * stars}{"☆" * (5 - stars)}</span> '
        f"<strong>{escape(title)}</strong></header><p>{escape(text)}</p>"
        f'<footer class="review-author">{escape(name)}, {escape(town)}</footer></article>'
        for name, town, stars, title, text in _REVIEWS
    )
    store_widget = _live_store_widget(product) if product.live_stock else _store_widget(levels)
    live = (
        f' data-live-stock="{product.sku}" data-live-delay="{product.hydration_ms}"'
        if product.live_stock
        else ""
    )
    promo_note = (
        f'<p class="promo-validity">Action valable jusqu\'au {valid_until:%d.%m.%Y}, '
        "dans la limite des stocks disponibles.</p>"
        if valid_until
        else ""
    )
    data_layer = {
        "event": "view_item",
        "ecommerce": {
            "currency": CURRENCY,
            "value": float(offer.price),
            "items": [
                {
                    "item_id": product.sku,
                    "item_name": product.title,
                    "item_brand": product.brand,
                    "item_category": category.name,
                    "price": float(offer.price),
                }
            ],
        },
    }
    main = (
        _breadcrumbs([(category.name, category.path), (product.title, None)])
        + f'<div class="product-detail" data-sku="{product.sku}"{live}>'
        '<section class="product-main">'
        f'<div class="gallery"><img class="gallery-main" src="/img/{product.sku}.svg" '
        f'alt="{escape(product.title)}" width="480" height="480">'
        '<ul class="gallery-thumbs">'
        + "".join(
            f'<li><img src="/img/{product.sku}.svg?v={n}" alt="Vue {n}" width="72" height="72" loading="lazy"></li>'
            for n in range(1, 5)
        )
        + "</ul></div>"
        '<div class="buybox">'
        f'<p class="brand"><a href="/recherche?q={escape(product.brand)}">{escape(product.brand)}</a></p>'
        f'<h1 class="product-title">{escape(product.title)}</h1>'
        f'<p class="product-ids">Art. n° <span class="sku">{product.sku}</span> · EAN '
        f'<span class="gtin">{product.gtin}</span></p>'
        f"{_stars(product.rating)}"
        f"{_price_box(offer, badge=True)}{promo_note}"
        '<p class="price-note">TVA incluse, plus taxe anticipée de recyclage (TAR) 8.–</p>'
        f"{_buy_block(offer)}"
        '<ul class="buy-usp"><li>Retrait gratuit en magasin</li><li>30 jours pour changer d\'avis</li>'
        "<li>Garantie 2 ans, réparation en Suisse</li></ul>"
        f"{store_widget}"
        "</div></section>"
        '<section class="product-description" id="description"><h2>Description</h2>'
        f"<p>{escape(_summary(product))} Conçu pour un usage quotidien, cet article de la marque "
        f"{escape(product.brand)} allie fiabilité et simplicité d'utilisation. Tous nos appareils sont livrés "
        "avec une notice en français et bénéficient du service après-vente de Demo Shop dans toute la Suisse "
        "romande.</p>"
        f'<h3>Points forts</h3><ul class="features">{features}</ul></section>'
        '<section class="product-specs" id="caracteristiques"><h2>Caractéristiques techniques</h2>'
        f'<table class="specs"><tbody><tr><th scope="row">Marque</th><td>{escape(product.brand)}</td></tr>'
        f'<tr><th scope="row">Numéro d\'article</th><td>{product.sku}</td></tr>'
        f'<tr><th scope="row">EAN</th><td>{product.gtin}</td></tr>{specs}</tbody></table></section>'
        '<section class="product-delivery"><h2>Livraison &amp; retours</h2><p>Livraison gratuite dès 50.– '
        "d'achat, sinon 7.90. Retrait gratuit dans plus de 50 magasins. Retour possible sous 30 jours dans "
        "l'emballage d'origine.</p></section>"
        f'<section class="reviews" id="avis"><h2>Avis clients</h2>{reviews}'
        '<a class="btn btn-secondary" href="/info/contact">Rédiger un avis</a></section>'
        '<section class="related-products"><h2>Vous aimerez aussi</h2><div class="product-grid">'
        + "".join(product_card(item) for item in related)
        + "</div></section></div>"
    )
    head = (
        f'<meta property="og:type" content="product"><meta property="og:title" content="{escape(product.title)}">'
        f'<meta property="og:url" content="{ctx.base_url}{product.path}">'
        f'<meta property="og:image" content="{ctx.base_url}/img/{product.sku}.svg">'
        f'<meta property="product:price:amount" content="{money(offer.price)}">'
        f'<meta property="product:price:currency" content="{CURRENCY}">'
        + _json_script(_product_jsonld(ctx, offer, valid_until))
        + _json_script(
            {
                "@context": "https://schema.org",
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "Accueil", "item": f"{ctx.base_url}/"},
                    {
                        "@type": "ListItem",
                        "position": 2,
                        "name": category.name,
                        "item": f"{ctx.base_url}{category.path}",
                    },
                    {"@type": "ListItem", "position": 3, "name": product.title},
                ],
            }
        )
        + "<script>window.dataLayer = window.dataLayer || []; window.dataLayer.push("
        + json.dumps(data_layer, ensure_ascii=False)
        + ");</script>"
    )
    return layout(
        ctx,
        product.title,
        main,
        path=product.path,
        description=_summary(product),
        active=product.category,
        head=head,
    )


# ---------------------------------------------------------------- listings


def promotions_page(ctx: PageContext, running: list[RunningPromotion]) -> str:
    """The "Actions de la semaine" page: one card per promotion running today."""
    cards = []
    for item in running:
        product, promotion = item.product, item.promotion
        saving = ""
        if promotion.regular_price:
            percent = round((1 - promotion.price / promotion.regular_price) * 100)
            saving = f'<span class="badge badge-percent">-{percent}%</span>'
        regular = (
            f' <del class="price-regular">au lieu de {chf(promotion.regular_price)}</del>'
            if promotion.regular_price
            else ""
        )
        cards.append(
            f'<article class="promo-card" data-sku="{product.sku}">{saving}'
            f'<a class="promo-link" href="{product.path}"><img src="/img/{product.sku}.svg" alt="" width="200" '
            f'height="200" loading="lazy"><h3 class="promo-title">{escape(product.title)}</h3></a>'
            f'<p class="promo-brand">{escape(product.brand)}</p>'
            f'<div class="promo-price"><span class="currency">{CURRENCY}</span> '
            f'<span class="price">{chf(promotion.price)}</span>{regular}</div>'
            f'<p class="validity">Valable du <time class="valid-from" datetime="{item.valid_from.isoformat()}">'
            f'{item.valid_from:%d.%m.}</time> au <time class="valid-until" '
            f'datetime="{item.valid_until.isoformat()}">{item.valid_until:%d.%m.%Y}</time></p>'
            f'<a class="btn btn-primary btn-small" href="{product.path}">Voir l\'offre</a></article>'
        )
    body = "".join(cards) or '<p class="empty">Aucune action en cours. Revenez lundi !</p>'
    filters = "".join(f'<li><a href="{c.path}">{escape(c.name)}</a></li>' for c in CATEGORIES)
    main = (
        _breadcrumbs([("Promotions", None)]) + '<section class="promotions"><h1>Actions de la semaine</h1>'
        f'<p class="lead">Nos offres du {long_date(ctx.now.date())}, valables dans la limite des stocks '
        "disponibles, en ligne et dans nos magasins.</p>"
        f'<ul class="filter-chips">{filters}</ul>'
        f'<div class="promo-grid">{body}</div>'
        '<p class="legal-note">Prix en CHF, TVA incluse. Les prix barrés correspondent aux prix pratiqués '
        "précédemment par Demo Shop.</p></section>"
    )
    return layout(ctx, "Actions de la semaine", main, path="/promotions", active="promotions")


def category_page(ctx: PageContext, category: Category, offers: list[DayOffer]) -> str:
    subs = "".join(
        f'<li><a href="{category.path}#{n}">{escape(name)}</a></li>'
        for n, name in enumerate(category.subcategories, start=1)
    )
    main = (
        _breadcrumbs([(category.name, None)])
        + f'<div class="category-layout"><aside class="facets"><h2>Catégories</h2><ul>{subs}</ul>'
        '<h2>Disponibilité</h2><ul><li><label><input type="checkbox" name="stock"> En stock en ligne</label></li>'
        '<li><label><input type="checkbox" name="store"> Disponible en magasin</label></li></ul></aside>'
        f'<section class="category-products"><h1>{escape(category.name)}</h1>'
        f'<p class="result-count">{len(offers)} articles</p>'
        '<label>Trier par <select name="sort"><option>Pertinence</option><option>Prix croissant</option>'
        "<option>Prix décroissant</option><option>Meilleures notes</option></select></label>"
        f'<div class="product-grid">{"".join(product_card(o) for o in offers)}</div></section></div>'
    )
    return layout(ctx, category.name, main, path=category.path, active=category.slug)


def home_page(ctx: PageContext, offers: list[DayOffer]) -> str:
    tiles = "".join(
        f'<li class="category-tile"><a href="{c.path}"><span>{escape(c.name)}</span></a></li>'
        for c in CATEGORIES
    )
    main = (
        '<section class="hero"><h1>Les actions de la semaine sont là</h1>'
        "<p>Machines à café, petit électroménager, son et image : jusqu'à -50 %.</p>"
        '<a class="btn btn-primary" href="/promotions">Voir les promotions</a></section>'
        f'<section class="categories"><h2>Nos rayons</h2><ul class="category-tiles">{tiles}</ul></section>'
        '<section class="bestsellers"><h2>Meilleures ventes</h2><div class="product-grid">'
        + "".join(product_card(o) for o in offers)
        + "</div></section>"
    )
    return layout(ctx, "Électronique et ménage en Suisse romande", main, path="/", active="home")


def search_page(ctx: PageContext, query: str, offers: list[DayOffer]) -> str:
    main = (
        _breadcrumbs([("Recherche", None)])
        + f'<section class="search-results"><h1>Résultats pour « {escape(query)} »</h1>'
        f'<p class="result-count">{len(offers)} articles</p>'
        + (
            f'<div class="product-grid">{"".join(product_card(o) for o in offers)}</div>'
            if offers
            else '<p class="empty">Aucun article ne correspond à votre recherche.</p>'
        )
        + "</section>"
    )
    return layout(ctx, f"Recherche : {query}", main, path="/recherche", active="search")


def stores_page(ctx: PageContext, stores: tuple[Store, ...]) -> str:
    rows = "".join(
        f"<tr><td>{escape(s.name)}</td><td>{s.postcode}</td><td>{escape(s.city)}</td>"
        "<td>lu–ve 9h00–19h00, sa 8h30–18h00</td></tr>"
        for s in stores
    )
    main = (
        _breadcrumbs([("Magasins", None)])
        + f'<section class="stores"><h1>Nos {len(stores)} magasins</h1><table class="store-table"><thead><tr>'
        "<th>Magasin</th><th>NPA</th><th>Localité</th><th>Horaires</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )
    return layout(ctx, "Nos magasins", main, path="/magasins", active="stores")


def info_page(ctx: PageContext, slug: str) -> str:
    title = INFO_PAGES[slug]
    main = (
        _breadcrumbs([(title, None)])
        + f'<section class="info"><h1>{escape(title)}</h1><p>Notre service clientèle répond du lundi au '
        "vendredi de 8h00 à 18h00 au 021 000 00 00 (tarif local). Cette page est une page d'information de la "
        "boutique de démonstration.</p></section>"
    )
    return layout(ctx, title, main, path=f"/info/{slug}", active="info")


def basket_page(ctx: PageContext, path: str) -> str:
    main = (
        _breadcrumbs([("Panier", None)])
        + '<section class="basket"><h1>Votre panier</h1><p class="empty">Votre panier est vide.</p>'
        '<a class="btn btn-primary" href="/promotions">Découvrir les promotions</a></section>'
    )
    return layout(ctx, "Panier", main, path=path, active="basket")


def not_found_page(ctx: PageContext, path: str) -> str:
    main = (
        '<section class="not-found"><h1>Page introuvable</h1><p>La page demandée n\'existe pas ou plus. '
        '<a href="/">Retour à l\'accueil</a> ou <a href="/promotions">voir les promotions</a>.</p></section>'
    )
    return layout(ctx, "Page introuvable", main, path=path, active="error")


def product_image(product: Product) -> str:
    """A placeholder product picture drawn from the SKU, so no page needs another host."""
    hue = int(product.sku) % 360
    return (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 200" width="200" height="200">'
        f'<rect width="200" height="200" fill="hsl({hue},30%,94%)"/>'
        f'<rect x="50" y="40" width="100" height="120" rx="12" fill="hsl({hue},45%,45%)"/>'
        f'<text x="100" y="185" font-family="sans-serif" font-size="12" text-anchor="middle" fill="#444">'
        f"{escape(product.brand)}</text></svg>"
    )


# ---------------------------------------------------------------- JSON API


def stores_json(stores: tuple[Store, ...]) -> dict[str, Any]:
    return {
        "count": len(stores),
        "stores": [
            {
                "id": s.store_id,
                "name": s.name,
                "postcode": s.postcode,
                "city": s.city,
                "lat": s.latitude,
                "lon": s.longitude,
            }
            for s in stores
        ],
    }


def _level_json(level: StoreLevel) -> dict[str, Any]:
    return {"store_id": level.store.store_id, "quantity": level.quantity, "status": level.status}


def stock_json(offer: DayOffer, levels: list[StoreLevel], updated_at: datetime) -> dict[str, Any]:
    """Every store's stock of one product, plus the online state the product page's script shows."""
    online = offer.online
    return {
        "sku": offer.product.sku,
        "updated_at": updated_at.isoformat().replace("+00:00", "Z"),
        "online": {
            "status": online.value,
            "label": online.label,
            "orderable": online.orderable,
            "delivery": offer.delivery,
        },
        "stores": [_level_json(level) for level in levels],
    }


def store_stock_json(offer: DayOffer, level: StoreLevel, updated_at: datetime) -> dict[str, Any]:
    return {
        "sku": offer.product.sku,
        "updated_at": updated_at.isoformat().replace("+00:00", "Z"),
        "store": {"id": level.store.store_id, "name": level.store.name},
        **_level_json(level),
    }


def robots_txt(base_url: str) -> str:
    return (
        "User-agent: *\nDisallow: /_admin\nDisallow: /checkout\nDisallow: /panier\nDisallow: /recherche\n"
        f"\nSitemap: {base_url}/sitemap.xml\n"
    )


def sitemap_xml(base_url: str, paths: list[str]) -> str:
    urls = "".join(f"<url><loc>{base_url}{path}</loc></url>" for path in paths)
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>'
    )


def all_product_paths() -> list[str]:
    return ["/", "/promotions", *(c.path for c in CATEGORIES), *(p.path for p in PRODUCTS)]
