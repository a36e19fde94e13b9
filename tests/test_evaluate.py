"""evaluate(): the finding lifecycle and outbox events in the DB, idempotent on re-runs.
Scenario: the bait promotion of design.md §8 (499.– instead of 999.–, unorderable online, stores empty)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from promowatch.config import Watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import (
    Event,
    Finding,
    OfferObservation,
    Product,
    Promotion,
    Retailer,
    StoreObservation,
)
from promowatch.db.queries import list_findings
from promowatch.domain import Availability
from promowatch.evaluate import evaluate, load_retailer_offers, load_retailer_store_intervals
from promowatch.rules.thresholds import Thresholds
from tests.rules.dbdata import add_shop, offer, store_interval
from tests.rules.factories import at

WATCHLIST = Watchlist(
    path=None, retailers=(), promotions=(), subscriptions=(), thresholds=Thresholds(), contact=None
)


def snapshot(sessions):
    with sessions() as session:
        findings = [
            (f.id, f.rule, f.state, f.opened_at, f.confirmed_at, f.closed_at, f.evaluated_at, f.summary)
            for f in session.scalars(select(Finding).order_by(Finding.id))
        ]
        events = session.execute(select(Event.kind, Event.dedup_key).order_by(Event.id)).all()
    return findings, events


def test_lifecycle_and_idempotence(tmp_path):
    sessions = open_database(f"sqlite:///{tmp_path}/t.db")
    with sessions.begin() as session:
        _, product, _, stores = add_shop(session)
        pid = product.id
        # not orderable every 3 h from 2 h to 26 h (9 looks), an unknown look at 9.5 h in between
        for i in range(9):
            session.add(offer(pid, at(2 + 3 * i), "out_of_stock", False, screenshot="ab" * 32))
        session.add(offer(pid, at(9.5), "unknown", None, price=None))
        for store in stores:
            session.add(store_interval(pid, store.id, 1, 19, 19, "out_of_stock"))

    report = evaluate(sessions, WATCHLIST, at(20))
    assert (report.promotions, report.opened, report.confirmed, report.closed) == (1, 2, 0, 0)
    first = snapshot(sessions)
    rules = {(f[1], f[2], f[3]) for f in first[0]}
    assert rules == {("unorderable_online", "open", at(8)), ("store_stockout", "open", at(19))}
    # the product went from 999.– in stock to 499.– out of stock at 2 h: a stockout and a price drop
    assert [k for k, _ in first[1]] == ["finding_opened", "finding_opened", "stockout", "price_drop"]

    again = evaluate(sessions, WATCHLIST, at(20))
    assert (again.opened, again.confirmed, again.closed, again.events) == (0, 0, 0, 0)
    assert snapshot(sessions) == first

    # back in stock and orderable at 29, 32, 35 h: closes after N=3 over 6 h; a restock event at 29 h
    with sessions.begin() as session:
        for hours in (29, 32, 35):
            session.add(offer(pid, at(hours), "in_stock", True))
    report = evaluate(sessions, WATCHLIST, at(40))
    assert (report.opened, report.confirmed, report.closed) == (0, 1, 1)
    findings = {f["rule"]: f for f in list_findings(sessions())}
    online = findings["unorderable_online"]
    assert online["state"] == "closed" and online["closed_at"] == at(35).isoformat()
    assert online["confirmed_at"] == at(26).isoformat()
    assert "Not orderable online in 9 observations" in online["summary"]
    with sessions() as session:
        kinds = session.scalars(select(Event.kind).order_by(Event.id)).all()
        assert kinds == [
            "finding_opened",
            "finding_opened",
            "stockout",
            "price_drop",
            "finding_closed",
            "restock",
        ]
        assert session.scalar(select(func.count()).select_from(Finding)) == 2
    settled = snapshot(sessions)
    evaluate(sessions, WATCHLIST, at(40))
    assert snapshot(sessions) == settled
    assert [f["rule"] for f in list_findings(sessions(), state="open")] == ["store_stockout"]


def _second_retailer(session):
    """Another shop with its own product and promotion, same bait pattern (not orderable from 2 h)."""
    retailer = Retailer(slug="other-shop", name="Other", country="DE", currency="CHF")
    session.add(retailer)
    session.flush()
    product = Product(retailer_id=retailer.id, url="http://127.0.0.1:9/other/p", sku="O1", name="Other")
    session.add(product)
    session.flush()
    session.add(
        Promotion(
            key="other-shop:O1",
            retailer_id=retailer.id,
            product_id=product.id,
            title="Other deal",
            advertised_price=Decimal("499.00"),
            reference_price=None,
            currency="CHF",
            valid_from=at(0),
            valid_until=at(7 * 24),
            origin="watchlist",
            region=None,
            created_at=at(-48),
        )
    )
    session.add(offer(product.id, at(-24), "in_stock", True, "999.00"))
    for i in range(9):
        session.add(offer(product.id, at(2 + 3 * i), "out_of_stock", False))
    return product


def test_shared_product_and_second_retailer(tmp_path):
    """Two promotions advertise one product (each gets its findings, the product's events come once) and a
    second retailer is read in its own batch. Scenario: the bait coffee machine of design.md §8, twice."""
    sessions = open_database(f"sqlite:///{tmp_path}/t.db")
    with sessions.begin() as session:
        retailer, product, first, _ = add_shop(session)
        for i in range(9):
            session.add(offer(product.id, at(2 + 3 * i), "out_of_stock", False))
        session.add(
            Promotion(
                key="demo-shop:C1:flyer",
                retailer_id=retailer.id,
                product_id=product.id,
                title="Flyer: coffee machine",
                advertised_price=Decimal("499.00"),
                reference_price=Decimal("999.00"),
                currency="CHF",
                valid_from=at(0),
                valid_until=at(7 * 24),
                origin="sweep",
                region="Zürich",
                created_at=at(-48),
            )
        )
        other = _second_retailer(session)
        first_title, product_id, other_id = first.title, product.id, other.id

    report = evaluate(sessions, WATCHLIST, at(20))
    assert report.promotions == 3
    # its own finding_opened, plus the stockout and price drop (999.– to 499.–) at 2 h
    other_counts = report.per_retailer["other-shop"]
    assert (other_counts["promotions"], other_counts["opened"], other_counts["events"]) == (1, 1, 3)
    with sessions() as session:
        online = session.execute(
            select(Promotion.title)
            .join(Finding)
            .where(Finding.rule == "unorderable_online")
            .order_by(Promotion.id)
        ).all()
        assert [t for (t,) in online] == [first_title, "Flyer: coffee machine", "Other deal"]
        stockouts = session.execute(
            select(Event.product_id, Event.payload).where(Event.kind == "stockout")
        ).all()
    assert sorted(p for p, _ in stockouts) == [product_id, other_id]  # once per product, not per promotion
    shared = next(payload for p, payload in stockouts if p == product_id)
    assert shared["promotions"] == [first_title, "Flyer: coffee machine"]


STORED_TIMES = [
    pytest.param(at(0), id="whole-hour"),
    pytest.param(at(0) + timedelta(microseconds=123456), id="microseconds"),
    pytest.param(datetime(2026, 3, 29, 1, 30, tzinfo=ZoneInfo("Europe/Zurich")), id="stored-from-local-time"),
]


@pytest.mark.parametrize("when", STORED_TIMES)
@pytest.mark.parametrize(
    ("availability", "orderable", "price"),
    [
        pytest.param("in_stock", True, "1299.95", id="in-stock"),
        pytest.param("out_of_stock", False, None, id="no-price"),
        pytest.param("unknown", None, "0.10", id="unknown"),
        pytest.param("sold_by_phone", None, "5", id="unlisted-state-reads-unknown"),
    ],
)
def test_bulk_loaders_read_what_the_orm_reads(tmp_path, when, availability, orderable, price):
    """The raw-column loaders give the values the ORM (UTCDateTime TypeDecorator, Numeric, Boolean) gives."""
    sessions = open_database(f"sqlite:///{tmp_path}/t.db")
    with sessions.begin() as session:
        retailer, product, _, stores = add_shop(session)
        stored = offer(product.id, when, availability, orderable, price)
        session.add(stored)
        session.add(store_interval(product.id, stores[0].id, 1, 5, 3, availability))
        session.add(store_interval(product.id, stores[1].id, 30, 31, 2, "in_stock"))  # begins after now
        session.flush()
        retailer_id, product_id, offer_id = retailer.id, product.id, stored.id
    with sessions() as session:
        points = {p.id: p for p in load_retailer_offers(session, retailer_id)[product_id]}
        intervals = load_retailer_store_intervals(session, retailer_id, at(20))[product_id]
        row = session.get_one(OfferObservation, offer_id)
        point = points[offer_id]
        assert (point.observed_at, point.orderable, point.price, point.currency) == (
            row.observed_at,
            row.orderable,
            row.price,
            row.currency,
        )
        assert point.observed_at.tzinfo is UTC and point.observed_at == when
        known = availability if availability != "sold_by_phone" else "unknown"
        assert point.availability is Availability(known)
        rows = session.scalars(
            select(StoreObservation)
            .where(StoreObservation.first_seen <= at(20))
            .order_by(StoreObservation.id)
        ).all()
        assert [(i.id, i.first_seen, i.last_seen, i.checks, i.quantity) for i in intervals] == [
            (r.id, r.first_seen, r.last_seen, r.checks, r.quantity) for r in rows
        ]
