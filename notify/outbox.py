"""The outbox: events recorded once by their dedup key, fanned out to one Delivery per (event, target),
sent through Apprise and marked delivered only on SUCCESS; failures are retried with exponential backoff
across runs and given up after ``max_attempts`` (status ``failed``, reported). A delivery is committed right
after its send, so a target never gets the same event twice unless the process dies between the two.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from notify.messages import STORE_DIGEST, format_message, format_store_digest
from notify.routing import StorePlace, postcode_place, wants
from notify.sender import Sender, target_id
from notify.subscriptions import news_time, note_subscriptions, subscription_key
from promowatch.config import Subscription, Watchlist
from promowatch.db.models import Delivery, Event, Retailer, Store
from promowatch.db.queries import insert_new
from promowatch.domain import utcnow
from promowatch.evidence.blobs import BlobStore

MAX_ATTEMPTS = 6
BACKOFF = timedelta(minutes=5)  # 5, 10, 20, 40, 80 min between attempts
MAX_BACKOFF = timedelta(hours=12)
CLAIM_LEASE = timedelta(minutes=10)  # a claimed delivery is another notifier's for this long
FANOUT_WINDOW = timedelta(days=30)  # events older than this that nobody wanted are not offered again


def record_event(
    session: Session,
    kind: str,
    dedup_key: str,
    occurred_at: datetime,
    payload: dict[str, Any],
    *,
    retailer_id: int | None = None,
    product_id: int | None = None,
    promotion_id: int | None = None,
    finding_id: int | None = None,
    created_at: datetime | None = None,
) -> Event | None:
    """Insert an event into the outbox unless its dedup key exists; returns the new Event or None.

    Runs inside the caller's transaction so the event commits with the state change that caused it.
    """
    if session.scalar(select(Event.id).where(Event.dedup_key == dedup_key)) is not None:
        return None
    event = Event(
        kind=kind,
        dedup_key=dedup_key,
        created_at=created_at or utcnow(),
        occurred_at=occurred_at,
        retailer_id=retailer_id,
        product_id=product_id,
        promotion_id=promotion_id,
        finding_id=finding_id,
        payload=payload,
    )
    try:
        with session.begin_nested():  # a concurrent writer may have inserted the key meanwhile
            session.add(event)
    except IntegrityError:
        return None
    return event


@dataclass
class DeliveryReport:
    """One notify run: counts overall and per target (names only, never URLs)."""

    fanned_out: int = 0
    messages: int = 0  # messages sent: a digest of several store events is one
    sent: int = 0
    retried: int = 0
    failed: int = 0
    per_target: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    per_retailer: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    errors: list[str] = field(default_factory=list)

    def count(self, target: str, retailer: str | None, key: str) -> None:
        setattr(self, key, getattr(self, key) + 1)
        self.per_target[target][key] += 1
        self.per_retailer[retailer or "-"][key] += 1

    def to_json(self) -> dict[str, Any]:
        return {
            "deliveries_created": self.fanned_out,
            "messages": self.messages,
            "sent": self.sent,
            "retry_later": self.retried,
            "failed": self.failed,
            "per_target": {t: dict(c) for t, c in sorted(self.per_target.items())},
            "per_retailer": {r: dict(c) for r, c in sorted(self.per_retailer.items())},
            "errors": list(self.errors),
        }


def _targets(watchlist: Watchlist) -> dict[str, tuple[Subscription, str]]:
    return {target_id(s.name, url): (s, url) for s in watchlist.subscriptions for url in s.urls}


def fan_out(session: Session, watchlist: Watchlist, now: datetime) -> int:
    """Create the pending deliveries of events that have none yet; returns how many.

    A target gets only the events that became news since its subscription was first seen (notify/subscriptions.py).
    """
    first_seen = note_subscriptions(session, watchlist, now)
    if not first_seen:
        return 0
    start = min(first_seen.values())  # an event that became news before every subscription is nobody's
    events = session.scalars(
        select(Event)
        .where(
            Event.created_at >= now - FANOUT_WINDOW,
            or_(Event.created_at >= start, Event.occurred_at >= start),
            ~exists().where(Delivery.event_id == Event.id),
        )
        .order_by(Event.id)
    ).all()
    if not events:
        return 0
    stores = list(session.scalars(select(Store)).all())
    by_id = {s.id: s for s in stores}
    places: dict[int, list[StorePlace]] = defaultdict(list)
    for store in stores:
        places[store.retailer_id].append(
            StorePlace(store.external_id, store.postcode, store.latitude, store.longitude)
        )
    # a postcode none of a retailer's stores has stands for its nearest area of that retailer's stores
    # (notify/routing.py): another retailer's store at the very postcode must not hide them
    areas: dict[tuple[int, int], tuple[frozenset[str], tuple[float, float] | None]] = {}
    created = 0
    for event in events:
        row = by_id.get(event.payload.get("store_id") or -1)
        place = StorePlace(row.external_id, row.postcode, row.latitude, row.longitude) if row else None
        news = news_time(event.kind, event.occurred_at, event.created_at)
        for number, subscription in enumerate(watchlist.subscriptions):
            area: frozenset[str] | None = None
            centre: tuple[float, float] | None = None
            if row is not None:
                key = (number, row.retailer_id)
                if key not in areas:
                    areas[key] = postcode_place(subscription.postcode, places[row.retailer_id])
                area, centre = areas[key]
            if not wants(subscription, event.kind, event.payload, place, centre, area):
                continue
            rows = [
                {
                    "event_id": event.id,
                    "target": target_id(subscription.name, url),
                    "status": "pending",
                    "attempts": 0,
                    "next_attempt_at": now,
                }
                for url in subscription.urls
                if news >= first_seen[subscription_key(subscription, url)]
            ]
            # two notifiers may fan the same event out at once: the unique (event, target) keeps one
            insert_new(session, Delivery, rows, ["event_id", "target"])
            created += len(rows)
    return created


@dataclass(frozen=True)
class _Due:
    delivery_id: int
    target: str
    kind: str
    product_id: int | None
    store_scope: bool


def _batches(due: list[_Due]) -> list[list[int]]:
    """Due deliveries grouped into messages, in the order of their first delivery: a target's store events of
    one product and kind make one digest ("back in stock in 3 of your stores"), anything else goes alone."""
    batches: dict[tuple[object, ...], list[int]] = {}
    for row in due:
        digest = row.store_scope and row.kind in STORE_DIGEST and row.product_id is not None
        key = ("store", row.target, row.kind, row.product_id) if digest else ("one", row.delivery_id)
        batches.setdefault(key, []).append(row.delivery_id)
    return list(batches.values())


@dataclass(frozen=True)
class _Claimed:
    delivery_id: int
    event_id: int
    kind: str
    payload: dict[str, Any]
    occurred_at: datetime
    retailer: str | None


def deliver_pending(
    sessions: sessionmaker[Session],
    watchlist: Watchlist,
    now: datetime,
    blobs: BlobStore | None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: timedelta = BACKOFF,
) -> DeliveryReport:
    """Fan out new events, then send every pending delivery that is due at ``now``: one message per delivery,
    or per digest of a product's store events, each delivery marked delivered only when its message was."""
    report = DeliveryReport()
    with sessions.begin() as session:
        report.fanned_out = fan_out(session, watchlist, now)
    targets = _targets(watchlist)
    sender = Sender()
    for name, (subscription, url) in targets.items():
        sender.add(name, url, subscription.tags)
    with sessions() as session:
        slugs: dict[int, str] = {
            rid: slug for rid, slug in session.execute(select(Retailer.id, Retailer.slug))
        }
        due = [
            _Due(delivery_id, target, kind, product_id, payload.get("scope") == "store")
            for delivery_id, target, kind, product_id, payload in session.execute(
                select(Delivery.id, Delivery.target, Event.kind, Event.product_id, Event.payload)
                .join(Event, Event.id == Delivery.event_id)
                .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
                .order_by(Delivery.id)
            )
        ]
    for batch in _batches(due):
        # claim the deliveries with a lease, committed before sending: a second notifier (cron's run next to a
        # manual `promowatch notify`) skips them, and a crash mid-send leaves them to be retried after the lease
        with sessions.begin() as session:
            claimed: list[_Claimed] = []
            for delivery_id in batch:
                taken = session.execute(
                    update(Delivery)
                    .where(
                        Delivery.id == delivery_id,
                        Delivery.status == "pending",
                        Delivery.next_attempt_at <= now,
                    )
                    .values(next_attempt_at=now + CLAIM_LEASE)
                )
                if taken.rowcount != 1:  # type: ignore[attr-defined]
                    continue
                event = session.get_one(Delivery, delivery_id).event
                retailer = slugs.get(event.retailer_id) if event.retailer_id else None
                claimed.append(
                    _Claimed(
                        delivery_id, event.id, event.kind, dict(event.payload), event.occurred_at, retailer
                    )
                )
            if not claimed:
                continue
            target = session.get_one(Delivery, claimed[0].delivery_id).target
            if target not in targets:
                for item in claimed:
                    delivery = session.get_one(Delivery, item.delivery_id)
                    delivery.status, delivery.last_error = "failed", "target no longer in the watchlist"
                    report.count(target, item.retailer, "failed")
                continue
        subscription, _ = targets[target]
        first, html = claimed[0], sender.html(target)
        if len(claimed) == 1:
            message = format_message(
                first.kind, first.payload, subscription.language, as_html=html, seen=first.occurred_at
            )
            result = sender.send(target, message, _screenshot(blobs, first.payload))
        else:
            message = format_store_digest(
                first.kind,
                [item.payload for item in claimed],
                subscription.language,
                as_html=html,
                seen=[item.occurred_at for item in claimed],
            )
            result = sender.send(target, message)
        if result.ok:
            report.messages += 1
        events = ", ".join(str(item.event_id) for item in claimed)
        with sessions.begin() as session:
            for item in claimed:
                delivery = session.get_one(Delivery, item.delivery_id)
                delivery.attempts += 1
                if result.ok:
                    delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
                    report.count(target, item.retailer, "sent")
                    continue
                delivery.last_error = result.error
                if delivery.attempts >= max_attempts:
                    delivery.status = "failed"
                    report.count(target, item.retailer, "failed")
                else:
                    wait = min(backoff * 2 ** (delivery.attempts - 1), MAX_BACKOFF)
                    delivery.next_attempt_at = now + wait
                    report.count(target, item.retailer, "retried")
            if not result.ok:
                attempts = session.get_one(Delivery, first.delivery_id).attempts
                if attempts >= max_attempts:
                    report.errors.append(
                        f"{target}: gave up on {first.kind} event {events} after {attempts} attempts "
                        f"({result.error})"
                    )
                else:
                    retry_at = session.get_one(Delivery, first.delivery_id).next_attempt_at
                    report.errors.append(
                        f"{target}: {first.kind} event {events} attempt {attempts}/{max_attempts} "
                        f"failed ({result.error}); next at {retry_at.isoformat()}"
                    )
    return report


def _screenshot(blobs: BlobStore | None, payload: dict[str, Any]) -> tuple[bytes, str] | None:
    digest = payload.get("screenshot_sha256")
    if blobs is None or not digest or not blobs.exists(digest):
        return None
    return blobs.get(digest), f"screenshot-{digest[:12]}.png"
