"""Stored offer observations as JSON-ready rows, for ``promowatch observations``: what each look at a product
page read (price, availability, orderable, why unknown), how (HTTP or the browser, the wait outcome) and the
evidence behind it, without SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from promowatch.db.models import OfferObservation, Product, Retailer
from promowatch.extract.delivery import promise_json


def list_observations(
    sessions: sessionmaker[Session], *, retailer: str | None = None, product: str | None = None
) -> list[dict[str, Any]]:
    """The latest observation of each watched product (of ``retailer`` when given), by retailer and URL; with
    ``product`` (its URL), every observation of that product, newest first."""
    with sessions() as session:
        query = (
            select(OfferObservation, Product.url, Retailer.slug)
            .join(Product, Product.id == OfferObservation.product_id)
            .join(Retailer, Retailer.id == Product.retailer_id)
        )
        if retailer is not None:
            query = query.where(Retailer.slug == retailer)
        if product is not None:
            query = query.where(Product.url == product).order_by(
                OfferObservation.observed_at.desc(), OfferObservation.id.desc()
            )
        else:
            latest = select(func.max(OfferObservation.id)).group_by(OfferObservation.product_id)
            query = query.where(OfferObservation.id.in_(latest)).order_by(Retailer.slug, Product.url)
        return [observation_row(observation, url, slug) for observation, url, slug in session.execute(query)]


def observation_row(observation: OfferObservation, url: str, retailer: str) -> dict[str, Any]:
    """One observation as the public JSON row (money as strings, times in ISO 8601 UTC)."""
    vantage = observation.vantage or {}
    return {
        "id": observation.id,
        "retailer": retailer,
        "product_url": url,
        "observed_at": observation.observed_at.isoformat(),
        "render": observation.render,
        "price": None if observation.price is None else str(observation.price),
        "currency": observation.currency,
        "regular_price": None if observation.regular_price is None else str(observation.regular_price),
        "availability": observation.availability,
        "orderable": observation.orderable,
        "reason": observation.reason,
        "delivery": observation.delivery,
        "delivery_promise": promise_json(observation.delivery, observation.observed_at),
        "http_status": observation.http_status,
        "final_url": observation.final_url,
        "wait": vantage.get("wait"),
        "evidence_sha256": observation.evidence_sha256,
        "screenshot_sha256": observation.screenshot_sha256,
    }
