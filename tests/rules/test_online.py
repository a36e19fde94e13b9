"""unorderable_online and price_mismatch: hand-computed persistence with the defaults N=3 over T=6 h,
confirmation at 6 over 24 h. Source of the examples: design.md §4 invariants 1 and 3, §6."""

from __future__ import annotations

import pytest

from promowatch.rules import Thresholds, price_mismatch, unorderable_online
from tests.rules.factories import at, offer, promotion, series

DEFAULT = Thresholds()
NOW = at(7 * 24)


@pytest.mark.parametrize(
    ("spec", "every", "status", "opened_h", "closed_h"),
    [
        # 3 observations at 2, 5, 8 h: span 6 h = T exactly, count 3 = N exactly -> opens at 8 h
        pytest.param("nnn", 3.0, "fires", 8.0, None, id="exactly-N-over-exactly-T"),
        # 3 observations at 2, 4.9, 7.8: span 5.8 h < T -> not yet
        pytest.param("nnn", 2.9, "clear", None, None, id="N-but-span-short"),
        # only 2 confirming observations spanning 12 h
        pytest.param("nn", 12.0, "clear", None, None, id="span-but-one-short"),
        # unknown in between neither counts nor breaks the run: n u n n at 2, 5, 8, 11 -> opens at 11
        pytest.param("nunn", 3.0, "fires", 11.0, None, id="unknown-in-between-skipped"),
        # a firm "not orderable" (disabled buy box) counts though the stock state is unknown (issue 18: the
        # bait "Zurzeit nicht lieferbar" was missed); an unreadable page has orderable None ("u") and never counts
        pytest.param("nxxn", 3.0, "fires", 8.0, None, id="firm-not-orderable-counts-with-unknown-stock"),
        # an orderable observation breaks the run
        pytest.param("nnonn", 3.0, "clear", None, None, id="orderable-breaks-run"),
        # opens at 8 h, then 3 orderable over 6 h (11, 14, 17) close it at 17 h
        pytest.param("nnnooo", 3.0, "clear", 8.0, 17.0, id="opens-then-closes"),
        # two orderable are not enough to close
        pytest.param("nnnoo", 3.0, "fires", 8.0, None, id="closing-needs-persistence-too"),
        # only unknown: nothing can be counted
        pytest.param("uuu", 3.0, "not_applicable", None, None, id="all-unknown"),
    ],
)
def test_unorderable_online(spec, every, status, opened_h, closed_h):
    verdict = unorderable_online(promotion(), series(spec, every), DEFAULT, NOW)
    assert verdict.status == status
    if opened_h is None:
        assert verdict.episodes == ()
    else:
        assert verdict.episodes[0].opened_at == at(opened_h)
        assert verdict.episodes[0].closed_at == (at(closed_h) if closed_h is not None else None)


def test_confirmation_after_2n_over_24h():
    # 9 observations every 3 h from 2 h: 6th at 17 h (span 15 h < 24 h), 9th at 26 h (span 24 h) -> confirmed
    verdict = unorderable_online(promotion(), series("n" * 9), DEFAULT, NOW)
    assert verdict.episodes[0].confirmed_at == at(26)
    assert verdict.offer_ids == tuple(range(1, 10))
    assert "9 observations" in verdict.summary and "illegal" not in verdict.summary


@pytest.mark.parametrize(
    ("window", "sightings", "status"),
    [
        # promotion only from 20 h: observations at 2..11 h fall before it
        pytest.param((20, 200), (), "not_applicable", id="before-window-not-counted"),
        # no window, but an ad seen 0..1 h stays live 24 h: all four (2..11 h) count
        pytest.param((None, None), ((0, 1),), "fires", id="live-ad-sighting-counts"),
        # no window, ad seen at -100..-90 h: expired (grace 24 h) before the observations
        pytest.param((None, None), ((-100, -90),), "not_applicable", id="expired-sighting"),
    ],
)
def test_running_window(window, sightings, status):
    promo = promotion(valid_from=window[0], valid_until=window[1], sightings=sightings)
    assert unorderable_online(promo, series("nnnn"), DEFAULT, NOW).status == status


@pytest.mark.parametrize(
    ("shown", "status"),
    [
        pytest.param(["549.00"] * 3, "fires", id="higher-price-three-times"),
        pytest.param(["499.00"] * 3, "clear", id="advertised-price"),
        pytest.param(["499.01"] * 3, "clear", id="within-tolerance-0.01"),
        pytest.param(["499.02"] * 3, "fires", id="just-beyond-tolerance"),
        pytest.param(["549.00", None, "549.00", "549.00"], "fires", id="missing-price-skipped"),
    ],
)
def test_price_mismatch(shown, status):
    offers = [offer(i + 1, 2 + 3 * i, True, "in_stock", p) for i, p in enumerate(shown)]
    verdict = price_mismatch(promotion(), offers, DEFAULT, NOW)
    assert verdict.status == status
    if status == "fires":
        assert f"{max(p for p in shown if p)} CHF instead of the advertised 499.00 CHF" in verdict.summary
