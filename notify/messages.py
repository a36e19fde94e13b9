"""Pure message formatting: an event's payload and a language in, a title and a body out.

French, German, Italian and English templates (the languages of Swiss shoppers, and English for everyone else);
any other language falls back to English.
Scraped text (product names, promotion titles, store names) is escaped when the body is HTML, and neutralised for
chat services everywhere: a shop's ``@everyone``, role mention or masked link would otherwise ping a Discord
server or hide where a link leads.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from promowatch.domain import as_utc

RULE_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "unorderable_online": "not orderable online",
        "store_stockout": "too little stock in the stores at the start",
        "store_sellout": "sold out in the stores during the promotion",
        "price_mismatch": "price differs from the ad",
        "reference_price_unsupported": "reference price not supported by the price history",
        "delivery_overdue": "delivery time not kept",
        "delivery_slipping": "promised delivery time keeps growing",
    },
    "fr": {
        "unorderable_online": "pas commandable en ligne",
        "store_stockout": "stock insuffisant en magasin au lancement",
        "store_sellout": "épuisé en magasin pendant la promotion",
        "price_mismatch": "prix différent de la publicité",
        "reference_price_unsupported": "prix de référence non étayé par l'historique des prix",
        "delivery_overdue": "délai de livraison non tenu",
        "delivery_slipping": "délai de livraison promis sans cesse allongé",
    },
    "de": {
        "unorderable_online": "online nicht bestellbar",
        "store_stockout": "zu wenig Bestand in den Filialen zum Aktionsstart",
        "store_sellout": "in den Filialen während der Aktion ausverkauft",
        "price_mismatch": "Preis weicht von der Werbung ab",
        "reference_price_unsupported": "Vergleichspreis durch die Preisgeschichte nicht belegt",
        "delivery_overdue": "Lieferfrist nicht eingehalten",
        "delivery_slipping": "zugesagte Lieferzeit wird laufend länger",
    },
    "it": {
        "unorderable_online": "non ordinabile online",
        "store_stockout": "scorte insufficienti nelle filiali all'avvio",
        "store_sellout": "esaurito nelle filiali durante la promozione",
        "price_mismatch": "prezzo diverso dalla pubblicità",
        "reference_price_unsupported": "prezzo di riferimento non comprovato dallo storico dei prezzi",
        "delivery_overdue": "termine di consegna non rispettato",
        "delivery_slipping": "tempi di consegna promessi sempre più lunghi",
    },
}

TEMPLATES: dict[str, dict[str, tuple[str, str]]] = {
    "en": {
        "restock": (
            "Back in stock: {product}",
            "{product} is available again{where}{price_text}.\n{seen}\n{url}",
        ),
        "stockout": ("Out of stock: {product}", "{product} is out of stock{where}.\n{seen}\n{url}"),
        "price_drop": (
            "Price drop: {product}",
            "{product} now costs {price} {currency} (before: {old_price} {currency}).\n{seen}\n{url}",
        ),
        "finding_opened": (
            "Finding: {rule} – {promotion}",
            "Promotion “{promotion}” ({retailer}), advertised at {advertised_price} {currency}: {rule}.\n"
            "{summary}\n{seen}\n{url}",
        ),
        "finding_closed": (
            "Finding closed: {rule} – {promotion}",
            "Promotion “{promotion}” ({retailer}): “{rule}” no longer holds since {closed_at}.\n{seen}\n{url}",
        ),
        "crawl_unhealthy": ("Crawl unhealthy: {retailer}", "{summary}\n{seen}"),
        "crawl_recovered": ("Crawl healthy again: {retailer}", "{summary}\n{seen}"),
        "delivery_overdue": (
            "Order {reference} overdue: {product}",
            "Your order {reference} ({retailer}, {price_paid} {currency}): {rule}.\n{statement}\n{seen}\n{url}",
        ),
        "test": ("promowatch test", "This is a test notification from promowatch."),
        "_online": (" online", ""),
        "_store": (" at {store}", ""),
        "_price": (" at {price} {currency}", ""),
        "_seen": ("Seen {date} {time} UTC.", "Seen between {date} {time} and {last_date} {last_time} UTC."),
        "_restock_stores": (
            "Back in stock in {count} stores: {product}",
            "{product} is back in stock in {count} of your stores: {stores}.\n{seen}\n{url}",
        ),
        "_stockout_stores": (
            "Out of stock in {count} stores: {product}",
            "{product} is out of stock in {count} of your stores: {stores}.\n{seen}\n{url}",
        ),
    },
    "fr": {
        "restock": (
            "De retour en stock : {product}",
            "{product} est de nouveau disponible{where}{price_text}.\n{seen}\n{url}",
        ),
        "stockout": (
            "Rupture de stock : {product}",
            "{product} est en rupture de stock{where}.\n{seen}\n{url}",
        ),
        "price_drop": (
            "Baisse de prix : {product}",
            "{product} coûte maintenant {price} {currency} (avant : {old_price} {currency}).\n{seen}\n{url}",
        ),
        "finding_opened": (
            "Constat : {rule} – {promotion}",
            "Promotion « {promotion} » ({retailer}), annoncée à {advertised_price} {currency} : {rule}.\n"
            "{summary}\n{seen}\n{url}",
        ),
        "finding_closed": (
            "Constat clos : {rule} – {promotion}",
            "Promotion « {promotion} » ({retailer}) : « {rule} » ne s'applique plus depuis {closed_at}.\n{seen}\n{url}",
        ),
        "crawl_unhealthy": ("Collecte en difficulté : {retailer}", "{summary}\n{seen}"),
        "crawl_recovered": ("Collecte rétablie : {retailer}", "{summary}\n{seen}"),
        "delivery_overdue": (
            "Commande {reference} en retard : {product}",
            "Votre commande {reference} ({retailer}, {price_paid} {currency}) : {rule}.\n{statement}\n{seen}\n{url}",
        ),
        "test": ("Test promowatch", "Ceci est une notification de test de promowatch."),
        "_online": (" en ligne", ""),
        "_store": (" au magasin {store}", ""),
        "_price": (" à {price} {currency}", ""),
        "_seen": (
            "Constaté le {date} à {time} UTC.",
            "Constaté entre le {date} à {time} et le {last_date} à {last_time} UTC.",
        ),
        "_restock_stores": (
            "De retour en stock dans {count} magasins : {product}",
            "{product} est de nouveau disponible dans {count} de vos magasins : {stores}.\n{seen}\n{url}",
        ),
        "_stockout_stores": (
            "Rupture de stock dans {count} magasins : {product}",
            "{product} est en rupture de stock dans {count} de vos magasins : {stores}.\n{seen}\n{url}",
        ),
    },
    "de": {
        "restock": (
            "Wieder erhältlich: {product}",
            "{product} ist wieder erhältlich{where}{price_text}.\n{seen}\n{url}",
        ),
        "stockout": ("Ausverkauft: {product}", "{product} ist ausverkauft{where}.\n{seen}\n{url}"),
        "price_drop": (
            "Preissenkung: {product}",
            "{product} kostet jetzt {price} {currency} (vorher: {old_price} {currency}).\n{seen}\n{url}",
        ),
        "finding_opened": (
            "Befund: {rule} – {promotion}",
            "Aktion «{promotion}» ({retailer}), beworben zu {advertised_price} {currency}: {rule}.\n"
            "{summary}\n{seen}\n{url}",
        ),
        "finding_closed": (
            "Befund beendet: {rule} – {promotion}",
            "Aktion «{promotion}» ({retailer}): «{rule}» trifft seit {closed_at} nicht mehr zu.\n{seen}\n{url}",
        ),
        "crawl_unhealthy": ("Erfassung gestört: {retailer}", "{summary}\n{seen}"),
        "crawl_recovered": ("Erfassung wieder in Ordnung: {retailer}", "{summary}\n{seen}"),
        "delivery_overdue": (
            "Bestellung {reference} überfällig: {product}",
            "Ihre Bestellung {reference} ({retailer}, {price_paid} {currency}): {rule}.\n{statement}\n{seen}\n{url}",
        ),
        "test": ("promowatch Test", "Dies ist eine Testnachricht von promowatch."),
        "_online": (" online", ""),
        "_store": (" in der Filiale {store}", ""),
        "_price": (" zu {price} {currency}", ""),
        "_seen": (
            "Festgestellt am {date} um {time} UTC.",
            "Festgestellt zwischen {date} {time} und {last_date} {last_time} UTC.",
        ),
        "_restock_stores": (
            "Wieder erhältlich in {count} Filialen: {product}",
            "{product} ist in {count} Ihrer Filialen wieder erhältlich: {stores}.\n{seen}\n{url}",
        ),
        "_stockout_stores": (
            "Ausverkauft in {count} Filialen: {product}",
            "{product} ist in {count} Ihrer Filialen ausverkauft: {stores}.\n{seen}\n{url}",
        ),
    },
    "it": {
        "restock": (
            "Di nuovo disponibile: {product}",
            "{product} è di nuovo disponibile{where}{price_text}.\n{seen}\n{url}",
        ),
        "stockout": ("Esaurito: {product}", "{product} è esaurito{where}.\n{seen}\n{url}"),
        "price_drop": (
            "Prezzo ribassato: {product}",
            "{product} ora costa {price} {currency} (prima: {old_price} {currency}).\n{seen}\n{url}",
        ),
        "finding_opened": (
            "Constatazione: {rule} – {promotion}",
            "Azione «{promotion}» ({retailer}), pubblicizzata a {advertised_price} {currency}: {rule}.\n"
            "{summary}\n{seen}\n{url}",
        ),
        "finding_closed": (
            "Constatazione chiusa: {rule} – {promotion}",
            "Azione «{promotion}» ({retailer}): «{rule}» non vale più dal {closed_at}.\n{seen}\n{url}",
        ),
        "crawl_unhealthy": ("Raccolta disturbata: {retailer}", "{summary}\n{seen}"),
        "crawl_recovered": ("Raccolta ripristinata: {retailer}", "{summary}\n{seen}"),
        "delivery_overdue": (
            "Ordine {reference} in ritardo: {product}",
            "Il suo ordine {reference} ({retailer}, {price_paid} {currency}): {rule}.\n{statement}\n{seen}\n{url}",
        ),
        "test": ("Test promowatch", "Questa è una notifica di prova di promowatch."),
        "_online": (" online", ""),
        "_store": (" nella filiale {store}", ""),
        "_price": (" a {price} {currency}", ""),
        "_seen": (
            "Rilevato il {date} alle {time} UTC.",
            "Rilevato tra il {date} alle {time} e il {last_date} alle {last_time} UTC.",
        ),
        "_restock_stores": (
            "Di nuovo disponibile in {count} filiali: {product}",
            "{product} è di nuovo disponibile in {count} delle sue filiali: {stores}.\n{seen}\n{url}",
        ),
        "_stockout_stores": (
            "Esaurito in {count} filiali: {product}",
            "{product} è esaurito in {count} delle sue filiali: {stores}.\n{seen}\n{url}",
        ),
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


DATE_FORMATS = {"en": "%Y-%m-%d"}  # ISO for English readers; the others write 08.11.2026
STORE_DIGEST = {"restock": "_restock_stores", "stockout": "_stockout_stores"}


def moment_text(moment: datetime, lang: str) -> tuple[str, str]:
    """(date, time) of ``moment`` in UTC, written as readers of ``lang`` write dates."""
    utc = as_utc(moment)
    return utc.strftime(DATE_FORMATS.get(lang, "%d.%m.%Y")), utc.strftime("%H:%M")


def seen_text(seen: Sequence[datetime], lang: str) -> str:
    """When the change was seen, with its zone: one moment, or the first and last of a digest's."""
    if not seen:
        return ""
    first, last = min(seen), max(seen)
    date, time = moment_text(first, lang)
    last_date, last_time = moment_text(last, lang)
    one, between = TEMPLATES[lang]["_seen"]
    template = one if (date, time) == (last_date, last_time) else between
    return template.format(date=date, time=time, last_date=last_date, last_time=last_time)


