"""Amounts and currencies from the text of one price node.

price-parser does the heavy lifting; before it sees the text we normalise the Swiss forms it misreads
(``1’299.–`` would otherwise be 1) and after it we map the symbol to an ISO 4217 code.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from price_parser import Price

# Thousands separators that Swiss and Liechtenstein shops print between digits.
_APOSTROPHES = re.compile(r"(?<=\d)[’'ʼ´`‘](?=\d{3})")
# "499.–", "1'299.-", "49,–" : a dash standing for zero cents.
_DASH_CENTS = re.compile(r"(?<=\d)([.,])\s?[–—\-]{1,2}(?!\d)")
_SWISS_FRANC = re.compile(r"(?<![A-Za-z])(?:s?Fr|SFr|sfr)\.?(?=\s*\d)|(?<=\d)\s*(?:s?Fr|SFr)\.?(?![A-Za-z])")
_ISO = re.compile(r"(?<![A-Za-z])([A-Z]{3})(?![A-Za-z])")

# Symbols and local abbreviations -> ISO 4217. "$" alone depends on the country (see _DOLLAR).
SYMBOLS: dict[str, str] = {
    "€": "EUR",
    "eur": "EUR",
    "euro": "EUR",
    "£": "GBP",
    "gbp": "GBP",
    "chf": "CHF",
    "fr.": "CHF",
    "fr": "CHF",
    "sfr.": "CHF",
    "₽": "RUB",
    "руб": "RUB",
    "руб.": "RUB",
    "р.": "RUB",
    "rur": "RUB",
    "zł": "PLN",
    "zl": "PLN",
    "lei": "RON",
    "₹": "INR",
    "rs": "INR",
    "rs.": "INR",
    "₩": "KRW",
    "원": "KRW",
    "¥": "JPY",
    "円": "JPY",
    "元": "CNY",
    "r$": "BRL",
    "us$": "USD",
    "usd": "USD",
    "c$": "CAD",
    "ca$": "CAD",
    "cad": "CAD",
    "a$": "AUD",
    "au$": "AUD",
    "nt$": "TWD",
    "hk$": "HKD",
    "s$": "SGD",
    "nz$": "NZD",
    "mx$": "MXN",
    "kč": "CZK",
    "ft": "HUF",
    "₺": "TRY",
    "₪": "ILS",
    "ر.س": "SAR",
    "₴": "UAH",
    "kr": "SEK",
    "kr.": "DKK",
}
_DOLLAR = {
    "US": "USD",
    "CA": "CAD",
    "AU": "AUD",
    "NZ": "NZD",
    "TW": "TWD",
    "HK": "HKD",
    "SG": "SGD",
    "MX": "MXN",
    "AR": "ARS",
    "CL": "CLP",
    "CO": "COP",
    "BR": "BRL",
}
# The currencies a bare "$" may stand for.
DOLLAR_CURRENCIES = frozenset(_DOLLAR.values())
# "元" is the unit word of the Chinese-writing countries' own currencies.
_YUAN = {"CN": "CNY", "TW": "TWD", "HK": "HKD", "MO": "MOP"}
_KRONE = {"SE": "SEK", "NO": "NOK", "DK": "DKK", "IS": "ISK"}
COUNTRY_CURRENCY: dict[str, str] = {
    "CH": "CHF",
    "LI": "CHF",
    "GB": "GBP",
    "US": "USD",
    "RU": "RUB",
    "PL": "PLN",
    "RO": "RON",
    "IN": "INR",
    "PK": "PKR",
    "KR": "KRW",
    "JP": "JPY",
    "CN": "CNY",
    "SA": "SAR",
    "IL": "ILS",
    "CZ": "CZK",
    "HU": "HUF",
    "TR": "TRY",
    "UA": "UAH",
    **_DOLLAR,
    **_KRONE,
    **{
        code: "EUR"
        for code in [
            "AT",
            "BE",
            "CY",
            "DE",
            "EE",
            "ES",
            "FI",
            "FR",
            "GR",
            "HR",
            "IE",
            "IT",
            "LT",
            "LU",
            "LV",
            "MC",
            "MT",
            "NL",
            "PT",
            "SI",
            "SK",
        ]
    },
}
# Legacy or wrong codes that shops put into structured data.
_ISO_ALIASES = {"RUR": "RUB", "EURO": "EUR", "SFR": "CHF", "UKP": "GBP"}


# Country-code top-level domains used as generic names (start-ups, media), which say nothing of a shop's country.
_GENERIC_CCTLDS = frozenset(
    {"co", "io", "ai", "me", "tv", "fm", "cc", "ws", "to", "ly", "gg", "sh", "am", "nu"}
)
_TLD_COUNTRY = {"uk": "GB"}


def country_of_url(url: str) -> str | None:
    """The country a shop's domain names (``.cl``, ``.com.au``, ``.co.uk``), None for generic domains.

    Only used where a symbol is ambiguous ("$", "kr", "元") or no currency is printed at all.
    """
    host = urlsplit(url).hostname or ""
    labels = host.rsplit(".", 2)
    tld = labels[-1].lower() if len(labels) > 1 else ""
    if len(tld) != 2 or not tld.isalpha():
        return None
    if tld in _GENERIC_CCTLDS and not (len(labels) == 3 and labels[1] in ("com", "net", "org")):
        return None
    return _TLD_COUNTRY.get(tld, tld.upper())


def country_of_language(tag: str | None) -> str | None:
    """The region of a language tag (``es-CL``, ``zh_TW``), None without one."""
    parts = re.split(r"[-_]", (tag or "").strip())
    if len(parts) >= 2 and len(parts[-1]) == 2 and parts[-1].isalpha():
        return parts[-1].upper()
    return None


def normalise_price_text(text: str) -> str:
    """Rewrite Swiss apostrophes, dash cents and "Fr." so price-parser reads them as written."""
    text = text.replace("\xa0", " ").replace("\u202f", " ")
    text = _APOSTROPHES.sub("", text)
    text = _DASH_CENTS.sub(r"\g<1>00", text)
    return _SWISS_FRANC.sub(" CHF ", text)


def currency_code(symbol: str | None, country: str | None = None) -> str | None:
    """An ISO 4217 code for a symbol, abbreviation or code as printed; None when it is not one."""
    if not symbol:
        return None
    token = symbol.strip()
    upper = token.upper()
    if re.fullmatch(r"[A-Z]{3,4}", token):
        return _ISO_ALIASES.get(token, token if len(token) == 3 else None)
    lowered = token.lower()
    if lowered == "元" and country in _YUAN:
        return _YUAN[country]
    if lowered in SYMBOLS:
        if lowered.startswith("kr") and country in _KRONE:
            return _KRONE[country]
        return SYMBOLS[lowered]
    if lowered == "$":
        return _DOLLAR.get(country or "", "USD")
    return _ISO_ALIASES.get(upper) or (upper if re.fullmatch(r"[A-Z]{3}", upper) else None)


def parse_amount(text: str, default_currency: str | None = None) -> tuple[Decimal | None, str | None]:
    """(amount, ISO currency) for the text of one price node; the currency falls back to the default.

    >>> parse_amount("1’299.–")
    (Decimal('1299.00'), None)
    """
    return parse_amount_in(text, default_currency, None)


def parse_amount_in(
    text: str, default_currency: str | None, country: str | None
) -> tuple[Decimal | None, str | None]:
    """:func:`parse_amount` knowing the shop's country, which decides what "$" or "kr" means."""
    if not text or not any(ch.isdigit() for ch in text):
        return None, default_currency
    clean = normalise_price_text(text)
    price = Price.fromstring(clean)
    amount = price.amount
    if amount is None:
        return None, default_currency
    currency = currency_code(price.currency, country)
    if currency is None:
        match = _ISO.search(clean)
        if match and match.group(1) in _KNOWN_ISO:
            currency = _ISO_ALIASES.get(match.group(1), match.group(1))
        elif "ر.س" in clean:
            currency = "SAR"
        elif "元" in clean:
            currency = currency_code("元", country)
    try:
        amount = amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        return None, default_currency
    return amount, currency or default_currency


