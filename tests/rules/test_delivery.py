"""delivery_slipping over daily offer checks. Defaults: the promised wait (days from the check to the latest
promised day) grows by ≥ 3 days over ≥ 3 checks (or a promise turns into none), orderable online, ≥ 50 % of the
stores in scope empty when the retailer has store data; then N=3 holding checks over 6 h. A promise whose date
moves on with the calendar ("2-3 working days" every day, "arrives by" today plus two) promises the same wait to
whoever orders that day: it is not a slip. Source: issue 25 ("the order that stays in processing")."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from promowatch.domain import Availability
from promowatch.rules import OfferPoint, StoreInterval, Thresholds, parse_thresholds
from promowatch.rules.delivery import delivery_slipping
from tests.rules.factories import at, interval, promotion

DEFAULT = Thresholds()
NOW = at(10 * 24)
STORES = {1, 2, 3, 4}
UNKNOWN = "délai de livraison inconnu"


def checks(*lines: str | None, orderable: tuple[bool | None, ...] = ()) -> list[OfferPoint]:
    """One check a day at 10:00 from T0's Monday; ``orderable`` per day (default True), None: unreadable page."""
    result = []
    for day, line in enumerate(lines):
        can = orderable[day] if day < len(orderable) else True
        result.append(
            OfferPoint(
                id=day + 1,
                observed_at=at(day * 24 + 2),
                availability=Availability.UNKNOWN if can is None else Availability.IN_STOCK,
                orderable=can,
                currency="CHF",
                delivery=line,
            )
        )
    return result


def by(*dates: str) -> tuple[str, ...]:
    """Demo-shop style date lines: "Livraison estimée le 01.12"."""
    return tuple(f"Livraison estimée le {d}" for d in dates)


def stores(empty: int, days: int = 10) -> list[StoreInterval]:
    """The four stores checked each day at 09:00 (an hour before the offer), ``empty`` of them with no stock."""
    return [
        interval(
            day * 10 + store,
            store,
            day * 24 + 1,
            day * 24 + 1,
            1,
            "out_of_stock" if store <= empty else "in_stock",
        )
        for day in range(days)
        for store in sorted(STORES)
    ]


CHECK = [at(day * 24 + 2) for day in range(10)]

ROWS = [
    # 01.12 -> 13.12 in five daily checks: 6 days later by the third check; holding on checks 3-5 opens on the 5th
    pytest.param(checks(*by("01.12", "04.12", "07.12", "10.12", "13.12")), [], "fires", CHECK[4],
                 id="dated-promise-slips-no-store-data"),
    pytest.param(checks(*by("01.12", "04.12", "07.12", "10.12", "13.12")), stores(4), "fires", CHECK[4],
                 id="dated-promise-slips-stores-empty"),
    pytest.param(checks(*by("01.12", "04.12", "07.12", "10.12", "13.12")), stores(1), "clear", None,
                 id="stores-have-stock-no-finding"),
    pytest.param(checks(*by("01.12", "04.12", "07.12", "10.12", "13.12"), orderable=(False,) * 5), [],
                 "clear", None, id="not-orderable-is-another-rule"),
    pytest.param(checks(*by("01.12", "01.12", "01.12", "01.12", "01.12")), [], "clear", None,
                 id="a-kept-date-does-not-slip"),
    # the same "2–3 Werktage" every day, Monday to Friday, stores empty: an honest promise, its dates move on
    # with the calendar and the weekend, its wait does not grow
    pytest.param(checks(*["Lieferzeit 2–3 Werktage"] * 5), stores(3), "clear", None,
                 id="the-same-working-day-range-every-day-is-no-slip"),
    # one day later per daily check: the same two-day wait each day ("arrives by" today plus two)
    pytest.param(checks(*by("25.11", "26.11", "27.11", "28.11", "29.11", "30.11")), stores(4), "clear", None,
                 id="a-date-moving-on-with-the-calendar-is-no-slip"),
    # two days later per daily check: the wait grows a day per check, 3 days by the 4th; three holding: the 6th
    pytest.param(checks(*by("01.12", "03.12", "05.12", "07.12", "09.12")), [], "clear", None,
                 id="wait-grows-a-day-a-check-below-threshold"),
    pytest.param(checks(*by("01.12", "03.12", "05.12", "07.12", "09.12", "11.12")), [], "fires", CHECK[5],
                 id="wait-grows-a-day-a-check-reaches-threshold"),
    # "Lieferzeit 2–3 Werktage", then longer each day: the demo's rolling promise
    pytest.param(checks("Lieferzeit 2–3 Werktage", "Lieferzeit 5–6 Werktage", "Lieferzeit 8–9 Werktage",
                        "Lieferzeit 11–12 Werktage", "Lieferzeit 14–15 Werktage"), stores(4), "fires", CHECK[4],
                 id="a-working-day-range-growing-each-day"),
    pytest.param(checks(*by("01.12", "02.12"), UNKNOWN, UNKNOWN, UNKNOWN), [], "fires", CHECK[4],
                 id="promise-turns-into-unknown"),
    pytest.param(checks(UNKNOWN, UNKNOWN, UNKNOWN, UNKNOWN), [], "not_applicable", None,
                 id="never-a-promise-nothing-to-slip"),
    # back to 02.12 after 07.12: the shop caught up, a new run begins and never reaches 3 days again
    pytest.param(checks(*by("01.12", "04.12", "07.12", "02.12", "03.12", "04.12")), [], "clear", None,
                 id="promise-moves-earlier-starts-again"),
    # unreadable pages between slipping checks count for nothing and break nothing (invariant 1)
    pytest.param(checks(*by("01.12", "04.12", "07.12", "07.12", "10.12", "13.12"),
                        orderable=(True, True, True, None, True, True)), [], "fires", CHECK[5],
                 id="unknown-page-in-between"),
    pytest.param(checks(*by("01.12", "04.12", "07.12", "10.12", "13.12")[:2]), [], "clear", None,
                 id="two-checks-too-few"),
]  # fmt: skip