def _text(value: Any) -> str:
    return "" if value is None else str(value)


_ZWSP = "\u200b"  # what Discord's own docs put after an @ to keep it from pinging
_MASS_MENTION = re.compile(r"@(?=(?:everyone|here)\b)", re.IGNORECASE)
_MENTION = re.compile(r"<(?=[@#][!&]?\d|@&|a?:\w+:\d)")  # <@123>, <@!123>, <@&123> roles, <#123>, <:emoji:1>
_MASKED_LINK = re.compile(r"\]\s*\(")  # [text](url): shows "text", hides the address


def neutralised(text: str) -> str:
    """Shop text that chat services show as text: mentions and masked links broken by a zero-width space,
    invisible in every target.

    >>> neutralised("[Deal](http://evil) for @everyone <@&42>") == (
    ...     "[Deal]\\u200b(http://evil) for @\\u200beveryone <\\u200b@&42>"
    ... )
    True
    """
    text = _MASS_MENTION.sub("@" + _ZWSP, text)
    text = _MENTION.sub("<" + _ZWSP, text)
    return _MASKED_LINK.sub(lambda found: "]" + _ZWSP + found[0][1:], text)


def _render(
    title_template: str, body_template: str, raw: dict[str, str], lang: str, as_html: bool
) -> Message:
    templates = TEMPLATES[lang]
    raw = {key: neutralised(value) for key, value in raw.items()}
    fields = _Fields({k: html.escape(v) if as_html else v for k, v in raw.items()})
    fields["where"] = templates[raw.get("_scope", "_online")][0].format_map(fields)
    fields["price_text"] = templates["_price"][0].format_map(fields) if raw.get("price") else ""
    title = title_template.format_map(_Fields(raw) | {"where": "", "price_text": ""})
    body = body_template.format_map(fields)
    body = "\n".join(line for line in body.split("\n") if line.strip())  # no blank line for a missing part
    if as_html:
        body = body.replace("\n", "<br>\n")
    return Message(title=" ".join(title.split()), body=body, body_format="html" if as_html else "text")


