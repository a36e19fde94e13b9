"""The readable dossier: one Jinja2 template rendered as the bundle's HTML page and, through WeasyPrint, as its PDF.

``dossier_context`` turns the case dict (case.json) into the words the template shows, in the case's language:
states, values and rule names as words, times local with their offset beside UTC, hashes in full. Keys a case does
not carry yet (an older export) are derived from the observations where that is cheap, or left out.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from urllib.parse import unquote, urlsplit

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime, get_timezone
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from promowatch.report.texts import N_, VALUES, label, rule_statement, translate, translations, value_word

MAX_TABLE_ROWS = 200
# where a country's retailers are, when the case names no time zone
COUNTRY_ZONES = {
    "CH": "Europe/Zurich",
    "DE": "Europe/Berlin",
    "AT": "Europe/Vienna",
    "FR": "Europe/Paris",
    "IT": "Europe/Rome",
    "LI": "Europe/Vaduz",
    "BE": "Europe/Brussels",
    "LU": "Europe/Luxembourg",
    "NL": "Europe/Amsterdam",
}
# the PDF's base URL: every relative link resolves under it and is served from the bundle's files, never fetched
BUNDLE_BASE = "https://dossier.invalid/"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".gif")
STORE_SYMBOLS = {"in_stock": "✓", "limited": "~", "out_of_stock": "0", "unknown": "?", "none": "–"}


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class Formatter:
    """Times, money and numbers in the case's language and the retailer's time zone."""

    def __init__(self, language: str, country: str | None, zone: str) -> None:
        self.language = language
        self.locale = _locale(language, country)
        self.zone = zone
        self.tz = get_timezone(zone)

    def time(self, value: str | None) -> str:
        """Local time with its UTC offset, then UTC: ``02.11.2026 23:59 +01:00 (2026-11-02 22:59 UTC)``."""
        moment = _parse(value)
        if moment is None:
            return "—"
        local = format_datetime(moment, "dd.MM.yyyy HH:mm xxx", tzinfo=self.tz, locale=self.locale)
        return f"{local} ({moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC)"

    def day(self, value: date) -> tuple[str, str]:
        """A grid column's heading: weekday and date, on two lines."""
        return format_date(value, "EEE", locale=self.locale), format_date(value, "d.M.", locale=self.locale)

    def money(self, amount: str | Decimal | None, currency: str | None) -> str:
        if amount is None or amount == "":
            return "—"
        try:
            number = Decimal(str(amount))
        except InvalidOperation:
            return str(amount)
        if not currency:
            return format_decimal(number, format="#,##0.00", locale=self.locale)
        return format_currency(number, currency, locale=self.locale)

    def number(self, value: Any) -> str:
        if value is None:
            return "—"
        if isinstance(value, str):
            try:
                value = Decimal(value)
            except InvalidOperation:
                return value
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return format_decimal(value, locale=self.locale)
        return str(value)

    def local_day(self, value: str) -> date:
        moment = _parse(value)
        assert moment is not None
        return moment.astimezone(self.tz).date()


def _locale(language: str, country: str | None) -> Locale:
    """The locale of the case language as spoken in the retailer's country (fr_CH), else the language alone."""
    for name in (f"{language}_{country}" if country else None, language):
        if not name:
            continue
        try:
            return Locale.parse(name)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def _zone(case: Mapping[str, Any]) -> str:
    country = (case.get("promotion", {}).get("retailer") or {}).get("country")
    return case.get("timezone") or COUNTRY_ZONES.get((country or "").upper(), "UTC")


