"""What the demo must find, on which simulated day, and what it must never raise: one truth table per demo
retailer, and a pure scoring function that compares a demo's outcome with them.

Findings are keyed by (product, rule) with the day they open and the day they close (None: still open at the
end); consumer events by (product, kind, day) as the consumer's endpoint received them. Everything the tables do
not expect is counted against the score, and the named forbidden rows say which trap each guards.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from promowatch.demo.elektro import catalogue as elektro
from promowatch.demo.elektro.pages import CAPTCHA_TITLE
from promowatch.demo.scenarios import SCENARIOS


@dataclass(frozen=True)
class ExpectedFinding:
    letter: str
    rule: str
    opened: int  # simulated day the finding opens
    closed: int | None  # simulated day it closes; None: open at the end of the demo


@dataclass(frozen=True)
class ExpectedEvent:
    letter: str
    kind: str  # restock, stockout
    day: int


@dataclass(frozen=True)
class ForbiddenFinding:
    why: str
    letters: tuple[str, ...] = ()  # empty: any product
    rules: tuple[str, ...] = ()  # empty: any rule
    before_first_sighting: bool = False  # only findings that open before their promotion was first seen


@dataclass(frozen=True)
class ForbiddenEvent:
    why: str
    letters: tuple[str, ...]
    kinds: tuple[str, ...] = ("restock", "stockout")


@dataclass(frozen=True)
class RetailerTruth:
    slug: str
    language: str
    products: Mapping[str, tuple[str, str]]  # letter -> (path, title)
    first_sighting: Mapping[str, int]  # letter -> day its promotion is first advertised
    followed: tuple[str, ...]  # letters the consumer subscription follows
    findings: tuple[ExpectedFinding, ...]
    events: tuple[ExpectedEvent, ...]
    forbidden_findings: tuple[ForbiddenFinding, ...] = ()
    forbidden_events: tuple[ForbiddenEvent, ...] = ()

    def consumer_path(self) -> str:
        return f"/{self.slug}/consumer"

    def watchdog_path(self) -> str:
        return f"/{self.slug}/watchdog"


DEMO_SHOP = RetailerTruth(
    slug="demo-shop",
    language="fr",
    products={s.letter: (s.path, s.title) for s in SCENARIOS},
    first_sighting={"a": 3, "b": 0, "c": 10, "d": 0, "e": 0, "f": 0},
    followed=("b",),
    findings=(
        # not orderable on days 3-8; back online from day 9 (three orderable checks clear it on day 11)
        ExpectedFinding("a", "unorderable_online", 5, 11),
        # orderable from day 9 with stores empty, promising delivery three working days later each day: 10 days
        # later by the third check (day 11), holding on days 11-13
        ExpectedFinding("a", "delivery_slipping", 13, None),
        ExpectedFinding("a", "store_stockout", 5, None),
        ExpectedFinding("a", "reference_price_unsupported", 3, None),
        # the consumer's order of day 5 (demo/watchlist.py bait_order), promised by day 9, overdue 2 days later
        ExpectedFinding("a", "delivery_overdue", 12, None),
        ExpectedFinding("b", "unorderable_online", 4, 8),
        # sold out in 96 % of the stores on days 2-5 while the promotion is advertised: a sell-out
        ExpectedFinding("b", "store_sellout", 4, 8),
        ExpectedFinding("d", "price_mismatch", 2, None),
        ExpectedFinding("f", "unorderable_online", 2, None),
    ),
    events=(ExpectedEvent("b", "stockout", 2), ExpectedEvent("b", "restock", 6)),
    forbidden_findings=(
        ForbiddenFinding("honest promotion (c): nothing to find", letters=("c",)),
        ForbiddenFinding(
            "stock only a browser can read (e): unknown over HTTP is no finding", letters=("e",)
        ),
        ForbiddenFinding(
            "no finding opens before its promotion was first advertised", before_first_sighting=True
        ),
        ForbiddenFinding(
            "stores empty from the promotion's start (a) are one store_stockout, not also a sell-out",
            letters=("a",),
            rules=("store_sellout",),
        ),
    ),
)

ELEKTRO = RetailerTruth(
    slug=elektro.SLUG,
    language="de",
    products={a.letter: (a.path, a.title) for a in elektro.ARTICLES},
    first_sighting={
        a.letter: min(w.first_day for w in elektro.LISTINGS for c in a.cards if c.listing == w.name)
        for a in elektro.ARTICLES
        if a.cards
    },
    followed=("h", "l", "m"),
    findings=(
        # JSON-LD InStock under a visible "Zurzeit nicht lieferbar" and a disabled basket button from day 2
        ExpectedFinding("g", "unorderable_online", 4, None),
        ExpectedFinding("g", "store_stockout", 4, None),
        # sold out online and in every market on days 5-7 of its two-week promotion, back on day 8
        ExpectedFinding("h", "unorderable_online", 7, 10),
        ExpectedFinding("h", "store_sellout", 7, 10),
        ExpectedFinding("i", "price_mismatch", 11, None),
        # 699 € "statt" while 549 € was charged in the 30 days before the reduction (EU rule)
        ExpectedFinding("k", "reference_price_unsupported", 9, None),
    ),
    events=(ExpectedEvent("h", "stockout", 5), ExpectedEvent("h", "restock", 8)),
    forbidden_findings=(
        ForbiddenFinding(
            "no finding opens before its promotion was first advertised", before_first_sighting=True
        ),
        ForbiddenFinding("honest promotion (j): nothing to find", letters=("j",)),
        ForbiddenFinding(
            "a promotion advertised in two weekly listings is one promotion: its reference price was charged",
            letters=("g", "h"),
            rules=("reference_price_unsupported",),
        ),
        ForbiddenFinding(
            "markets empty from the promotion's start (g) are one store_stockout, not also a sell-out",
            letters=("g",),
            rules=("store_sellout",),
        ),
        ForbiddenFinding(
            "pre-order item (l): markets without it before release are no stockout", letters=("l",)
        ),
        ForbiddenFinding("store-only item (m) is not promoted and not sold out", letters=("m",)),
    ),
    forbidden_events=(
        ForbiddenEvent("store-only item (m): 'Nur im Markt erhältlich' is not sold out", ("m",)),
        ForbiddenEvent("pre-order item (l): neither sold out nor back", ("l",)),
    ),
)

TRUTHS: tuple[RetailerTruth, ...] = (DEMO_SHOP, ELEKTRO)


# ---------------------------------------------------------------- outcome and score


@dataclass(frozen=True)
class FoundFinding:
    retailer: str
    product_url: str
    rule: str
    opened: int
    closed: int | None


@dataclass(frozen=True)
class Received:
    """One notification as the demo's endpoint received it."""

    day: int | None
    path: str
    title: str
    body: str = ""