def _closed_at(value: Any, lang: str) -> str:
    try:
        date, time = moment_text(datetime.fromisoformat(_text(value)), lang)
    except ValueError:
        return _text(value)
    return f"{date} {time} UTC"


def format_message(
    kind: str,
    payload: Mapping[str, Any],
    language: str | None,
    *,
    as_html: bool = False,
    seen: datetime | None = None,
) -> Message:
    """Title and body of an event of ``kind`` for a reader of ``language``; ``seen``: when the change was seen
    (the event's occurred_at)."""
    lang = language_of(language)
    title_template, body_template = TEMPLATES[lang].get(kind, ("{kind}", "{summary}"))
    raw = {key: _text(value) for key, value in payload.items() if not isinstance(value, dict | list)}
    raw["kind"] = kind
    raw["product"] = _text(payload.get("product_name")) or _text(payload.get("product_url"))
    raw["url"] = _text(payload.get("product_url"))
    raw["rule"] = RULE_LABELS[lang].get(_text(payload.get("rule")), _text(payload.get("rule")))
    raw["closed_at"] = _closed_at(payload.get("closed_at"), lang) if payload.get("closed_at") else ""
    if kind == "crawl_unhealthy" and not raw.get("summary"):
        raw["summary"] = "; ".join(f"{k}: {v}" for k, v in sorted(raw.items()) if k not in ("kind", "rule"))
    raw["seen"] = seen_text([seen] if seen else [], lang)
    statements = payload.get("statements")  # a sentence per language (delivery_overdue)
    raw["statement"] = (
        _text(statements.get(lang) or statements.get("en")) if isinstance(statements, dict) else ""
    )
    for key in ("reference", "price_paid"):  # an order's, in its title: none is blank, not an error
        raw.setdefault(key, "")
    raw["_scope"] = "_store" if payload.get("scope") == "store" else "_online"
    return _render(title_template, body_template, raw, lang, as_html)


