"""Queries the crawl needs: get-or-create of reference rows, and the work that is due."""

from __future__ import annotations

import mimetypes
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from promowatch.config import AdSource, WatchedRetailer, Watchlist
from promowatch.db.models import (
    AdSighting,
    Base,
    EvidenceBlob,
    OfferObservation,
    Product,
    Promotion,
    Retailer,
    Store,
)
from promowatch.domain import as_utc
from promowatch.evidence import chain
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.capture import StoredBlob
from promowatch.items import AdvertisedPromotion
from promowatch.revalidation import Validators
from promowatch.rules.thresholds import Thresholds
from promowatch.urls import strip_tracking

# A swept promotion stays watched this long after its window ends or its last ad sighting, so that a finding
# can close and the restock after the promotion is still seen.
WATCH_AFTER = timedelta(days=7)
# a page not read in full for this long is fetched in full again
VALIDATORS_KEPT = timedelta(days=14)
# bound parameters per statement (IN lists, multi-row inserts), under SQLite's limit on old builds
BOUND_PARAMETERS = 900
# a product to look at: (id, url, sku, gtin)
DueProduct = Row[int, str, str | None, str | None]


def chunks(values: Sequence[Any], per_item: int = 1) -> Iterator[Sequence[Any]]:
    """``values`` in slices that bind at most ``BOUND_PARAMETERS`` parameters of ``per_item`` each."""
    size = max(1, BOUND_PARAMETERS // per_item)
    for start in range(0, len(values), size):
        yield values[start : start + size]


def insert_new(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert the rows whose unique ``keys`` are not taken yet. Safe against concurrent writers: two crawl
    processes creating the same row both succeed, one of them inserting nothing."""
    if not rows:
        return
    dialect = session.get_bind().dialect.name
    # one statement for any number of rows (an executemany): its compiled form is cached, where rows written
    # into a VALUES clause make a new statement to compile on every call
    table = cast(Table, model.__table__)
    if dialect == "postgresql":
        session.execute(pg_insert(table).on_conflict_do_nothing(index_elements=list(keys)), list(rows))
    elif dialect == "sqlite":
        session.execute(sqlite_insert(table).on_conflict_do_nothing(index_elements=list(keys)), list(rows))
    else:  # other databases: a savepoint per row
        for row in rows:
            try:
                with session.begin_nested():
                    session.add(model(**row))
            except IntegrityError:
                pass


def retailer_row(session: Session, retailer: WatchedRetailer) -> Retailer:
    """The retailer's row, created on first use."""
    row = session.scalar(select(Retailer).where(Retailer.slug == retailer.slug))
    if row is None:
        profile = retailer.profile
        values = {
            "slug": retailer.slug,
            "name": profile.name,
            "country": profile.country,
            "currency": profile.currency,
        }
        insert_new(session, Retailer, [values], ["slug"])
        row = session.scalars(select(Retailer).where(Retailer.slug == retailer.slug)).one()
    return row


def product_row(session: Session, retailer_id: int, url: str) -> Product:
    """The product at ``url``, created on first use; the canonical product when ``url`` is one of its aliases
    (its page named another URL as canonical)."""
    query = select(Product).where(Product.retailer_id == retailer_id, Product.url == url)
    row = session.scalar(query)
    if row is None:
        insert_new(session, Product, [{"retailer_id": retailer_id, "url": url}], ["retailer_id", "url"])
        row = session.scalars(query).one()
    if row.canonical_id is not None:
        return session.get_one(Product, row.canonical_id)
    return row


def promotion_key(retailer: str, product_url: str, valid_from: datetime | None, price: object) -> str:
    """Identifies a promotion across sweeps: the same product, window start and advertised price."""
    start = valid_from.date().isoformat() if valid_from else "-"
    return f"{retailer}|{product_url}|{start}|{price}"


def promotion_row(session: Session, key: str, values: dict[str, Any]) -> tuple[Promotion, bool]:
    """The promotion with this ``key``, created from ``values`` when there is none yet (safe against a
    concurrent writer creating the same one); the flag says whether this call found it new."""
    query = select(Promotion).where(Promotion.key == key)
    row = session.scalar(query)
    if row is not None:
        return row, False
    insert_new(session, Promotion, [{"key": key, **values}], ["key"])
    return session.scalars(query).one(), True


def adjoining_gap(thresholds: Thresholds) -> timedelta:
    """How far apart two cards' windows may lie and still be one promotion: a sweep that failed for a day (a 503,
    a captcha) leaves no gap in the promotion, up to the longest gap the price history tolerates."""
    return max(thresholds.sighting_grace, thresholds.max_history_gap)


def swept_promotion(
    session: Session,
    retailer_id: int,
    product_id: int,
    ad: AdvertisedPromotion,
    seen_at: datetime,
    adjoining: timedelta,
) -> tuple[Promotion, bool]:
    """The promotion an ad card shows, and whether it is new.

    The same product at the same advertised price whose window overlaps or adjoins (within ``adjoining``) the
    card's is the same promotion, extended: a weekly listing that shows a two-week promotion again, with a later
    listing start, does not split it. A changed price or a gap makes a new one. A card's window runs from its
    stated start (else from now, when it is seen) to its stated end (else now).
    """
    start = ad.valid_from or seen_at
    end = ad.valid_until or seen_at
    # the last sighting asked of the database: sightings added in this transaction are not in a loaded relationship
    last_sighting = (
        select(func.max(AdSighting.last_seen))
        .where(AdSighting.promotion_id == Promotion.id)
        .correlate(Promotion)
        .scalar_subquery()
    )
    candidates = session.execute(
        select(Promotion, last_sighting)
        .where(
            Promotion.retailer_id == retailer_id,
            Promotion.product_id == product_id,
            Promotion.origin == "sweep",
            Promotion.advertised_price == ad.advertised_price,
            Promotion.currency == ad.currency,
        )
        .order_by(Promotion.id.desc())
    ).all()
    for promotion, last_seen in candidates:
        last_seen = (
            promotion.created_at if last_seen is None else max(as_utc(last_seen), promotion.created_at)
        )
        known_start = promotion.valid_from or promotion.created_at
        known_end = max(promotion.valid_until or last_seen, last_seen)
        if start <= known_end + adjoining and known_start <= end + adjoining:
            _extend(promotion, ad)
            return promotion, False
    key = f"{ad.product_url}|{ad.advertised_price}|{start.isoformat()}"
    values = {
        "retailer_id": retailer_id,
        "product_id": product_id,
        "title": ad.title,
        "advertised_price": ad.advertised_price,
        "reference_price": ad.reference_price,
        "currency": ad.currency,
        "valid_from": ad.valid_from,
        "valid_until": ad.valid_until,
        "window_basis": ad.window_basis,
        "origin": "sweep",
        "region": ad.region,
        "created_at": seen_at,
    }
    return promotion_row(session, f"{retailer_id}|{key}"[:300], values)


def _extend(promotion: Promotion, ad: AdvertisedPromotion) -> None:
    """Widen a promotion's stated window by what a later card states (the earliest start, the latest end)."""
    if ad.valid_from is not None and (promotion.valid_from is None or ad.valid_from < promotion.valid_from):
        promotion.valid_from = ad.valid_from
        promotion.window_basis = ad.window_basis
    if ad.valid_until is not None and (
        promotion.valid_until is None or ad.valid_until > promotion.valid_until
    ):
        promotion.valid_until = ad.valid_until
    if promotion.reference_price is None and ad.reference_price is not None:
        promotion.reference_price = ad.reference_price


def _ad_file_evidence(session: Session, blobs: BlobStore | None, ad: AdSource, now: datetime) -> str | None:
    """The SHA-256 of an ad's file, stored in the evidence store and indexed (None without a file or store)."""
    if ad.file is None or blobs is None:
        return None
    data = ad.file.read_bytes()
    sha, _ = blobs.put(data)
    media_type = mimetypes.guess_type(ad.file.name)[0] or "application/octet-stream"
    record_blobs(session, [StoredBlob(sha, len(data), media_type)], now)
    return sha


def watchlist_sighting(session: Session, promotion_id: int, ad: AdSource) -> AdSighting | None:
    """The sighting already recorded for a watchlist ad. An ad with a URL is known by it; one without (a print
    or TV ad) by its kind and then its file's or note's match, or as the only such ad: adding a file or
    a note to an ad entered before is the same sighting, not a second one."""
    rows = session.scalars(
        select(AdSighting)
        .where(AdSighting.promotion_id == promotion_id, AdSighting.kind == ad.kind)
        .order_by(AdSighting.id)
    ).all()
    if ad.url:
        return next((r for r in rows if r.source_url == ad.url), None)
    # earlier versions put the file's path where the URL goes
    offline = [
        r for r in rows if r.source_url is None or not r.source_url.startswith(("http://", "https://"))
    ]
    legacy = str(ad.file) if ad.file else None
    for matches in (
        lambda r: legacy is not None and r.source_url == legacy,
        lambda r: ad.note is not None and r.note == ad.note,
    ):
        found = [r for r in offline if matches(r)]
        if found:
            return found[0]
    return offline[0] if len(offline) == 1 else None


def sync_watchlist(
    session: Session, watchlist: Watchlist, now: datetime, blobs: BlobStore | None = None
) -> None:
    """Write the watchlist's retailers, watched products and hand-entered promotions to the database; with
    ``blobs``, each ad's file is stored as the evidence of its sighting."""
    rows = {r.slug: retailer_row(session, r) for r in watchlist.retailers}
    for retailer in watchlist.retailers:
        wanted = [{"retailer_id": rows[retailer.slug].id, "url": url} for url in watched_urls(retailer)]
        for part in chunks(wanted, per_item=2):  # a statement per many products, not a look-up each
            insert_new(session, Product, part, ["retailer_id", "url"])
    for entry in watchlist.promotions:
        row = rows[entry.retailer]
        product = product_row(session, row.id, entry.product_url)
        key = promotion_key(entry.retailer, entry.product_url, entry.valid_from, entry.advertised_price)
        promotion, _ = promotion_row(
            session,
            key,
            {
                "retailer_id": row.id,
                "product_id": product.id,
                "origin": "watchlist",
                "created_at": now,
                "title": entry.title,
                "advertised_price": entry.advertised_price,
                "currency": entry.currency,
            },
        )
        promotion.title = entry.title
        promotion.reference_price = entry.reference_price
        promotion.valid_from = entry.valid_from
        promotion.valid_until = entry.valid_until
        promotion.region = entry.region
        session.flush()
        for ad in entry.ads:
            exists = watchlist_sighting(session, promotion.id, ad)
            if exists is None:
                seen = ad.seen_at or entry.valid_from or now
                # a chained sighting never changes: a file added to an ad recorded without one stays out of
                # it (and out of the chain) rather than making a second sighting of the same ad
                sighting = AdSighting(
                    promotion_id=promotion.id,
                    kind=ad.kind,
                    source_url=ad.url,
                    note=ad.note,
                    seen_at=seen,
                    last_seen=seen,
                    checks=1,
                    evidence_sha256=_ad_file_evidence(session, blobs, ad, now),
                )
                session.add(sighting)
                session.flush()
                # a user's note of a print or TV ad is an observation like any other: it joins the hash chain
                chain.append_observation(session, sighting, now)


def absolute(retailer: WatchedRetailer, url: str) -> str:
    """A profile or watchlist path made absolute against the retailer's base URL."""
    if url.startswith(("http://", "https://")):
        return url
    return retailer.base_url + "/" + url.lstrip("/")


def watched_urls(retailer: WatchedRetailer) -> list[str]:
    """The product URLs the watchlist names for a retailer, its canary included."""
    return [
        strip_tracking(absolute(retailer, url), retailer.profile.tracking_params)
        for url in retailer.products + ((retailer.canary,) if retailer.canary else ())
    ]


def due_products(session: Session, watched: WatchedRetailer, now: datetime) -> Sequence[DueProduct]:
    """Products to look at now: watched ones and those of promotions running or recently advertised; their id,
    url, sku and gtin only (rows, not ORM objects: 20,000 products as objects held 30 MB at a crawl's start)."""
    retailer = session.scalar(select(Retailer).where(Retailer.slug == watched.slug))
    if retailer is None:
        return []
    horizon = now - WATCH_AFTER
    recent_ads = select(AdSighting.promotion_id).where(AdSighting.last_seen >= horizon)
    promoted = select(Promotion.product_id).where(
        Promotion.retailer_id == retailer.id,
        or_(
            Promotion.valid_until.is_(None),
            Promotion.valid_until >= horizon,
            Promotion.id.in_(recent_ads),
        ),
    )
    columns = select(Product.id, Product.url, Product.sku, Product.gtin).where(
        Product.retailer_id == retailer.id
    )
    due = {row.id: row for row in session.execute(columns.where(Product.id.in_(promoted)))}
    # the watched URLs in slices: a watchlist may name more products than a statement may bind parameters
    # (SQLite 32,766, PostgreSQL 65,535), and all of a retailer's products may be many more than are due
    for urls in chunks(watched_urls(watched)):
        due.update((row.id, row) for row in session.execute(columns.where(Product.url.in_(urls))))
    return [due[product_id] for product_id in sorted(due)]


def page_validators(session: Session, product_ids: Sequence[int], now: datetime) -> dict[int, Validators]:
    """The validators of each product page's latest full HTTP read (200, or 304 for an earlier body) of the
    last ``VALIDATORS_KEPT``, for a conditional re-check. Pages whose latest read was redirected elsewhere or
    carried no validators get none."""
    found: dict[int, Validators] = {}
    since = now - VALIDATORS_KEPT
    for ids in chunks(product_ids):
        latest = (
            select(func.max(OfferObservation.id))
            .where(
                OfferObservation.product_id.in_(ids),
                OfferObservation.observed_at
                >= since,  # a range of the (product, time) index, not all history
                OfferObservation.render == "http",
                OfferObservation.http_status.in_((200, 304)),
            )
            .group_by(OfferObservation.product_id)
        )
        rows = session.execute(
            select(
                OfferObservation.product_id,
                Product.url,
                OfferObservation.evidence_sha256,
                EvidenceBlob.media_type,
                OfferObservation.etag,
                OfferObservation.last_modified,
            )
            .join(Product, Product.id == OfferObservation.product_id)
            .outerjoin(EvidenceBlob, EvidenceBlob.sha256 == OfferObservation.evidence_sha256)
            .where(
                OfferObservation.id.in_(latest),
                OfferObservation.final_url == Product.url,
                or_(OfferObservation.etag.is_not(None), OfferObservation.last_modified.is_not(None)),
            )
        )
        for product_id, url, sha, media_type, etag, last_modified in rows:
            if sha is not None:
                found[product_id] = Validators(url, sha, media_type or "text/html", etag, last_modified)
    return found


def record_blobs(session: Session, stored: Sequence[StoredBlob], created_at: datetime) -> None:
    """Add index rows for blobs not yet indexed (a blob already on disk may predate its row after a crash, and
    another crawl process may index the same bytes at the same moment): rows that exist are left as they are."""
    rows = {
        blob.sha256: {
            "sha256": blob.sha256,
            "size": blob.size,
            "media_type": blob.media_type,
            "created_at": created_at,
        }
        for blob in stored
    }
    insert_new(session, EvidenceBlob, list(rows.values()), ["sha256"])


# ---------------------------------------------------------------- what a watchdog lists


def list_promotions(
    session: Session,
    now: datetime,
    *,
    retailer: str | None = None,
    state: str | None = None,
    thresholds: Thresholds | None = None,
) -> list[dict[str, Any]]:
    """Promotions the sweeps found and the watchlist entered, as JSON-ready rows, newest first, with their
    window and ad sources; ``state``: ``running`` or ``ended`` at ``now`` (one not started yet is neither)."""
    from promowatch.rules.model import PromotionFacts, Sighting
    from promowatch.rules.window import ends_at, is_running, starts_at

    limits = thresholds or Thresholds()
    query = (
        select(Promotion, Retailer.slug, Product.url)
        .join(Retailer, Retailer.id == Promotion.retailer_id)
        .join(Product, Product.id == Promotion.product_id)
        # every promotion's sightings in one more query, not one each (500 promotions: the dashboard's overview)
        .options(selectinload(Promotion.sightings))
        .order_by(Promotion.created_at.desc(), Promotion.id.desc())
    )
    if retailer is not None:
        query = query.where(Retailer.slug == retailer)
    rows = []
    for promotion, slug, url in session.execute(query).all():
        sightings = promotion.sightings
        facts = PromotionFacts(
            promotion.id,
            promotion.title,
            promotion.advertised_price,
            promotion.reference_price,
            promotion.currency,
            as_utc(promotion.valid_from) if promotion.valid_from else None,
            as_utc(promotion.valid_until) if promotion.valid_until else None,
            as_utc(promotion.created_at),
            tuple(Sighting(as_utc(s.seen_at), as_utc(s.last_seen)) for s in sightings),
            origin=promotion.origin,
            window_basis=promotion.window_basis,
        )
        start, end = starts_at(facts), ends_at(facts, limits)
        current = (
            "running"
            if is_running(facts, now, limits)
            else "ended"
            if end is not None and end < now
            else "upcoming"
        )
        if state is not None and current != state:
            continue
        rows.append(
            {
                "id": promotion.id,
                "retailer": slug,
                "title": promotion.title,
                "product_url": url,
                "advertised_price": str(promotion.advertised_price),
                "reference_price": None
                if promotion.reference_price is None
                else str(promotion.reference_price),
                "currency": promotion.currency,
                "valid_from": facts.valid_from.isoformat() if facts.valid_from else None,
                "valid_until": facts.valid_until.isoformat() if facts.valid_until else None,
                "starts": start.isoformat(),
                "ends": end.isoformat() if end else None,
                "state": current,
                "origin": promotion.origin,
                "region": promotion.region,
                "sources": sorted({s.source_url or s.kind for s in sightings}),
                "last_seen": max(as_utc(s.last_seen) for s in sightings).isoformat() if sightings else None,
            }
        )
    return rows


def list_findings(
    session: Session,
    *,
    state: str | None = None,
    retailer: str | None = None,
    rule: str | None = None,
    since: datetime | None = None,
) -> list[dict[str, Any]]:
    """Findings as JSON-ready rows, newest first. ``state``: ``open`` (not closed: open or confirmed),
    ``confirmed`` or ``closed``; ``since``: opened, or closed, at or after it."""
    from promowatch.db.models import Finding

    query = (
        select(Finding, Promotion.title, Retailer.slug)
        .join(Promotion, Promotion.id == Finding.promotion_id)
        .join(Retailer, Retailer.id == Promotion.retailer_id)
        .order_by(Finding.opened_at.desc(), Finding.id.desc())
    )
    if state == "open":
        query = query.where(Finding.state != "closed")
    elif state is not None:
        query = query.where(Finding.state == state)
    if retailer is not None:
        query = query.where(Retailer.slug == retailer)
    if rule is not None:
        query = query.where(Finding.rule == rule)
    if since is not None:
        query = query.where(or_(Finding.opened_at >= since, Finding.closed_at >= since))
    return [
        {
            "id": finding.id,
            "promotion": title,
            "retailer": slug,
            "rule": finding.rule,
            "state": finding.state,
            "opened_at": finding.opened_at.isoformat(),
            "confirmed_at": finding.confirmed_at.isoformat() if finding.confirmed_at else None,
            "closed_at": finding.closed_at.isoformat() if finding.closed_at else None,
            "summary": finding.summary,
            "inputs": finding.inputs,
        }
        for finding, title, slug in session.execute(query).all()
    ]


def products_per_retailer(session: Session) -> dict[str, int]:
    """How many product pages each retailer has: the work of its crawl, to share retailers between processes."""
    rows = session.execute(
        select(Retailer.slug, func.count(Product.id))
        .outerjoin(Product, (Product.retailer_id == Retailer.id) & Product.canonical_id.is_(None))
        .group_by(Retailer.slug)
    )
    return {slug: count for slug, count in rows}


def store_postcodes(session: Session) -> dict[str, list[str]]:
    """The postcodes of each retailer's stores known so far (retailers with none left out)."""
    rows = session.execute(
        select(Retailer.slug, Store.postcode).join(Store, Store.retailer_id == Retailer.id)
    )
    postcodes: dict[str, list[str]] = {}
    for slug, postcode in rows:
        if postcode:
            postcodes.setdefault(slug, []).append(postcode)
    return postcodes
