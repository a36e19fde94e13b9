"""A consumer's own orders: recording them and their statuses, the ``delivery_overdue`` evaluation, and their part
of a case bundle.

An order and each status are chained when recorded (record kinds ``order`` and ``order_status``), a status's
file by its SHA-256 in the evidence store, so that deleting or editing what the consumer recorded is detectable
like any observation. Orders come from the watchlist's ``[[orders]]`` (recorded once the run's clock reaches
their ``ordered_at``) or from ``promowatch order add``; the rule itself is pure (:mod:`promowatch.rules.orders`).
"""

from __future__ import annotations

import mimetypes
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from promowatch.config import WatchedOrder, Watchlist
from promowatch.db.models import (
    AdSighting,
    Finding,
    OfferObservation,
    Order,
    OrderStatus,
    Product,
    Promotion,
    Retailer,
)
from promowatch.db.queries import product_row, retailer_row
from promowatch.db.writes import write_order, write_order_status
from promowatch.domain import money_str
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.canonical import iso_utc
from promowatch.evidence.capture import StoredBlob
from promowatch.evidence.chain import order_record
from promowatch.rules.model import PromotionFacts, Sighting, StoreInterval, Verdict
from promowatch.rules.orders import RULE, OrderFacts, StatusPoint, delivery_overdue, outcome_of, promised_by
from promowatch.rules.stores import Crawl
from promowatch.rules.thresholds import Thresholds
from promowatch.rules.window import is_running


class OrderError(ValueError):
    """An order or status that cannot be recorded as given (bad input, not a failure)."""


@dataclass(frozen=True)
class NewOrder:
    """An order as the consumer enters it; ``promotion`` is a promotion's id or title."""

    slug: str
    retailer: str
    product_url: str | None
    promotion: int | str | None
    ordered_at: datetime
    paid_at: datetime | None
    price_paid: Decimal
    currency: str | None
    reference: str
    promise: str | None = None


# ---------------------------------------------------------------- recording


def promotion_facts(session: Session, promotion: Promotion) -> PromotionFacts:
    sightings = session.execute(
        select(AdSighting.seen_at, AdSighting.last_seen)
        .where(AdSighting.promotion_id == promotion.id)
        .order_by(AdSighting.seen_at, AdSighting.id)
    ).all()
    return PromotionFacts(
        promotion.id,
        promotion.title,
        promotion.advertised_price,
        promotion.reference_price,
        promotion.currency,
        promotion.valid_from,
        promotion.valid_until,
        promotion.created_at,
        tuple(Sighting(seen, last) for seen, last in sightings),
        origin=promotion.origin,
        window_basis=promotion.window_basis,
    )


def _running_promotion(
    session: Session, candidates: Sequence[Promotion], at: datetime, thresholds: Thresholds
) -> Promotion | None:
    """The promotion among ``candidates`` that ran at ``at`` (the latest recorded when several did)."""
    running = [p for p in candidates if is_running(promotion_facts(session, p), at, thresholds)]
    return max(running, key=lambda p: (p.created_at, p.id)) if running else None


def resolve_promotion(
    session: Session, order: Order, thresholds: Thresholds, named: int | str | None = None
) -> Promotion | None:
    """The promotion an order was placed under: the one named (id or title), else the promotion of its product
    that ran when it was ordered."""
    if isinstance(named, int):
        promotion = session.get(Promotion, named)
        if promotion is None or promotion.retailer_id != order.retailer_id:
            raise OrderError(f"no promotion {named} of this retailer (see `promowatch promotions`)")
        return promotion
    if isinstance(named, str):
        titled = session.scalars(
            select(Promotion).where(Promotion.retailer_id == order.retailer_id, Promotion.title == named)
        ).all()
        if not titled:
            raise OrderError(f"no promotion titled {named!r} (see `promowatch promotions`)")
        return _running_promotion(session, titled, order.ordered_at, thresholds) or max(
            titled, key=lambda p: (p.created_at, p.id)
        )
    if order.product_id is None:
        return None
    candidates = session.scalars(select(Promotion).where(Promotion.product_id == order.product_id)).all()
    return _running_promotion(session, candidates, order.ordered_at, thresholds)


