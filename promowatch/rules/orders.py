"""``delivery_overdue``: a consumer's own order past the last day its delivery promise allowed.

Pure: the order as the consumer recorded it, its statuses, the promotion and the store intervals of the product
in; a verdict out. The order's own dates are the facts, so there is no persistence to wait for: the finding opens
the moment the order is ``overdue_days`` past its promise and closes when a status says it was delivered or
cancelled. Its sentence states what was measured over the same days ("ordered and paid on 07.11.2026; still
'in processing' on 14.11.2026; the advertisement ran on 8 of those 8 days; 9 of 10 stores empty"), never a verdict.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, Literal, Protocol

from promowatch.domain import money_str
from promowatch.rules.model import Episode, PromotionFacts, Status, StoreInterval, Verdict
from promowatch.rules.stores import Crawl, store_samples
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import is_running

RULE = "delivery_overdue"
Outcome = Literal["delivered", "cancelled"]
OUTCOMES: tuple[Outcome, ...] = ("delivered", "cancelled")
ORDER_LANGUAGES = ("en", "fr", "de", "it")


class Promise(Protocol):
    """What :func:`promowatch.extract.delivery.parse_delivery` returns, as far as this rule reads it."""

    @property
    def kind(self) -> str: ...  # "days", "date" or "none"
    @property
    def max_days(self) -> int | None: ...
    @property
    def working_days(self) -> bool: ...
    @property
    def earliest(self) -> date | None: ...
    @property
    def latest(self) -> date | None: ...


@dataclass(frozen=True, slots=True)
class OrderFacts:
    """A consumer's order as the rule reads it."""

    id: int
    slug: str
    ordered_at: datetime
    paid_at: datetime | None  # None: paid when ordered
    price_paid: Decimal
    currency: str
    reference: str
    promise_text: str | None
    promise_basis: str  # "entered", "observation" (the offer seen just before ordering) or "none"
    promised_by: date | None  # the last day the promise allows; None: no usable promise


@dataclass(frozen=True, slots=True)
class StatusPoint:
    """One status the consumer recorded; ``outcome`` when they marked it delivered or cancelled."""

    id: int
    at: datetime
    text: str
    outcome: Outcome | None = None


# ---------------------------------------------------------------- promise


def add_working_days(start: date, days: int) -> date:
    """``days`` working days after ``start``, Monday to Friday.

    Saturdays are not counted even where law calls them working days (Werktage): the later date is the one no
    shop can dispute, and a finding must not accuse on the stricter reading.

    >>> add_working_days(date(2026, 11, 6), 1)  # a Friday: the next working day is Monday
    datetime.date(2026, 11, 9)
    """
    current, left = start, days
    while left > 0:
        current += timedelta(days=1)
        if current.weekday() < 5:
            left -= 1
    return current


def promised_by(promise: Promise | None, counted_from: datetime) -> date | None:
    """The last day a delivery promise allows for an order placed (and paid) at ``counted_from``.

    A range of days counts from the day after the order; a date is its latest (or only) date; "delivery date
    unknown" and no promise give None.
    """
    if promise is None:
        return None
    if promise.kind == "date":
        return promise.latest or promise.earliest
    if promise.kind == "days" and promise.max_days is not None:
        start = counted_from.astimezone(UTC).date()
        if promise.working_days:
            return add_working_days(start, promise.max_days)
        return start + timedelta(days=promise.max_days)
    return None


def overdue_at(order: OrderFacts, thresholds: Thresholds) -> datetime | None:
    """When the order becomes overdue: the end of its promised day plus the threshold."""
    if order.promised_by is None:
        return None
    return (
        datetime.combine(order.promised_by + timedelta(days=1), time.min, tzinfo=UTC)
        + thresholds.overdue_after
    )


# ---------------------------------------------------------------- statuses

# A status closes the order when it says delivered or cancelled, in the bundled languages. A negation or a
# future tense just before the word ("not delivered", "sera livré", "noch nicht zugestellt", "verrà
# consegnato") and a partial delivery keep it open: only a plain past statement ends the wait. "Received" is
# left out: shops write "order received" when they have only taken the order.
_OUTCOME_WORDS: dict[Outcome, re.Pattern[str]] = {
    "delivered": re.compile(
        r"\b(?:delivered|livr[ée]e?s?|geliefert|zugestellt|ausgeliefert|consegnat[oaie])\b",
        re.IGNORECASE,
    ),
    "cancelled": re.compile(
        r"\b(?:cancell?ed|refunded|annul[ée]e?s?|rembours[ée]e?s?|storniert|annulliert|erstattet"
        r"|annullat[oaie]|cancellat[oaie]|stornat[oaie]|rimborsat[oaie])\b",
        re.IGNORECASE,
    ),
}
_NOT_DONE = re.compile(
    r"\b(?:not|never|yet|to\s+be|will|be|being|partially|partly|pas|jamais|sera|seront|être|partiellement"
    r"|nicht|noch|kein|keine|wird|werden|teilweise|non|mai|sarà|saranno|verrà|verranno|essere"
    r"|parzialmente)\b[\s\w']{0,12}$",
    re.IGNORECASE,
)