def structured_amount(value: object) -> Decimal | None:
    """An amount from structured data (``"1299.00"``, ``1299``, ``"1,299.00"``), None when unreadable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        text = repr(value) if isinstance(value, float) else str(value)
        try:
            return Decimal(text).quantize(Decimal("0.01"))
        except InvalidOperation:
            return None
    if not isinstance(value, str):
        return None
    text = value.strip()
    try:
        return Decimal(text).quantize(Decimal("0.01"))
    except InvalidOperation:
        amount, _ = parse_amount(text)
        return amount


_KNOWN_ISO = frozenset(
    [
        "AED",
        "ARS",
        "AUD",
        "BGN",
        "BRL",
        "CAD",
        "CHF",
        "CLP",
        "CNY",
        "COP",
        "CZK",
        "DKK",
        "EUR",
        "GBP",
        "HKD",
        "HUF",
        "IDR",
        "ILS",
        "INR",
        "ISK",
        "JPY",
        "KRW",
        "MXN",
        "MYR",
        "NOK",
        "NZD",
        "PHP",
        "PKR",
        "PLN",
        "RON",
        "RSD",
        "RUB",
        "SAR",
        "SEK",
        "SGD",
        "THB",
        "TRY",
        "TWD",
        "UAH",
        "USD",
        "ZAR",
    ]
)
