"""Pure message formatting: an event's payload and a language in, a title and a body out.

French, German, Italian and English templates (the languages of Swiss shoppers, and English for everyone else);
any other language falls back to English.
Scraped text (product names, promotion titles, store names) is escaped when the body is HTML.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

RULE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "unorderable_online": "not orderable online",
        "store_stockout": "out of stock in the stores",
        "price_mismatch": "price differs from the ad",
        "reference_price_unsupported": "reference price not supported by the price history",
        "delivery_overdue": "delivery time not kept",
    },
    "fr": {
        "unorderable_online": "pas commandable en ligne",
        "store_stockout": "en rupture dans les magasins",
        "price_mismatch": "prix différent de la publicité",
        "reference_price_unsupported": "prix de référence non étayé par l'historique des prix",
        "delivery_overdue": "délai de livraison non tenu",
    },
    "de": {
        "unorderable_online": "online nicht bestellbar",
        "store_stockout": "in den Filialen nicht vorrätig",
        "price_mismatch": "Preis weicht von der Werbung ab",
        "reference_price_unsupported": "Vergleichspreis durch die Preisgeschichte nicht belegt",
        "delivery_overdue": "Lieferfrist nicht eingehalten",
    },
    "it": {
        "unorderable_online": "non ordinabile online",
        "store_stockout": "esaurito nelle filiali",
        "price_mismatch": "prezzo diverso dalla pubblicità",
        "reference_price_unsupported": "prezzo di riferimento non comprovato dallo storico dei prezzi",
        "delivery_overdue": "termine di consegna non rispettato",
    },
}

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "restock": ("Back in stock: {product}", "{product} is available again{where}{price_text}.\n{url}"),
        "stockout": ("Out of stock: {product}", "{product} is out of stock{where}.\n{url}"),
        "price_drop": (
            "Price drop: {product}",
            "{product} now costs {price} {currency} (before: {old_price} {currency}).\n{url}",
        ),
        "finding_opened": (
            "Finding: {rule} – {promotion}",
            "Promotion “{promotion}” ({retailer}), advertised at {advertised_price} {currency}: {rule}.\n"
            "{summary}\n{url}",
        ),
        "finding_closed": (
            "Finding closed: {rule} – {promotion}",
            "Promotion “{promotion}” ({retailer}): “{rule}” no longer holds since {closed_at}.\n{url}",
        ),
        "crawl_unhealthy": ("Crawl unhealthy: {retailer}", "{summary}"),
        "test": ("promowatch test", "This is a test notification from promowatch."),
        "_online": (" online", ""),
        "_store": (" at {store}", ""),
        "_price": (" at {price} {currency}", ""),
    },
    "fr": {
        "restock": (
            "De retour en stock : {product}",
            "{product} est de nouveau disponible{where}{price_text}.\n{url}",
        ),
        "stockout": ("Rupture de stock : {product}", "{product} est en rupture de stock{where}.\n{url}"),
        "price_drop": (
            "Baisse de prix : {product}",
            "{product} coûte maintenant {price} {currency} (avant : {old_price} {currency}).\n{url}",
        ),
        "finding_opened": (
            "Constat : {rule} – {promotion}",
            "Promotion « {promotion} » ({retailer}), annoncée à {advertised_price} {currency} : {rule}.\n"
            "{summary}\n{url}",
        ),
        "finding_closed": (
            "Constat clos : {rule} – {promotion}",
            "Promotion « {promotion} » ({retailer}) : « {rule} » ne s'applique plus depuis {closed_at}.\n{url}",
        ),
        "crawl_unhealthy": ("Collecte en difficulté : {retailer}", "{summary}"),
        "test": ("Test promowatch", "Ceci est une notification de test de promowatch."),
        "_online": (" en ligne", ""),
        "_store": (" au magasin {store}", ""),
        "_price": (" à {price} {currency}", ""),
    },
    "de": {
        "restock": (
            "Wieder erhältlich: {product}",
            "{product} ist wieder erhältlich{where}{price_text}.\n{url}",
        ),
        "stockout": ("Ausverkauft: {product}", "{product} ist ausverkauft{where}.\n{url}"),
        "price_drop": (
            "Preissenkung: {product}",
            "{product} kostet jetzt {price} {currency} (vorher: {old_price} {currency}).\n{url}",
        ),
        "finding_opened": (
            "Befund: {rule} – {promotion}",
            "Aktion «{promotion}» ({retailer}), beworben zu {advertised_price} {currency}: {rule}.\n"
            "{summary}\n{url}",
        ),
        "finding_closed": (
            "Befund beendet: {rule} – {promotion}",
            "Aktion «{promotion}» ({retailer}): «{rule}» trifft seit {closed_at} nicht mehr zu.\n{url}",
        ),
        "crawl_unhealthy": ("Erfassung gestört: {retailer}", "{summary}"),
        "test": ("promowatch Test", "Dies ist eine Testnachricht von promowatch."),
        "_online": (" online", ""),
        "_store": (" in der Filiale {store}", ""),
        "_price": (" zu {price} {currency}", ""),
    },
    "it": {
        "restock": (
            "Di nuovo disponibile: {product}",
            "{product} è di nuovo disponibile{where}{price_text}.\n{url}",
        ),
        "stockout": ("Esaurito: {product}", "{product} è esaurito{where}.\n{url}"),
        "price_drop": (
            "Prezzo ribassato: {product}",
            "{product} ora costa {price} {currency} (prima: {old_price} {currency}).\n{url}",
        ),
        "finding_opened": (
            "Constatazione: {rule} – {promotion}",
            "Azione «{promotion}» ({retailer}), pubblicizzata a {advertised_price} {currency}: {rule}.\n"
            "{summary}\n{url}",
        ),
        "finding_closed": (
            "Constatazione chiusa: {rule} – {promotion}",
            "Azione «{promotion}» ({retailer}): «{rule}» non vale più dal {closed_at}.\n{url}",
        ),
        "crawl_unhealthy": ("Raccolta disturbata: {retailer}", "{summary}"),
        "test": ("Test promowatch", "Questa è una notifica di prova di promowatch."),
        "_online": (" online", ""),
        "_store": (" nella filiale {store}", ""),
        "_price": (" a {price} {currency}", ""),
    },
}


@dataclass(frozen=True)
class Message:
    title: str
    body: str
    body_format: str  # "text" or "html", as Apprise names them


class _Fields(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return ""


def language_of(language: str | None) -> str:
    """The template language used for a subscription's language: English when there is no template."""
    return language if language in TEMPLATES else "en"


