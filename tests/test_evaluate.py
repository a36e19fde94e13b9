"""evaluate(): the finding lifecycle and outbox events in the DB, idempotent on re-runs.
Scenario: the bait promotion of design.md §8 (499.– instead of 999.–, unorderable online, stores empty)."""

from __future__ import annotations

from sqlalchemy import func, select

from promowatch.config import Watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import Event, Finding
from promowatch.evaluate import evaluate, list_findings
from promowatch.rules.thresholds import Thresholds
from tests.rules.dbdata import add_shop, offer, store_interval
from tests.rules.factories import at

WATCHLIST = Watchlist(path=None, retailers=(), promotions=(), subscriptions=(), thresholds=Thresholds(), contact=None)


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
    findings = {f["rule"]: f for f in list_findings(sessions)}
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
    assert [f["rule"] for f in list_findings(sessions, state="open")] == ["store_stockout"]