def status_outcome(text: str) -> Outcome | None:
    """``delivered`` or ``cancelled`` when a status text says so plainly, else None (still waiting).

    >>> status_outcome("Livrée le 14.11")
    'delivered'
    >>> status_outcome("noch nicht zugestellt") is None
    True
    """
    found: tuple[int, Outcome] | None = None
    for outcome, pattern in _OUTCOME_WORDS.items():
        for match in pattern.finditer(text):
            if _NOT_DONE.search(text[: match.start()]):
                continue
            if found is None or match.start() < found[0]:
                found = (match.start(), outcome)
            break
    return found[1] if found else None


def outcome_of(status: StatusPoint) -> Outcome | None:
    """The status's outcome: as the consumer marked it, else as its text says."""
    return status.outcome or status_outcome(status.text)


# ---------------------------------------------------------------- sentences

_DATE = {"en": "%Y-%m-%d"}  # ISO for English readers; the others write 14.11.2026
# kept here until the dossier's gettext catalogues take them (promowatch/report/locale)
_PARTS: dict[str, dict[str, str]] = {
    "en": {
        "ordered_paid": "ordered and paid on {ordered}",
        "ordered": "ordered on {ordered}",
        "ordered_then_paid": "ordered on {ordered}, paid on {paid}",
        "promised": "delivery promised by {promised}",
        "no_promise": "no delivery promise recorded",
        "still": "still '{status}' on {day}",
        "no_status": "no delivery recorded by {day}",
        "closed": "'{status}' on {closed}",
        "ads": "the advertisement ran on {ad_days} of those {days} days",
        "stores": "{zero} of {known} stores empty",
    },
    "fr": {
        "ordered_paid": "commandé et payé le {ordered}",
        "ordered": "commandé le {ordered}",
        "ordered_then_paid": "commandé le {ordered}, payé le {paid}",
        "promised": "livraison promise au plus tard le {promised}",
        "no_promise": "aucune promesse de livraison enregistrée",
        "still": "toujours « {status} » le {day}",
        "no_status": "aucune livraison enregistrée au {day}",
        "closed": "« {status} » le {closed}",
        "ads": "la publicité a paru {ad_days} de ces {days} jours",
        "stores": "{zero} magasins sur {known} sans stock",
    },
    "de": {
        "ordered_paid": "bestellt und bezahlt am {ordered}",
        "ordered": "bestellt am {ordered}",
        "ordered_then_paid": "bestellt am {ordered}, bezahlt am {paid}",
        "promised": "Lieferung zugesagt bis {promised}",
        "no_promise": "keine Lieferzusage erfasst",
        "still": "am {day} noch «{status}»",
        "no_status": "bis {day} keine Lieferung erfasst",
        "closed": "«{status}» am {closed}",
        "ads": "die Werbung lief an {ad_days} dieser {days} Tage",
        "stores": "{zero} von {known} Filialen ohne Bestand",
    },
    "it": {
        "ordered_paid": "ordinato e pagato il {ordered}",
        "ordered": "ordinato il {ordered}",
        "ordered_then_paid": "ordinato il {ordered}, pagato il {paid}",
        "promised": "consegna promessa entro il {promised}",
        "no_promise": "nessuna promessa di consegna registrata",
        "still": "ancora «{status}» il {day}",
        "no_status": "nessuna consegna registrata al {day}",
        "closed": "«{status}» il {closed}",
        "ads": "la pubblicità è apparsa in {ad_days} di questi {days} giorni",
        "stores": "{zero} filiali su {known} senza scorte",
    },
}


def _day(value: date | datetime, language: str) -> str:
    if isinstance(value, datetime):
        value = value.astimezone(UTC).date()
    return value.strftime(_DATE.get(language, "%d.%m.%Y"))


def order_statement(figures: dict[str, Any], language: str) -> str:
    """The neutral sentence of an overdue order in ``language`` (en, fr, de, it; English otherwise)."""
    parts = _PARTS.get(language, _PARTS["en"])
    lang = language if language in _PARTS else "en"
    ordered = date.fromisoformat(figures["ordered_on"])
    paid = date.fromisoformat(figures["paid_on"]) if figures.get("paid_on") else None
    day = date.fromisoformat(figures["overdue_on"])
    if paid == ordered:
        words = [parts["ordered_paid"].format(ordered=_day(ordered, lang))]
    elif paid is not None:
        words = [parts["ordered_then_paid"].format(ordered=_day(ordered, lang), paid=_day(paid, lang))]
    else:
        words = [parts["ordered"].format(ordered=_day(ordered, lang))]
    if figures.get("promised_by"):
        words.append(
            parts["promised"].format(promised=_day(date.fromisoformat(figures["promised_by"]), lang))
        )
    status = figures.get("status_on_overdue")
    if status:
        words.append(parts["still"].format(status=status, day=_day(day, lang)))
    else:
        words.append(parts["no_status"].format(day=_day(day, lang)))
    if figures.get("advertised_days") is not None:
        words.append(parts["ads"].format(ad_days=figures["advertised_days"], days=figures["days"]))
    if figures.get("stores_known"):
        words.append(parts["stores"].format(zero=figures["stores_zero"], known=figures["stores_known"]))
    if figures.get("closed_status") and figures.get("closed_on"):
        closed = _day(date.fromisoformat(figures["closed_on"]), lang)
        words.append(parts["closed"].format(status=figures["closed_status"], closed=closed))
    return "; ".join(words)


