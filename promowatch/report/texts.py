"""The words of a dossier in French, German, Italian and English. Neutral: facts and thresholds, no verdicts.

The English texts below are gettext message ids; their translations live in the catalogues
``locale/<language>/LC_MESSAGES/promowatch.po``. The catalogues are read as ``.po`` at run time (Babel parses
them), so a clean ``pip install -e .`` needs no compile step and no ``.mo`` can go stale. To update them after
changing a text here or in ``templates/``, from the repository root::

    pybabel extract --no-wrap -F promowatch/report/babel.cfg -k N_ -k translate -o promowatch/report/locale/promowatch.pot .
    pybabel update --no-wrap -i promowatch/report/locale/promowatch.pot -d promowatch/report/locale -D promowatch

then translate the new entries; ``tests/report/test_catalogues.py`` fails while one is missing or fuzzy.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LANGUAGES = ("fr", "de", "it", "en")
DOMAIN = "promowatch"
LOCALE_DIR = Path(__file__).parent / "locale"


def N_(message: str) -> str:
    """Marks ``message`` for extraction; it is translated where it is shown."""
    return message


_TEXTS: dict[str, str] = {
    "title": N_("Case file"),
    "advertised": N_("What was advertised"),
    "finding": N_("Finding"),
    "findings": N_("Findings"),
    "chart": N_("Timeline"),
    "evidence": N_("Evidence"),
    "coverage": N_("Data coverage"),
    "limitations": N_("Limitations"),
    "verify": N_("How to verify"),
    "product": N_("Product"),
    "retailer": N_("Retailer"),
    "advertised_price": N_("Advertised price"),
    "reference_price": N_("Reference price"),
    "validity": N_("Validity"),
    "basis_stated": N_("start stated by the ad"),
    "basis_listing": N_("start stated by the promotions page"),
    "basis_sighting": N_("no start stated: from the ad's first sighting"),
    "basis_entered": N_("entered by hand"),
    "first_seen": N_("first seen"),
    "ad_sources": N_("Ad sources"),
    "rule": N_("Rule"),
    "state": N_("State"),
    "opened": N_("Opened"),
    "closed": N_("Closed"),
    "inputs": N_("Inputs and measurements"),
    "channel": N_("Channel"),
    "first": N_("First"),
    "last": N_("Last"),
    "count": N_("Count"),
    "unknown_share": N_("Unknown share"),
    "time": N_("Time (UTC)"),
    "observation": N_("Observation"),
    "value": N_("Value"),
    "capture": N_("Capture (SHA-256)"),
    "software": N_("Software"),
    "generated": N_("Generated"),
    "more_rows": N_("more observations in observations.jsonl"),
    "verify_text": N_(
        "Every file of this case is listed with its SHA-256 in manifest-sha256.txt (check it with "
        "'sha256sum -c manifest-sha256.txt'). The raw HTTP responses are in evidence.warc.gz; each "
        "observation cites the hash of its capture. chain.jsonl holds the links of the hash chain "
        "that cover these observations. VERIFY.md describes the check step by step."
    ),
    # limitations
    "lim_sampling": N_(
        "Observations are samples taken at intervals: the state between two observations is not known."
    ),
    "lim_unknown": N_(
        "An 'unknown' observation (error, block, ambiguous page) counts neither for nor against the finding."
    ),
    "lim_context": N_(
        "Store names and addresses come from the retailer's store list and are not part of the hash chain."
    ),
    "lim_missing": N_("Captures not found at export:"),
    "lim_no_stores": N_("No store stock observation."),
    # chart
    "chart_title": N_("Price, online orderability and store stock"),
    "observed_price": N_("Observed price"),
    "orderable": N_("Orderable"),
    "orderable_true": N_("yes"),
    "orderable_false": N_("no"),
    "orderable_none": N_("unknown"),
    "stores_zero": N_("% stores at zero"),
    "no_data": N_("No observations"),
    "threshold": N_("Threshold"),
    "observations": N_("Observations"),
    "promotion_window": N_("Promotion"),
    "mark_opened": N_("opened"),
    "mark_confirmed": N_("confirmed"),
    "mark_closed": N_("closed"),
    # channels
    "online": N_("online"),
    "stores": N_("stores"),
    "ads": N_("ads"),
}

# The states, values and names a case shows, as words: a raw identifier never reaches the reader.
VALUES: dict[str, dict[str, str]] = {
    "state": {
        "open": N_("open"),
        "confirmed": N_("confirmed"),
        "closed": N_("closed"),
    },
    "availability": {
        "in_stock": N_("in stock"),
        "limited": N_("limited stock"),
        "out_of_stock": N_("out of stock"),
        "preorder": N_("pre-order"),
        "backorder": N_("on back-order"),
        "discontinued": N_("discontinued"),
        "unknown": N_("unknown"),
    },
    "orderable": {
        "true": N_("orderable online"),
        "false": N_("not orderable online"),
        "none": N_("orderability unknown"),
    },
    "window_basis": {
        "stated": _TEXTS["basis_stated"],
        "listing": _TEXTS["basis_listing"],
        "sighting": _TEXTS["basis_sighting"],
        "entered": _TEXTS["basis_entered"],
    },
    "orderable_bool": {"true": N_("yes"), "false": N_("no"), "none": N_("unknown")},
    "button": {
        "true": N_("enabled"),
        "false": N_("disabled"),
        "none": N_("not found"),
    },
    "rule": {
        "unorderable_online": N_("not orderable online"),
        "store_stockout": N_("stores out of stock at the start"),
        "store_sellout": N_("stores sold out during the promotion"),
        "price_mismatch": N_("price differs from the advertised price"),
        "reference_price_unsupported": N_("reference price not supported by the price history"),
        "delivery_overdue": N_("delivery overdue"),
        "delivery_slipping": N_("delivery time slipping"),
    },
    "ad_kind": {
        "web": N_("web page"),
        "flyer": N_("flyer"),
        "print": N_("print ad"),
        "tv": N_("TV ad"),
        "radio": N_("radio ad"),
    },
    "exhibit_kind": {
        "ad_scan": N_("scan of the ad"),
        "ad_capture": N_("capture of the ad"),
        "screenshot": N_("screenshot of the shop"),
        "page_capture": N_("capture of the shop's page"),
        "order_file": N_("order document"),
    },
    "store_cell": {
        "in_stock": N_("in stock"),
        "limited": N_("limited stock"),
        "out_of_stock": N_("out of stock"),
        "unknown": N_("unknown"),
        "none": N_("not observed"),
    },
    "unit": {
        "h": N_("hours"),
        "hours": N_("hours"),
        "d": N_("days"),
        "days": N_("days"),
        "min": N_("minutes"),
        "minutes": N_("minutes"),
        "share": N_("share of stores"),
        "%": N_("percent"),
        "count": N_("observations"),
        "currency": N_("currency units"),
        "observations": N_("observations"),
        "stores": N_("stores"),
    },
    # the watchlist's threshold keys (promowatch/rules/thresholds.py), as a reader understands them
    "threshold": {
        "observations": N_("confirming observations in a row before a finding opens"),
        "min_span_hours": N_("minimum time the confirming observations span"),
        "confirm_observations": N_("observations before an open finding is confirmed"),
        "confirm_span_hours": N_("minimum time before an open finding is confirmed"),
        "price_tolerance": N_("price difference treated as equal"),
        "stockout_share": N_("share of stores at zero stock counted as a stockout"),
        "sellout_share": N_("share of stores at zero stock counted as a sell-out"),
        "min_stores": N_("stores with a known state needed for a store sample"),
        "first_day_grace_hours": N_("store checks count from this long after opening on day one"),
        "min_stock_days": N_("a stockout later than this after the start counts as a sell-out"),
        "store_stale_hours": N_("a store's last known state holds this long"),
        "sighting_grace_hours": N_("an ad counts as live this long after it was last seen"),
        "max_history_gap_hours": N_("longest gap in the price history that still decides"),
        "eu_lookback_days": N_("look-back for the lowest earlier price (EU)"),
        "ch_max_display_days": N_("longest time a comparison price may be shown (CH)"),
        "ch_min_run_days": N_("consecutive days the reference price must have been charged (CH)"),
        "ch_lookback_days": N_("look-back for that run of days (CH)"),
        "event_horizon_hours": N_("changes older than this raise no event"),
        "sample_merge_minutes": N_("store checks closer than this belong to one sweep"),
        "delivery_slip_days": N_("days the promised delivery time must grow by in total"),
        "delivery_slip_checks": N_("checks over which the promised delivery time must grow"),
    },
}

# Neutral one-line statements of what each rule measured; {figures} is filled from the finding's inputs.
RULE_STATEMENTS: dict[str, str] = {
    "unorderable_online": N_(
        "During the promotion, the product could not be ordered online in {n_offer} observations "
        "between {first} and {last}."
    ),
    "store_stockout": N_(
        "At the start of the promotion, up to {max_share} of the stores observed in one crawl had no stock "
        "({n_store} store observations between {first} and {last})."
    ),
    "store_sellout": N_(
        "While the promotion was still advertised, up to {max_share} of the stores observed in one crawl had "
        "no stock left ({n_store} store observations between {first} and {last})."
    ),
    "price_mismatch": N_(
        "During the promotion, the price observed online differed from the advertised price in "
        "{n_offer} observations between {first} and {last}."
    ),
    "delivery_slipping": N_(
        "During the promotion, while the product stayed orderable online, the delivery time it promised "
        "grew from check to check ({n_offer} observations between {first} and {last})."
    ),
    "reference_price_unsupported": N_(
        "The reference price of {reference} shown since {since} was not found charged as the rule requires in "
        "the observed price history ({n_offer} observations between {first} and {last}); it was shown for "
        "{shown_days} days."
    ),
}
_GENERIC = N_(
    "The rule {rule} measured the situation described by the inputs below ({n_offer} online and "
    "{n_store} store observations between {first} and {last})."
)


def _language(language: str) -> str:
    return language if language in LANGUAGES else "en"


@cache
def translations(language: str) -> NullTranslations:
    """The catalogue of ``language`` as a gettext translations object (English: the message ids)."""
    po = LOCALE_DIR / _language(language) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language, domain=DOMAIN)
    mo = io.BytesIO()
    write_mo(mo, catalog, use_fuzzy=False)
    mo.seek(0)
    return Translations(mo, domain=DOMAIN)


def translate(message: str, language: str) -> str:
    """``message`` (an English message id) in ``language``."""
    return translations(language).gettext(message)


def label(key: str, language: str) -> str:
    """A label in ``language`` (English when the language is not covered)."""
    return translate(_TEXTS[key], language)


def value_word(kind: str, value: object, language: str) -> str:
    """A state, value or name of ``kind`` as words in ``language``; an unlisted value is shown as it is."""
    key = "none" if value is None else str(value).lower() if isinstance(value, bool) else str(value)
    message = VALUES[kind].get(key)
    return str(value) if message is None else translate(message, language)


def rule_statement(rule: str, language: str, **figures: str) -> str:
    """The neutral sentence stating what ``rule`` measured, with figures."""
    template = translate(RULE_STATEMENTS.get(rule, _GENERIC), language)
    return template.format(rule=value_word("rule", rule, language), **figures)
