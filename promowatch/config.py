"""Watchlist and site profiles: load TOML once, validate strictly, return typed objects.

Every error names the file, the entry and the field, e.g.
``watchlist.toml: promotion 3 ("De'Longhi ESAM"): advertised_price must be a positive amount, got "cheap"``.
"""

from __future__ import annotations

import math
import os
import re
import string
import tomllib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
import regex
from cssselect import SelectorError
from lxml.etree import XPath, XPathSyntaxError
from parsel.csstranslator import HTMLTranslator

# the kinds of values are declared with the schema; re-exported for the code that checks them
from promowatch.config_schema import AD_KINDS as AD_KINDS
from promowatch.config_schema import EVENT_KINDS as EVENT_KINDS
from promowatch.config_schema import LANGUAGES as LANGUAGES
from promowatch.config_schema import OUTCOMES as OUTCOMES
from promowatch.config_schema import RENDER_MODES as RENDER_MODES
from promowatch.config_schema import Table, child
from promowatch.config_schema import table as schema_table
from promowatch.domain import Availability
from promowatch.errors import ConfigError as ConfigError
from promowatch.rules.thresholds import Thresholds, parse_thresholds

BUNDLED_SITES = Path(__file__).with_name("sites")
# a money column is NUMERIC(12, 2) (promowatch.db.models.Money): it holds amounts below 10^10
MAX_AMOUNT = Decimal(10) ** 10
# a host name (letters, digits, "-", "."), an IPv4 address or a bracketed IPv6 one, optionally with a port
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?")


# ---------------------------------------------------------------- reading helpers


class SchemaMismatch(AssertionError):
    """The loader read a key its table's schema (promowatch.config_schema) does not declare, or read it as
    another kind: a programming error, caught by the tests, never a user's."""


# (table id, key) of every key read while recording (tests/core/test_reference.py); None: not recording
_reads: set[tuple[str, str]] | None = None


@contextmanager
def recording_reads() -> Iterator[set[tuple[str, str]]]:
    """Collect the (table id, key) pairs the loader reads inside the block."""
    global _reads
    reads: set[tuple[str, str]] = set()
    _reads = set()
    try:
        yield reads
    finally:
        reads |= _reads
        _reads = None


TEXT_KINDS = ("string", "url")


