"""Subscriptions made in the dashboard: checked, stored, and greeted with a test notification.

The Apprise URL is a secret: it is written to a file readable by the operator only (``web-subscriptions/`` in
the data directory, named by the target), and the database and every page keep only its schema.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from notify.sender import mask, schema_of, send_test, target_id
from notify.subscriptions import dashboard_url_file
from promowatch.config_schema import EVENT_KINDS
from promowatch.datadir import DataDir
from promowatch.db.models import Product, Promotion, WebSubscription
from promowatch.urls import strip_tracking

LANGUAGES = ("fr", "de", "it", "en")


class SubscriptionError(ValueError):
    """The form cannot make a subscription; the message says why, without the URL."""


def url_file(data: DataDir, target: str) -> Path:
    return dashboard_url_file(data.root, target)


def _keep_secret(path: Path, url: str) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(path.name + ".partial")
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(url + "\n")
    temp.replace(path)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def parse_form(form: dict[str, Any]) -> dict[str, Any]:
    """The subscription's fields from the form, checked; raises SubscriptionError."""
    name = str(form.get("name") or "").strip()
    url = str(form.get("url") or "").strip()
    if not name or len(name) > 100:
        raise SubscriptionError("give the subscription a name (at most 100 characters)")
    if "://" not in url:
        raise SubscriptionError(
            "the Apprise URL must look like schema://…, for example mailto://… or json://…"
        )
    events = _as_list(form.get("events"))
    unknown = [e for e in events if e not in EVENT_KINDS]
    if unknown or not events:
        raise SubscriptionError(f"choose events from {', '.join(EVENT_KINDS)}")
    language = str(form.get("language") or "en")
    if language not in LANGUAGES:
        raise SubscriptionError(f"language: one of {', '.join(LANGUAGES)}")
    promotion = str(form.get("promotion_id") or "").strip()
    product_url = str(form.get("product_url") or "").strip() or None
    if product_url and promotion:
        raise SubscriptionError("follow a promotion or a product page, not both")
    postcode = str(form.get("postcode") or "").strip() or None
    radius = str(form.get("radius_km") or "").strip()
    try:
        radius_km = float(radius) if radius else None
    except ValueError:
        raise SubscriptionError("the radius is a number of kilometres") from None
    if radius_km is not None and not 0 < radius_km <= 500:
        raise SubscriptionError("the radius is between 0 and 500 km")
    if radius_km is not None and postcode is None:
        raise SubscriptionError("a radius needs a postcode")
    return {
        "name": name,
        "url": url,
        "events": events,
        "language": language,
        "promotion_id": int(promotion) if promotion.isdigit() else None,
        "product_url": product_url,
        "postcode": postcode,
        "radius_km": radius_km,
    }


def create_subscription(
    sessions: sessionmaker[Session], data: DataDir, form: dict[str, Any], now: datetime
) -> int:
    """Store the subscription and send its test notification; returns its id."""
    fields = parse_form(form)
    url = fields.pop("url")
    target = target_id(fields["name"], url)
    with sessions() as session:
        product_id = None
        if fields["promotion_id"] is not None:
            promotion = session.get(Promotion, fields["promotion_id"])
            if promotion is None:
                raise SubscriptionError(f"no promotion {fields['promotion_id']}")
            product_id = promotion.product_id
        if fields["product_url"] is not None:
            # a watched product's page as the crawls know it (tracking parameters left out)
            product_id = session.scalar(
                select(Product.id).where(
                    Product.url.in_({fields["product_url"], strip_tracking(fields["product_url"])})
                )
            )
            if product_id is None:
                raise SubscriptionError(
                    "no watched product has that page: paste its URL as the shop shows it"
                )
        if session.scalar(select(WebSubscription.id).where(WebSubscription.target == target)):
            raise SubscriptionError(f"{fields['name']}: this name and URL are subscribed already")
        ok, told = send_test(url, fields["language"])
        _keep_secret(url_file(data, target), url)
        row = WebSubscription(
            name=fields["name"],
            target=target,
            url_schema=schema_of(url)[:32] or "?",
            product_id=product_id,
            promotion_id=fields["promotion_id"],
            postcode=fields["postcode"],
            radius_km=fields["radius_km"],
            events={"kinds": fields["events"]},
            language=fields["language"],
            created_at=now,
            tested_at=now,
            # send_test masks the URL already; mask again so no later change there leaks it here
            test_result=mask(("ok: " if ok else "failed: ") + told, [url])[:300],
        )
        session.add(row)
        session.commit()
        return row.id
