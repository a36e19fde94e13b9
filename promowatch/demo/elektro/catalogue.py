"""What the German demo shop sells and what happens to it on each simulated day: pure data and functions.

Day 0 is the same Monday as the first demo shop's (:data:`promowatch.demo.scenarios.DEFAULT_START`). The shop's
weekly listings ("Wochenangebote") run Wednesday to Tuesday: listing A days 2-8, listing B days 9-15, so every
product has two days of prices on record before its first promotion.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from promowatch.demo.catalogue import ean13

D = Decimal
SLUG = "demo-elektro"
SHOP_NAME = "Demo Elektromarkt"
LISTING_PATH = "/wochenangebote"
TRACKING = "?src=wochenangebote"  # what the listing's cards append to product links
CAPTCHA_EVERY = 13  # every 13th product page request gets the captcha interstitial instead


class Stock(StrEnum):
    """The shop's online states: each has its status line, button and schema.org availability."""

    IN_STOCK = "in_stock"
    NOT_DELIVERABLE = "not_deliverable"
    PREORDER = "preorder"
    STORE_ONLY = "store_only"


@dataclass(frozen=True)
class Listing:
    """One weekly listing: the calendar it states in its header and the simulated days it is online."""

    name: str
    first_day: int
    last_day: int


LISTINGS = (Listing("A", 2, 8), Listing("B", 9, 15))


@dataclass(frozen=True)
class Card:
    """A promotion card on a weekly listing; ``until_day`` is the day its "gültig bis" names."""

    listing: str
    price: Decimal
    regular_price: Decimal | None
    until_day: int


@dataclass(frozen=True)
class Phase:
    """An override over an inclusive range of days; later phases win."""

    first_day: int
    last_day: int
    price: Decimal | None = None
    regular_price: Decimal | None = None
    stock: Stock | None = None
    store_zero_share: float | None = None


@dataclass(frozen=True)
class Article:
    letter: str
    number: str  # the shop's "Artikelnummer"
    slug: str
    title: str
    brand: str
    gtin: str
    price: Decimal
    shows: str
    stock: Stock = Stock.IN_STOCK
    store_zero_share: float = 0.1
    phases: tuple[Phase, ...] = ()
    cards: tuple[Card, ...] = ()
    jsonld_in_stock: bool = False  # JSON-LD says InStock whatever the page shows
    release: date | None = None  # pre-order items: "Erscheint am ..."

    @property
    def path(self) -> str:
        return f"/artikel/{self.slug}-{self.number}"