def add_order(session: Session, new: NewOrder, origin: str, now: datetime, thresholds: Thresholds) -> Order:
    """Record an order and chain it, inside the caller's transaction."""
    if session.scalar(select(Order.id).where(Order.slug == new.slug)) is not None:
        raise OrderError(f"an order {new.slug!r} is already recorded: choose another id")
    retailer = session.scalar(select(Retailer).where(Retailer.slug == new.retailer))
    if retailer is None:
        raise OrderError(f"no retailer {new.retailer!r} (a [[retailers]] slug the crawl has seen)")
    if new.paid_at is not None and new.paid_at < new.ordered_at:
        raise OrderError("paid before it was ordered: check --paid-at")
    order = Order(
        slug=new.slug,
        retailer_id=retailer.id,
        product_id=product_row(session, retailer.id, new.product_url).id if new.product_url else None,
        ordered_at=new.ordered_at,
        paid_at=new.paid_at,
        price_paid=new.price_paid,
        currency="",
        reference=new.reference,
        promise=new.promise,
        origin=origin,
    )
    promotion = resolve_promotion(session, order, thresholds, new.promotion)
    if promotion is not None:
        order.promotion_id = promotion.id
        order.product_id = order.product_id or promotion.product_id
    if order.product_id is None:
        raise OrderError("what was ordered is unknown: give the product or the promotion")
    currency = new.currency or (promotion.currency if promotion else None) or retailer.currency
    if not currency:
        raise OrderError("the currency is unknown: give it")
    order.currency = currency
    return write_order(session, order, now)


def add_status(
    session: Session,
    blobs: BlobStore,
    slug: str,
    text: str,
    at: datetime,
    now: datetime,
    *,
    outcome: str | None = None,
    file: Path | None = None,
) -> OrderStatus:
    """Record one status of an order, its file stored and hashed, and chain it (caller's transaction)."""
    order = session.scalar(select(Order).where(Order.slug == slug))
    if order is None:
        raise OrderError(f"no order {slug!r} (see `promowatch order list`)")
    if not text.strip():
        raise OrderError("the status text is empty")
    stored = None
    if file is not None:
        data = file.read_bytes()
        sha, _ = blobs.put(data)
        media_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        stored = StoredBlob(sha, len(data), media_type)
    status = OrderStatus(
        order_id=order.id,
        at=at,
        text=text.strip(),
        outcome=outcome,
        file_name=file.name if file is not None else None,
    )
    return write_order_status(session, status, now, stored)


def _new_order(entry: WatchedOrder) -> NewOrder:
    return NewOrder(
        slug=entry.slug,
        retailer=entry.retailer,
        product_url=entry.product_url,
        promotion=entry.promotion,
        ordered_at=entry.ordered_at,
        paid_at=entry.paid_at,
        price_paid=entry.price_paid,
        currency=entry.currency,
        reference=entry.reference,
        promise=entry.promise,
    )


def sync_orders(session: Session, watchlist: Watchlist, blobs: BlobStore, now: datetime) -> list[str]:
    """Record the watchlist's orders and statuses the run's clock has reached and that are not recorded yet.

    A recorded order is never rewritten (it is chained): one that differs from its watchlist entry is left as
    it was, and a line says so."""
    warnings: list[str] = []
    for entry in watchlist.orders:
        if entry.ordered_at > now:
            continue
        order = session.scalar(select(Order).where(Order.slug == entry.slug))
        if order is None:
            retailer_row(session, watchlist.retailer(entry.retailer))  # before the first crawl, too
            try:
                order = add_order(session, _new_order(entry), "watchlist", now, watchlist.thresholds)
            except OrderError as error:
                warnings.append(f"order {entry.slug!r}: not recorded yet: {error}")
                continue
        elif (order.reference, order.ordered_at, order.price_paid, order.promise) != (
            entry.reference,
            entry.ordered_at,
            entry.price_paid,
            entry.promise,
        ):
            warnings.append(
                f"order {entry.slug!r} differs from the one recorded on {order.created_at:%Y-%m-%d}: a recorded "
                "order is kept as it was (give a changed order a new id)"
            )
        seen = {(s.at, s.text) for s in order.statuses}
        for status in entry.statuses:
            if status.at > now or (status.at, status.text) in seen:
                continue
            add_status(
                session,
                blobs,
                entry.slug,
                status.text,
                status.at,
                now,
                outcome=status.outcome,
                file=status.file,
            )
    return warnings