class Entry:
    """A TOML table being read, with the context for error messages. Its keys are declared by its schema
    table: any other key in the file is an error, and reading an undeclared key raises SchemaMismatch."""

    def __init__(self, data: Any, where: str, schema: Table | None) -> None:
        if not isinstance(data, Mapping):
            raise ConfigError(f"{where}: must be a table, got {_show(data)}")
        self.data: Mapping[str, Any] = data
        self.where = where
        self.schema = schema
        self.used: set[str] = set()

    def fail(self, key: str, message: str) -> ConfigError:
        return ConfigError(f"{self.where}: {key} {message}")

    def expect(self, key: str, *kinds: str) -> None:
        """Check that the schema declares ``key`` (with one of ``kinds``, when given)."""
        if self.schema is None:
            return
        declared = self.schema.key(key)
        if declared is None or (kinds and declared.kind not in kinds):
            found = "undeclared" if declared is None else f"declared {declared.kind}"
            raise SchemaMismatch(
                f"{self.schema.id}: {key!r} read as {'/'.join(kinds) or 'a value'} but {found}"
            )
        if _reads is not None:
            _reads.add((self.schema.id, declared.name))

    def raw(self, key: str) -> Any:
        self.expect(key)
        self.used.add(key)
        return self.data.get(key)

    def has(self, key: str) -> bool:
        self.expect(key)
        return key in self.data

    def text(
        self,
        key: str,
        default: str | None = None,
        *,
        required: bool = False,
        kinds: tuple[str, ...] = TEXT_KINDS,
    ) -> str | None:
        self.expect(key, *kinds)
        value = self.raw(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return default
        if not isinstance(value, str) or not value.strip():
            raise self.fail(key, f"must be a non-empty string, got {_show(value)}")
        return value.strip()

    def required_text(self, key: str) -> str:
        value = self.text(key, required=True)
        assert value is not None
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: str) -> str:
        value = self.text(key, default, kinds=("choice",))
        assert value is not None
        if value not in choices:
            raise self.fail(key, f"must be one of {', '.join(choices)}, got {_show(value)}")
        return value

    def boolean(self, key: str, default: bool) -> bool:
        self.expect(key, "boolean")
        value = self.raw(key)
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(key, f"must be true or false, got {_show(value)}")
        return value

    def integer(self, key: str, default: int, *, minimum: int = 0) -> int:
        self.expect(key, "integer")
        value = self.raw(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise self.fail(key, f"must be a whole number ≥ {minimum}, got {_show(value)}")
        return value

    def number(self, key: str, default: float | None, *, minimum: float = 0.0) -> float | None:
        self.expect(key, "number")
        value = self.raw(key)
        if value is None:
            return default
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
            or value < minimum
        ):
            raise self.fail(key, f"must be a finite number ≥ {minimum:g}, got {_show(value)}")
        return float(value)

    def amount(self, key: str, *, required: bool = False) -> Decimal | None:
        self.expect(key, "amount")
        value = self.raw(key)
        if value is None:
            if required:
                raise self.fail(key, "is required")
            return None
        try:
            if isinstance(value, bool) or not isinstance(value, str | int | float):
                raise InvalidOperation
            amount = Decimal(str(value).replace("’", "").replace("'", "").replace(".–", "").strip())
        except InvalidOperation:
            amount = Decimal(-1)
        if amount.is_finite() and amount >= MAX_AMOUNT:
            raise self.fail(
                key, f"must be less than {MAX_AMOUNT:,} (what the database holds), got {_show(value)}"
            )
        if amount.is_finite():
            amount = amount.quantize(Decimal("0.01"))
        if not amount.is_finite() or amount <= 0:
            raise self.fail(key, f"must be a positive amount, got {_show(value)}")
        return amount

    def moment(self, key: str, *, end_of_day: bool = False) -> datetime | None:
        """A TOML date or datetime; a bare date means the start (or end) of that day, UTC."""
        self.expect(key, "datetime")
        value = self.raw(key)
        if value is None:
            return None
        if isinstance(value, str):
            try:
                # a quoted date alone means the whole day, as an unquoted TOML date does
                value = (
                    date.fromisoformat(value) if len(value.strip()) == 10 else datetime.fromisoformat(value)
                )
            except ValueError:
                raise self.fail(key, f"must be a date (2026-11-23) or datetime, got {_show(value)}") from None
        if isinstance(value, datetime):
            return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
        if isinstance(value, date):
            return datetime.combine(value, time.max if end_of_day else time.min, tzinfo=UTC)
        raise self.fail(key, f"must be a date (2026-11-23) or datetime, got {_show(value)}")

    def strings(self, key: str, *, kinds: tuple[str, ...] = ("strings",)) -> tuple[str, ...]:
        self.expect(key, *kinds)
        value = self.raw(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
            raise self.fail(key, f"must be a list of strings, got {_show(value)}")
        return tuple(v.strip() for v in value)

    def table(self, key: str) -> Entry:
        self.expect(key, "table", "map")
        return Entry(self.raw(key) or {}, f"{self.where}: {key}", child(self.schema, key))

    def tables(self, key: str, label: str) -> Iterator[tuple[int, Entry]]:
        self.expect(key, "tables")
        value = self.raw(key) or []
        if not isinstance(value, list):
            raise self.fail(key, f"must be an array of tables ([[{key}]]), got {_show(value)}")
        for number, item in enumerate(value, start=1):
            name = (
                item.get("title") or item.get("name") or item.get("slug") or item.get("id")
                if isinstance(item, dict)
                else None
            )
            where = f"{self.where}: {label} {number}" + (f" ({_show(name)})" if name else "")
            yield number, Entry(item, where, child(self.schema, key))

    def selector(self, key: str) -> str | None:
        """A CSS selector (parsel's ``::text`` / ``::attr()`` allowed) or ``xpath:...``; checked now."""
        value = self.text(key, kinds=("selector",))
        if value is not None:
            check_selector(value, self, key)
        return value

    def selectors(self, key: str) -> tuple[str, ...]:
        values = self.strings(key, kinds=("selectors",))
        for value in values:
            check_selector(value, self, key)
        return values

    @property
    def known(self) -> set[str]:
        """The keys this table may hold: its schema's (what was read, for a table of free keys)."""
        if self.schema is None or self.schema.free_value is not None:
            return set(self.used)
        return set(self.schema.names)

    def finish(self) -> None:
        unknown = sorted(set(self.data) - self.known)
        if unknown:
            raise ConfigError(f"{self.where}: unknown key {unknown[0]!r}" + _did_you_mean(unknown[0], self))


def _did_you_mean(key: str, entry: Entry) -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(entry.known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _show(value: Any) -> str:
    """A value quoted in an error message, with the secrets of any URL in it masked."""
    if isinstance(value, str):
        return mask_urls(f'"{value}"')
    return mask_urls(repr(value))


# scheme://[user[:password]@]host[:port][path?query#fragment]: a notification URL carries its secrets in the
# user info, the path (webhook tokens) or the query (api keys)
# brackets only around an IPv6 host (``json://[::1]:8080/hook``): elsewhere they end a URL quoted in text
_URL = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<rest>(?:\[[0-9A-Fa-f:.]+\]|[^\s'\"<>\]\[{}])*)")
_USERINFO = re.compile(r"[^\s/@'\"]+:[^\s/@'\"]*@")


# a host that names a machine rather than carrying a secret: a dotted name, localhost or an IP address, and a port
_ADDRESS = re.compile(
    r"(?:[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+\.?|localhost|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?", re.I
)


def mask_url(url: str) -> str:
    """``url`` with its user info, path and query replaced by ``****``, as Apprise masks what it logs: the scheme
    and the host stay, to say which target is meant, when the host is an address (a name with a dot,
    ``localhost``, an IP address). Many Apprise services put a token where the host goes (``tgram://BOT_TOKEN``,
    ``pover://USER@TOKEN``): any other host is masked too.

    >>> mask_url("json://user:hunter2@127.0.0.1:8080/hook?token=abc")
    'json://****@127.0.0.1:8080/****'
    >>> mask_url("tgram://123456789:AAHsecretBotToken/987654")
    'tgram://****/****'
    """
    found = _URL.fullmatch(url)
    if found is None:
        return _USERINFO.sub("****@", url)
    authority = re.match(r"[^/?#]*", found["rest"])[0]  # type: ignore[index]
    tail = found["rest"][len(authority) :]
    _, at, host = authority.rpartition("@")
    if not _ADDRESS.fullmatch(host):
        host = "****"
    masked = found["scheme"] + ("****@" if at else "") + host
    if tail.strip("/"):
        masked += "/****"
    return masked


def mask_urls(text: str) -> str:
    """Every URL in ``text`` masked (:func:`mask_url`), and any ``user:password@`` outside one."""
    return _USERINFO.sub("****@", _URL.sub(lambda found: mask_url(found[0]), text))


_CSS = HTMLTranslator()


def check_selector(value: str, entry: Entry, key: str) -> None:
    """Fail now, naming the key, on a selector lxml or cssselect cannot compile."""
    try:
        if value.startswith("xpath:"):
            XPath(value.removeprefix("xpath:"))
        else:
            XPath(_CSS.css_to_xpath(value))
    except (SelectorError, XPathSyntaxError, ValueError) as error:
        raise entry.fail(key, f"is not a valid selector ({error}): {_show(value)}") from None


def browser_selector(entry: Entry, key: str) -> str | None:
    """A selector the rendered page answers (Playwright's locators): extraction's syntax, except parsel's own
    ``:contains()``, which neither the browser nor Playwright knows."""
    value = entry.selector(key)
    if value is not None and ":contains(" in value and not value.startswith("xpath:"):
        raise entry.fail(
            key, f"uses parsel's :contains(), which the browser does not know (use wait_text): {_show(value)}"
        )
    return value


def load_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a directory, not a TOML file") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"{path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{path.name}: not valid TOML: arrays or tables nested too deeply") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path.name}: not valid TOML: {error}") from None


# ---------------------------------------------------------------- site profiles


@dataclass(frozen=True)
class OfferSelectors:
    """Where the retailer's product page says what: the strongest evidence when present."""

    product_block: str | None = None  # the main product's container; text outside it is ignored
    exclude: tuple[str, ...] = ()  # related products, recommendations, ...: never read, with all they hold
    title: str | None = None
    sku: str | None = None
    gtin: str | None = None
    price: str | None = None
    regular_price: str | None = None
    currency: str | None = None
    availability: str | None = None  # the stock line
    buy_button: str | None = None  # the add-to-cart / order control
    delivery: str | None = None
    availability_map: Mapping[str, Availability] = field(default_factory=dict)  # regex -> state


@dataclass(frozen=True)
class PromotionSelectors:
    urls: tuple[str, ...] = ()
    item: str | None = None
    link: str | None = None
    title: str | None = None
    price: str | None = None
    regular_price: str | None = None
    valid_from: str | None = None
    valid_until: str | None = None
    # on the whole page, not a card: where the ad page states when its promotions start ("Angebote vom 30.11.
    # bis 06.12."), for cards that state only an end
    listing_valid_from: str | None = None
    region: str | None = None
    next_page: str | None = None


@dataclass(frozen=True)
class StoreApi:
    """JSON endpoints for the store list and per-product store stock. Paths are dotted (``data.stores``);
    ``"$"`` is the top level of the answer (an API that returns a bare array)."""

    list_url: str | None = None
    list_path: str = "$"
    id: str = "id"
    name: str = "name"
    postcode: str | None = None
    city: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    stock_url: str | None = None  # with {sku}, {gtin}, {product_url}
    stock_path: str = "$"
    stock_store_id: str = "store_id"
    stock_quantity: str | None = None
    stock_status: str | None = None
    stock_time: str | None = None
    status_map: Mapping[str, Availability] = field(default_factory=dict)


@dataclass(frozen=True)
class BrowserOptions:
    wait_for: str | None = None  # selector
    wait_text: str | None = None  # text that must appear (in wait_for's element when given)
    wait_response: str | None = None  # substring of a response URL the page must have received
    timeout_ms: int = 15000
    actions: tuple[Mapping[str, Any], ...] = ()  # {click = "sel"} / {fill = ["sel", "text"]}
    block: tuple[str, ...] = ("image", "font", "media")
    block_third_party: bool = True
    screenshot: bool = True

    @property
    def blocked_types(self) -> tuple[str, ...]:
        """The resource types not loaded: none when a screenshot is taken, which must show the page as a
        shopper sees it, pictures included."""
        return () if self.screenshot else self.block

    @property
    def blocks_anything(self) -> bool:
        """Whether a page's requests must be looked at one by one (a route through the driver and Python)."""
        return bool(self.blocked_types) or self.block_third_party


@dataclass(frozen=True)
class SiteProfile:
    slug: str
    name: str
    path: Path | None
    country: str | None
    currency: str | None
    language: str | None
    base_url: str | None
    render: Literal["http", "browser", "auto"]
    concurrency: int
    download_delay: float
    canary: str | None
    offer: OfferSelectors
    promotions: PromotionSelectors
    stores: StoreApi
    browser: BrowserOptions
    phrases: Mapping[str, Mapping[str, tuple[str, ...]]]  # locale -> category -> phrases
    # query parameters that only track the visitor, stripped from product links besides promowatch.urls'
    tracking_params: tuple[str, ...] = ()
    # IANA zone of the shop's dates (default: its country's, see evidence.dossier)
    timezone: str | None = None
    # hosts besides the base URL's that the shop's redirects may lead to ("host" on ports 80/443, or "host:port")
    allowed_hosts: tuple[str, ...] = ()


def _url_template(entry: Entry, key: str, names: tuple[str, ...]) -> str | None:
    """A URL with ``{placeholders}``: only the given names, checked now rather than mid-crawl."""
    value = entry.text(key, kinds=("url_template",))
    if value is None:
        return None
    try:
        used = {field for _, field, _, _ in string.Formatter().parse(value) if field is not None}
    except ValueError as error:
        raise entry.fail(key, f"is not a valid URL template ({error}): {_show(value)}") from None
    unknown = sorted(used - set(names))
    if unknown:
        known = ", ".join("{" + n + "}" for n in names)
        raise entry.fail(key, f"may use {known}, got {{{unknown[0]}}} in {_show(value)}")
    return value


def _json_path(entry: Entry, key: str, default: str | None = None, *, root: bool = False) -> str | None:
    """A dotted path into a store API answer; ``"$"`` (the top level) only where a list is read (``root``)."""
    from promowatch.extract.jsonpath import ROOT, path_problem

    entry.expect(key, "path")
    value = entry.raw(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise entry.fail(key, f"must be a string, got {_show(value)}")
    problem = path_problem(value)
    if problem is None and value == ROOT and not root:
        problem = 'may not be "$": it names a field inside each entry, such as "id" or "address.zip"'
    if (
        problem is None
        and root
        and all(s.lstrip("-").isdigit() for s in value.removeprefix(ROOT + ".").split("."))
    ):
        # "0" is the first entry of a top-level array, never the list of entries itself
        problem = 'names one entry, not a list: write "$" when the answer itself is the list'
    if problem is not None:
        raise entry.fail(key, f"{problem}, got {_show(value)}")
    return value


def _availability_map(entry: Entry, key: str) -> dict[str, Availability]:
    table = entry.table(key)
    result: dict[str, Availability] = {}
    for pattern, state in table.data.items():
        table.used.add(pattern)
        try:
            # the engine extraction matches with (it can time out: promowatch.extract.budget)
            regex.compile(pattern)
        except regex.error as error:
            raise table.fail(repr(pattern), f"is not a valid regular expression ({error})") from None
        try:
            result[pattern] = Availability(state)
        except ValueError:
            choices = ", ".join(a.value for a in Availability)
            raise table.fail(repr(pattern), f"must map to one of {choices}, got {_show(state)}") from None
    return result


def _phrases(entry: Entry) -> dict[str, dict[str, tuple[str, ...]]]:
    from promowatch.extract.phrases import CATEGORIES

    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for locale in list(entry.data):
        table = entry.table(locale)
        result[locale] = {}
        for category in list(table.data):
            if category not in CATEGORIES:
                raise table.fail(repr(category), f"is not a phrase category; known: {', '.join(CATEGORIES)}")
            result[locale][category] = table.strings(category)
        table.finish()
    return result


def _tracking_params(entry: Entry, key: str) -> tuple[str, ...]:
    """Names of query parameters (``"campaign"``, or ``"trk_*"`` for every name starting ``trk_``)."""
    from promowatch.urls import PARAM_NAME

    names = entry.strings(key)
    for name in names:
        if not PARAM_NAME.fullmatch(name):
            raise entry.fail(
                key,
                f'must list query parameter names (such as "campaign" or "trk_*"), got {_show(name)}',
            )
    return names


def _allowed_hosts(entry: Entry, key: str) -> tuple[str, ...]:
    """Host names or ``host:port``, without scheme or path (``"www.shop.ch"``, ``"127.0.0.1:8001"``)."""
    names = entry.strings(key)
    for name in names:
        if not _HOST.fullmatch(name):
            raise entry.fail(
                key, f'must list host names or host:port (such as "www.shop.ch"), got {_show(name)}'
            )
    return tuple(name.lower() for name in names)


def parse_profile(data: Mapping[str, Any], where: str, path: Path | None = None) -> SiteProfile:
    """Validate one profile table."""
    top = Entry(data, where, schema_table("profile"))
    slug = top.required_text("slug")
    offer = top.table("offer")
    promotions = top.table("promotions")
    stores = top.table("stores")
    browser = top.table("browser")
    phrases = top.table("phrases")
    actions = browser.raw("actions") or []
    if not isinstance(actions, list) or not all(
        isinstance(a, dict) and len(a) == 1 and next(iter(a)) in ("click", "fill", "wait") for a in actions
    ):
        raise browser.fail("actions", "must be a list of {click = ...}, {fill = [...]} or {wait = ms} tables")
    profile = SiteProfile(
        slug=slug,
        name=top.text("name", slug) or slug,
        path=path,
        country=top.text("country"),
        currency=top.text("currency"),
        language=top.text("language"),
        base_url=top.text("base_url"),
        render=top.choice("render", RENDER_MODES, "http"),  # type: ignore[arg-type]
        concurrency=top.integer("concurrency", 1, minimum=1),
        download_delay=top.number("download_delay", 0.0) or 0.0,
        canary=top.text("canary"),
        offer=OfferSelectors(
            product_block=offer.selector("product_block"),
            exclude=offer.selectors("exclude"),
            title=offer.selector("title"),
            sku=offer.selector("sku"),
            gtin=offer.selector("gtin"),
            price=offer.selector("price"),
            regular_price=offer.selector("regular_price"),
            currency=offer.selector("currency"),
            availability=offer.selector("availability"),
            buy_button=offer.selector("buy_button"),
            delivery=offer.selector("delivery"),
            availability_map=_availability_map(offer, "availability_map"),
        ),
        promotions=PromotionSelectors(
            urls=promotions.strings("urls"),
            item=promotions.selector("item"),
            link=promotions.selector("link"),
            title=promotions.selector("title"),
            price=promotions.selector("price"),
            regular_price=promotions.selector("regular_price"),
            valid_from=promotions.selector("valid_from"),
            valid_until=promotions.selector("valid_until"),
            listing_valid_from=promotions.selector("listing_valid_from"),
            region=promotions.selector("region"),
            next_page=promotions.selector("next_page"),
        ),
        stores=StoreApi(
            list_url=stores.text("list_url"),
            list_path=_json_path(stores, "list_path", "$", root=True) or "$",
            id=_json_path(stores, "id", "id") or "id",
            name=_json_path(stores, "name", "name") or "name",
            postcode=_json_path(stores, "postcode"),
            city=_json_path(stores, "city"),
            latitude=_json_path(stores, "latitude"),
            longitude=_json_path(stores, "longitude"),
            stock_url=_url_template(stores, "stock_url", ("sku", "gtin", "product_url")),
            stock_path=_json_path(stores, "stock_path", "$", root=True) or "$",
            stock_store_id=_json_path(stores, "stock_store_id", "store_id") or "store_id",
            stock_quantity=_json_path(stores, "stock_quantity"),
            stock_status=_json_path(stores, "stock_status"),
            stock_time=_json_path(stores, "stock_time"),
            status_map=_availability_map(stores, "status_map"),
        ),
        browser=BrowserOptions(
            wait_for=browser_selector(browser, "wait_for"),
            wait_text=browser.text("wait_text"),
            wait_response=browser.text("wait_response"),
            timeout_ms=browser.integer("timeout_ms", 15000, minimum=100),
            actions=tuple(actions),
            block=browser.strings("block") if browser.has("block") else ("image", "font", "media"),
            block_third_party=browser.boolean("block_third_party", True),
            screenshot=browser.boolean("screenshot", True),
        ),
        phrases=_phrases(phrases),
        tracking_params=_tracking_params(top, "tracking_params"),
        allowed_hosts=_allowed_hosts(top, "allowed_hosts"),
        timezone=_timezone(top, "timezone"),
    )
    for section in (offer, promotions, stores, browser, phrases, top):
        section.finish()
    return profile


def profile_dirs() -> list[Path]:
    """Where profiles are looked up, user ones first: $PROMOWATCH_SITES, the user config dir, bundled."""
    dirs = []
    if os.environ.get("PROMOWATCH_SITES"):
        dirs.append(Path(os.environ["PROMOWATCH_SITES"]))
    dirs.append(Path(platformdirs.user_config_dir("promowatch")) / "sites")
    dirs.append(BUNDLED_SITES)
    return dirs


def load_profile(name_or_path: str, extra_dirs: tuple[Path, ...] = ()) -> SiteProfile:
    """A profile by name (searched in ``extra_dirs`` then :func:`profile_dirs`) or by file path."""
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        path = candidate
    else:
        searched = [*extra_dirs, *profile_dirs()]
        found = [d / f"{name_or_path}.toml" for d in searched if (d / f"{name_or_path}.toml").exists()]
        if not found:
            known = sorted({p.stem for d in searched if d.is_dir() for p in d.glob("*.toml")})
            raise ConfigError(f"unknown site profile {name_or_path!r}; known: {', '.join(known) or 'none'}")
        path = found[0]
    return parse_profile(load_toml(path), path.name, path)


# ---------------------------------------------------------------- watchlist


@dataclass(frozen=True)
class AdSource:
    kind: str
    url: str | None
    note: str | None
    file: Path | None
    seen_at: datetime | None


@dataclass(frozen=True)
class WatchedPromotion:
    """A promotion entered by hand: what the ad claimed."""

    number: int
    retailer: str
    product_url: str
    title: str
    advertised_price: Decimal
    reference_price: Decimal | None
    currency: str
    valid_from: datetime | None
    valid_until: datetime | None
    region: str | None
    ads: tuple[AdSource, ...]


@dataclass(frozen=True)
class WatchedRetailer:
    slug: str
    profile: SiteProfile
    base_url: str
    sweep: bool  # follow the retailer's promotions page
    products: tuple[str, ...]  # extra product URLs to watch
    stores: tuple[str, ...]  # limit store checks to these store ids (empty: all)
    canary: str | None
    reference_rule: Literal["ch", "eu"]
    thresholds: Thresholds  # the global ones with this retailer's overrides


@dataclass(frozen=True)
class Subscription:
    name: str
    urls: tuple[str, ...] = field(repr=False)  # Apprise URLs: secrets, never logged
    tags: tuple[str, ...]
    language: str
    events: tuple[str, ...]
    retailers: tuple[str, ...] = ()
    products: tuple[str, ...] = ()
    promotions: tuple[str, ...] = ()  # titles or product URLs of promotions
    stores: tuple[str, ...] = ()
    postcode: str | None = None
    radius_km: float | None = None
    all_findings: bool = False
    orders: tuple[str, ...] = ()  # ids of consumers' orders whose delivery_overdue events it receives


@dataclass(frozen=True)
class OrderStatusEntry:
    at: datetime
    text: str
    outcome: str | None  # "delivered" or "cancelled" when marked so, whatever the text says
    file: Path | None


@dataclass(frozen=True)
class WatchedOrder:
    """A consumer's own order, as entered in the watchlist."""

    slug: str
    retailer: str
    product_url: str | None  # absolute
    promotion: str | None  # a promotion's title
    ordered_at: datetime
    paid_at: datetime | None
    price_paid: Decimal
    currency: str
    reference: str
    promise: str | None
    statuses: tuple[OrderStatusEntry, ...]


@dataclass(frozen=True)
class Watchlist:
    path: Path | None
    retailers: tuple[WatchedRetailer, ...]
    promotions: tuple[WatchedPromotion, ...]
    subscriptions: tuple[Subscription, ...]
    thresholds: Thresholds
    contact: str | None  # put in the User-Agent so a shop can reach the operator
    tsa_url: str | None = None  # RFC 3161 timestamp authority: the chain head after each run, case bundles
    orders: tuple[WatchedOrder, ...] = ()
    # who runs this watchlist, named in dossiers' capture attestation: {"name", "contact"}
    operator: Mapping[str, str | None] = field(default_factory=dict)

    def retailer(self, slug: str) -> WatchedRetailer:
        for retailer in self.retailers:
            if retailer.slug == slug:
                return retailer
        raise KeyError(slug)


def _timezone(entry: Entry, key: str) -> str | None:
    value = entry.text(key)
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise entry.fail(
            key, f"must be an IANA time zone such as Europe/Zurich, got {_show(value)}"
        ) from None
    return value


def _check_url(entry: Entry, key: str, value: str | None) -> None:
    if value is not None and not re.match(r"^https?://[^/\s]+", value):
        raise entry.fail(key, f"must be an http(s) URL, got {_show(value)}")


def _known_slugs(entry: Entry, key: str, slugs: set[str]) -> tuple[str, ...]:
    """Retailer slugs that must name [[retailers]] entries: a typo would silently follow nothing."""
    values = entry.strings(key)
    for value in values:
        if value not in slugs:
            raise entry.fail(
                key, f"must name [[retailers]] slugs ({', '.join(sorted(slugs))}), got {_show(value)}"
            )
    return values


def _check_apprise_urls(entry: Entry, urls: tuple[str, ...]) -> None:
    """Refuse now a URL Apprise cannot parse: at notify time it would fail every event, for days unnoticed."""
    for url in urls:
        _check_apprise_url(entry, "url" if url in entry.strings("url") else "urls", url)


def _check_apprise_url(entry: Entry, key: str, url: str) -> None:
    import logging

    import apprise

    log = logging.getLogger("apprise")
    disabled, log.disabled = log.disabled, True  # Apprise logs the URL it refuses, half masked
    try:
        if apprise.Apprise.instantiate(url) is None:
            raise entry.fail(
                key,
                f"is not a URL Apprise can use: {mask_url(url)} "
                "(see https://github.com/caronc/apprise/wiki for the forms of each service)",
            )
    finally:
        log.disabled = disabled


def parse_watchlist(data: Mapping[str, Any], name: str, path: Path | None = None) -> Watchlist:
    """Validate a watchlist table; profiles are loaded from the watchlist's own ``sites/`` dir first."""
    top = Entry(data, name, schema_table("watchlist"))
    extra_dirs = (path.parent / "sites",) if path else ()
    settings = top.table("settings")
    contact = settings.text("contact")
    tsa_url = settings.text("tsa_url")
    _check_url(settings, "tsa_url", tsa_url)
    thresholds = parse_thresholds(settings.raw("thresholds") or {}, f"{name}: settings: thresholds")
    settings.finish()
    operator_table = top.table("operator")
    operator = {
        "name": operator_table.text("name"),
        "contact": operator_table.text("contact") or contact,
    }
    operator_table.finish()

    retailers: list[WatchedRetailer] = []
    for _, entry in top.tables("retailers", "retailer"):
        slug = entry.required_text("slug")
        for number, earlier in enumerate(retailers, start=1):
            if earlier.slug == slug:
                raise entry.fail("slug", f"repeats retailer {number}'s slug {_show(slug)}")
        try:
            profile = load_profile(entry.text("profile", slug) or slug, extra_dirs)
        except ConfigError as error:
            raise entry.fail("profile", f"cannot be used: {error}") from None
        base_url = entry.text("base_url") or profile.base_url
        _check_url(entry, "base_url", base_url)
        if base_url is None:
            raise entry.fail("base_url", f"is required (profile {profile.slug!r} has none)")
        products = entry.strings("products")
        for url in products:
            if not url.startswith("/"):  # a path on the retailer's base URL, or a full URL
                _check_url(entry, "products", url)
        # a sweep needs promotions pages and their cards; without, it would read nothing, and say nothing
        sweepable = bool(profile.promotions.urls and profile.promotions.item)
        sweep = entry.boolean("sweep", sweepable)
        if sweep and not sweepable:
            missing = "urls" if not profile.promotions.urls else "item"
            raise entry.fail(
                "sweep",
                f"is true but profile {profile.slug!r} has no [promotions] {missing} to follow: "
                "add [promotions] to the profile or set sweep = false",
            )
        retailer_thresholds = parse_thresholds(
            entry.raw("thresholds") or {}, f"{entry.where}: thresholds", thresholds
        )
        retailers.append(
            WatchedRetailer(
                slug=slug,
                profile=profile,
                base_url=base_url.rstrip("/"),
                sweep=sweep,
                products=products,
                stores=entry.strings("stores"),
                canary=entry.text("canary") or profile.canary,
                reference_rule=entry.choice(  # type: ignore[arg-type]
                    "reference_rule", ("ch", "eu"), "ch" if profile.country == "CH" else "eu"
                ),
                thresholds=retailer_thresholds,
            )
        )
        entry.finish()
    slugs = {r.slug for r in retailers}

    promotions = []
    for number, entry in top.tables("promotions", "promotion"):
        retailer = entry.required_text("retailer")
        if retailer not in slugs:
            raise entry.fail(
                "retailer",
                f"must name a [[retailers]] slug ({', '.join(sorted(slugs))}), got {_show(retailer)}",
            )
        product_url = entry.required_text("product_url")
        _check_url(entry, "product_url", product_url)
        advertised = entry.amount("advertised_price", required=True)
        assert advertised is not None
        reference = entry.amount("reference_price")
        currency: str | None = entry.text("currency") or next(
            r.profile.currency for r in retailers if r.slug == retailer
        )
        if currency is None or not re.fullmatch(r"[A-Z]{3}", currency):
            raise entry.fail("currency", f"must be an ISO 4217 code such as CHF, got {_show(currency)}")
        valid_from = entry.moment("valid_from")
        valid_until = entry.moment("valid_until", end_of_day=True)
        if valid_from and valid_until and valid_until < valid_from:
            raise entry.fail("valid_until", "must not be before valid_from")
        ads = []
        for _, ad in entry.tables("ads", "ad"):
            file = ad.text("file")
            file_path = (path.parent / file if path else Path(file)) if file else None
            if file_path is not None and not file_path.exists():
                raise ad.fail("file", f"does not exist: {file_path}")
            ad_url = ad.text("url")
            _check_url(ad, "url", ad_url)
            ads.append(
                AdSource(
                    kind=ad.choice("kind", AD_KINDS, "web"),
                    url=ad_url,
                    note=ad.text("note"),
                    file=file_path,
                    seen_at=ad.moment("seen_at"),
                )
            )
            ad.finish()
        promotions.append(
            WatchedPromotion(
                number=number,
                retailer=retailer,
                product_url=product_url,
                title=entry.required_text("title"),
                advertised_price=advertised,
                reference_price=reference,
                currency=currency,
                valid_from=valid_from,
                valid_until=valid_until,
                region=entry.text("region"),
                ads=tuple(ads),
            )
        )
        entry.finish()

    subscriptions = []
    for number, entry in top.tables("subscriptions", "subscription"):
        urls = tuple(dict.fromkeys(entry.strings("url") + entry.strings("urls")))  # a URL twice is one target
        if not urls:
            raise entry.fail("url", "is required (an Apprise URL such as json://127.0.0.1:8080/hook)")
        _check_apprise_urls(entry, urls)
        events = entry.strings("events")  # none given: the events of the subscription's tags
        for kind in events:
            if kind not in EVENT_KINDS:
                raise entry.fail(
                    "events", f"must list events from {', '.join(EVENT_KINDS)}, got {_show(kind)}"
                )
        tags = entry.strings("tags") or ("consumer",)
        for tag in tags:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", tag):
                raise entry.fail("tags", f"must be plain words (letters, digits, - and _), got {_show(tag)}")
        subscriptions.append(
            Subscription(
                name=entry.text("name") or f"subscription-{number}",
                urls=urls,
                tags=tags,
                language=entry.choice("language", LANGUAGES, "fr"),
                events=events,
                retailers=_known_slugs(entry, "retailers", slugs),
                products=entry.strings("products"),
                promotions=entry.strings("promotions"),
                stores=entry.strings("stores"),
                postcode=entry.text("postcode"),
                radius_km=entry.number("radius_km", None),
                all_findings=entry.boolean("all_findings", False),
                orders=entry.strings("orders"),
            )
        )
        entry.finish()
    orders = _orders(top, retailers, path)
    for order, notify in orders:  # each order's consumer (and watchdog) follows only that order
        subscriptions.extend(_order_subscriptions(order, notify))
    top.finish()
    return Watchlist(
        path=path,
        retailers=tuple(retailers),
        promotions=tuple(promotions),
        subscriptions=tuple(subscriptions),
        thresholds=thresholds,
        contact=contact,
        tsa_url=tsa_url,
        orders=tuple(order for order, _ in orders),
        operator=operator,
    )


@dataclass(frozen=True)
class _OrderNotify:
    urls: tuple[str, ...]
    watchdog: tuple[str, ...]
    language: str


def _orders(
    top: Entry, retailers: list[WatchedRetailer], path: Path | None
) -> list[tuple[WatchedOrder, _OrderNotify]]:
    by_slug = {r.slug: r for r in retailers}
    orders: list[tuple[WatchedOrder, _OrderNotify]] = []
    for _, entry in top.tables("orders", "order"):
        slug = entry.required_text("id")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", slug):
            raise entry.fail("id", f"must be a short name of letters, digits, - and _, got {_show(slug)}")
        for number, (earlier, _) in enumerate(orders, start=1):
            if earlier.slug == slug:
                raise entry.fail("id", f"repeats order {number}'s id {_show(slug)}")
        retailer_slug = entry.required_text("retailer")
        retailer = by_slug.get(retailer_slug)
        if retailer is None:
            raise entry.fail(
                "retailer",
                f"must name a [[retailers]] slug ({', '.join(sorted(by_slug))}), got {_show(retailer_slug)}",
            )
        product = entry.text("product")
        if product is not None and not product.startswith("/"):
            _check_url(entry, "product", product)
        promotion = entry.text("promotion")
        if product is None and promotion is None:
            raise entry.fail("product", "or promotion is required: what was ordered")
        ordered_at = entry.moment("ordered_at")
        if ordered_at is None:
            raise entry.fail("ordered_at", "is required")
        paid_at = entry.moment("paid_at")
        if paid_at is not None and paid_at < ordered_at:
            raise entry.fail("paid_at", "must not be before ordered_at")
        price = entry.amount("price_paid", required=True)
        assert price is not None
        currency = entry.text("currency") or retailer.profile.currency
        if currency is None or not re.fullmatch(r"[A-Z]{3}", currency):
            raise entry.fail("currency", f"must be an ISO 4217 code such as CHF, got {_show(currency)}")
        statuses = []
        for _, status in entry.tables("status", "status"):
            at = status.moment("at")
            if at is None:
                raise status.fail("at", "is required")
            file = status.text("file")
            file_path = (path.parent / file if path else Path(file)) if file else None
            if file_path is not None and not file_path.is_file():
                raise status.fail("file", f"does not exist: {file_path}")
            outcome = status.text("outcome", kinds=("choice",))
            if outcome is not None and outcome not in OUTCOMES:
                raise status.fail("outcome", f"must be one of {', '.join(OUTCOMES)}, got {_show(outcome)}")
            statuses.append(OrderStatusEntry(at, status.required_text("text"), outcome, file_path))
            status.finish()
        notify = entry.table("notify")
        urls = tuple(dict.fromkeys(notify.strings("url") + notify.strings("urls")))
        watchdog = tuple(dict.fromkeys(notify.strings("watchdog")))
        _check_apprise_urls(notify, urls)
        for url in watchdog:
            _check_apprise_url(notify, "watchdog", url)
        if watchdog and not urls:
            raise notify.fail(
                "url", "is required with watchdog: the consumer who made the order is told first"
            )
        language = notify.choice("language", LANGUAGES, "fr")
        notify.finish()
        base = retailer.base_url
        orders.append(
            (
                WatchedOrder(
                    slug=slug,
                    retailer=retailer_slug,
                    product_url=None
                    if product is None
                    else (base + "/" + product.lstrip("/") if product.startswith("/") else product),
                    promotion=promotion,
                    ordered_at=ordered_at,
                    paid_at=paid_at,
                    price_paid=price,
                    currency=currency,
                    reference=entry.required_text("reference"),
                    promise=entry.text("promise"),
                    statuses=tuple(statuses),
                ),
                _OrderNotify(urls, watchdog, language),
            )
        )
        entry.finish()
    return orders


def _order_subscriptions(order: WatchedOrder, notify: _OrderNotify) -> list[Subscription]:
    """The subscriptions an order's [orders.notify] stands for: its consumer, and its watchdog if any."""
    found = []
    for suffix, urls, tag in (("", notify.urls, "consumer"), ("-watchdog", notify.watchdog, "watchdog")):
        if urls:
            found.append(
                Subscription(
                    name=f"order-{order.slug}{suffix}",
                    urls=urls,
                    tags=(tag,),
                    language=notify.language,
                    events=("delivery_overdue",),
                    orders=(order.slug,),
                )
            )
    return found


def load_watchlist(path: Path) -> Watchlist:
    """Load and validate a watchlist file."""
    return parse_watchlist(load_toml(path), path.name, path)


def watchlist_warnings(watchlist: Watchlist) -> list[str]:
    """What loads but would silently do nothing: a subscription that follows a product or promotion URL on
    no watched retailer's host is never told anything about it."""
    from urllib.parse import urlsplit

    hosts = set()
    for retailer in watchlist.retailers:
        hosts.add(urlsplit(retailer.base_url).netloc.lower())
        hosts.update(retailer.profile.allowed_hosts)
    name = watchlist.path.name if watchlist.path else "watchlist"
    lines = []
    for number, subscription in enumerate(watchlist.subscriptions, start=1):
        for key, values in (("products", subscription.products), ("promotions", subscription.promotions)):
            for value in values:
                if not re.match(r"^https?://", value):
                    continue  # a promotion's title
                if urlsplit(value).netloc.lower() not in hosts:
                    lines.append(
                        f"{name}: subscription {number} ({_show(subscription.name)}): {key}: {value} is on no "
                        f"watched retailer's host ({', '.join(sorted(hosts)) or 'no retailers'}): "
                        "it will never be told anything about it"
                    )
    return lines