ARTICLES: tuple[Article, ...] = (
    Article(
        "g",
        "100417",
        "siemens-eq6-plus-s300-kaffeevollautomat",
        "Siemens EQ.6 plus s300 Kaffeevollautomat",
        "Siemens",
        ean13("424200215330"),
        D("649.00"),
        "bait: 649 € on days 0-1, then 499 € statt 649 € on listings A (bis 10.11.) and B (bis 17.11.): JSON-LD "
        "InStock, but the page says Zurzeit nicht lieferbar beside a disabled In den Warenkorb, ≥ 90 % of markets "
        "empty",
        store_zero_share=0.15,
        phases=(Phase(2, 15, D("499.00"), D("649.00"), Stock.NOT_DELIVERABLE, 0.95),),
        cards=(Card("A", D("499.00"), D("649.00"), 8), Card("B", D("499.00"), D("649.00"), 15)),
        jsonld_in_stock=True,
    ),
    Article(
        "h",
        "100522",
        "ninja-foodi-dual-zone-af300eu-heissluftfritteuse",
        "Ninja Foodi Dual Zone AF300EU Heißluftfritteuse",
        "Ninja",
        ean13("562229900431"),
        D("229.99"),
        "two-week promotion 179,99 € statt 229,99 € (both listings say gültig bis 17.11.); sold out online and "
        "in every market on days 5-7 while the ad runs, restocked on day 8",
        store_zero_share=0.05,
        phases=(
            Phase(2, 15, D("179.99"), D("229.99")),
            Phase(5, 7, stock=Stock.NOT_DELIVERABLE, store_zero_share=1.0),
        ),
        cards=(Card("A", D("179.99"), D("229.99"), 15), Card("B", D("179.99"), D("229.99"), 15)),
    ),
    Article(
        "i",
        "100688",
        "bosch-gsr-18v-55-akku-bohrschrauber",
        "Bosch Professional GSR 18V-55 Akku-Bohrschrauber",
        "Bosch",
        ean13("316516500123"),
        D("119.99"),
        "price mismatch: listing B advertises 89,99 € statt 119,99 €, the product page charges 99,99 €",
        phases=(Phase(9, 15, D("99.99"), D("119.99")),),
        cards=(Card("B", D("89.99"), D("119.99"), 15),),
    ),
    Article(
        "j",
        "100731",
        "sony-wh-1000xm5-kopfhoerer-schwarz",
        "Sony WH-1000XM5 Kopfhörer schwarz",
        "Sony",
        ean13("454854893741"),
        D("349.00"),
        "honest promotion: 349 € charged on days 0-8, then 279 € statt 349 € on listing B, always deliverable",
        store_zero_share=0.04,
        phases=(Phase(9, 15, D("279.00"), D("349.00")),),
        cards=(Card("B", D("279.00"), D("349.00"), 15),),
    ),
    Article(
        "k",
        "100859",
        "samsung-gq55q70d-qled-fernseher-55-zoll",
        "Samsung GQ55Q70D QLED-Fernseher 55 Zoll",
        "Samsung",
        ean13("880609497521"),
        D("549.00"),
        "EU reference price: 549 € charged on days 0-8, then listing B's 499 € statt 699 € (699 € never charged "
        "in the 30 days before)",
        phases=(Phase(9, 15, D("499.00"), D("699.00")),),
        cards=(Card("B", D("499.00"), D("699.00"), 15),),
    ),
    Article(
        "l",
        "100903",
        "ea-sports-fc-27-ps5",
        "EA Sports FC 27 (PS5)",
        "Electronic Arts",
        ean13("503094015271"),
        D("79.99"),
        "pre-order: Vorbestellen, Erscheint am 20.11.2026; 69,99 € statt 79,99 € on listing A; no market has it "
        "before its release",
        stock=Stock.PREORDER,
        store_zero_share=1.0,
        phases=(Phase(2, 8, D("69.99"), D("79.99")),),
        cards=(Card("A", D("69.99"), D("79.99"), 8),),
        release=date(2026, 11, 20),
    ),
    Article(
        "m",
        "101044",
        "miele-complete-c3-bodenstaubsauger",
        "Miele Complete C3 Bodenstaubsauger",
        "Miele",
        ean13("401621441209"),
        D("269.00"),
        "store-only from day 6: Nur im Markt erhältlich, no basket button, the markets have it (not sold out)",
        phases=(Phase(6, 15, stock=Stock.STORE_ONLY),),
    ),
    Article(
        "n",
        "101172",
        "brita-style-xl-wasserfilter",
        "Brita Style XL Wasserfilter 3,6 l",
        "Brita",
        ean13("400638735101"),
        D("29.99"),
        "the canary: always deliverable",
        store_zero_share=0.0,
    ),
)

CANARY = "n"


def article(letter: str) -> Article:
    return next(a for a in ARTICLES if a.letter == letter)


@dataclass(frozen=True)
class DayState:
    article: Article
    day: int
    price: Decimal
    regular_price: Decimal | None
    stock: Stock
    store_zero_share: float


def state_on(item: Article, day: int) -> DayState:
    price, regular, stock, share = item.price, None, item.stock, item.store_zero_share
    for phase in item.phases:
        if phase.first_day <= day <= phase.last_day:
            if phase.price is not None:
                price, regular = phase.price, phase.regular_price
            stock = phase.stock or stock
            share = phase.store_zero_share if phase.store_zero_share is not None else share
    return DayState(item, day, price, regular, stock, share)