# ---------------------------------------------------------------- listing


def _status_json(status: OrderStatus) -> dict[str, Any]:
    return {
        "id": status.id,
        "at": iso_utc(status.at),
        "text": status.text,
        "outcome": outcome_of(StatusPoint(status.id, status.at, status.text, status_outcome(status.outcome))),
        "file": status.file_name,
        "file_sha256": status.file_sha256,
    }


def _order_json(session: Session, order: Order) -> dict[str, Any]:
    retailer = session.get_one(Retailer, order.retailer_id)
    product = session.get(Product, order.product_id) if order.product_id else None
    return {
        "id": order.slug,
        "retailer": retailer.slug,
        "product_url": product.url if product else None,
        "promotion_id": order.promotion_id,
        "ordered_at": iso_utc(order.ordered_at),
        "paid_at": iso_utc(order.paid_at),
        "price_paid": money_str(order.price_paid),
        "currency": order.currency,
        "reference": order.reference,
        "promise": order.promise,
        "origin": order.origin,
        "statuses": [_status_json(s) for s in sorted(order.statuses, key=lambda s: (s.at, s.id))],
    }


def list_orders(session: Session) -> list[dict[str, Any]]:
    """Every recorded order with its statuses, oldest order first."""
    orders = session.scalars(select(Order).order_by(Order.ordered_at, Order.id)).all()
    return [_order_json(session, order) for order in orders]


# ---------------------------------------------------------------- evaluation


def status_outcome(value: str | None) -> Any:
    return value if value in ("delivered", "cancelled") else None


def _observed_promise(session: Session, order: Order) -> OfferObservation | None:
    """The last offer observation of the product before the order that showed a delivery text."""
    if order.product_id is None:
        return None
    return session.scalars(
        select(OfferObservation)
        .where(
            OfferObservation.product_id == order.product_id,
            OfferObservation.observed_at <= order.ordered_at,
            OfferObservation.delivery.is_not(None),
        )
        .order_by(OfferObservation.observed_at.desc(), OfferObservation.id.desc())
        .limit(1)
    ).first()


def _order_facts(record: dict[str, Any], promise: str | None, basis: str, seen_at: datetime) -> OrderFacts:
    """The order as the rule reads it, from its chained record and the promise's text, parsed as seen then."""
    from promowatch.extract.delivery import parse_delivery  # the shop's wording to a structured promise

    ordered_at = datetime.fromisoformat(record["ordered_at"])
    paid_at = datetime.fromisoformat(record["paid_at"]) if record.get("paid_at") else None
    counted_from = max(ordered_at, paid_at or ordered_at)
    return OrderFacts(
        record["id"],
        record["slug"],
        ordered_at,
        paid_at,
        Decimal(record["price_paid"]),
        record["currency"],
        record["reference"],
        promise,
        basis,
        promised_by(parse_delivery(promise, seen_at), counted_from) if promise else None,
    )