@dataclass(frozen=True)
class StoredProduct:
    retailer: str
    url: str
    canonical: bool  # False when it is recorded as an alias of another product


@dataclass
class ScoreRow:
    retailer: str
    check: str
    expected: str
    observed: str
    ok: bool


@dataclass
class Score:
    rows: list[ScoreRow] = field(default_factory=list)

    @property
    def perfect(self) -> bool:
        return all(r.ok for r in self.rows)

    def failed(self) -> list[ScoreRow]:
        return [r for r in self.rows if not r.ok]

    def summary(self) -> str:
        return f"{sum(r.ok for r in self.rows)}/{len(self.rows)} rows right"


def _day_text(day: int | None) -> str:
    return "open at the end" if day is None else f"day {day}"


def _letter_of(truth: RetailerTruth, url: str) -> str | None:
    path = re.sub(r"^https?://[^/]+", "", url).split("?")[0].split("#")[0]
    return next((letter for letter, (p, _) in truth.products.items() if p == path), None)


def _kind_patterns(language: str) -> list[tuple[str, re.Pattern[str]]]:
    """Title patterns of each message kind, from the notifier's own templates."""
    from notify.messages import TEMPLATES

    patterns = []
    for key, (title, _) in TEMPLATES.get(language, TEMPLATES["en"]).items():
        kind = {"_restock_stores": "restock", "_stockout_stores": "stockout"}.get(key, key)
        if kind.startswith("_") or not title:
            continue
        regex = re.sub(r"\\\{[a-z_]+\\\}", ".+", re.escape(title))
        patterns.append((kind, re.compile(regex + r"$", re.DOTALL)))
    return patterns