def listing_on(day: int) -> Listing | None:
    return next((lst for lst in LISTINGS if lst.first_day <= day <= lst.last_day), None)


def cards_on(day: int) -> list[tuple[Article, Card]]:
    """The cards of the weekly listing online on ``day``."""
    listing = listing_on(day)
    if listing is None:
        return []
    return [(a, c) for a in ARTICLES for c in a.cards if c.listing == listing.name]


def calendar_day(start: datetime, day: int) -> date:
    return start.date() + timedelta(days=day)


@dataclass(frozen=True)
class Market:
    market_id: str
    name: str
    postcode: str
    city: str
    latitude: float
    longitude: float


_MARKETS = (
    ("Berlin-Mitte", "10117", "Berlin", 52.5200, 13.4050),
    ("Berlin-Spandau", "13597", "Berlin", 52.5360, 13.2000),
    ("Hamburg-Altona", "22765", "Hamburg", 53.5500, 9.9350),
    ("Hamburg-Wandsbek", "22041", "Hamburg", 53.5720, 10.0700),
    ("München-Pasing", "81241", "München", 48.1490, 11.4610),
    ("München-Riem", "81829", "München", 48.1330, 11.6950),
    ("Köln-Ehrenfeld", "50823", "Köln", 50.9500, 6.9170),
    ("Frankfurt-Nordwest", "60439", "Frankfurt am Main", 50.1580, 8.6380),
    ("Stuttgart-Mitte", "70173", "Stuttgart", 48.7760, 9.1770),
    ("Düsseldorf-Bilk", "40223", "Düsseldorf", 51.2050, 6.7700),
    ("Leipzig-Paunsdorf", "04329", "Leipzig", 51.3570, 12.4500),
    ("Dresden-Nickern", "01239", "Dresden", 51.0050, 13.7980),
    ("Hannover-Vahrenheide", "30179", "Hannover", 52.4110, 9.7460),
    ("Nürnberg-Schoppershof", "90489", "Nürnberg", 49.4600, 11.1000),
    ("Bremen-Weserpark", "28307", "Bremen", 53.0520, 8.9850),
    ("Essen-Limbecker Platz", "45127", "Essen", 51.4580, 7.0050),
    ("Dortmund-Oespel", "44149", "Dortmund", 51.4960, 7.3880),
    ("Münster-Hafen", "48155", "Münster", 51.9510, 7.6420),
    ("Freiburg-Haid", "79111", "Freiburg im Breisgau", 47.9850, 7.8030),
    ("Mannheim-Sandhofen", "68307", "Mannheim", 49.5490, 8.4630),
)

MARKETS: tuple[Market, ...] = tuple(
    Market(f"DE{301 + n}", f"{SHOP_NAME} {name}", postcode, city, lat, lon)
    for n, (name, postcode, city, lat, lon) in enumerate(_MARKETS)
)


@dataclass(frozen=True)
class MarketStock:
    market: Market
    quantity: int

    @property
    def light(self) -> str:
        """The shop's traffic light: gruen, gelb, rot."""
        return "rot" if self.quantity == 0 else "gelb" if self.quantity <= 2 else "gruen"


def market_stock(item: Article, day: int) -> list[MarketStock]:
    """Each market's stock on one day, with exactly ``round(share * markets)`` empty markets."""
    share = state_on(item, day).store_zero_share
    draws = [zlib.crc32(f"{item.number}:{m.market_id}:{day}".encode()) for m in MARKETS]
    empty = set(sorted(range(len(MARKETS)), key=draws.__getitem__)[: round(share * len(MARKETS))])
    return [MarketStock(m, 0 if i in empty else 1 + (draws[i] >> 8) % 9) for i, m in enumerate(MARKETS)]
