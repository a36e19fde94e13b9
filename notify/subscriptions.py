"""When each subscription began: it receives the events of its time on, never a backlog of older ones.

A subscription is known by its key: its name and a hash of one of its URLs together with everything that decides
which events it wants (tags, events, followed retailers, products, promotions, stores, postcode, radius,
``all_findings``). Changing any of these makes a new subscription that starts afresh; changing only its
language or message format does not. ``first_seen`` is stored on the run's clock the first time the evaluate or
notify step sees the key, whichever comes first.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from promowatch.config import Subscription, Watchlist
from promowatch.db.models import Product, WebSubscription
from promowatch.db.models import Subscription as SubscriptionRow
from promowatch.db.queries import insert_new

FINDING_KINDS = ("finding_opened", "finding_closed", "delivery_overdue")


def subscription_key(subscription: Subscription, url: str) -> str:
    """The stored identity of one URL of a subscription together with what it follows."""
    wants = {
        "url": url,
        "tags": sorted(subscription.tags),
        "events": sorted(subscription.events),
        "retailers": sorted(subscription.retailers),
        "products": sorted(subscription.products),
        "promotions": sorted(subscription.promotions),
        "stores": sorted(subscription.stores),
        "postcode": subscription.postcode,
        "radius_km": subscription.radius_km,
        "all_findings": subscription.all_findings,
    }
    if subscription.orders:  # only then: the keys of subscriptions without orders stay as they were
        wants["orders"] = sorted(subscription.orders)
    digest = hashlib.sha256(json.dumps(wants, sort_keys=True).encode()).hexdigest()[:16]
    return f"{subscription.name[:100]}-{digest}"


def note_subscriptions(session: Session, watchlist: Watchlist, now: datetime) -> dict[str, datetime]:
    """Record ``now`` as the start of every subscription not seen before; returns each key's first_seen."""
    keys = [subscription_key(s, url) for s in watchlist.subscriptions for url in s.urls]
    if not keys:
        return {}
    # two notifiers may see a new subscription at once: the unique key keeps the first one's time
    insert_new(session, SubscriptionRow, [{"target": key, "first_seen": now} for key in keys], ["target"])
    rows = session.execute(
        select(SubscriptionRow.target, SubscriptionRow.first_seen).where(SubscriptionRow.target.in_(keys))
    )
    return {target: first_seen for target, first_seen in rows}


def news_time(kind: str, occurred_at: datetime, created_at: datetime) -> datetime:
    """The moment an event became news, compared with a subscription's first_seen.

    A change in a shop is news when it was seen there (``occurred_at``): the crawl that made its subscriber's
    first run, and the event horizon's catch-up, happened before the subscription was first seen. A finding is
    news when promowatch reached the verdict (``created_at``): its ``occurred_at`` is the first of the
    confirming observations, days earlier, and a watchdog who subscribed in between must still hear of it.
    """
    return created_at if kind in FINDING_KINDS else occurred_at


# Subscriptions made in the dashboard (promowatch serve): the row says what they follow, their Apprise URL (a
# secret) is in a file of the data directory readable by the operator only, named by the delivery target.
DASHBOARD_URLS = "web-subscriptions"


def dashboard_url_file(data_root: Path, target: str) -> Path:
    """Where the Apprise URL of the dashboard subscription with this delivery target is kept."""
    return data_root / DASHBOARD_URLS / f"{target}.url"


def with_dashboard_subscriptions(session: Session, watchlist: Watchlist, data_root: Path) -> Watchlist:
    """The watchlist with the dashboard's subscriptions beside its own, so that they are routed, sent and
    retried like them. One that follows no promotion follows every watched retailer; one whose URL file is gone
    is left out (it cannot be sent)."""
    added = []
    every_retailer = tuple(r.slug for r in watchlist.retailers)
    rows = session.execute(
        select(WebSubscription, Product.url).outerjoin(Product, Product.id == WebSubscription.product_id)
    )
    for row, product_url in rows:
        try:
            url = dashboard_url_file(data_root, row.target).read_text(encoding="utf-8").strip()
        except OSError:
            continue
        added.append(
            Subscription(
                name=row.name,
                urls=(url,),
                tags=("consumer",),
                language=row.language,
                events=tuple((row.events or {}).get("kinds") or ()),
                retailers=() if product_url else every_retailer,
                products=(product_url,) if product_url else (),
                postcode=row.postcode,
                radius_km=row.radius_km,
            )
        )
    if not added:
        return watchlist
    return dataclasses.replace(watchlist, subscriptions=(*watchlist.subscriptions, *added))
