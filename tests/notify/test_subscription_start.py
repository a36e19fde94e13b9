"""A new or changed subscription receives the events of its time on, never a backlog (issue 18: a consumer who
subscribed on day 10 got 9 separate pushes for restocks 8 to 11 days old). Delivered to a json:// endpoint on
127.0.0.1; the runs follow `promowatch run`'s order (crawl, evaluate, notify) on a simulated clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from notify.outbox import deliver_pending
from notify.subscriptions import subscription_key
from promowatch.config import Subscription
from promowatch.db.engine import open_database
from tests.notify.endpoints import Hook
from tests.notify.shop import PRODUCT_URL, Shop, add_shop, day, finding_event, neighbour, run_day, watchlist

FOLLOWED = ("1001", "1002", "1005")  # Lausanne-area stores: within the neighbour's 10 km
FAR = ("2001",)  # Zürich


@pytest.fixture
def hook() -> Iterator[Hook]:
    endpoint = Hook()
    yield endpoint
    endpoint.close()


@pytest.fixture
def stored(tmp_path: Path) -> tuple[sessionmaker[Session], Shop]:
    sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with sessions.begin() as session:
        shop = add_shop(session)
    return sessions, shop


def url_of(hook: Hook) -> str:
    return f"json://127.0.0.1:{hook.port}/voisine"


# (before the change, from day 0; after it, from day 10): None is no subscription at all
CHANGES: dict[str, tuple[Callable[[str], Subscription | None], Callable[[str], Subscription]]] = {
    "new-subscription": (lambda url: None, lambda url: neighbour(url)),
    "tags-changed": (
        lambda url: neighbour(url, tags=("watchdog",)),
        lambda url: neighbour(url, tags=("watchdog", "consumer")),
    ),
    "postcode-changed": (
        lambda url: neighbour(url, postcode="3011", radius_km=2.0),  # Bern: no store of this shop
        lambda url: neighbour(url),
    ),
}


@pytest.mark.parametrize("change", list(CHANGES), ids=list(CHANGES))
def test_a_new_or_changed_subscription_gets_no_backlog_but_the_next_change(
    change: str, hook: Hook, stored: tuple[sessionmaker[Session], Shop]
) -> None:
    sessions, shop = stored
    before, after = (make(url_of(hook)) for make in CHANGES[change])
    old = watchlist(*([before] if before else []))
    for number in range(10):  # ten days of store restocks that nobody (or not this subscription) wanted
        run_day(sessions, shop, old, number, restocked=FOLLOWED[number % 3 :][:1] + FAR)
    assert hook.received == []

    new = watchlist(after)
    # the run that first sees the subscription: the changes its crawl saw are the state the subscriber already
    # knew when subscribing, and the ten days before are history
    run_day(sessions, shop, new, 10, restocked=FOLLOWED[:1])
    assert hook.received == []

    report = run_day(sessions, shop, new, 11, restocked=("1005", *FAR))
    assert report.sent == 1
    assert [m["title"] for m in hook.received] == ["Back in stock: Air fryer XL"]
    assert "Renens Gare" in hook.received[0]["message"]
    assert "Seen 2026-11-13 07:00 UTC." in hook.received[0]["message"]


def test_a_watchdog_hears_of_a_finding_reached_after_it_subscribed_not_of_older_ones(
    hook: Hook, stored: tuple[sessionmaker[Session], Shop]
) -> None:
    sessions, shop = stored
    watchdog = Subscription(
        name="watchdog",
        urls=(url_of(hook),),
        tags=("watchdog",),
        language="en",
        events=(),
        all_findings=True,
    )
    with sessions.begin() as session:  # day 3: a finding about the week before; nobody subscribed yet
        finding_event(session, shop, 1, day(1), day(3, 0.5))
    assert deliver_pending(sessions, watchlist(), day(3, 0.6), None).sent == 0

    run_day(sessions, shop, watchlist(watchdog), 5)  # the watchdog subscribes
    with sessions.begin() as session:
        # day 6: a finding whose first confirming observation (day 4) came before the subscription: the
        # verdict is new, so it is news to the watchdog
        finding_event(session, shop, 2, day(4), day(6, 0.5))
    deliver_pending(sessions, watchlist(watchdog), day(6, 0.6), None)
    assert [m["title"] for m in hook.received] == ["Finding: not orderable online – Air fryer 79.– (week 2)"]
    assert "Seen 2026-11-06 07:00 UTC." in hook.received[0]["message"]


BASE = neighbour("json://127.0.0.1:8080/voisine")
KEY_CASES: list[Any] = [
    pytest.param({"urls": ("json://127.0.0.1:8080/other",)}, True, id="url"),
    pytest.param({"tags": ("consumer", "watchdog")}, True, id="tags"),
    pytest.param({"events": ("restock",)}, True, id="events"),
    pytest.param({"products": (PRODUCT_URL, "http://127.0.0.1:9/p/kettle")}, True, id="products"),
    pytest.param({"stores": ("1001",)}, True, id="stores"),
    pytest.param({"postcode": "1004"}, True, id="postcode"),
    pytest.param({"radius_km": 25.0}, True, id="radius"),
    pytest.param({"all_findings": True}, True, id="all-findings"),
    pytest.param({"retailers": ("demo-shop",)}, True, id="retailers"),
    pytest.param({"language": "de"}, False, id="language-keeps-the-start"),
    pytest.param({"tags": ("consumer",), "products": (PRODUCT_URL,)}, False, id="same-values"),
]


@pytest.mark.parametrize(("changes", "starts_afresh"), KEY_CASES)
def test_what_makes_a_subscription_start_afresh(changes: dict[str, Any], starts_afresh: bool) -> None:
    changed = neighbour(
        changes.get("urls", BASE.urls)[0], **{k: v for k, v in changes.items() if k != "urls"}
    )
    key, changed_key = subscription_key(BASE, BASE.urls[0]), subscription_key(changed, changed.urls[0])
    assert (key != changed_key) is starts_afresh
    assert len(changed_key) <= 128  # the column's width