def order_facts(session: Session, order: Order) -> tuple[OrderFacts, dict[str, Any]]:
    """The order as the rule reads it, its promise parsed; and where the promise came from."""
    source: dict[str, Any] = {}
    text, basis, seen_at = order.promise, "entered", order.ordered_at
    if text is None:
        observation = _observed_promise(session, order)
        if observation is not None:
            text, basis, seen_at = observation.delivery, "observation", observation.observed_at
            source = {"offer_observation": observation.id, "observed_at": iso_utc(observation.observed_at)}
        else:
            basis = "none"
    return _order_facts(order_record(order), text, basis, seen_at), source


def order_verdict_from_case(
    case: Mapping[str, Any],
    lines: Sequence[Mapping[str, Any]],
    promotion: PromotionFacts,
    intervals: Sequence[StoreInterval],
    scope: Collection[int],
    thresholds: Thresholds,
    now: datetime,
    crawls: Sequence[Crawl] | None,
) -> Verdict:
    """``delivery_overdue`` recomputed from a case bundle alone: the order and statuses as chained, the promise
    from the offer observation it was read from (or as entered), the bundle's stores and promotion."""
    inputs = case["finding"]["inputs"] or {}
    order = next((o for o in case.get("orders") or [] if o["record"]["id"] == inputs.get("order_id")), None)
    if order is None:
        raise LookupError(f"order {inputs.get('order')!r} of the finding is not in case.json")
    record = order["record"]
    text, basis = inputs.get("promise"), inputs.get("promise_basis", "entered")
    seen_at = datetime.fromisoformat(record["ordered_at"])
    if basis == "observation":
        source = inputs.get("promise_source") or {}
        line = next(
            (x for x in lines if x["kind"] == "offer" and x["id"] == source.get("offer_observation")), None
        )
        if line is None:
            raise LookupError("the offer observation the delivery promise was read from is not in the bundle")
        text, seen_at = line["record"]["delivery"], datetime.fromisoformat(line["record"]["observed_at"])
    elif basis == "entered":
        text = record["promise"]
    statuses = [
        StatusPoint(
            s["record"]["id"],
            datetime.fromisoformat(s["record"]["at"]),
            s["record"]["text"],
            status_outcome(s["record"]["outcome"]),
        )
        for s in order["statuses"]
    ]
    facts = _order_facts(record, text, basis, seen_at)
    return delivery_overdue(facts, statuses, promotion, intervals, scope, thresholds, now, crawls)


# ---------------------------------------------------------------- cases


def order_case_section(
    session: Session, promotion_id: int, blobs: BlobStore | None = None
) -> tuple[list[dict[str, Any]], dict[str, bytes]]:
    """The orders placed under a promotion, for its case bundle: each order and its status history with the
    chained records, and the statuses' files as bundle entries ``orders/<sha256>`` (listed with their hashes,
    which ``case verify`` checks)."""
    orders = session.scalars(
        select(Order).where(Order.promotion_id == promotion_id).order_by(Order.ordered_at, Order.id)
    ).all()
    # orders recorded without a promotion join through their overdue finding
    via_findings = {
        f.inputs.get("order_id")
        for f in session.scalars(
            select(Finding).where(Finding.promotion_id == promotion_id, Finding.rule == RULE)
        )
    }
    known = {o.id for o in orders}
    extra = [i for i in via_findings if isinstance(i, int) and i not in known]
    if extra:
        orders = [*orders, *session.scalars(select(Order).where(Order.id.in_(extra))).all()]
    section: list[dict[str, Any]] = []
    files: dict[str, bytes] = {}
    for order in orders:
        data = _order_json(session, order)
        data["record"] = order_record(order)
        for status, row in zip(
            data["statuses"], sorted(order.statuses, key=lambda s: (s.at, s.id)), strict=True
        ):
            status["record"] = order_record(row)
            digest = row.file_sha256
            if digest is None:
                continue
            name = f"orders/{digest}"
            if blobs is not None and blobs.exists(digest):
                files[name] = blobs.get(digest)
                status["exhibit"] = {"path": name, "sha256": digest}
            else:  # the store lost it: the case says so rather than leaving the status without its file
                status["exhibit"] = {"path": None, "sha256": digest}
        section.append(data)
    return section, files
