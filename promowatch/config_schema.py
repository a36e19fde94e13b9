"""The one schema of the watchlist and the site profiles: every table, every key, its type, default and meaning.

``promowatch.config`` reads TOML only through keys declared here (an undeclared key is a programming error,
an unknown key in a file is a user's error with a did-you-mean), and ``promowatch reference`` writes
``docs/reference.md`` and the JSON Schemas from the same declarations, so the documentation cannot drift from
what the loader accepts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from promowatch.domain import Availability

RENDER_MODES = ("http", "browser", "auto")
AD_KINDS = ("web", "flyer", "print", "tv", "radio", "email", "social")
EVENT_KINDS = (
    "restock",
    "stockout",
    "price_drop",
    "finding_opened",
    "finding_closed",
    "crawl_unhealthy",
    "crawl_recovered",
    "delivery_overdue",
)
OUTCOMES = ("delivered", "cancelled")
LANGUAGES = ("fr", "de", "en", "it")
REFERENCE_RULES = ("ch", "eu")
AVAILABILITIES = tuple(a.value for a in Availability)
BROWSER_ACTIONS = ("click", "fill", "wait")

# The kinds of value a key holds, and the getters of config.Entry that may read each
KINDS = {
    "string": "text",
    "url": "an http(s) URL",
    "choice": "one of the listed values",
    "boolean": "true or false",
    "integer": "whole number",
    "number": "number",
    "amount": 'amount ("1’299.–", "499.95" or 499)',
    "datetime": "date or date-time",
    "strings": "list of strings (or one string)",
    "selector": "selector",
    "selectors": "list of selectors",
    "path": "dotted JSON path",
    "url_template": "URL template",
    "table": "table",
    "tables": "array of tables",
    "map": "table of free keys",
    "actions": "list of one-key tables",
    "thresholds": "table of thresholds",
}


@dataclass(frozen=True)
class Key:
    name: str
    kind: str  # one of KINDS
    description: str
    example: str  # TOML text of a value
    default: str | None = None  # as the reference shows it; None: unset
    choices: tuple[str, ...] = ()
    required: bool = False
    minimum: float | None = None
    table: str | None = None  # the table a "table", "tables", "map" or "thresholds" key holds


@dataclass(frozen=True)
class Table:
    id: str
    heading: str  # how a file spells it: "[[retailers]]", "[offer.availability_map]"
    description: str
    keys: tuple[Key, ...] = ()
    # a table of free keys (regex -> state, locale -> phrases): the kind and choices every value has
    free_key: str | None = None  # what a key stands for ("regular expression", "locale")
    free_value: Key | None = None

    def key(self, name: str) -> Key | None:
        if self.free_value is not None:
            return self.free_value
        return next((k for k in self.keys if k.name == name), None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(k.name for k in self.keys)


def _sel(name: str, description: str, example: str) -> Key:
    return Key(name, "selector", description, example)


def _path(name: str, description: str, example: str, default: str | None = None) -> Key:
    return Key(name, "path", description, example, default=default)


_SELECTORS = (
    "Selectors are CSS (with parsel's `::text` and `::attr(name)`) or XPath written `xpath:...`; each is "
    "compiled when the file loads."
)

# ---------------------------------------------------------------- watchlist

WATCHLIST = Table(
    "watchlist",
    "watchlist (top level)",
    "The watchlist: what to watch, what was advertised and who to tell.",
    (
        Key("settings", "table", "Settings of the whole watchlist.", "{ contact = ... }", table="settings"),
        Key(
            "operator",
            "table",
            "Who runs this watchlist, named in dossiers: see [operator].",
            '{ name = "Observatoire des prix" }',
            table="operator",
        ),
        Key("retailers", "tables", "The shops watched, one table each.", "[[retailers]]", table="retailers"),
        Key(
            "promotions",
            "tables",
            "Promotions entered by hand (print, TV, a flyer): what the ad claimed.",
            "[[promotions]]",
            table="promotions",
        ),
        Key(
            "subscriptions",
            "tables",
            "Who is told what, through Apprise.",
            "[[subscriptions]]",
            table="subscriptions",
        ),
        Key(
            "orders",
            "tables",
            "A consumer's own orders: when the delivery promise is not kept (delivery_overdue), the consumer "
            "is told.",
            "[[orders]]",
            table="orders",
        ),
    ),
)

SETTINGS = Table(
    "settings",
    "[settings]",
    "Settings of the whole watchlist.",
    (
        Key(
            "contact",
            "string",
            "Put in the User-Agent so that a shop can reach the operator.",
            '"mailto:ops@example.org"',
        ),
        Key(
            "tsa_url",
            "url",
            "RFC 3161 timestamp authority: stamps the hash chain's head after each run, and case bundles.",
            '"https://freetsa.org/tsr"',
        ),
        Key(
            "thresholds",
            "thresholds",
            "Rule thresholds for every retailer; see [settings.thresholds].",
            "{ observations = 3 }",
            table="thresholds",
        ),
    ),
)

OPERATOR = Table(
    "operator",
    "[operator]",
    "Who runs this watchlist: named in each dossier's capture attestation.",
    (
        Key("name", "string", "The person or group who captures the evidence.", '"Observatoire des prix"'),
        Key(
            "contact",
            "string",
            "How an authority reaches them.",
            '"mailto:prix@example.org"',
            "[settings] contact",
        ),
    ),
)

# defaults are checked against promowatch.rules.thresholds.Thresholds by tests/core/test_reference.py
THRESHOLDS = Table(
    "thresholds",
    "[settings.thresholds]",
    "Persistence and measurement thresholds of the rules. A retailer's own `[retailers.thresholds]` takes the "
    "same keys and states only what differs from these.",
    (
        Key(
            "observations",
            "integer",
            "Confirming observations in a row before a finding opens (and clearing ones before it closes).",
            "3",
            "3",
            minimum=1,
        ),
        Key(
            "min_span_hours",
            "number",
            "The confirming observations must span at least this long.",
            "6",
            "6.0",
            minimum=0,
        ),
        Key(
            "confirm_observations",
            "integer",
            "An open finding is confirmed after this many observations (at least `observations`).",
            "6",
            "6",
            minimum=1,
        ),
        Key("confirm_span_hours", "number", "... spanning at least this long.", "24", "24.0", minimum=0),
        Key(
            "price_tolerance",
            "amount",
            "Prices closer than this (in the promotion's currency) are equal.",
            '"0.05"',
            '"0.01"',
        ),
        Key(
            "stockout_share",
            "number",
            "Share of the stores in scope with zero stock that counts as a stockout (0.5 is 50 %).",
            "0.5",
            "0.5",
            minimum=0,
        ),
        Key(
            "sellout_share",
            "number",
            "Share of the stores in scope with zero stock that counts as a sell-out during the promotion.",
            "0.5",
            "0.5",
            minimum=0,
        ),
        Key(
            "min_stores",
            "integer",
            "Stores with a known state needed before a store sample counts.",
            "1",
            "1",
            minimum=1,
        ),
        Key(
            "first_day_grace_hours",
            "number",
            "Store checks count from this long after opening on day one.",
            "1",
            "1.0",
            minimum=0,
        ),
        Key(
            "min_stock_days",
            "number",
            "A stockout that starts later than this after the promotion's start is a sell-out.",
            "2",
            "2.0",
            minimum=0,
        ),
        Key(
            "store_stale_hours",
            "number",
            "A store's last known state holds this long after its last check.",
            "24",
            "24.0",
            minimum=0,
        ),
        Key(
            "sighting_grace_hours",
            "number",
            "An ad counts as live this long after it was last seen.",
            "24",
            "24.0",
            minimum=0,
        ),
        Key(
            "max_history_gap_hours",
            "number",
            "A longer gap between price observations leaves the price history undecided.",
            "48",
            "48.0",
            minimum=0,
        ),
        Key(
            "eu_lookback_days",
            "number",
            "EU: the lowest price of this many days before the reduction is the reference.",
            "30",
            "30.0",
            minimum=0,
        ),
        Key(
            "ch_max_display_days",
            "number",
            "CH (PBV art. 16): a comparison is shown at most this long.",
            "60",
            "60.0",
            minimum=0,
        ),
        Key(
            "ch_min_run_days",
            "number",
            "CH: ... or the reference price was charged this many consecutive days.",
            "30",
            "30.0",
            minimum=0,
        ),
        Key(
            "ch_lookback_days", "number", "CH: how far back that run is looked for.", "90", "90.0", minimum=0
        ),
        Key(
            "event_horizon_hours",
            "number",
            "Availability and price changes older than this raise no event (a first run on old history).",
            "48",
            "48.0",
            minimum=0,
        ),
        Key(
            "sample_merge_minutes",
            "number",
            "Store checks closer than this belong to the same sweep.",
            "10",
            "10.0",
            minimum=0,
        ),
        Key(
            "delivery_slip_days",
            "number",
            "delivery_slipping: the promised wait (days from a check to the latest promised day) must grow by at "
            "least this many days in total (while the item stays orderable online and the stores are empty); a "
            "promise whose date moves on with the calendar is no slip.",
            "3",
            "3.0",
            minimum=0,
        ),
        Key(
            "delivery_slip_checks",
            "integer",
            "delivery_slipping: ... over at least this many checks of the product page.",
            "3",
            "3",
            minimum=1,
        ),
        Key(
            "overdue_days",
            "number",
            "A consumer's order is overdue (delivery_overdue) this many days after the last day its delivery "
            "promise allowed.",
            "2",
            "2.0",
            minimum=0,
        ),
    ),
)

RETAILERS = Table(
    "retailers",
    "[[retailers]]",
    "A shop to watch, read through its site profile.",
    (
        Key(
            "slug",
            "string",
            "The retailer's short name, unique in the watchlist.",
            '"demo-shop"',
            required=True,
        ),
        Key(
            "profile",
            "string",
            "The site profile: a name looked up in `sites/` beside the watchlist, `$PROMOWATCH_SITES`, the user "
            "config dir's `sites/`, then the bundled profiles.",
            '"demo-shop"',
            "the slug",
        ),
        Key(
            "base_url",
            "url",
            "The shop's address; product paths are relative to it.",
            '"http://127.0.0.1:8123"',
            "the profile's",
        ),
        Key(
            "sweep",
            "boolean",
            "Follow the profile's promotions pages (`[promotions] urls`). `true` with a profile that has none "
            "is an error.",
            "true",
            "true when the profile has [promotions] urls",
        ),
        Key(
            "products",
            "strings",
            "Product pages watched besides promotions (paths on base_url or full URLs): their price history.",
            '["/p/delonghi-magnifica-s-7184530"]',
        ),
        Key(
            "stores",
            "strings",
            "Check only these stores (their ids in the store API); empty: every store.",
            '["1003", "1204"]',
        ),
        Key(
            "canary",
            "string",
            "A product normally in stock, checked as a health probe.",
            '"/p/brita-marella-xl"',
            "the profile's",
        ),
        Key(
            "reference_rule",
            "choice",
            'Which law the "instead of" price is checked against.',
            '"ch"',
            '"ch" for a CH profile, else "eu"',
            choices=REFERENCE_RULES,
        ),
        Key(
            "thresholds",
            "thresholds",
            "This retailer's thresholds: what differs from [settings.thresholds].",
            "{ stockout_share = 0.3 }",
            table="thresholds",
        ),
    ),
)

PROMOTIONS = Table(
    "promotions",
    "[[promotions]]",
    "A promotion entered by hand: the product, what the ad claimed, and where it was seen.",
    (
        Key("retailer", "string", "The [[retailers]] slug.", '"demo-shop"', required=True),
        Key(
            "product_url",
            "url",
            "The product page of the promoted article.",
            '"http://127.0.0.1:8123/p/delonghi-magnifica-s-7184530"',
            required=True,
        ),
        Key(
            "title",
            "string",
            "The promotion's title, as the ad words it; subscriptions may follow it.",
            '"De\'Longhi Magnifica S"',
            required=True,
        ),
        Key("advertised_price", "amount", "The advertised price.", '"499.–"', required=True),
        Key("reference_price", "amount", 'The "instead of" price, if the ad gives one.', '"999.–"'),
        Key("currency", "string", "ISO 4217 code.", '"CHF"', "the profile's"),
        Key(
            "valid_from",
            "datetime",
            "Start of validity; a bare date is the start of that day (UTC). Without "
            "it the promotion runs from its first ad sighting.",
            "2026-11-05",
        ),
        Key(
            "valid_until",
            "datetime",
            "End of validity; a bare date is the end of that day (UTC).",
            "2026-11-15",
        ),
        Key(
            "region",
            "string",
            "The region the ad covers: a town (a store's city, any case) or a postcode "
            "prefix; the stockout share is taken over its stores (over all when none matches).",
            '"Lausanne"',
        ),
        Key(
            "ads",
            "tables",
            "Where the promotion was advertised: see [[promotions.ads]].",
            '[{ kind = "print", note = "Weekly flyer, page 3" }]',
            table="ads",
        ),
    ),
)

ADS = Table(
    "ads",
    "[[promotions.ads]]",
    "One ad that showed the promotion: a web page, a flyer page, or a note of a print/TV ad with its file.",
    (
        Key("kind", "choice", "What kind of ad.", '"print"', '"web"', choices=AD_KINDS),
        Key("url", "url", "Where the ad can be seen online.", '"https://example.org/flyer/45"'),
        Key("note", "string", "Where and how it was seen.", '"Weekly flyer, page 3"'),
        Key(
            "file",
            "string",
            "A file holding the ad (scan, photo, recording), relative to the watchlist; "
            "it must exist. It goes into case bundles.",
            '"ads/flyer-45-p3.pdf"',
        ),
        Key(
            "seen_at",
            "datetime",
            "When the ad was seen (UTC unless an offset is given); a live ad sighting "
            "makes the promotion run.",
            "2026-11-04T08:30:00Z",
        ),
    ),
)

SUBSCRIPTIONS = Table(
    "subscriptions",
    "[[subscriptions]]",
    "Who is told what, through Apprise. Store events need a followed store: by id (`stores`) or near a "
    "`postcode`. A postcode no store has stands for the stores of its nearest postcode area (the longest "
    "common prefix with a store's postcode, at least two digits).",
    (
        Key("name", "string", "A name for logs and the run summary.", '"anna"', '"subscription-N"'),
        Key(
            "url",
            "strings",
            "Apprise URL(s); each must be one Apprise can parse. Never printed or logged.",
            '"json://127.0.0.1:8080/phone"',
            required=True,
        ),
        Key("urls", "strings", "More Apprise URLs, as `url`.", '["mailto://user:pass@example.org"]'),
        Key(
            "tags",
            "strings",
            "Audiences (plain words): `consumer` (restock, stockout, price_drop), "
            "`watchdog` (findings), `ops` (crawl health).",
            '["consumer"]',
            '["consumer"]',
        ),
        Key(
            "events",
            "strings",
            "Exactly these event kinds instead of the tags' ones.",
            '["restock"]',
            "the tags' events",
            choices=EVENT_KINDS,
        ),
        Key("language", "choice", "Language of the messages.", '"fr"', '"fr"', choices=LANGUAGES),
        Key(
            "retailers",
            "strings",
            "Follow everything of these retailers ([[retailers]] slugs; also limits `ops` events to them).",
            '["demo-shop"]',
        ),
        Key(
            "products",
            "strings",
            "Follow these product URLs; each should be on a watched retailer's host.",
            '["http://127.0.0.1:8123/p/delonghi-magnifica-s-7184530"]',
        ),
        Key(
            "promotions",
            "strings",
            "Follow these promotions, by title or product URL.",
            '["De\'Longhi Magnifica S"]',
        ),
        Key("stores", "strings", "Store events of these stores (ids in the store API).", '["1003"]'),
        Key(
            "postcode",
            "string",
            "Store events of stores at this postcode (or, with radius_km, around it).",
            '"1005"',
        ),
        Key(
            "radius_km",
            "number",
            "With postcode: stores within this distance of the postcode's centre.",
            "10",
            minimum=0,
        ),
        Key("all_findings", "boolean", "Every finding, whatever it is about (watchdogs).", "false", "false"),
        Key(
            "orders",
            "strings",
            "The delivery_overdue events of these [[orders]] ids (or of orders added with `promowatch order "
            "add`), whatever the tags.",
            '["coffee-machine"]',
        ),
    ),
)

ORDERS = Table(
    "orders",
    "[[orders]]",
    "A consumer's own order: what was bought, when, at what price, what delivery was promised, and the "
    "statuses seen since. Recorded once (and chained like an observation): change an order by giving it a "
    "new `id`; statuses may be added later.",
    (
        Key(
            "id",
            "string",
            "A short name for the order (letters, digits, - and _).",
            '"coffee-machine"',
            required=True,
        ),
        Key("retailer", "string", "The [[retailers]] slug.", '"demo-shop"', required=True),
        Key(
            "product",
            "string",
            "The product ordered: its URL or a path on the retailer's base URL (this or `promotion`).",
            '"/p/delonghi-magnifica-s-7184530"',
        ),
        Key(
            "promotion",
            "string",
            "The promotion ordered from: its title, as in `promowatch promotions` (this or `product`).",
            '"De\'Longhi Magnifica S"',
        ),
        Key(
            "ordered_at",
            "datetime",
            "When the order was placed (UTC unless an offset is given).",
            "2026-11-07T10:00:00Z",
            required=True,
        ),
        Key("paid_at", "datetime", "When it was paid, if not at ordering.", "2026-11-07T10:05:00Z"),
        Key("price_paid", "amount", "The price paid.", '"499.00"', required=True),
        Key("currency", "string", "ISO 4217 code.", '"CHF"', "the profile's"),
        Key("reference", "string", "The shop's order number.", '"DS-2026-118734"', required=True),
        Key(
            "promise",
            "string",
            "The delivery promise shown when ordering; without it, the delivery text of the last offer "
            "observation of the product before `ordered_at`.",
            '"Livraison sous 2 à 3 jours ouvrables"',
        ),
        Key(
            "notify",
            "table",
            "Who is told when the order is overdue: see [orders.notify].",
            '{ url = "json://127.0.0.1:8080/me" }',
            table="order_notify",
        ),
        Key(
            "status",
            "tables",
            "The statuses seen: see [[orders.status]].",
            '[{ text = "in processing" }]',
            table="order_status",
        ),
    ),
)

ORDER_NOTIFY = Table(
    "order_notify",
    "[orders.notify]",
    "The consumer who made the order (tag `consumer`), and optionally a watchdog, told once when it is "
    "overdue; like a subscription that follows only this order.",
    (
        Key(
            "url",
            "strings",
            "The consumer's Apprise URL(s); each must be one Apprise can parse. Never printed or logged.",
            '"json://127.0.0.1:8080/phone"',
        ),
        Key("urls", "strings", "More Apprise URLs, as `url`.", '["mailto://user:pass@example.org"]'),
        Key("language", "choice", "Language of the messages.", '"fr"', '"fr"', choices=LANGUAGES),
        Key(
            "watchdog",
            "strings",
            "Apprise URL(s) of a watchdog told as well (tag `watchdog`).",
            '"json://127.0.0.1:8080/watchdog"',
        ),
    ),
)

ORDER_STATUS = Table(
    "order_status",
    "[[orders.status]]",
    "One status of the order as the shop showed it, with an optional file (confirmation e-mail, PDF, "
    "screenshot) kept in the evidence store. A status that says delivered or cancelled (en, fr, de, it) "
    "closes the order's finding.",
    (
        Key("at", "datetime", "When the status was seen.", "2026-11-09T08:00:00Z", required=True),
        Key("text", "string", "The status as the shop words it.", '"en cours de traitement"', required=True),
        Key(
            "outcome",
            "choice",
            "Mark the order delivered or cancelled whatever the text says.",
            '"delivered"',
            choices=OUTCOMES,
        ),
        Key(
            "file",
            "string",
            "A file showing the status, relative to the watchlist; it must exist. Its SHA-256 is chained and "
            "it goes into case bundles.",
            '"orders/confirmation.eml"',
        ),
    ),
)

# ---------------------------------------------------------------- site profiles

PROFILE = Table(
    "profile",
    "site profile (top level)",
    "How to read one shop: a TOML file per retailer, no code.",
    (
        Key("slug", "string", "The profile's name.", '"acme"', required=True),
        Key("name", "string", "The shop's name in messages and reports.", '"Acme Electro"', "the slug"),
        Key(
            "country", "string", "ISO 3166 country code; `CH` selects the Swiss reference-price rule.", '"CH"'
        ),
        Key("currency", "string", "ISO 4217 currency of the shop's prices.", '"CHF"'),
        Key("language", "string", "The shop's language: which phrase tables read its pages first.", '"fr"'),
        Key(
            "timezone",
            "string",
            "IANA time zone the shop's days are read in (dossiers' dates and store grid).",
            '"Europe/Zurich"',
            "the country's",
        ),
        Key(
            "base_url",
            "url",
            "The shop's address (a watchlist's base_url overrides it).",
            '"https://www.acme.example"',
        ),
        Key(
            "render",
            "choice",
            "How product pages are read: `http`, `browser` (Chromium), or `auto` (HTTP "
            "first, the browser when HTTP reads unknown).",
            '"http"',
            '"http"',
            choices=RENDER_MODES,
        ),
        Key("concurrency", "integer", "Requests at a time to this shop.", "1", "1", minimum=1),
        Key(
            "download_delay",
            "number",
            "Seconds between two requests to this shop (AutoThrottle may wait longer, never shorter).",
            "2.0",
            "0.0",
            minimum=0,
        ),
        Key(
            "canary",
            "string",
            "A product that is normally in stock: the health probe.",
            '"/p/always-available"',
        ),
        Key(
            "tracking_params",
            "strings",
            "More query parameters that only track visitors, stripped from "
            'product links (`"trk_*"`: every name starting `trk_`; `"!ref"` keeps a built-in one).',
            '["trk_*"]',
        ),
        Key(
            "allowed_hosts",
            "strings",
            'Hosts besides base_url\'s that the shop\'s redirects may lead to ("host" or "host:port").',
            '["media.acme.example"]',
        ),
        Key("offer", "table", "The product page: see [offer].", "{ price = ... }", table="offer"),
        Key(
            "promotions",
            "table",
            "The promotions pages: see [promotions].",
            '{ urls = ["/actions"] }',
            table="profile_promotions",
        ),
        Key(
            "stores",
            "table",
            "The JSON store API: see [stores].",
            '{ list_url = "/api/stores" }',
            table="stores",
        ),
        Key(
            "browser",
            "table",
            "Rendering in Chromium: see [browser].",
            "{ timeout_ms = 8000 }",
            table="browser",
        ),
        Key(
            "phrases",
            "map",
            "Extra words of this shop, per locale and category: see [phrases].",
            '{ fr = { out_of_stock = ["momentanément en rupture"] } }',
            table="phrases",
        ),
    ),
)

OFFER = Table(
    "offer",
    "[offer]",
    "Where the product page says what: the strongest evidence, before JSON-LD, microdata, the buy box and "
    "visible text. " + _SELECTORS,
    (
        _sel(
            "product_block",
            "The main product's container; text outside it is ignored.",
            '"main .product-detail"',
        ),
        Key(
            "exclude",
            "selectors",
            "Parts never read, with all they hold (related products, store widgets).",
            '[".related-products"]',
        ),
        _sel("title", "The product name.", '"h1.product-title"'),
        _sel("sku", "The shop's article number (fills {sku} in stores.stock_url).", '".product-ids .sku"'),
        _sel("gtin", "The GTIN/EAN.", '".product-ids .gtin"'),
        _sel("price", "The current price.", '".price-box .price::text"'),
        _sel("regular_price", 'The "instead of" price.', '".price-box del.price-regular"'),
        _sel("currency", "The currency shown beside the price.", '".price-box .currency"'),
        _sel("availability", "The stock line.", '".stock-line"'),
        _sel(
            "buy_button",
            "The add-to-cart / order control: disabled or missing means not orderable.",
            '"form.add-to-cart button[type=submit]"',
        ),
        _sel("delivery", "The delivery time text.", '".delivery"'),
        Key(
            "availability_map",
            "map",
            "The shop's own words on the stock line: see [offer.availability_map].",
            '{ "^En stock" = "in_stock" }',
            table="availability_map",
        ),
    ),
)

AVAILABILITY_MAP = Table(
    "availability_map",
    "[offer.availability_map]",
    "Regular expressions (searched in the stock line) mapped to an availability state, tried before the "
    "bundled phrase tables.",
    free_key="regular expression",
    free_value=Key(
        "*", "choice", "The state the stock line means.", '"^Épuisé" = "out_of_stock"', choices=AVAILABILITIES
    ),
)

PROFILE_PROMOTIONS = Table(
    "profile_promotions",
    "[promotions]",
    "The shop's promotions pages: one card (`item`) per promotion, the other selectors inside each card. "
    + _SELECTORS,
    (
        Key(
            "urls",
            "strings",
            "The promotions pages (paths on base_url or full URLs); a retailer's `sweep` follows them.",
            '["/promotions"]',
        ),
        _sel("item", "One promotion card.", '"article.promo-card"'),
        _sel("link", "The card's product link.", '"a.promo-link::attr(href)"'),
        _sel("title", "The card's title.", '".promo-title"'),
        _sel("price", "The advertised price.", '".promo-price .price"'),
        _sel("regular_price", 'The "instead of" price.', '".promo-price del"'),
        _sel(
            "valid_from",
            "The card's start of validity; without it the card runs from its first sighting.",
            '"time.valid-from::attr(datetime)"',
        ),
        _sel("valid_until", "The card's end of validity.", '"time.valid-until::attr(datetime)"'),
        _sel(
            "listing_valid_from",
            'On the whole page: where it states when its promotions start ("Angebote '
            'vom 30.11. bis 06.12."), for cards that state only an end.',
            '"h1.week"',
        ),
        _sel(
            "region",
            "The card's region: a town or postcode prefix whose stores the stockout share is taken "
            "over (as [[promotions]] region).",
            '".promo-region"',
        ),
        _sel(
            "next_page",
            "The link to the next page of promotions, followed up to 50 pages.",
            '"a.next::attr(href)"',
        ),
    ),
)

STORES = Table(
    "stores",
    "[stores]",
    "The shop's JSON store API: the store list and per-product store stock. Paths are dotted "
    '(`data.stores`, `items.0.qty`, `$.data.stores`); `"$"` is the answer itself, which is how an API that '
    'answers with a top-level JSON array (`[{"id": ...}, ...]`) is read: `list_path = "$"`. `""`, `"."`, '
    '`"0"`, `"[]"`, `"[*]"` and `"*"` are refused.',
    (
        Key("list_url", "string", "The store list (path on base_url or full URL).", '"/api/stores"'),
        _path(
            "list_path",
            'Where the list of stores is in the answer; `"$"`: the answer is the list.',
            '"stores"',
            '"$"',
        ),
        _path("id", "Each store's id.", '"id"', '"id"'),
        _path("name", "Each store's name.", '"name"', '"name"'),
        _path("postcode", "Each store's postcode: subscriptions by postcode need it.", '"address.zip"'),
        _path("city", "Each store's town.", '"address.city"'),
        _path("latitude", "Each store's latitude: subscriptions with radius_km need it.", '"geo.lat"'),
        _path("longitude", "Each store's longitude.", '"geo.lng"'),
        Key(
            "stock_url",
            "url_template",
            "Per-product store stock, with `{sku}`, `{gtin}` or `{product_url}`.",
            '"/api/stock/{sku}"',
        ),
        _path("stock_path", "Where the list of per-store entries is in the stock answer.", '"stores"', '"$"'),
        _path("stock_store_id", "Each entry's store id.", '"store_id"', '"store_id"'),
        _path("stock_quantity", "Each entry's quantity (a whole number).", '"quantity"'),
        _path("stock_status", "Each entry's status word, mapped through status_map.", '"status"'),
        _path(
            "stock_time", "The shop's own time of the stock data (ISO 8601), in the answer.", '"updated_at"'
        ),
        Key(
            "status_map",
            "map",
            "Status words mapped to states: see [stores.status_map].",
            '{ available = "in_stock", none = "out_of_stock" }',
            table="status_map",
        ),
    ),
)

STATUS_MAP = Table(
    "status_map",
    "[stores.status_map]",
    "Regular expressions matching a whole status word (any case) mapped to a state; without a match, a "
    "quantity decides (0: out_of_stock), else the state is unknown.",
    free_key="regular expression",
    free_value=Key(
        "*", "choice", "The state the status word means.", 'gruen = "in_stock"', choices=AVAILABILITIES
    ),
)

BROWSER = Table(
    "browser",
    "[browser]",
    'Rendering in Chromium (`render = "browser"` or `"auto"`, or `promowatch check --browser`).',
    (
        Key(
            "wait_for",
            "selector",
            "Wait for this element (no parsel-only `:contains()`).",
            '".stock-line[data-state=loaded]"',
        ),
        Key(
            "wait_text", "string", "Wait for this text (inside wait_for's element when given).", '"En stock"'
        ),
        Key(
            "wait_response",
            "string",
            "Wait until the page has received a response whose URL contains this.",
            '"/api/stock/"',
        ),
        Key("timeout_ms", "integer", "How long to wait, in milliseconds.", "8000", "15000", minimum=100),
        Key(
            "actions",
            "actions",
            'Done in order once the page loads: `{click = "sel"}`, '
            '`{fill = ["sel", "text"]}` or `{wait = ms}`.',
            '[{ click = "#cookie-accept" }]',
        ),
        Key(
            "block",
            "strings",
            "Resource types not loaded when no screenshot is taken.",
            '["image", "font", "media"]',
            '["image", "font", "media"]',
        ),
        Key(
            "block_third_party",
            "boolean",
            "Do not load requests to other hosts than the shop's (ads, trackers).",
            "true",
            "true",
        ),
        Key(
            "screenshot",
            "boolean",
            "Keep a full-page screenshot as evidence (then everything is loaded).",
            "true",
            "true",
        ),
    ),
)

PHRASES = Table(
    "phrases",
    "[phrases]",
    "Extra words of this shop, per locale (`[phrases.fr]`, `[phrases.de]`, ...), added to the bundled "
    "phrase tables.",
    free_key="locale",
    free_value=Key(
        "*",
        "table",
        "The phrases of one locale: see [phrases.LOCALE].",
        'fr = { out_of_stock = ["momentanément en rupture"] }',
        table="phrase_categories",
    ),
)


@cache
def _phrase_categories() -> Table:
    # promowatch.extract imports the config on its way: its phrase categories are read once both are loaded
    from promowatch.extract.phrases import CATEGORIES

    return Table(
        "phrase_categories",
        "[phrases.LOCALE]",
        "Phrases of one locale, by category; each is a list of strings found in the product block's text.",
        tuple(Key(c, "strings", f"Phrases that mean {c.replace('_', ' ')}.", '["…"]') for c in CATEGORIES),
    )


_TABLES: dict[str, Table] = {
    t.id: t
    for t in (
        WATCHLIST,
        SETTINGS,
        OPERATOR,
        THRESHOLDS,
        RETAILERS,
        PROMOTIONS,
        ADS,
        SUBSCRIPTIONS,
        ORDERS,
        ORDER_NOTIFY,
        ORDER_STATUS,
        PROFILE,
        OFFER,
        AVAILABILITY_MAP,
        PROFILE_PROMOTIONS,
        STORES,
        STATUS_MAP,
        BROWSER,
        PHRASES,
    )
}
WATCHLIST_TABLES = (
    "watchlist",
    "settings",
    "operator",
    "thresholds",
    "retailers",
    "promotions",
    "ads",
    "subscriptions",
    "orders",
    "order_notify",
    "order_status",
)
PROFILE_TABLES = (
    "profile",
    "offer",
    "availability_map",
    "profile_promotions",
    "stores",
    "status_map",
    "browser",
    "phrases",
    "phrase_categories",
)


def table(table_id: str) -> Table:
    """A declared table by its id."""
    return _phrase_categories() if table_id == "phrase_categories" else _TABLES[table_id]


def child(parent: Table | None, key: str) -> Table | None:
    """The table that ``key`` of ``parent`` holds (None when unknown)."""
    declared = parent.key(key) if parent else None
    return table(declared.table) if declared and declared.table else None


# ---------------------------------------------------------------- JSON Schema


def _value_schema(key: Key) -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    match key.kind:
        case "string" | "selector" | "url_template":
            schema: dict[str, Any] = dict(text)
        case "url":
            schema = {"type": "string", "pattern": "^https?://[^/\\s]+"}
        case "path":
            schema = {"type": "string", "pattern": "^\\S+$"}
        case "choice":
            schema = {"type": "string", "enum": list(key.choices)}
        case "boolean":
            schema = {"type": "boolean"}
        case "integer":
            schema = {"type": "integer"}
        case "number":
            schema = {"type": "number"}
        case "amount":
            schema = {"anyOf": [{"type": "string"}, {"type": "number", "exclusiveMinimum": 0}]}
        case "datetime":
            # TOML dates and date-times; editors such as taplo present them as strings of these formats
            schema = {
                "anyOf": [{"type": "string", "format": "date"}, {"type": "string", "format": "date-time"}]
            }
        case "strings" | "selectors":
            item = {"type": "string", "enum": list(key.choices)} if key.choices else dict(text)
            schema = {"anyOf": [item, {"type": "array", "items": item}]}
        case "table" | "thresholds" | "map":
            schema = {"$ref": f"#/$defs/{key.table}"}
        case "tables":
            schema = {"type": "array", "items": {"$ref": f"#/$defs/{key.table}"}}
        case "actions":
            schema = {
                "type": "array",
                "items": {
                    "type": "object",
                    "minProperties": 1,
                    "maxProperties": 1,
                    "properties": {
                        "click": dict(text),
                        "fill": {"type": "array", "items": {"type": "string"}},
                        "wait": {"type": "integer", "minimum": 0},
                    },
                    "additionalProperties": False,
                },
            }
        case _:
            raise ValueError(f"unknown kind {key.kind!r}")
    if key.minimum is not None and key.kind in ("integer", "number"):
        schema["minimum"] = key.minimum
    if "$ref" not in schema:
        schema["description"] = key.description
        if key.default is not None:
            schema["markdownDescription"] = f"{key.description}\n\nDefault: {key.default}"
    return schema


def _table_schema(table: Table) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "description": table.description}
    if table.free_value is not None:
        schema["additionalProperties"] = _value_schema(table.free_value)
        return schema
    schema["properties"] = {key.name: _value_schema(key) for key in table.keys}
    schema["additionalProperties"] = False
    required = [key.name for key in table.keys if key.required and key.name != "url"]
    if required:
        schema["required"] = required
    return schema


def json_schema(root: str) -> dict[str, Any]:
    """JSON Schema (draft 2020-12) of a watchlist (``root="watchlist"``) or a site profile (``"profile"``)."""
    ids = WATCHLIST_TABLES if root == "watchlist" else PROFILE_TABLES
    top = _table_schema(table(root))
    defs = {table_id: _table_schema(table(table_id)) for table_id in ids if table_id != root}
    if root == "watchlist":
        # a subscription needs url or urls
        defs["subscriptions"]["anyOf"] = [{"required": ["url"]}, {"required": ["urls"]}]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://promowatch.invalid/{root}.schema.json",
        "title": f"promowatch {table(root).heading.split(' (')[0]}",
        **top,
        "$defs": defs,
    }


# ---------------------------------------------------------------- reference


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type(key: Key) -> str:
    kind = KINDS[key.kind]
    if key.kind == "choice" or (key.choices and key.kind == "strings"):
        kind += ": " + ", ".join(f"`{c}`" for c in key.choices)
    if key.minimum is not None:
        kind += f" ≥ {key.minimum:g}"
    return kind


def _section(table: Table) -> list[str]:
    lines = [f"## `{table.heading}`" if table.heading.startswith("[") else f"## {table.heading}", ""]
    lines += [table.description, ""]
    if table.free_value is not None:
        value = table.free_value
        values = (
            "one of " + ", ".join(f"`{c}`" for c in value.choices)
            if value.choices
            else f"a {KINDS[value.kind]}"
        )
        lines += [
            f"Each key is a {table.free_key}; each value is {values}. {value.description}",
            "",
            "Example:",
            "",
            "```toml",
            table.heading,
            value.example,
            "```",
            "",
        ]
        return lines
    lines += ["| key | type | default | description | example |", "|---|---|---|---|---|"]
    for key in table.keys:
        default = "required" if key.required else (_cell(key.default) if key.default is not None else "—")
        lines.append(
            f"| `{key.name}` | {_cell(_type(key))} | {default} | {_cell(key.description)} | "
            f"`{_cell(key.example)}` |"
        )
    lines.append("")
    return lines


def reference_markdown() -> str:
    """``docs/reference.md``: every key of the watchlist and the site profiles."""
    lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `promowatch reference` from promowatch/config_schema.py: do not edit by hand. -->",
        "",
        "Every key promowatch reads from a watchlist or a site profile, with its type, default and an example.",
        "An unknown key is an error naming the file, the table and the key. Editors that read JSON Schema",
        "(taplo, Even Better TOML) complete and check these files with "
        "[watchlist.schema.json](watchlist.schema.json) and [profile.schema.json](profile.schema.json):",
        "put `#:schema ./docs/watchlist.schema.json` (a path or URL) on a file's first line.",
        "",
        "# Watchlist",
        "",
    ]
    for table_id in WATCHLIST_TABLES:
        lines += _section(table(table_id))
    lines += ["# Site profile", ""]
    for table_id in PROFILE_TABLES:
        lines += _section(table(table_id))
    return "\n".join(lines).rstrip("\n") + "\n"


def generated_files() -> dict[str, str]:
    """File name (under docs/) -> text, as ``promowatch reference`` writes them."""
    return {
        "reference.md": reference_markdown(),
        "watchlist.schema.json": json.dumps(json_schema("watchlist"), indent=2, ensure_ascii=False) + "\n",
        "profile.schema.json": json.dumps(json_schema("profile"), indent=2, ensure_ascii=False) + "\n",
    }


def write_reference(out: Path, *, check: bool = False) -> list[str]:
    """Write the generated files to ``out``; with ``check``, write nothing. Returns the names that were (or,
    with ``check``, would be) changed."""
    stale = []
    for name, text in generated_files().items():
        target = out / name
        current = target.read_text(encoding="utf-8") if target.exists() else None
        if current != text:
            stale.append(name)
            if not check:
                out.mkdir(parents=True, exist_ok=True)
                target.write_text(text, encoding="utf-8")
    return stale
