"""Subscriptions made in the dashboard (``promowatch serve``) are routed, sent and retried like the watchlist's:
a consumer who subscribes in the browser hears of a restock near them, and one whose URL file is gone is left
out rather than failing the run.

Source: a stored retailer with stores around Lausanne (tests/notify/shop.py), a dashboard subscription row with
its URL file as promowatch/web/subscribe.py writes them, real Apprise to a local json:// endpoint.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from notify.outbox import deliver_pending
from notify.sender import target_id
from notify.subscriptions import dashboard_url_file, note_subscriptions, with_dashboard_subscriptions
from promowatch.db.engine import open_database
from promowatch.db.models import WebSubscription
from tests.notify.endpoints import Hook
from tests.notify.shop import add_shop, day, store_event, watchlist


@pytest.fixture
def hook() -> Iterator[Hook]:
    endpoint = Hook()
    yield endpoint
    endpoint.close()


def test_a_dashboard_subscription_hears_of_a_restock_near_it(tmp_path: Path, hook: Hook) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    url = f"json://127.0.0.1:{hook.port}/browser"
    with sessions.begin() as session:
        shop = add_shop(session)
        for name, address in (("from the browser", url), ("file gone", f"json://127.0.0.1:{hook.port}/gone")):
            target = target_id(name, address)
            session.add(
                WebSubscription(
                    name=name,
                    target=target,
                    url_schema="json",
                    product_id=shop.product_id,
                    postcode="1003",
                    radius_km=5.0,
                    events={"kinds": ["restock"]},
                    language="fr",
                    created_at=day(0),
                )
            )
            if name == "from the browser":
                path = dashboard_url_file(tmp_path, target)
                path.parent.mkdir(parents=True)
                path.write_text(url + "\n")
    listed = watchlist()  # the watchlist itself subscribes nobody
    for number, restocked in ((0, ()), (1, ("1001",))):
        now = day(number, 0.5)
        with sessions() as session:
            subscribed = with_dashboard_subscriptions(session, listed, tmp_path)
        with sessions.begin() as session:
            note_subscriptions(session, subscribed, now)
            for store in restocked:
                store_event(session, shop, "restock", store, day(number), now)
        deliver_pending(sessions, subscribed, now + timedelta(minutes=1), None)
    assert [s.name for s in subscribed.subscriptions] == ["from the browser"]
    assert len(hook.received) == 1 and "Lausanne Flon" in hook.received[0]["message"]