def format_message(
    kind: str, payload: Mapping[str, Any], language: str | None, *, as_html: bool = False
) -> Message:
    """Title and body of an event of ``kind`` for a reader of ``language``."""
    lang = language_of(language)
    templates = TEMPLATES[lang]
    title_template, body_template = templates.get(kind, ("{kind}", "{summary}"))

    def text(value: Any) -> str:
        return "" if value is None else str(value)

    raw = {key: text(value) for key, value in payload.items() if not isinstance(value, dict | list)}
    raw["kind"] = kind
    raw["product"] = text(payload.get("product_name")) or text(payload.get("product_url"))
    raw["url"] = text(payload.get("product_url"))
    raw["rule"] = RULE_LABELS[lang].get(text(payload.get("rule")), text(payload.get("rule")))
    raw["closed_at"] = text(payload.get("closed_at"))[:16].replace("T", " ")
    if kind == "crawl_unhealthy" and not raw.get("summary"):
        raw["summary"] = "; ".join(f"{k}: {v}" for k, v in sorted(raw.items()) if k not in ("kind", "rule"))
    fields = _Fields({k: html.escape(v) if as_html else v for k, v in raw.items()})
    scope = "_store" if payload.get("scope") == "store" else "_online"
    fields["where"] = templates[scope][0].format_map(fields)
    fields["price_text"] = templates["_price"][0].format_map(fields) if payload.get("price") else ""
    title = title_template.format_map(_Fields(raw) | {"where": "", "price_text": ""})
    body = body_template.format_map(fields).strip()
    if as_html:
        body = body.replace("\n", "<br>\n")
    return Message(title=" ".join(title.split()), body=body, body_format="html" if as_html else "text")