def _findings(case: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if case.get("findings"):
        return list(case["findings"])
    return [case["finding"]] if case.get("finding") else []


def _statement(case: Mapping[str, Any], finding: Mapping[str, Any], fmt: Formatter) -> str:
    # a rule that words its own sentences in every case language (delivery_overdue) carries them in its inputs
    own = ((finding.get("inputs") or {}).get("statements") or {}).get(fmt.language)
    if own:
        return str(own)
    coverage = case.get("coverage") or {}
    cited = finding.get("observation_ids") or {}
    facts = (finding.get("inputs") or {}).get("facts") or {}
    share = finding.get("headline_share")
    if share is None:
        share = (case.get("figures") or {}).get("max_store_zero_share")
    return rule_statement(
        finding["rule"],
        fmt.language,
        n_offer=str(len(cited.get("offer", []))),
        n_store=str(len(cited.get("store", []))),
        first=fmt.time(facts.get("first") or coverage.get("cited_first")),
        last=fmt.time(facts.get("last") or coverage.get("cited_last")),
        max_share="—" if share is None else format_decimal(share, format="#,##0 %", locale=fmt.locale),
        reference=fmt.money(facts.get("reference_price"), facts.get("currency")),
        since=fmt.time(facts.get("reduction_start")),
        shown_days=fmt.number(facts.get("shown_days")),
    )


def finding_statement(case: Mapping[str, Any], language: str) -> str:
    """The neutral sentence of the case's (first) finding, with its figures, in ``language``."""
    fmt = _formatter(case, language)
    return _statement(case, _findings(case)[0], fmt)


def _formatter(case: Mapping[str, Any], language: str) -> Formatter:
    country = (case.get("promotion", {}).get("retailer") or {}).get("country")
    return Formatter(language, country, _zone(case))


def _facts(case: Mapping[str, Any], fmt: Formatter) -> list[tuple[str, str]]:
    language = fmt.language
    promotion = case["promotion"]
    currency = promotion.get("currency")
    window = f"{fmt.time(promotion.get('valid_from'))} – {fmt.time(promotion.get('valid_until'))}"
    basis = promotion.get("window_basis")
    if basis in VALUES["window_basis"]:
        window += f" ({value_word('window_basis', basis, language)})"
    sources = sorted({s.get("source_url") or "" for s in case.get("ad_sightings", []) if s.get("source_url")})
    rows = [
        (label("retailer", language), (promotion.get("retailer") or {}).get("name", "—")),
        (label("product", language), f"{promotion['title']} ({promotion['product']['url']})"),
        (label("advertised_price", language), fmt.money(promotion.get("advertised_price"), currency)),
        (label("reference_price", language), fmt.money(promotion.get("reference_price"), currency)),
        (label("validity", language), window),
    ]
    if sources and not case.get("advertised"):
        rows.append((label("ad_sources", language), ", ".join(sources)))
    return rows


def _exhibits(case: Mapping[str, Any], fmt: Formatter) -> list[dict[str, Any]]:
    return [
        {
            "number": e.get("number"),
            "kind": value_word("exhibit_kind", e.get("kind"), fmt.language),
            "caption": e.get("caption"),
            "note": e.get("note"),
            "path": e.get("path"),
            "sha256": e.get("sha256"),
            "taken": fmt.time(e.get("taken_at")) if e.get("taken_at") else None,
        }
        for e in case.get("exhibits") or []
    ]


def _exhibit_by_number(case: Mapping[str, Any]) -> dict[Any, Mapping[str, Any]]:
    return {e.get("number"): e for e in case.get("exhibits") or []}


def _advertised(case: Mapping[str, Any], fmt: Formatter) -> list[dict[str, Any]]:
    exhibits = _exhibit_by_number(case)
    if case.get("advertised") is not None:
        rows = case["advertised"]
    else:  # an export before ad exhibits: the sightings as chained
        rows = [
            {
                "kind": s.get("ad_kind"),
                "seen_at": s.get("seen_at"),
                "last_seen": s.get("last_seen"),
                "source_url": s.get("source_url"),
                "note": s.get("note"),
                "exhibit": None,
                "sha256": s.get("evidence_sha256"),
            }
            for s in case.get("ad_sightings", [])
        ]
    result = []
    for ad in rows:
        exhibit = exhibits.get(ad.get("exhibit"))
        last = ad.get("last_seen")
        result.append(
            {
                "kind": value_word("ad_kind", ad.get("kind"), fmt.language),
                "seen": fmt.time(ad.get("seen_at")),
                "last_seen": fmt.time(last) if last and last != ad.get("seen_at") else None,
                "source": ad.get("source_url"),
                "note": ad.get("note"),
                "exhibit": ad.get("exhibit"),
                "sha256": (exhibit or {}).get("sha256") or ad.get("sha256"),
            }
        )
    return result


def _signal(record: Mapping[str, Any], field: str, sources: Sequence[str]) -> Mapping[str, Any] | None:
    """The first signal of ``field`` from the strongest of ``sources``."""
    signals = [s for s in record.get("signals") or [] if s.get("field") == field]
    for source in sources:
        for s in signals:
            if s.get("source") == source and s.get("raw"):
                return s
    return None


def _shown_from_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """What the shop showed in one offer observation, from its signals' literal texts."""
    stock = _signal(record, "availability", ("profile", "text"))
    button = _signal(record, "orderable", ("profile", "button"))
    reference = _signal(record, "regular_price", ("profile", "text"))
    delivery = _signal(record, "delivery", ("profile", "text"))
    return {
        "observed_at": record.get("observed_at"),
        "url": record.get("final_url") or record.get("url"),
        "price": record.get("price"),
        "currency": record.get("currency"),
        "regular_price": record.get("regular_price"),
        "availability": record.get("availability"),
        "orderable": record.get("orderable"),
        "stock_text": stock and stock["raw"],
        "buy_button": None
        if button is None
        else {"text": button["raw"], "enabled": button["value"] == "True"},
        "reference_text": reference and reference["raw"],
        "delivery_text": (delivery and delivery["raw"]) or record.get("delivery_text"),
        "exhibit": None,
    }


def shown_observations(observations: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The offer observations worth quoting: the first, each that changed what the shop showed, the last."""
    offers = [line["record"] for line in observations if line.get("kind") == "offer"]
    picked: list[dict[str, Any]] = []
    previous = None
    for i, record in enumerate(offers):
        shown = _shown_from_record(record)
        key = (shown["price"], shown["availability"], shown["orderable"], shown["stock_text"])
        if key != previous or i == len(offers) - 1:
            picked.append(shown)
        previous = key
    return picked


def _shop_showed(
    case: Mapping[str, Any], observations: Sequence[Mapping[str, Any]], fmt: Formatter
) -> list[dict[str, Any]]:
    language = fmt.language
    exhibits = _exhibit_by_number(case)
    rows = case["shop_showed"] if case.get("shop_showed") is not None else shown_observations(observations)
    result = []
    for shown in rows:
        button = shown.get("buy_button") or {}
        exhibit = exhibits.get(shown.get("exhibit"))
        result.append(
            {
                "observed": fmt.time(shown.get("observed_at")),
                "url": shown.get("url"),
                "price": fmt.money(shown.get("price"), shown.get("currency")),
                "regular_price": shown.get("regular_price")
                and fmt.money(shown.get("regular_price"), shown.get("currency")),
                "reference_text": shown.get("reference_text"),
                "stock_text": shown.get("stock_text"),
                "button_text": button.get("text"),
                "button_state": value_word("button", button.get("enabled"), language),
                "delivery_text": shown.get("delivery_text"),
                "availability": value_word("availability", shown.get("availability") or "unknown", language),
                "orderable": value_word("orderable", shown.get("orderable"), language),
                "exhibit": None
                if exhibit is None
                else {
                    "number": exhibit["number"],
                    "path": exhibit["path"],
                    "image": str(exhibit["path"]).lower().endswith(IMAGE_SUFFIXES),
                },
            }
        )
    return result


def store_grid(observations: Sequence[Mapping[str, Any]], fmt: Formatter) -> dict[str, Any]:
    """Store × local day: the last state each store showed that day (None: not observed that day)."""
    intervals: dict[Any, list[tuple[datetime, datetime, str]]] = {}
    stores: dict[Any, Mapping[str, Any]] = {}
    for line in observations:
        if line.get("kind") != "store":
            continue
        record, extension = line["record"], line.get("extension") or {}
        first = _parse(record["first_seen"])
        last = _parse(extension.get("last_seen")) or first
        assert first is not None and last is not None
        intervals.setdefault(record["store_id"], []).append((first, last, record["availability"]))
        stores[record["store_id"]] = line.get("store") or {"name": str(record["store_id"])}
    if not intervals:
        return {"days": [], "stores": []}
    moments = [t for spans in intervals.values() for span in spans for t in span[:2]]
    first_day = min(moments).astimezone(fmt.tz).date()
    last_day = max(moments).astimezone(fmt.tz).date()
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    rows = []
    for store_id, spans in sorted(intervals.items(), key=lambda item: str(stores[item[0]].get("name"))):
        cells: list[str | None] = []
        for day in days:
            seen = [
                (last, state)
                for first, last, state in spans
                if first.astimezone(fmt.tz).date() <= day <= last.astimezone(fmt.tz).date()
            ]
            cells.append(max(seen)[1] if seen else None)
        info = stores[store_id]
        rows.append(
            {"id": store_id, "name": info.get("name"), "postcode": info.get("postcode"), "cells": cells}
        )
    return {"days": [d.isoformat() for d in days], "stores": rows}


def _grid(
    case: Mapping[str, Any], observations: Sequence[Mapping[str, Any]], fmt: Formatter
) -> dict[str, Any] | None:
    grid = case.get("store_grid") or store_grid(observations, fmt)
    if not grid.get("stores"):
        return None

    def cell(state: str | None) -> dict[str, str]:
        key = state if state in STORE_SYMBOLS else "none" if state is None else "unknown"
        return {
            "state": key,
            "symbol": STORE_SYMBOLS[key],
            "word": value_word("store_cell", key, fmt.language),
        }

    return {
        "days": [fmt.day(date.fromisoformat(d)) for d in grid["days"]],
        "stores": [
            {"name": s.get("name"), "postcode": s.get("postcode"), "cells": [cell(c) for c in s["cells"]]}
            for s in grid["stores"]
        ],
        "legend": [cell(state) for state in ("in_stock", "limited", "out_of_stock", "unknown", None)],
    }


def _unit(unit: str | None, currency: str | None, language: str) -> str:
    if not unit:
        return ""
    if unit == "currency" and currency:
        return currency
    return value_word("unit", unit, language)


def _thresholds(finding: Mapping[str, Any], fmt: Formatter, currency: str | None) -> list[dict[str, str]]:
    rows = finding.get("thresholds")
    if not isinstance(rows, list):  # an older export: the rule's thresholds as a table of watchlist keys
        raw = (finding.get("inputs") or {}).get("thresholds") or {}
        rows = [{"name": k, "value": v, "unit": None} for k, v in sorted(raw.items())]
    return [
        {
            "name": value_word("threshold", t["name"], fmt.language),
            "value": fmt.number(t.get("value")),
            "unit": _unit(t.get("unit"), currency, fmt.language),
        }
        for t in rows
    ]


def _finding_view(case: Mapping[str, Any], finding: Mapping[str, Any], fmt: Formatter) -> dict[str, Any]:
    language = fmt.language
    rows = [
        (label("rule", language), value_word("rule", finding["rule"], language)),
        (label("state", language), value_word("state", finding["state"], language)),
    ]
    window = finding.get("window_start") or ((finding.get("inputs") or {}).get("window") or {}).get("start")
    if finding.get("window_start") or finding.get("inputs", {}).get("window"):
        rows.append((translate("Counted from", language), fmt.time(window)))
    detected = finding.get("opened_at")
    rows.append((translate("Detected", language), fmt.time(detected)))
    for key, message in (("confirmed_at", N_("Confirmed")), ("closed_at", N_("Closed"))):
        if finding.get(key):
            shown = finding[key]
            if key == "confirmed_at" and detected and _parse(shown) < _parse(detected):  # type: ignore[operator]
                # a rule that confirms from history (the reference price) dates its confirmation at the measured
                # start; promowatch confirmed it when it detected it, never earlier (that start is "counted from")
                shown = detected
            rows.append((translate(message, language), fmt.time(shown)))
    return {
        "rule": value_word("rule", finding["rule"], language),
        "statement": _statement(case, finding, fmt),
        "rows": rows,
        "thresholds": _thresholds(finding, fmt, case["promotion"].get("currency")),
    }


_VANTAGE_FIELDS = {
    "postcode": N_("postcode"),
    "store": N_("store"),
    "accept_language": N_("language asked for"),
    "logged_in": N_("logged in"),
}
_TIME_SOURCES = {"system_clock": N_("the capturing computer's clock"), "tsa": N_("a timestamping authority")}


def _attested(key: str, value: Any, language: str) -> str:
    """An attestation value in words; lists and records as their present parts."""
    if isinstance(value, list):
        return "; ".join(filter(None, (_attested(key, v, language) for v in value)))
    if isinstance(value, Mapping):
        if key == "vantage":
            parts = []
            for name, v in value.items():
                if v is None:
                    continue
                shown = value_word("orderable_bool", v, language) if isinstance(v, bool) else str(v)
                field = _VANTAGE_FIELDS.get(str(name))
                # a field this version has no words for is shown by its value alone, never by its key
                parts.append(shown if field is None else f"{translate(field, language)}: {shown}")
            return ", ".join(parts)
        return ", ".join(str(v) for v in value.values() if v)
    if key == "time_source" and value in _TIME_SOURCES:
        return translate(_TIME_SOURCES[value], language)
    return "" if value is None else str(value)


def _attestation(case: Mapping[str, Any], fmt: Formatter) -> list[tuple[str, str]]:
    given = case.get("attestation") or {}
    fields = (
        ("operator", N_("Captured by")),
        ("vantage", N_("Vantage point")),
        ("user_agent", N_("User agent")),
        ("capture_address", N_("Address of the capture")),
        ("country", N_("Country of the capture")),
        ("time_source", N_("Time source")),
    )
    language = fmt.language
    return [
        (
            translate(message, language),
            _attested(key, given.get(key), language) or translate("not recorded", language),
        )
        for key, message in fields
    ]


def _orders(case: Mapping[str, Any], fmt: Formatter) -> list[dict[str, Any]]:
    result = []
    for order in case.get("orders") or []:
        rows = []
        for key, message in (
            ("placed_at", N_("Ordered")),
            ("paid_at", N_("Paid")),
            ("promised_by", N_("Promised by")),
        ):
            if order.get(key):
                rows.append((translate(message, fmt.language), fmt.time(order[key])))
        if order.get("price") is not None:
            rows.append(
                (label("advertised_price", fmt.language), fmt.money(order["price"], order.get("currency")))
            )
        result.append(
            {
                "name": order.get("id") or order.get("slug") or "",
                "rows": rows,
                "status": [
                    {"at": fmt.time(s.get("at")), "text": s.get("text"), "exhibit": s.get("exhibit")}
                    for s in order.get("status") or []
                ],
            }
        )
    return result


def _evidence(observations: Sequence[Mapping[str, Any]], fmt: Formatter) -> list[dict[str, str]]:
    """The cited observations as table rows, in time order: time, observation, value in words, capture hash."""
    language = fmt.language
    rows = []
    for line in observations:
        if not line.get("cited"):
            continue
        r = line["record"]
        if line["kind"] == "offer":
            at = r["observed_at"]
            what = translate("Shop page", language)
            value = "; ".join(
                (
                    fmt.money(r.get("price"), r.get("currency")),
                    value_word("availability", r.get("availability") or "unknown", language),
                    value_word("orderable", r.get("orderable"), language),
                )
            )
        elif line["kind"] == "store":
            store = line.get("store") or {}
            at = r["first_seen"]
            what = translate("Store stock", language)
            where = ", ".join(str(x) for x in (store.get("name", r["store_id"]), store.get("postcode")) if x)
            value = f"{where}: {value_word('availability', r['availability'], language)}"
        else:
            at = r["seen_at"]
            what = translate("Ad", language)
            value = r.get("source_url") or value_word("ad_kind", r.get("ad_kind"), language)
        rows.append(
            {
                "sort": at,
                "at": fmt.time(at),
                "what": f"{what} #{r['id']}",
                "value": value,
                "sha256": r.get("evidence_sha256"),
            }
        )
    rows.sort(key=lambda row: row["sort"])
    return rows


def _coverage(case: Mapping[str, Any], fmt: Formatter) -> list[list[str]]:
    rows = []
    for channel in ("online", "stores", "ads"):
        c = (case.get("coverage") or {}).get(channel)
        if not c:
            continue
        share = c.get("unknown_share")
        rows.append(
            [
                label(channel, fmt.language),
                fmt.time(c.get("first")),
                fmt.time(c.get("last")),
                str(c.get("count", 0)),
                "—" if share is None else format_decimal(share, format="#,##0.0 %", locale=fmt.locale),
            ]
        )
    return rows


def _css_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3c ") + '"'


def page_counter_css(language: str) -> Markup:
    """The footer's "page X of Y" as CSS ``content``, the numbers being WeasyPrint's page counters."""
    words = translate("page {page} of {pages}", language)
    parts: list[str] = []
    rest = words
    while rest:
        cut = min((i for i in (rest.find("{page}"), rest.find("{pages}")) if i >= 0), default=-1)
        if cut < 0:
            parts.append(_css_string(rest))
            break
        if cut:
            parts.append(_css_string(rest[:cut]))
        counter = "pages" if rest.startswith("{pages}", cut) else "page"
        parts.append(f"counter({counter})")
        rest = rest[cut + len(counter) + 2 :]
    return Markup(" ".join(parts))


def dossier_context(
    case: Mapping[str, Any],
    observations: Sequence[Mapping[str, Any]],
    language: str,
    chart_file: str = "timeline.png",
) -> dict[str, Any]:
    """Everything the template shows, as words in ``language``."""
    fmt = _formatter(case, language)
    promotion = case["promotion"]
    evidence = _evidence(observations, fmt)
    generated = case.get("generated_at")
    return {
        "lang": language,
        "reference": case.get("reference") or f"F{(case.get('finding') or {}).get('id', '')}",
        "product_title": promotion["title"],
        "retailer_name": (promotion.get("retailer") or {}).get("name", ""),
        "generated": fmt.time(generated),
        "generated_utc_iso": generated or "",
        "timezone": fmt.zone,
        "page_counter_css": page_counter_css(language),
        "facts": _facts(case, fmt),
        "advertised": _advertised(case, fmt),
        "shop_showed": _shop_showed(case, observations, fmt),
        "store_grid": _grid(case, observations, fmt),
        "chart_file": chart_file,
        "findings": [_finding_view(case, f, fmt) for f in _findings(case)],
        "orders": _orders(case, fmt),
        "exhibits": _exhibits(case, fmt),
        "attestation": _attestation(case, fmt),
        "chain_timestamps": [
            dict(t, time=fmt.time(t.get("time"))) for t in case.get("chain_timestamps") or []
        ],
        "coverage": _coverage(case, fmt),
        "limitations": case.get("limitations", []),
        "evidence": evidence[:MAX_TABLE_ROWS],
        "evidence_more": max(0, len(evidence) - MAX_TABLE_ROWS),
        "verify_text": label("verify_text", language),
        "software_version": (case.get("software") or {}).get("version", ""),
    }


@cache
def _environment(language: str) -> Environment:
    env = Environment(
        loader=PackageLoader("promowatch.report", "templates"),
        autoescape=True,  # every shop text and note is untrusted
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


def render_html(
    case: Mapping[str, Any],
    observations: Sequence[Mapping[str, Any]],
    language: str,
    chart_file: str = "timeline.png",
) -> str:
    """The dossier page; the chart and the screenshots are referenced as files of the bundle."""
    template = _environment(language).get_template("dossier.html")
    return template.render(dossier_context(case, observations, language, chart_file))


def _bundle_fetcher(files: Mapping[str, bytes]) -> Any:
    """A WeasyPrint URL fetcher serving the bundle's own files and nothing else: a dossier never reaches the
    network, whatever a shop's text or a note holds."""
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class BundleFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            name = unquote(urlsplit(url).path.lstrip("/"))
            if not url.startswith(BUNDLE_BASE) or name not in files:
                raise ValueError(f"not a file of the bundle: {url}")
            mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, files[name], {"Content-Type": mime})

    return BundleFetcher()


def render_pdf(
    case: Mapping[str, Any],
    observations: Sequence[Mapping[str, Any]],
    timeline: Any = None,
    language: str = "fr",
    *,
    files: Mapping[str, bytes] | None = None,
) -> bytes:
    """The dossier as an A4 PDF/A-2b from the same template, with the bundle's ``files`` (chart, screenshots)
    embedded. Without ``files["timeline.png"]`` the chart is drawn from ``timeline``."""
    from weasyprint import HTML  # imported here: slow, and only a PDF needs it

    available = dict(files or {})
    if "timeline.png" not in available and timeline is not None:
        from promowatch.report.timeline import render_timeline_png

        available["timeline.png"] = render_timeline_png(timeline, language)
    page = render_html(case, observations, language)
    document = HTML(string=page, base_url=BUNDLE_BASE, url_fetcher=_bundle_fetcher(available))
    return document.write_pdf(pdf_variant="pdf/a-2b", pdf_tags=True, uncompressed_pdf=False)