# ---------------------------------------------------------------- the rule


def _advertised_days(promotion: PromotionFacts, first: date, last: date, thresholds: Thresholds) -> int:
    """Days from ``first`` to ``last`` on which the promotion ran at some moment (its start or its end)."""
    count = 0
    day = first
    while day <= last:
        start = datetime.combine(day, time.min, tzinfo=UTC)
        end = datetime.combine(day, time.max, tzinfo=UTC)
        if any(
            is_running(promotion, moment, thresholds) for moment in (start, start + timedelta(hours=12), end)
        ):
            count += 1
        day += timedelta(days=1)
    return count


def delivery_overdue(
    order: OrderFacts,
    statuses: Sequence[StatusPoint],
    promotion: PromotionFacts | None,
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    crawls: Sequence[Crawl] | None = None,
) -> Verdict:
    """Whether ``order`` is past its promise by ``thresholds.overdue_after`` at ``now``, with the promotion's
    days and the stores' empty share over the days from the order to the moment it became overdue."""
    statuses = sorted((s for s in statuses if s.at <= now), key=lambda s: (s.at, s.id))
    final = next((s for s in statuses if outcome_of(s) is not None), None)
    due = overdue_at(order, thresholds)
    counted_from = max(order.ordered_at, order.paid_at or order.ordered_at)
    inputs: dict[str, Any] = {
        "order": order.slug,
        "order_id": order.id,
        "reference": order.reference,
        "ordered_at": order.ordered_at.isoformat(),
        "paid_at": order.paid_at.isoformat() if order.paid_at else None,
        "price_paid": money_str(order.price_paid),
        "currency": order.currency,
        "promise": order.promise_text,
        "promise_basis": order.promise_basis,
        "promised_by": order.promised_by.isoformat() if order.promised_by else None,
        "counted_from": counted_from.isoformat(),
        "overdue_at": due.isoformat() if due else None,
        "statuses": [{"at": s.at.isoformat(), "text": s.text, "outcome": outcome_of(s)} for s in statuses],
        "thresholds": thresholds.to_json(),
    }
    if due is None:
        return Verdict(RULE, "insufficient_history", "no usable delivery promise for this order", inputs)
    if now < due or (final is not None and final.at < due):
        return Verdict(RULE, "clear", "the order is not overdue", inputs)
    before = [s for s in statuses if s.at <= due]
    waiting = before[-1].text if before else None
    first_day, last_day = order.ordered_at.astimezone(UTC).date(), (due - timedelta(microseconds=1)).date()
    figures: dict[str, Any] = {
        "ordered_on": first_day.isoformat(),
        # no payment time given: paid when ordered, as the watchlist and `order add` document it
        "paid_on": (order.paid_at or order.ordered_at).astimezone(UTC).date().isoformat(),
        "promised_by": inputs["promised_by"],
        "overdue_on": due.date().isoformat(),
        "status_on_overdue": waiting,
        "days": (last_day - first_day).days + 1,
        "advertised_days": (
            _advertised_days(promotion, first_day, last_day, thresholds) if promotion is not None else None
        ),
        "stores_zero": None,
        "stores_known": None,
    }
    samples = [
        s
        for s in store_samples(intervals, scope, thresholds, due, crawls)
        if s.at >= order.ordered_at and s.known >= thresholds.min_stores
    ]
    store_ids: tuple[int, ...] = ()
    if samples:
        latest = samples[-1]
        figures["stores_zero"], figures["stores_known"] = latest.zero, latest.known
        store_ids = latest.store_ids
    if final is not None:
        figures["closed_status"] = final.text
        figures["closed_on"] = final.at.astimezone(UTC).date().isoformat()
    statements = {language: order_statement(figures, language) for language in ORDER_LANGUAGES}
    inputs |= {"figures": figures, "statements": statements}
    episode = Episode(
        opened_at=due,
        confirmed_at=due,
        closed_at=final.at if final is not None else None,
        store_ids=store_ids,
        facts=figures,
        summary=statements["en"],
    )
    status: Status = "clear" if final is not None else "fires"
    return Verdict(RULE, status, statements["en"], inputs, (episode,), store_ids=store_ids)
