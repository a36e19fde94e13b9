"""The JSON API under ``/api/v1``: one declared collection per kind of record, keyset-paginated.

A page is ``{"items": [...], "next": URL or null}``; ``?after=ID&limit=N`` walks it (ascending id, at most 500).
The OpenAPI description is generated from the same declarations, so it cannot drift from what is served.
CSV exports of observations and findings stream in batches: a year of observations never sits in memory.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

import promowatch
from promowatch.db.models import (
    CrawlRun,
    Event,
    Finding,
    OfferObservation,
    Promotion,
    Retailer,
    StoreObservation,
    WebSubscription,
)
from promowatch.evidence.chain import OFFER_RECORD_COLUMNS
from promowatch.web import data


@dataclass(frozen=True)
class Filter:
    name: str
    column: Any
    kind: type = str
    description: str = ""


@dataclass(frozen=True)
class Collection:
    """One paginated collection: its path, the columns it lists, and the filters it takes."""

    path: str
    summary: str
    query: Callable[[], Any]  # a Select of the listed columns
    key: Any
    filters: tuple[Filter, ...] = ()


def _columns(model: Any, names: tuple[str, ...]) -> list[Any]:
    return [getattr(model, n) for n in names]


# the offer observation's fields as chained, the ones a case cites
OFFER_COLUMNS = OFFER_RECORD_COLUMNS
STORE_COLUMNS = (
    "id",
    "product_id",
    "store_id",
    "run_id",
    "first_seen",
    "last_seen",
    "checks",
    "availability",
    "quantity",
    "source_time",
    "evidence_sha256",
)
FINDING_COLUMNS = (
    "id",
    "promotion_id",
    "rule",
    "state",
    "opened_at",
    "confirmed_at",
    "closed_at",
    "evaluated_at",
    "summary",
    "inputs",
)

COLLECTIONS = (
    Collection(
        "/retailers",
        "Retailers",
        lambda: select(Retailer.id, Retailer.slug, Retailer.name, Retailer.country, Retailer.currency),
        Retailer.id,
    ),
    Collection(
        "/promotions",
        "Promotions as advertised",
        lambda: select(
            Promotion.id,
            Retailer.slug.label("retailer"),
            Promotion.product_id,
            Promotion.title,
            Promotion.advertised_price,
            Promotion.reference_price,
            Promotion.currency,
            Promotion.valid_from,
            Promotion.valid_until,
            Promotion.origin,
            Promotion.region,
            Promotion.window_basis,
        ).join(Retailer, Retailer.id == Promotion.retailer_id),
        Promotion.id,
        (Filter("retailer", Retailer.slug, str, "retailer slug"),),
    ),
    Collection(
        "/observations",
        "Offer observations (one look at a product online)",
        lambda: select(*_columns(OfferObservation, OFFER_COLUMNS)),
        OfferObservation.id,
        (
            Filter("product_id", OfferObservation.product_id, int),
            Filter("availability", OfferObservation.availability, str),
        ),
    ),
    Collection(
        "/store-observations",
        "Store observations (a store's stock of a product over an interval)",
        lambda: select(*_columns(StoreObservation, STORE_COLUMNS)),
        StoreObservation.id,
        (
            Filter("product_id", StoreObservation.product_id, int),
            Filter("store_id", StoreObservation.store_id, int),
        ),
    ),
    Collection(
        "/findings",
        "Findings of the rules",
        lambda: select(*_columns(Finding, FINDING_COLUMNS)),
        Finding.id,
        (
            Filter("promotion_id", Finding.promotion_id, int),
            Filter("rule", Finding.rule, str),
            Filter("state", Finding.state, str, "open, confirmed or closed"),
        ),
    ),
    Collection(
        "/events",
        "Events written to the outbox",
        lambda: select(
            Event.id,
            Event.kind,
            Event.created_at,
            Event.occurred_at,
            Event.retailer_id,
            Event.product_id,
            Event.promotion_id,
            Event.finding_id,
            Event.payload,
        ),
        Event.id,
        (Filter("kind", Event.kind, str), Filter("promotion_id", Event.promotion_id, int)),
    ),
    Collection(
        "/runs",
        "Crawl runs",
        lambda: select(
            CrawlRun.id,
            CrawlRun.spider,
            CrawlRun.retailer_id,
            CrawlRun.status,
            CrawlRun.started_at,
            CrawlRun.finished_at,
            CrawlRun.stats,
        ),
        CrawlRun.id,
        (Filter("spider", CrawlRun.spider, str),),
    ),
    Collection(
        "/subscriptions",
        "Subscriptions made in the dashboard (their URLs masked)",
        lambda: select(WebSubscription.id),
        WebSubscription.id,
    ),
)


class BadQuery(ValueError):
    pass


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    if not value.isdigit():
        raise BadQuery(f"{name}: a whole number, got {value!r}")
    return int(value)


def _filtered(collection: Collection, request: Request) -> Select[Any]:
    query = collection.query()
    for f in collection.filters:
        raw = request.query_params.get(f.name)
        if raw is None or raw == "":
            continue
        query = query.where(f.column == (_int(raw, f.name) if f.kind is int else raw))
    return query


def _page(collection: Collection) -> Callable[[Request], Any]:
    def endpoint(request: Request) -> Response:
        board = request.app.state.dashboard
        try:
            after = _int(request.query_params.get("after"), "after")
            limit = _int(request.query_params.get("limit"), "limit") or 100
            query = _filtered(collection, request)
        except BadQuery as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        with board.reader() as session:
            page = data.keyset(session, query, collection.key, after, limit)
            items = [data.jsonable(item) for item in page.items]
            if collection.path == "/subscriptions":
                items = _subscriptions(session, [item["id"] for item in items])
        following = None
        if page.after is not None:
            following = str(request.url.include_query_params(after=page.after, limit=limit))
        return JSONResponse({"items": items, "next": following})

    return endpoint


def _subscriptions(session: Session, ids: list[int]) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(WebSubscription).where(WebSubscription.id.in_(ids)).order_by(WebSubscription.id)
    )
    return [data.subscription_json(s) for s in rows]


# ---------------------------------------------------------------- CSV


CSV_BATCH = 5000


def _csv_stream(request: Request, collection: Collection, columns: tuple[str, ...]) -> Iterator[str]:
    board = request.app.state.dashboard
    query = _filtered(collection, request)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    yield out.getvalue()
    after: int | None = None
    while True:
        with board.reader() as session:
            page = data.keyset(session, query, collection.key, after, CSV_BATCH)
        out.seek(0)
        out.truncate()
        for item in page.items:
            row = data.jsonable(item)
            writer.writerow(["" if row[c] is None else row[c] for c in columns])
        yield out.getvalue()
        if page.after is None:
            return
        after = page.after


def _csv(path: str, columns: tuple[str, ...]) -> Callable[[Request], Any]:
    collection = next(c for c in COLLECTIONS if c.path == path)

    async def endpoint(request: Request) -> Response:
        try:
            _filtered(collection, request)
        except BadQuery as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        name = path.strip("/") + ".csv"
        return StreamingResponse(
            _csv_stream(request, collection, columns),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    return endpoint


# ---------------------------------------------------------------- OpenAPI


def openapi() -> dict[str, Any]:
    paging = [
        {"name": "after", "in": "query", "schema": {"type": "integer"}, "description": "the last id seen"},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "maximum": data.MAX_PAGE, "default": 100},
        },
    ]
    paths: dict[str, Any] = {}
    for c in COLLECTIONS:
        params = paging + [
            {
                "name": f.name,
                "in": "query",
                "schema": {"type": "integer" if f.kind is int else "string"},
                **({"description": f.description} if f.description else {}),
            }
            for f in c.filters
        ]
        paths["/api/v1" + c.path] = {
            "get": {
                "summary": c.summary,
                "parameters": params,
                "responses": {
                    "200": {
                        "description": "one page",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}},
                    },
                    "400": {"description": "a filter or cursor that is not a number"},
                    "401": {"description": "a token is needed (served beyond loopback)"},
                },
            }
        }
    for name in ("observations", "findings"):
        paths[f"/api/v1/{name}.csv"] = {
            "get": {
                "summary": f"All {name} as CSV (the filters of /api/v1/{name})",
                "responses": {"200": {"description": "CSV", "content": {"text/csv": {}}}},
            }
        }
    return {
        "openapi": "3.1.0",
        "info": {"title": "promowatch", "version": promowatch.__version__},
        "components": {
            "securitySchemes": {"token": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Page": {
                    "type": "object",
                    "required": ["items", "next"],
                    "properties": {
                        "items": {"type": "array", "items": {"type": "object"}},
                        "next": {"type": ["string", "null"], "description": "URL of the next page"},
                    },
                }
            },
        },
        "security": [{}, {"token": []}],
        "paths": paths,
    }


def openapi_json(request: Request) -> Response:
    return JSONResponse(openapi())


def api_routes() -> list[Route]:
    routes = [Route("/openapi.json", openapi_json)]
    routes += [Route("/observations.csv", _csv("/observations", OFFER_COLUMNS))]
    routes += [Route("/findings.csv", _csv("/findings", FINDING_COLUMNS[:-1]))]
    routes += [Route(c.path, _page(c)) for c in COLLECTIONS]
    return routes