def classify(message: Received, language: str) -> str:
    """The kind of a received notification (restock, stockout, finding_opened, ...) or "unrecognised"."""
    for kind, pattern in _kind_patterns(language):
        if pattern.match(message.title):
            return kind
    return "unrecognised"


def _mentions(truth: RetailerTruth, message: Received) -> list[str]:
    text = f"{message.title}\n{message.body}"
    return [letter for letter, (_, title) in truth.products.items() if title in text]


def _rule_of(message: Received, language: str) -> str | None:
    from notify.messages import RULE_LABELS

    for rule, label in RULE_LABELS.get(language, RULE_LABELS["en"]).items():
        if label in message.title:
            return rule
    return None


def score_retailer(
    truth: RetailerTruth,
    findings: Sequence[FoundFinding],
    received: Sequence[Received],
    products: Sequence[StoredProduct],
) -> list[ScoreRow]:
    """Score one retailer's findings, notifications and products against its truth table (pure)."""
    rows: list[ScoreRow] = []
    slug = truth.slug

    def row(check: str, expected: str, observed: str, ok: bool) -> None:
        rows.append(ScoreRow(slug, check, expected, observed, ok))

    mine = [f for f in findings if f.retailer == slug]
    keyed: dict[tuple[str | None, str], list[FoundFinding]] = {}
    for found in mine:
        keyed.setdefault((_letter_of(truth, found.product_url), found.rule), []).append(found)
    for want in truth.findings:
        got = keyed.get((want.letter, want.rule), [])
        expected = f"opens {_day_text(want.opened)}, closes {_day_text(want.closed)}"
        observed = (
            "; ".join(f"opens {_day_text(f.opened)}, closes {_day_text(f.closed)}" for f in got) or "none"
        )
        ok = len(got) == 1 and got[0].opened == want.opened and got[0].closed == want.closed
        row(f"({want.letter}) {want.rule}", expected, observed, ok)
    wanted = {(w.letter, w.rule) for w in truth.findings}
    for forbid in truth.forbidden_findings:
        hits = [
            f
            for f in mine
            if (not forbid.letters or _letter_of(truth, f.product_url) in forbid.letters)
            and (not forbid.rules or f.rule in forbid.rules)
            and (
                not forbid.before_first_sighting
                or f.opened < truth.first_sighting.get(_letter_of(truth, f.product_url) or "", 0)
            )
        ]
        row(forbid.why, "none", _findings_text(truth, hits) or "none", not hits)
    extra = [f for f in mine if (_letter_of(truth, f.product_url), f.rule) not in wanted]
    row("no other finding", "none", _findings_text(truth, extra) or "none", not extra)

    consumer = [m for m in received if m.path == truth.consumer_path()]
    seen: list[tuple[str, str, int | None]] = []
    unexplained: list[str] = []
    for message in consumer:
        kind = classify(message, truth.language)
        letters = _mentions(truth, message)
        if not letters:
            unexplained.append(f"day {message.day}: {message.title}")
        seen.extend((letter, kind, message.day) for letter in letters)
    for event in truth.events:
        days = [d for letter, kind, d in seen if letter == event.letter and kind == event.kind]
        row(
            f"({event.letter}) {event.kind} to the consumer",
            f"once, day {event.day}",
            ", ".join(f"day {d}" for d in days) or "none",
            days == [event.day],
        )
    for forbid_event in truth.forbidden_events:
        event_hits = [
            f"{k} day {d}"
            for letter, k, d in seen
            if letter in forbid_event.letters and k in forbid_event.kinds
        ]
        row(forbid_event.why, "none", ", ".join(event_hits) or "none", not event_hits)
    expected_events = {(e.letter, e.kind) for e in truth.events}
    extra_events = [f"({letter}) {k} day {d}" for letter, k, d in seen if (letter, k) not in expected_events]
    row(
        "no other consumer notification",
        "none",
        ", ".join(extra_events + unexplained) or "none",
        not extra_events and not unexplained,
    )

    watchdog = [m for m in received if m.path == truth.watchdog_path()]
    wrong = []
    for message in watchdog:
        kind = classify(message, truth.language)
        letters = _mentions(truth, message)
        rule = _rule_of(message, truth.language)
        match = [
            w
            for w in truth.findings
            if w.letter in letters
            and w.rule == rule
            and (
                (kind == "finding_opened" and message.day == w.opened)
                or (kind == "finding_closed" and message.day == w.closed)
            )
        ]
        if not match:
            wrong.append(f"day {message.day}: {message.title}")
    row(
        "every watchdog notification is an expected finding on its day",
        "all",
        "; ".join(wrong) or "all",
        not wrong,
    )

    blocked = [m for m in received if m.path.startswith(f"/{slug}/") and CAPTCHA_TITLE in m.title + m.body]
    row(
        "no notification names a block page",
        "none",
        "; ".join(m.title for m in blocked) or "none",
        not blocked,
    )
    tracked = [p.url for p in products if p.retailer == slug and p.canonical and "?" in p.url]
    row("no second product from a tracking parameter", "none", ", ".join(tracked) or "none", not tracked)
    return rows