@pytest.mark.parametrize(("offers", "intervals", "status", "opened"), ROWS)
def test_delivery_slipping(
    offers: list[OfferPoint], intervals: list[StoreInterval], status: str, opened: datetime | None
) -> None:
    verdict = delivery_slipping(promotion(), offers, intervals, STORES, DEFAULT, NOW)
    assert verdict.status == status
    assert [e.opened_at for e in verdict.episodes] == ([] if opened is None else [opened])
    assert verdict.inputs["store_data"] is bool(intervals)


def test_finding_states_the_promises_the_stores_and_the_thresholds() -> None:
    offers = checks(*by("01.12", "04.12", "07.12", "10.12", "13.12"))
    verdict = delivery_slipping(promotion(), offers, stores(4), STORES, DEFAULT, NOW)
    facts = verdict.inputs["facts"]
    assert facts["first_promise"]["latest"] == "2026-12-01"
    assert facts["last_promise"]["latest"] == "2026-12-13"
    # checked 23.11 to 27.11: a wait of 8 days (to 01.12) grew to 16 (to 13.12)
    assert (facts["first_wait_days"], facts["last_wait_days"], facts["slip_days"]) == (8, 16, 8)
    assert facts["worst_zero_stock"] == [4, 4]
    assert "from 2026-12-01 ('Livraison estimée le 01.12') to 2026-12-13" in verdict.summary
    assert "a wait of 16 days instead of 8" in verdict.summary
    assert "4 of 4 stores" in verdict.summary
    assert verdict.offer_ids == (3, 4, 5)
    assert verdict.inputs["thresholds"]["delivery_slip_days"] == 3
    assert verdict.inputs["thresholds"]["delivery_slip_checks"] == 3


def test_without_store_data_the_finding_says_so() -> None:
    offers = checks(*by("01.12", "04.12", "07.12", "10.12", "13.12"))
    verdict = delivery_slipping(promotion(), offers, [], set(), DEFAULT, NOW)
    assert verdict.status == "fires"
    assert "publishes no store stock" in verdict.summary


def test_closes_when_the_item_can_no_longer_be_ordered() -> None:
    offers = checks(*by("01.12", "04.12", "07.12", "10.12", "13.12"), None, None, None, None, None,
                    orderable=(True,) * 5 + (False,) * 5)  # fmt: skip
    verdict = delivery_slipping(promotion(valid_until=20 * 24), offers, [], set(), DEFAULT, at(20 * 24))
    assert [(e.opened_at, e.closed_at) for e in verdict.episodes] == [(CHECK[4], CHECK[7])]
    assert verdict.status == "clear"


def test_thresholds_from_the_watchlist() -> None:
    """A wait one day longer over two checks is enough when the watchlist says so."""
    offers = checks(*by("01.12", "03.12", "05.12", "07.12"))
    strict = parse_thresholds({"delivery_slip_days": 1, "delivery_slip_checks": 2}, "test")
    assert strict.delivery_slip == timedelta(days=1)
    verdict = delivery_slipping(promotion(), offers, [], set(), strict, NOW)
    assert [e.opened_at for e in verdict.episodes] == [CHECK[3]]
    assert delivery_slipping(promotion(), offers, [], set(), DEFAULT, NOW).status == "clear"


def test_checks_outside_the_promotion_do_not_count() -> None:
    offers = checks(*by("01.12", "04.12", "07.12", "10.12", "13.12"))
    before = promotion(valid_from=30 * 24, valid_until=40 * 24)
    assert delivery_slipping(before, offers, [], set(), DEFAULT, NOW).status == "not_applicable"
