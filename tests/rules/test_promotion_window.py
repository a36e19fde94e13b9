"""Issue 18 on an unseen shop: when a promotion runs, which card is which promotion, and store stockouts at any
time of a promotion, sampled once per crawl. Source of the situations: issue 18's measurements on a
German-language Swiss shop (cards saying only "gültig bis 13.12.2026", weekly listings, a sell-out on day 3)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from promowatch.db.engine import open_database
from promowatch.db.models import AdSighting, CrawlRun, Product, Promotion, Retailer
from promowatch.db.queries import adjoining_gap, swept_promotion
from promowatch.domain import Availability
from promowatch.evaluate import load_store_crawls
from promowatch.extract.promotions import parse_listing_start
from promowatch.items import AdvertisedPromotion
from promowatch.rules import (
    Crawl,
    Thresholds,
    price_mismatch,
    store_sellout,
    store_stockout,
    unorderable_online,
)
from promowatch.rules.stores import store_samples
from promowatch.rules.window import counts_from, is_running, window_basis
from tests.rules.factories import at, interval, offer, promotion, series

DEFAULT = Thresholds()
NOW = at(14 * 24)


def end_only(seen_from: float, seen_until: float) -> object:
    """A card that states only its end (day 7), first swept at ``seen_from`` hours."""
    return replace(
        promotion(valid_from=None, valid_until=7 * 24, sightings=((seen_from, seen_until),)),
        created_at=at(seen_from),
    )


def test_a_promotion_with_only_an_end_runs_from_its_first_sighting():
    promo = end_only(72, 160)
    assert counts_from(promo) == at(72)
    assert not is_running(promo, at(50), DEFAULT)
    assert is_running(promo, at(80), DEFAULT)
    assert window_basis(promo) == "sighting"


def test_ordinary_prices_before_the_ad_was_seen_raise_no_price_mismatch():
    # 549.– charged every 6 h from 0 to 66 h (before the card existed), then the advertised 499.– from 72 h:
    # on main the card's missing start made the promotion run from the beginning of time (13 false findings)
    offers = [offer(i, h, True, "in_stock", "549.00") for i, h in enumerate(range(0, 72, 6), start=1)]
    offers += [offer(100 + i, h, True, "in_stock", "499.00") for i, h in enumerate(range(72, 160, 6))]
    verdict = price_mismatch(end_only(72, 160), offers, DEFAULT, NOW)
    assert verdict.status == "clear" and verdict.episodes == ()
    assert verdict.inputs["window"]["basis"] == "sighting"


def test_a_finding_never_opens_before_the_promotion_was_first_seen():
    # a stated start at 0 h, but the card was first swept at 48 h: not orderable throughout
    promo = replace(promotion(valid_from=0, sightings=((48, 160),)), created_at=at(48))
    verdict = unorderable_online(promo, series("n" * 30, every=3.0, start=1.0), DEFAULT, NOW)
    assert verdict.status == "fires"
    assert verdict.episodes[0].opened_at >= at(48)


def stores_per_crawl(states: dict[int, str], days: int) -> list:
    """Four stores checked in one daily crawl at 10:00 (+ a second per store) for ``days`` days."""
    rows, ident = [], 0
    for day in range(days):
        for store in range(1, 5):
            ident += 1
            state = states.get(day, "in_stock") if store <= 3 else "in_stock"
            rows.append(
                interval(ident, store, day * 24 + 2 + store / 3600, day * 24 + 2 + store / 3600, 1, state)
            )
    return rows


CRAWLS = [Crawl(at(d * 24 + 2), at(d * 24 + 2.01)) for d in range(14)]


def test_a_sell_out_in_the_middle_of_a_promotion_is_a_store_sellout():
    # 3 of 4 stores empty on days 3, 4 and 5 of a two-week promotion, stock again from day 6
    sold_out = {3: "out_of_stock", 4: "out_of_stock", 5: "out_of_stock"}
    intervals = stores_per_crawl(sold_out, 14)
    promo = promotion(valid_from=0, valid_until=14 * 24)
    start_rule = store_stockout(promo, intervals, {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS)
    sellout = store_sellout(promo, intervals, {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS)
    assert start_rule.episodes == ()
    assert [e.opened_at for e in sellout.episodes] == [at(5 * 24 + 2.01)]
    assert sellout.episodes[0].closed_at == at(8 * 24 + 2.01)
    assert "75%" in sellout.episodes[0].summary and "still advertised" in sellout.episodes[0].summary


def test_a_sell_out_after_the_ad_stopped_running_is_not_a_finding():
    sold_out = {d: "out_of_stock" for d in range(8, 14)}
    promo = promotion(valid_from=0, valid_until=7 * 24)
    verdict = store_sellout(promo, stores_per_crawl(sold_out, 14), {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS)
    assert verdict.episodes == ()


def test_store_shares_are_one_figure_per_crawl():
    # one crawl checks the four stores a second apart: 3 of 4 empty. Counting after every store row gave
    # 100 %, 100 %, 100 %, 75 % (the chart spiked to 100 % where the crawl measured 75 %)
    intervals = stores_per_crawl({0: "out_of_stock"}, 1)
    samples = store_samples(intervals, {1, 2, 3, 4}, DEFAULT, NOW, CRAWLS[:1])
    assert [(s.zero, s.known) for s in samples] == [(3, 4)]
    # without the crawls' times the boundaries a few seconds apart are still one sweep
    assert [(s.zero, s.known) for s in store_samples(intervals, {1, 2, 3, 4}, DEFAULT, NOW)] == [(3, 4)]


def test_a_crawl_that_did_not_check_a_store_does_not_count_it():
    # store 4 was last seen on day 0; the day-1 crawl checked only stores 1-3 (all empty)
    intervals = [
        *stores_per_crawl({}, 1),
        *(interval(10 + s, s, 26, 26, 1, "out_of_stock") for s in (1, 2, 3)),
    ]
    samples = store_samples(intervals, {1, 2, 3, 4}, DEFAULT, NOW, CRAWLS[:2])
    assert [(s.zero, s.known) for s in samples] == [(0, 4), (3, 3)]


@pytest.mark.parametrize(
    ("header", "read_on", "expected"),
    [
        pytest.param("Angebote vom 30.11. bis 06.12.", "2026-12-02", "2026-11-30", id="de-day-month"),
        pytest.param("Du 02.01. au 08.01.", "2026-12-30", "2027-01-02", id="fr-next-year"),
        pytest.param("vom 30.12. bis 05.01.", "2027-01-02", "2026-12-30", id="previous-year"),
        pytest.param("Aktionen 30.11.2026 – 06.12.2026", "2026-12-02", "2026-11-30", id="full-date"),
        pytest.param("2026-11-30", "2026-12-02", "2026-11-30", id="iso"),
        pytest.param("Woche 49", "2026-12-02", None, id="no-date"),
    ],
)
def test_listing_start(header, read_on, expected):
    near = datetime.fromisoformat(read_on).replace(tzinfo=UTC)
    found = parse_listing_start(header, near)
    assert (found.date().isoformat() if found else None) == expected


def card(valid_from: str | None, valid_until: str | None, price: str = "499.00") -> AdvertisedPromotion:
    def day(text: str) -> datetime:
        return datetime.fromisoformat(text).replace(tzinfo=UTC)

    return AdvertisedPromotion(
        product_url="http://127.0.0.1:9/artikel/kaffeevollautomat",
        title="Kaffeevollautomat",
        advertised_price=Decimal(price),
        reference_price=Decimal("999.00"),
        currency="CHF",
        valid_from=day(valid_from) if valid_from else None,
        valid_until=day(valid_until) + timedelta(hours=23, minutes=59) if valid_until else None,
        window_basis="listing" if valid_from else None,
    )


@pytest.mark.parametrize(
    ("cards", "promotions"),
    [
        # week 1's listing (from 30.11.) and week 2's (from 07.12.) both show the card valid until 13.12.
        pytest.param(
            [("2026-11-30", "2026-12-13", "499.00"), ("2026-12-07", "2026-12-13", "499.00")],
            1,
            id="two-weeks",
        ),
        # the same price again the week right after the first promotion ended: adjoining, extended
        pytest.param(
            [("2026-11-30", "2026-12-06", "499.00"), ("2026-12-07", "2026-12-13", "499.00")],
            1,
            id="adjoining",
        ),
        pytest.param(
            [("2026-11-30", "2026-12-06", "499.00"), ("2026-12-07", "2026-12-13", "449.00")],
            2,
            id="new-price",
        ),
        pytest.param(
            [("2026-11-02", "2026-11-08", "499.00"), ("2026-12-07", "2026-12-13", "499.00")],
            2,
            id="after-a-gap",
        ),
        # cards stating no dates, swept on days 1, 2, 3, then (a failed sweep on day 4) on days 5 and 6
        pytest.param(
            [(None, None, "499.00", f"2026-12-0{d}") for d in (1, 2, 3, 5, 6)],
            1,
            id="undated-with-a-missed-sweep",
        ),
        pytest.param(
            [(None, None, "499.00", "2026-12-01"), (None, None, "499.00", "2026-12-09")],
            2,
            id="undated-a-week-apart",
        ),
    ],
)
def test_a_promotion_shown_again_is_extended_not_split(tmp_path, cards, promotions):
    sessions = open_database(f"sqlite:///{tmp_path / 'p.db'}")
    with sessions.begin() as session:
        retailer = Retailer(slug="shop", name="Shop", country="CH", currency="CHF")
        session.add(retailer)
        session.flush()
        product = Product(retailer_id=retailer.id, url="http://127.0.0.1:9/artikel/kaffeevollautomat")
        session.add(product)
        session.flush()
        for valid_from, valid_until, price, *when in cards:
            day = when[0] if when else valid_from
            seen = datetime.fromisoformat(day).replace(tzinfo=UTC) + timedelta(hours=10)
            found, _ = swept_promotion(
                session,
                retailer.id,
                product.id,
                card(valid_from, valid_until, price),
                seen,
                adjoining_gap(DEFAULT),
            )
            session.add(AdSighting(promotion_id=found.id, kind="web", seen_at=seen, last_seen=seen, checks=1))
            session.flush()
    with sessions() as session:
        rows = session.query(Promotion).order_by(Promotion.id).all()
        assert len(rows) == promotions
        if cards[0][0] == "2026-11-30" and promotions == 1:
            assert rows[0].valid_from == datetime(2026, 11, 30, tzinfo=UTC)
            assert rows[0].window_basis == "listing"


def test_a_stockout_from_the_start_does_not_also_become_a_sell_out():
    # 3 of 4 stores empty every day from the start: a store_stockout only, never a second, sell-out finding
    intervals = stores_per_crawl({d: "out_of_stock" for d in range(14)}, 14)
    promo = promotion(valid_from=0, valid_until=14 * 24)
    assert store_stockout(promo, intervals, {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS).status == "fires"
    assert store_sellout(promo, intervals, {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS).episodes == ()


def test_stores_without_a_pre_order_item_before_its_release_are_no_stockout():
    # the shop sells the item as pre-order until day 6; the stores have none until then
    intervals = stores_per_crawl({d: "out_of_stock" for d in range(6)}, 14)
    offers = [offer(d + 1, d * 24 + 1, True, "preorder" if d < 6 else "in_stock") for d in range(14)]
    promo = promotion(valid_from=0, valid_until=14 * 24)
    for rule in (store_stockout, store_sellout):
        assert rule(promo, intervals, {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS, offers=offers).episodes == ()
    # the same stores with the item released from the start are a stockout
    released = [replace(o, availability=Availability.IN_STOCK) for o in offers]
    assert store_stockout(
        promo, intervals, {1, 2, 3, 4}, DEFAULT, NOW, crawls=CRAWLS, offers=released
    ).episodes


def test_an_item_sold_openly_in_stores_only_is_not_unorderable():
    # review of issue 18: "Nur im Markt erhältlich" reads in stock and not orderable online; the shop says so
    store_only = [offer(i, 2 + 3 * i, False, "in_stock") for i in range(1, 10)]
    assert unorderable_online(promotion(), store_only, DEFAULT, NOW).status == "not_applicable"


def test_a_price_below_the_advertised_one_is_no_mismatch():
    # a cheaper promotion superseded the ad (449.– while the card says 499.–): no buyer pays more than advertised
    cheaper = [offer(i, 2 + 3 * i, True, "in_stock", "449.00") for i in range(1, 10)]
    assert price_mismatch(promotion(), cheaper, DEFAULT, NOW).status == "clear"
    dearer = [offer(i, 2 + 3 * i, True, "in_stock", "549.00") for i in range(1, 10)]
    assert price_mismatch(promotion(), dearer, DEFAULT, NOW).status == "fires"


def test_a_retailer_is_sampled_only_at_its_own_stores_crawls(tmp_path):
    # review of issue 18: crawls of another retailer (or 'run --retailer X') spanned by a store interval
    # invented samples, so two real checks 10 h apart opened a finding that needs 3 over 6 h
    sessions = open_database(f"sqlite:///{tmp_path / 'c.db'}")
    with sessions.begin() as session:
        for hour, checked in ((0, {"acme": 4}), (3, {"other": 9}), (6, {"other": 9}), (10, {"acme": 4})):
            stats = {f"promowatch/{slug}/store_checks": n for slug, n in checked.items()}
            session.add(
                CrawlRun(started_at=at(hour), finished_at=at(hour + 0.1), spider="stores", stats=stats)
            )
        session.add(CrawlRun(started_at=at(12), finished_at=None, spider="stores", stats=None))  # killed
    with sessions() as session:
        crawls = load_store_crawls(session)
    assert [c.started_at for c in crawls["acme"]] == [at(0), at(10)]
    intervals = [interval(s, s, 0.05, 10.05, 2, "out_of_stock") for s in (1, 2)]
    promo = promotion(valid_from=-1)
    assert store_stockout(promo, intervals, {1, 2}, DEFAULT, NOW, crawls=crawls["acme"]).status == "clear"
    everyone = [c for cs in crawls.values() for c in cs]
    assert store_stockout(promo, intervals, {1, 2}, DEFAULT, NOW, crawls=everyone).status == "fires"
