"""delivery_overdue over a consumer's order: the promise's last day, the threshold, the statuses that close it, and
the neutral sentence in the four languages. The story is issue 25's: a coffee machine advertised at 499.– instead
of 999.–, ordered and paid at once, still "in processing" weeks later while the advertisement ran."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from promowatch.rules import Thresholds
from promowatch.rules.orders import (
    OrderFacts,
    StatusPoint,
    delivery_overdue,
    order_statement,
    promised_by,
    status_outcome,
)
from tests.rules.factories import at, interval, promotion

DEFAULT = Thresholds()
# ordered and paid on Monday 23.11.2026 at 10:00 (T0 + 2 h); promised by Wednesday 25.11
ORDER = OrderFacts(
    id=1,
    slug="coffee-machine",
    ordered_at=at(2),
    paid_at=at(2),
    price_paid=Decimal("499.00"),
    currency="CHF",
    reference="DS-118734",
    promise_text="Lieferzeit 1–2 Werktage",
    promise_basis="entered",
    promised_by=date(2026, 11, 25),
)
# the end of 25.11 plus the default 2 days
DUE = datetime(2026, 11, 28, tzinfo=UTC)


@dataclass
class Promise:
    """What H1's parse_delivery returns, as far as the rule reads it."""

    kind: str
    max_days: int | None = None
    working_days: bool = False
    earliest: date | None = None
    latest: date | None = None


# Status texts as shops word them in order accounts and e-mails (Digitec Galaxus "Storniert", Fnac "Livrée",
# Amazon.it "Consegnato", Interdiscount "In Bearbeitung"); the negations and future forms are from the same
# shops' tracking pages ("noch nicht zugestellt", "sera livré le", "will be delivered").
@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        pytest.param("Delivered", "delivered", id="en-delivered"),
        pytest.param("Your order was cancelled", "cancelled", id="en-cancelled"),
        pytest.param("Order canceled and refunded", "cancelled", id="en-canceled-us-spelling"),
        pytest.param("Livrée le 14.11", "delivered", id="fr-livree"),
        pytest.param("Commande annulée", "cancelled", id="fr-annulee"),
        pytest.param("Zugestellt", "delivered", id="de-zugestellt"),
        pytest.param("Ihre Bestellung wurde storniert", "cancelled", id="de-storniert"),
        pytest.param("Consegnato", "delivered", id="it-consegnato"),
        pytest.param("Ordine annullato", "cancelled", id="it-annullato"),
        pytest.param("in processing", None, id="en-in-processing"),
        pytest.param("en cours de traitement", None, id="fr-en-cours"),
        pytest.param("In Bearbeitung", None, id="de-in-bearbeitung"),
        pytest.param("in lavorazione", None, id="it-in-lavorazione"),
        pytest.param("Order received", None, id="en-order-received-is-not-a-delivery"),
        pytest.param("Your order will be delivered on Friday", None, id="en-future"),
        pytest.param("not delivered yet", None, id="en-negated"),
        pytest.param("sera livré le 14.11", None, id="fr-future"),
        pytest.param("pas encore livré", None, id="fr-negated"),
        pytest.param("noch nicht zugestellt", None, id="de-negated"),
        pytest.param("wird geliefert", None, id="de-future"),
        pytest.param("non è stato consegnato", None, id="it-negated"),
        pytest.param("partially delivered", None, id="en-partial"),
        pytest.param("teilweise geliefert", None, id="de-partial"),
        pytest.param("Expédié", None, id="fr-shipped-is-not-delivered"),
    ],
)
def test_status_words_close_an_order_only_when_they_say_so_plainly(text: str, outcome: str | None) -> None:
    assert status_outcome(text) == outcome


@pytest.mark.parametrize(
    ("promise", "ordered", "last_day"),
    [
        pytest.param(
            Promise("days", 3, working_days=True),
            datetime(2026, 11, 6, 18, tzinfo=UTC),
            date(2026, 11, 11),
            id="3-working-days-from-a-friday-skip-the-weekend",
        ),
        pytest.param(
            Promise("days", 5),
            datetime(2026, 11, 6, 18, tzinfo=UTC),
            date(2026, 11, 11),
            id="5-calendar-days",
        ),
        pytest.param(
            Promise("date", earliest=date(2026, 11, 12), latest=date(2026, 11, 14)),
            datetime(2026, 11, 6, 18, tzinfo=UTC),
            date(2026, 11, 14),
            id="a-date-range-its-latest",
        ),
        pytest.param(
            Promise("date", earliest=date(2026, 11, 14)),
            datetime(2026, 11, 6, 18, tzinfo=UTC),
            date(2026, 11, 14),
            id="a-single-date",
        ),
        pytest.param(Promise("none"), datetime(2026, 11, 6, tzinfo=UTC), None, id="delivery-date-unknown"),
        pytest.param(None, datetime(2026, 11, 6, tzinfo=UTC), None, id="no-promise"),
    ],
)
def test_the_last_day_a_promise_allows(
    promise: Promise | None, ordered: datetime, last_day: date | None
) -> None:
    assert promised_by(promise, ordered) == last_day


