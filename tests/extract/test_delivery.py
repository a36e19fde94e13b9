"""Delivery lines of real shops read into promises (promowatch.extract.delivery).

Sources: ``corpus:<id>`` is the page ``../shared/corpus/pages/<id>.html.gz`` (labels.tsv names the shop; the
fp-* pages were saved in July 2017, the peb-* pages about 2 December 2020, so each row is read as seen on a day
of its snapshot). ``issue 25`` marks the wordings quoted in the issue, ``brief`` the examples its task lists,
``demo`` the demo shop's own line, and ``form`` a common wording written for the test where no saved page has
it (the comment says where it is common when known).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from promowatch.extract.delivery import DeliveryPromise, parse_delivery

FP_SEEN = datetime(2017, 7, 21, 15, tzinfo=UTC)  # a Friday in the fp-* snapshot's week
PEB_SEEN = datetime(2020, 12, 2, 10, tzinfo=UTC)  # a Wednesday, the peb-* snapshot
NOV = datetime(2026, 11, 9, 9, tzinfo=UTC)  # a Monday


def _days(low: int, high: int, working: bool, earliest: date, latest: date) -> tuple[object, ...]:
    return ("days", low, high, working, earliest, latest)


def _date(earliest: date, latest: date | None = None) -> tuple[object, ...]:
    return ("date", None, None, False, earliest, latest or earliest)


NONE = ("none", None, None, False, None, None)

ROWS = [
    # --- German
    pytest.param(
        "lieferbar - in 3-5 Werktagen bei dir",
        PEB_SEEN,
        _days(3, 5, True, date(2020, 12, 7), date(2020, 12, 9)),
        id="de-otto-3-5-werktage-over-weekend",  # corpus:peb-040c3ea5ea (otto.de)
    ),
    pytest.param(
        "Liefertermin Mo., 07.12.2020 - Di., 08.12.2020",
        PEB_SEEN,
        _date(date(2020, 12, 7), date(2020, 12, 8)),
        id="de-date-range-with-years",  # corpus:peb-f45a21d268
    ),
    pytest.param(
        "Lieferung: Montag, 7. Dez. Schnellste Lieferung: Freitag, 4. Dez. Bestellung innerhalb 5 Std. 3 Min.",
        PEB_SEEN,
        _date(date(2020, 12, 4), date(2020, 12, 7)),
        id="de-amazon-two-dates-and-countdown",  # corpus:peb-95f9586d43 (amazon.de)
    ),
    pytest.param(
        "Lieferung am Freitag möglich.",
        PEB_SEEN,
        _date(date(2020, 12, 4)),
        id="de-weekday-alone-next-friday",  # corpus:peb-040c3ea5ea (otto.de)
    ),
    pytest.param(
        "Lieferzeit 2–3 Werktage",
        NOV,
        _days(2, 3, True, date(2026, 11, 11), date(2026, 11, 12)),
        id="de-lieferzeit-en-dash",  # issue 25
    ),
    pytest.param(
        "Lieferung bis Mi, 14.11.", NOV, _date(date(2026, 11, 14)), id="de-bis-date-no-year"
    ),  # brief
    pytest.param(
        "1-2 Wochen",
        NOV,
        _days(7, 14, False, date(2026, 11, 16), date(2026, 11, 23)),
        id="de-weeks",  # form
    ),
    pytest.param(
        "Heute bestellt, morgen geliefert",
        NOV,
        _date(date(2026, 11, 10)),
        id="de-morgen-not-heute",  # common on German shops (e.g. Amazon.de, Otto); no corpus page
    ),
    pytest.param(
        "Versand in ein bis zwei Werktagen",
        NOV,
        _days(1, 2, True, date(2026, 11, 10), date(2026, 11, 11)),
        id="de-number-words",  # form
    ),
    pytest.param("Liefertermin unbekannt", NOV, NONE, id="de-liefertermin-unbekannt"),  # brief
    pytest.param("Lieferzeit: noch nicht bekannt", NOV, NONE, id="de-lieferzeit-noch-nicht-bekannt"),  # form
    # --- French
    pytest.param(
        "Livré chez vous dès le 04/12/2020",
        PEB_SEEN,
        _date(date(2020, 12, 4)),
        id="fr-livre-des-le-date",  # corpus:peb-2a84a964ab
    ),
    pytest.param(
        "Livraison gratuite en magasin sous 1 ou 2 jours ouvrés *",
        PEB_SEEN,
        _days(1, 2, True, date(2020, 12, 3), date(2020, 12, 4)),
        id="fr-1-ou-2-jours-ouvres",  # corpus:peb-6299847d2a
    ),
    pytest.param(
        "Dès demain en magasin si vous commandez avant 20h00 !",
        PEB_SEEN,
        _date(date(2020, 12, 3)),
        id="fr-demain-clock-time-is-no-duration",  # corpus:peb-6299847d2a
    ),
    pytest.param(
        "Tout produit en stock est expédié sous 24h, hors week-ends et jours fériés.",
        PEB_SEEN,
        _days(1, 1, False, date(2020, 12, 3), date(2020, 12, 3)),
        id="fr-sous-24h",  # corpus:peb-2a84a964ab
    ),
    pytest.param("livré d'ici le 14.11", NOV, _date(date(2026, 11, 14)), id="fr-d-ici-le"),  # issue 25
    pytest.param(
        "expédié sous 5 jours",
        NOV,
        _days(5, 5, False, date(2026, 11, 14), date(2026, 11, 14)),
        id="fr-sous-5-jours-calendar",  # issue 25
    ),
    pytest.param(
        "3 à 5 jours ouvrés",
        NOV,
        _days(3, 5, True, date(2026, 11, 12), date(2026, 11, 16)),
        id="fr-a-range-working",  # brief
    ),
    pytest.param(
        "du 14 au 16 novembre",
        NOV,
        _date(date(2026, 11, 14), date(2026, 11, 16)),
        id="fr-du-au-month",  # form
    ),
    pytest.param("délai de livraison inconnu", NOV, NONE, id="fr-delai-inconnu"),  # brief
    pytest.param(
        "Livraison en 1 à 2 jours ouvrables",
        NOV,
        _days(1, 2, True, date(2026, 11, 10), date(2026, 11, 11)),
        id="fr-demo-shop-line",  # demo: promowatch/demo/catalogue.py DELIVERY_TEXT
    ),
    # --- Italian
    pytest.param(
        "Consegna più veloce: mercoledì, 9 dic Ordina entro 20 ore e 53 min",
        PEB_SEEN,
        _date(date(2020, 12, 9)),
        id="it-amazon-date-and-countdown",  # corpus:peb-e9879f3b5b (amazon.it)
    ),
    pytest.param(
        "Consegna più veloce: martedì, 8 dic",
        PEB_SEEN,
        _date(date(2020, 12, 8)),
        id="it-amazon-martedi-8-dic",  # corpus:peb-871a0c6c91 (amazon.it)
    ),
    pytest.param(
        "consegna prevista il 14/11", NOV, _date(date(2026, 11, 14)), id="it-prevista-slash"
    ),  # brief
    pytest.param(
        "spedizione in 24/48 ore",
        NOV,
        _days(1, 2, False, date(2026, 11, 10), date(2026, 11, 11)),
        id="it-24-48-ore",  # common on Italian shops (e.g. ePrice, Unieuro); no corpus page
    ),
    pytest.param(
        "consegna in 2-4 giorni lavorativi",
        NOV,
        _days(2, 4, True, date(2026, 11, 11), date(2026, 11, 13)),
        id="it-giorni-lavorativi",  # form
    ),
    pytest.param("Consegna prevista domani", NOV, _date(date(2026, 11, 10)), id="it-domani"),  # form
    pytest.param("data di consegna non disponibile", NOV, NONE, id="it-data-non-disponibile"),  # form
    # --- English
    pytest.param(
        "usually ships in 24 hours",
        FP_SEEN,
        _days(1, 1, False, date(2017, 7, 22), date(2017, 7, 22)),
        id="en-allposters-24-hours",  # corpus:fp-test-allposters
    ),
    pytest.param(
        "ships within 1 business day",
        FP_SEEN,
        _days(1, 1, True, date(2017, 7, 24), date(2017, 7, 24)),
        id="en-chessstore-business-day-friday-to-monday",  # corpus:fp-test-chessstore
    ),
    pytest.param(
        "ships in 1 to 2 days",
        FP_SEEN,
        _days(1, 2, False, date(2017, 7, 22), date(2017, 7, 23)),
        id="en-lampsplus-1-to-2-days",  # corpus:fp-test-lampsplus
    ),
    pytest.param(
        "arrives by friday, aug 4", FP_SEEN, _date(date(2017, 8, 4)), id="en-walmart"
    ),  # fp-test-walmart
    pytest.param("get it by aug. 4th", FP_SEEN, _date(date(2017, 8, 4)), id="en-zappos"),  # fp-test-zappos
    pytest.param(
        "Get it by Tuesday, July 25",
        FP_SEEN,
        _date(date(2017, 7, 25)),
        id="en-barnes-noble-weekday-and-date",  # corpus:fp-train-barnes-noble
    ),
    pytest.param(
        "Shipping: FREE Get it by Fri, Aug 4 for 94035 Change Order within 2h 6m Store Pickup",
        FP_SEEN,
        _date(date(2017, 8, 4)),
        id="en-bestbuy-postcode-and-countdown",  # corpus:fp-test-bestbuy
    ),
    pytest.param(
        "Estimated Delivery by Standard Shipping: Between August 08 - August 14",
        FP_SEEN,
        _date(date(2017, 8, 8), date(2017, 8, 14)),
        id="en-anntaylor-between-two-dates",  # corpus:fp-test-anntaylor
    ),
    pytest.param(
        "Estimated delivery time: Aug 2 and 25, ships out within 5 business days",
        FP_SEEN,
        _date(date(2017, 8, 2), date(2017, 8, 25)),
        id="en-dhgate-aug-2-and-25",  # corpus:fp-train-dhgate
    ),
    pytest.param(
        "Product arrives in 3-7 business days",
        FP_SEEN,
        _days(3, 7, True, date(2017, 7, 26), date(2017, 8, 1)),
        id="en-cvs-3-7-business-days",  # corpus:fp-test-cvs
    ),
    pytest.param(
        "Ships in 2-3 weeks",
        FP_SEEN,
        _days(14, 21, False, date(2017, 8, 4), date(2017, 8, 11)),
        id="en-wayfair-weeks",  # corpus:fp-test-wayfair (ships_by_text)
    ),
    pytest.param(
        "In Stock. Usually ships same business day.",
        FP_SEEN,
        _days(0, 0, False, date(2017, 7, 21), date(2017, 7, 21)),
        id="en-tigerdirect-same-day",  # corpus:fp-test-tiger-direct
    ),
    pytest.param(
        "ships today", FP_SEEN, _date(date(2017, 7, 21)), id="en-crutchfield-ships-today"
    ),  # corpus:fp-train-crutchfield
    pytest.param(
        "Most Orders Ship Next Business Day",
        FP_SEEN,
        _days(1, 1, True, date(2017, 7, 24), date(2017, 7, 24)),
        id="en-finfun-next-business-day",  # corpus:fp-test-finfun
    ),
    pytest.param(
        "This item ships within one business day.",
        FP_SEEN,
        _days(1, 1, True, date(2017, 7, 24), date(2017, 7, 24)),
        id="en-stanford-one-business-day",  # corpus:fp-test-stanford-athletics
    ),
    pytest.param(
        "This will be delivered tomorrow.",
        PEB_SEEN,
        _date(date(2020, 12, 3)),
        id="en-bestbuy-ca-tomorrow",  # corpus:peb-2c42fb6035 (bestbuy.ca message table)
    ),
    pytest.param("arrives by Tuesday, Nov 14", NOV, _date(date(2026, 11, 14)), id="en-month-day"),  # brief
    pytest.param("delivery date unknown", NOV, NONE, id="en-delivery-date-unknown"),  # issue 25
    # --- other bundled languages
    pytest.param(
        "Entrega até 7 dias úteis para envio ao domicílio",
        PEB_SEEN,
        _days(7, 7, True, date(2020, 12, 11), date(2020, 12, 11)),
        id="pt-ate-7-dias-uteis",  # corpus:peb-c3db24da63
    ),
    pytest.param(
        "Rok dobave: 7−10 delovnih dni",
        PEB_SEEN,
        _days(7, 10, True, date(2020, 12, 11), date(2020, 12, 16)),
        id="sl-delovnih-dni",  # corpus:peb-16962698dd
    ),
    pytest.param(
        "Na objednanie do 4 prac. dní",
        PEB_SEEN,
        _days(4, 4, True, date(2020, 12, 8), date(2020, 12, 8)),
        id="sk-prac-dni",  # corpus:peb-bc5a68d0c2
    ),
    pytest.param(
        "5-8 arkipäivässä Normaali toimitus",
        PEB_SEEN,
        _days(5, 8, True, date(2020, 12, 9), date(2020, 12, 14)),
        id="fi-zalando-arkipaivassa",  # corpus:peb-6f905464d4 (zalando.fi)
    ),
    pytest.param(
        "Szacowany czas wysyłki: 17 dni roboczych od chwili potwierdzenia zamówienia",
        PEB_SEEN,
        _days(17, 17, True, date(2020, 12, 25), date(2020, 12, 25)),
        id="pl-dni-roboczych",  # corpus:peb-7a838a167a
    ),
    pytest.param(
        "Entrega en 3-5 días hábiles",
        NOV,
        _days(3, 5, True, date(2026, 11, 12), date(2026, 11, 16)),
        id="es-dias-habiles",  # form
    ),
    pytest.param(
        "Levertijd: 1-2 werkdagen",
        NOV,
        _days(1, 2, True, date(2026, 11, 10), date(2026, 11, 11)),
        id="nl-werkdagen",  # form
    ),
    pytest.param("Levertijd onbekend", NOV, NONE, id="nl-levertijd-onbekend"),  # form
]


@pytest.mark.parametrize(("text", "seen_at", "expected"), ROWS)
def test_delivery_lines_of_real_shops(text: str, seen_at: datetime, expected: tuple[object, ...]) -> None:
    promise = parse_delivery(text, seen_at)
    assert promise is not None
    assert (
        promise.kind,
        promise.min_days,
        promise.max_days,
        promise.working_days,
        promise.earliest,
        promise.latest,
    ) == expected
    assert promise.text == text  # the original wording stays the evidence


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("free shipping on orders $35 and up", id="en-bestbuy-free-shipping"),  # fp-test-bestbuy
        pytest.param("free shipping today!", id="en-tigerdirect-free-shipping-today"),  # fp-test-tiger-direct
        pytest.param("Order today", id="en-order-today"),  # form
        pytest.param("free shipping and 30-day trials, only with nikeplus. learn more.", id="en-nike-trial"),
        pytest.param(
            "Se vuoi restituire un prodotto entro 30 giorni", id="it-return-window"
        ),  # peb-14dc707ee1
        pytest.param(
            "Livraison à domicile gratuite dès 50,00€", id="fr-free-delivery-threshold"
        ),  # peb-6299847d2a
        pytest.param("CHF 7.95 Lieferung", id="de-price-is-no-date"),  # peb-15944e4fe5 ("Lieferbar CHF 7.95")
        pytest.param("", id="empty"),
        pytest.param(None, id="no-line"),
    ],
)
def test_text_without_a_promise_is_none(text: str | None) -> None:
    assert parse_delivery(text, NOV) is None


@pytest.mark.parametrize(
    ("text", "seen_at", "expected"),
    [
        pytest.param(
            "livré d'ici le 14.11",
            datetime(2026, 12, 20, tzinfo=UTC),
            date(2027, 11, 14),
            id="past-date-is-next-year",
        ),
        pytest.param(
            "livré d'ici le 05.01",
            datetime(2026, 12, 20, tzinfo=UTC),
            date(2027, 1, 5),
            id="january-seen-in-december",
        ),
        pytest.param(
            "Lieferung bis 14.11.",
            datetime(2026, 11, 16, tzinfo=UTC),
            date(2026, 11, 14),
            id="two-days-late-stays-this-year",
        ),
    ],
)
def test_a_date_without_year_is_the_nearest_after_the_observation(
    text: str, seen_at: datetime, expected: date
) -> None:
    promise = parse_delivery(text, seen_at)
    assert promise is not None and promise.latest == expected


def test_days_count_from_the_local_date_of_the_observation() -> None:
    """23:30 UTC on a Friday is already Saturday in Zurich: 1 working day is Monday either way, 1 day is not."""
    seen = datetime(2026, 11, 13, 23, 30, tzinfo=UTC)
    zurich = timezone(timedelta(hours=1))
    assert parse_delivery("1 Tag", seen) == DeliveryPromise(
        "days", 1, 1, False, date(2026, 11, 14), date(2026, 11, 14), "1 Tag"
    )
    local = parse_delivery("1 Tag", seen, zurich)
    assert local is not None and local.latest == date(2026, 11, 15)
    working = parse_delivery("1 Werktag", seen, zurich)
    assert working is not None and working.latest == date(2026, 11, 16)


def test_promise_as_json() -> None:
    promise = parse_delivery("Lieferzeit 2–3 Werktage", NOV)
    assert promise is not None
    assert promise.to_json() == {
        "kind": "days",
        "min_days": 2,
        "max_days": 3,
        "working_days": True,
        "earliest": "2026-11-11",
        "latest": "2026-11-12",
    }
