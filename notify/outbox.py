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

from sqlalchemy import exists, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from notify.messages import format_message
from notify.routing import StorePlace, wants
from notify.sender import Sender, target_id
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
            "sent": self.sent,
            "retry_later": self.retried,
            "failed": self.failed,
            "per_target": {t: dict(c) for t, c in sorted(self.per_target.items())},
            "per_retailer": {r: dict(c) for r, c in sorted(self.per_retailer.items())},
            "errors": list(self.errors),
        }


def _targets(watchlist: Watchlist) -> dict[str, tuple[Subscription, str]]:
    return {target_id(s.name, url): (s, url) for s in watchlist.subscriptions for url in s.urls}


def _centres(stores: list[Store]) -> dict[str, tuple[float, float]]:
    """Each postcode's centre: the mean position of the stores that have it."""
    places: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for store in stores:
        if store.postcode and store.latitude is not None and store.longitude is not None:
            places[store.postcode].append((store.latitude, store.longitude))
    return {
        code: (sum(p[0] for p in points) / len(points), sum(p[1] for p in points) / len(points))
        for code, points in places.items()
    }


def fan_out(session: Session, watchlist: Watchlist, now: datetime) -> int:
    """Create the pending deliveries of events that have none yet; returns how many."""
    events = session.scalars(
        select(Event)
        .where(Event.created_at >= now - FANOUT_WINDOW, ~exists().where(Delivery.event_id == Event.id))
        .order_by(Event.id)
    ).all()
    if not events:
        return 0
    stores = list(session.scalars(select(Store)).all())
    by_id = {s.id: s for s in stores}
    centres = _centres(stores)
    created = 0
    for event in events:
        row = by_id.get(event.payload.get("store_id") or -1)
        place = StorePlace(row.external_id, row.postcode, row.latitude, row.longitude) if row else None
        for subscription in watchlist.subscriptions:
            centre = centres.get(subscription.postcode or "")
            if not wants(subscription, event.kind, event.payload, place, centre):
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
            ]
            # two notifiers may fan the same event out at once: the unique (event, target) keeps one
            insert_new(session, Delivery, rows, ["event_id", "target"])
            created += len(rows)
    return created


def deliver_pending(
    sessions: sessionmaker[Session],
    watchlist: Watchlist,
    now: datetime,
    blobs: BlobStore | None,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    backoff: timedelta = BACKOFF,
) -> DeliveryReport:
    """Fan out new events, then send every pending delivery that is due at ``now``."""
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
        due = session.scalars(
            select(Delivery.id)
            .where(Delivery.status == "pending", Delivery.next_attempt_at <= now)
            .order_by(Delivery.id)
        ).all()
    for delivery_id in due:
        # claim the delivery with a lease, committed before sending: a second notifier (cron's run next to a
        # manual `promowatch notify`) skips it, and a crash mid-send leaves it to be retried after the lease
        with sessions.begin() as session:
            claimed = session.execute(
                update(Delivery)
                .where(
                    Delivery.id == delivery_id, Delivery.status == "pending", Delivery.next_attempt_at <= now
                )
                .values(next_attempt_at=now + CLAIM_LEASE)
            )
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                continue
            delivery = session.get_one(Delivery, delivery_id)
            event = delivery.event
            kind, event_id, payload, target = event.kind, event.id, dict(event.payload), delivery.target
            retailer = slugs.get(event.retailer_id) if event.retailer_id else None
            if target not in targets:
                delivery.status, delivery.last_error = "failed", "target no longer in the watchlist"
                report.count(target, retailer, "failed")
                continue
        subscription, _ = targets[target]
        message = format_message(kind, payload, subscription.language, as_html=sender.html(target))
        result = sender.send(target, message, _screenshot(blobs, payload))
        with sessions.begin() as session:
            delivery = session.get_one(Delivery, delivery_id)
            delivery.attempts += 1
            if result.ok:
                delivery.status, delivery.delivered_at, delivery.last_error = "delivered", now, None
                report.count(target, retailer, "sent")
                continue
            delivery.last_error = result.error
            if delivery.attempts >= max_attempts:
                delivery.status = "failed"
                report.count(target, retailer, "failed")
                report.errors.append(
                    f"{target}: gave up on {kind} event {event_id} after {delivery.attempts} attempts ({result.error})"
                )
            else:
                wait = min(backoff * 2 ** (delivery.attempts - 1), MAX_BACKOFF)
                delivery.next_attempt_at = now + wait
                report.count(target, retailer, "retried")
                report.errors.append(
                    f"{target}: {kind} event {event_id} attempt {delivery.attempts}/{max_attempts} "
                    f"failed ({result.error}); next at {delivery.next_attempt_at.isoformat()}"
                )
    return report


def _screenshot(blobs: BlobStore | None, payload: dict[str, Any]) -> tuple[bytes, str] | None:
    digest = payload.get("screenshot_sha256")
    if blobs is None or not digest or not blobs.exists(digest):
        return None
    return blobs.get(digest), f"screenshot-{digest[:12]}.png"