@pytest.mark.parametrize(
    ("now", "overdue_days", "status", "opened"),
    [
        pytest.param(DUE - timedelta(minutes=1), 2, "clear", None, id="a-minute-before-the-threshold"),
        pytest.param(DUE, 2, "fires", DUE, id="at-the-threshold"),
        pytest.param(
            DUE + timedelta(days=20), 2, "fires", DUE, id="weeks-later-still-opened-at-the-threshold"
        ),
        pytest.param(
            DUE - timedelta(days=1),
            1,
            "fires",
            DUE - timedelta(days=1),
            id="a-one-day-threshold-fires-earlier",
        ),
    ],
)
def test_an_order_is_overdue_the_threshold_after_its_promised_day(
    now: datetime, overdue_days: int, status: str, opened: datetime | None
) -> None:
    thresholds = replace(DEFAULT, overdue_after=timedelta(days=overdue_days))
    statuses = [StatusPoint(1, at(3), "In Bearbeitung")]
    verdict = delivery_overdue(ORDER, statuses, promotion(), [], set(), thresholds, now)
    assert verdict.status == status
    assert [e.opened_at for e in verdict.episodes] == ([opened] if opened else [])


@pytest.mark.parametrize(
    ("status", "episodes", "closed_at"),
    [
        pytest.param(
            StatusPoint(2, DUE + timedelta(days=3), "Zugestellt"),
            1,
            DUE + timedelta(days=3),
            id="delivered-late",
        ),
        pytest.param(
            StatusPoint(2, DUE + timedelta(days=3), "Paket im Briefkasten", "delivered"),
            1,
            DUE + timedelta(days=3),
            id="marked-delivered-by-the-consumer",
        ),
        pytest.param(
            StatusPoint(2, DUE + timedelta(days=1), "Ordine annullato"),
            1,
            DUE + timedelta(days=1),
            id="cancelled-late",
        ),
        pytest.param(StatusPoint(2, DUE - timedelta(days=1), "Livrée"), 0, None, id="delivered-in-time"),
    ],
)
def test_a_delivered_or_cancelled_status_closes_the_finding(
    status: StatusPoint, episodes: int, closed_at: datetime | None
) -> None:
    now = DUE + timedelta(days=10)
    verdict = delivery_overdue(
        ORDER, [StatusPoint(1, at(3), "In Bearbeitung"), status], promotion(), [], set(), DEFAULT, now
    )
    assert verdict.status == "clear"
    assert len(verdict.episodes) == episodes
    if episodes:
        assert verdict.episodes[0].opened_at == DUE
        assert verdict.episodes[0].closed_at == closed_at


def test_without_a_usable_promise_nothing_is_claimed() -> None:
    order = replace(ORDER, promise_text="Lieferdatum unbekannt", promised_by=None)
    verdict = delivery_overdue(order, [], promotion(), [], set(), DEFAULT, DUE + timedelta(days=30))
    assert verdict.status == "insufficient_history"
    assert verdict.episodes == ()


def test_the_finding_states_the_promotion_days_and_the_empty_stores_over_the_same_days() -> None:
    # advertised from T0 for 7 days; 9 of 10 stores empty at the sweep of day 3 (T0 + 50 h), before it was due
    intervals = [interval(i, i, 50, 50, 1, "out_of_stock" if i <= 9 else "in_stock") for i in range(1, 11)]
    statuses = [StatusPoint(1, at(3), "In Bearbeitung")]
    verdict = delivery_overdue(
        ORDER, statuses, promotion(), intervals, set(range(1, 11)), DEFAULT, DUE + timedelta(days=1)
    )
    assert verdict.status == "fires"
    figures = verdict.inputs["figures"]
    # 23.11 to 27.11 (the day before it became overdue): 5 days, all advertised
    assert (figures["days"], figures["advertised_days"]) == (5, 5)
    assert (figures["stores_zero"], figures["stores_known"]) == (9, 10)
    assert verdict.episodes[0].store_ids == tuple(range(1, 11))
    assert verdict.inputs["statements"] == {
        "en": "ordered and paid on 2026-11-23; delivery promised by 2026-11-25; still 'In Bearbeitung' on "
        "2026-11-28; the advertisement ran on 5 of those 5 days; 9 of 10 stores empty",
        "fr": "commandé et payé le 23.11.2026; livraison promise au plus tard le 25.11.2026; toujours « In "
        "Bearbeitung » le 28.11.2026; la publicité a paru 5 de ces 5 jours; 9 magasins sur 10 sans stock",
        "de": "bestellt und bezahlt am 23.11.2026; Lieferung zugesagt bis 25.11.2026; am 28.11.2026 noch "
        "«In Bearbeitung»; die Werbung lief an 5 dieser 5 Tage; 9 von 10 Filialen ohne Bestand",
        "it": "ordinato e pagato il 23.11.2026; consegna promessa entro il 25.11.2026; ancora «In "
        "Bearbeitung» il 28.11.2026; la pubblicità è apparsa in 5 di questi 5 giorni; 9 filiali su 10 "
        "senza scorte",
    }
    assert verdict.summary == verdict.inputs["statements"]["en"]


def test_an_advertisement_that_ended_counts_only_its_days() -> None:
    # the promotion ran 23.11 to 24.11 23:00 (T0 + 39 h): 2 of the 5 days
    verdict = delivery_overdue(
        ORDER, [], promotion(valid_until=39), [], set(), DEFAULT, DUE + timedelta(days=1)
    )
    assert verdict.inputs["figures"]["advertised_days"] == 2
    assert "no delivery recorded by 2026-11-28" in verdict.summary


def test_a_later_payment_is_stated_apart() -> None:
    figures = {
        "ordered_on": "2026-11-23",
        "paid_on": "2026-11-24",
        "promised_by": None,
        "overdue_on": "2026-11-28",
        "status_on_overdue": "in processing",
        "days": 5,
        "advertised_days": None,
    }
    assert order_statement(figures, "en") == (
        "ordered on 2026-11-23, paid on 2026-11-24; still 'in processing' on 2026-11-28"
    )