def store_label(payload: Mapping[str, Any]) -> str:
    """A store as a digest names it: its name and postcode, e.g. ``Lausanne Flon (1003)``."""
    name = _text(payload.get("store")) or _text(payload.get("store_external_id")) or "?"
    postcode = _text(payload.get("postcode"))
    return f"{name} ({postcode})" if postcode and postcode not in name else name


def format_store_digest(
    kind: str,
    payloads: Sequence[Mapping[str, Any]],
    language: str | None,
    *,
    as_html: bool = False,
    seen: Sequence[datetime] = (),
) -> Message:
    """One message for the store events of one product and kind (restock or stockout) in one notify pass:
    "back in stock in 3 of your stores: A (1003), B (1005), C". A single store reads as a single event."""
    labels = sorted(dict.fromkeys(store_label(p) for p in payloads), key=str.casefold)
    if len(labels) < 2 or kind not in STORE_DIGEST:
        return format_message(kind, payloads[0], language, as_html=as_html, seen=max(seen, default=None))
    lang = language_of(language)
    title_template, body_template = TEMPLATES[lang][STORE_DIGEST[kind]]
    first = payloads[0]
    raw = {
        "product": _text(first.get("product_name")) or _text(first.get("product_url")),
        "url": _text(first.get("product_url")),
        "count": str(len(labels)),
        "stores": ", ".join(labels),
        "seen": seen_text(seen, lang),
    }
    return _render(title_template, body_template, raw, lang, as_html)