def _findings_text(truth: RetailerTruth, found: Iterable[FoundFinding]) -> str:
    return "; ".join(
        f"({_letter_of(truth, f.product_url) or f.product_url}) {f.rule} opens day {f.opened}" for f in found
    )


def score(
    findings: Sequence[FoundFinding],
    received: Sequence[Received],
    products: Sequence[StoredProduct],
    truths: Sequence[RetailerTruth] = TRUTHS,
) -> Score:
    """Score a demo's outcome against every retailer's truth table (pure)."""
    result = Score()
    for truth in truths:
        result.rows.extend(score_retailer(truth, findings, received, products))
    return result


def load_outcome(db_url: str, start: datetime) -> tuple[list[FoundFinding], list[StoredProduct]]:
    """The findings (with their simulated days) and products a demo's database holds."""
    from sqlalchemy import select

    from promowatch.db.engine import open_database
    from promowatch.db.models import Finding, Product, Promotion, Retailer

    sessions = open_database(db_url)

    def day(moment: datetime | None) -> int | None:
        return None if moment is None else (moment.date() - start.date()).days

    with sessions() as session:
        rows = session.execute(
            select(Finding, Product.url, Retailer.slug)
            .join(Promotion, Finding.promotion_id == Promotion.id)
            .join(Product, Promotion.product_id == Product.id)
            .join(Retailer, Product.retailer_id == Retailer.id)
            .order_by(Finding.id)
        ).all()
        findings = [
            FoundFinding(slug, url, f.rule, (f.opened_at.date() - start.date()).days, day(f.closed_at))
            for f, url, slug in rows
        ]
        products = [
            StoredProduct(slug, p.url, p.canonical_id is None)
            for p, slug in session.execute(select(Product, Retailer.slug).join(Retailer)).all()
        ]
    return findings, products


def received_from(messages: Iterable[Mapping[str, Any]]) -> list[Received]:
    """The demo inbox's raw messages as :class:`Received` rows."""
    return [
        Received(
            m.get("day"),
            str(m.get("path", "")),
            str(m.get("title", "")),
            str(m.get("message", m.get("body", ""))),
        )
        for m in messages
    ]
