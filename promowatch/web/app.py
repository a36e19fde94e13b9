"""The dashboard: a Starlette application over the crawls' database.

Pages and the JSON API read through a query-only connection (SQLite ``PRAGMA query_only``; the WAL lets cron
write meanwhile); only the subscriptions form writes, through its own session. Templates autoescape everything,
so a product title the shop wrote is shown as text, never run as markup.
"""

from __future__ import annotations

import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jinja2 import Environment, PackageLoader, select_autoescape
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from promowatch.clock import Clock
from promowatch.datadir import DataDir
from promowatch.db.engine import create_db_engine, open_database
from promowatch.db.models import Finding, Promotion, Retailer
from promowatch.db.queries import list_promotions
from promowatch.domain import as_utc
from promowatch.web import data
from promowatch.web.chart import chart_series, chart_window
from promowatch.web.evidence import stored_bytes
from promowatch.web.security import (
    AUTH_COOKIE,
    CAPTURED_POLICY,
    CSRF_COOKIE,
    CSRF_FIELD,
    PAGE_POLICY,
    auth_cookie_value,
    authorised,
    csrf_ok,
    is_loopback,
    new_token,
    same,
)

STATIC = Path(__file__).with_name("static")
LANGUAGES = ("fr", "de", "it", "en")
OVERVIEW_PROMOTIONS = 25


@dataclass
class Dashboard:
    """What the application serves from: the data directory, its database, the token, the clock."""

    data: DataDir
    token: str | None = None
    clock: Clock = field(default_factory=lambda: Clock.parse(None))
    writer: sessionmaker[Session] = field(init=False)
    reader: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.writer = open_database(self.data.db_url)  # migrates once, before any page is read
        engine = create_db_engine(self.data.db_url)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _query_only)
        self.reader = sessionmaker(engine, expire_on_commit=False)

    def now(self) -> datetime:
        return self.clock.now()

    def close(self) -> None:
        for sessions in (self.reader, self.writer):
            bind = sessions.kw.get("bind")
            if isinstance(bind, Engine):
                bind.dispose()


def _query_only(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA query_only=ON")
    cursor.close()


templates = Environment(
    loader=PackageLoader("promowatch.web", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)
templates.filters["pct"] = lambda v: "–" if v is None else f"{100 * v:.0f} %"
templates.filters["short"] = lambda v: "" if not v else str(v)[:16].replace("T", " ")


def render(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    body = templates.get_template(name).render(
        request=request, csrf=request.state.csrf, path=request.url.path, **context
    )
    return HTMLResponse(body, status_code=status)


def dashboard(request: Request) -> Dashboard:
    found: Dashboard = request.app.state.dashboard
    return found


# ---------------------------------------------------------------- middleware


class Guard(BaseHTTPMiddleware):
    """Host check, authentication, the CSRF cookie and the security headers on every response."""

    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        board = dashboard(request)
        host = urlsplit("//" + request.headers.get("host", "")).hostname or ""
        if board.token is None and not is_loopback(host):
            # a loopback dashboard answers only to loopback names: a rebinding DNS name must not reach it
            return Response("unknown host", status_code=400)
        request.state.csrf = request.cookies.get(CSRF_COOKIE) or new_token()
        path = request.url.path
        public = path == "/login" or path.startswith("/static/")
        if not public and not authorised(request.headers, request.cookies, board.token):
            if path.startswith("/api/"):
                response: Response = JSONResponse({"error": "a token is needed"}, status_code=401)
            else:
                response = RedirectResponse("/login", status_code=303)
        else:
            response = await call_next(request)
        if CSRF_COOKIE not in request.cookies:
            response.set_cookie(CSRF_COOKIE, request.state.csrf, httponly=True, samesite="strict")
        response.headers.setdefault("Content-Security-Policy", PAGE_POLICY)
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
        return response


async def checked_form(request: Request) -> dict[str, Any] | None:
    """The submitted form when its CSRF token matches the cookie's, else None."""
    form = await request.form()
    if not csrf_ok(request.cookies, str(form.get(CSRF_FIELD) or "")):
        return None
    values: dict[str, Any] = {key: form.getlist(key) for key in form}
    return {key: value if len(value) > 1 else value[0] for key, value in values.items()}


def forbidden() -> Response:
    return Response("the form is stale or forged (CSRF token): reload the page", status_code=403)


# ---------------------------------------------------------------- pages


async def login(request: Request) -> Response:
    board = dashboard(request)
    if request.method == "GET":
        return render(request, "login.html")
    form = await checked_form(request)
    if form is None:
        return forbidden()
    if board.token is None or not same(str(form.get("token") or ""), board.token):
        return render(request, "login.html", status=401, error=True)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(AUTH_COOKIE, auth_cookie_value(board.token), httponly=True, samesite="strict")
    return response


def overview(request: Request) -> Response:
    board = dashboard(request)
    now = board.now()
    with board.reader() as session:
        return render(
            request,
            "overview.html",
            retailers=data.retailer_health(session, now),
            open_findings=data.open_findings_by_rule(session),
            running=data.promotions(session, now, state="running", limit=OVERVIEW_PROMOTIONS),
        )


def _since(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return as_utc(moment) if moment.tzinfo else moment.replace(tzinfo=UTC)


def promotions(request: Request) -> Response:
    board = dashboard(request)
    q = request.query_params
    chosen = {key: q.get(key) or None for key in ("retailer", "state", "rule", "since")}
    page = int(q["page"]) if q.get("page", "").isdigit() else 1
    with board.reader() as session:
        rows, total = data.promotions(
            session,
            board.now(),
            retailer=chosen["retailer"],
            state=chosen["state"],
            rule=chosen["rule"],
            since=_since(chosen["since"]),
            offset=(page - 1) * data.PROMOTIONS_PAGE,
        )
        retailers = list(session.scalars(select(Retailer.slug).order_by(Retailer.slug)))
    # htmx asks for the table only when a filter changes
    name = "promotion_rows.html" if request.headers.get("hx-request") else "promotions.html"
    pages = max(1, -(-total // data.PROMOTIONS_PAGE))
    more = {key: value for key, value in chosen.items() if value}
    return render(
        request,
        name,
        rows=rows,
        chosen=chosen,
        retailers=retailers,
        page=page,
        pages=pages,
        total=total,
        more=more,
    )


def promotion(request: Request) -> Response:
    board = dashboard(request)
    promotion_id = int(request.path_params["promotion_id"])
    now = board.now()
    with board.reader() as session:
        info = data.promotion(session, promotion_id)
        if info is None:
            return render(request, "missing.html", status=404, what=f"promotion {promotion_id}")
        row = session.get(Promotion, promotion_id)
        assert row is not None
        start, end = chart_window(row, now)
        return render(
            request,
            "promotion.html",
            p=info,
            findings=data.findings_of(session, promotion_id),
            screenshot=data.latest_screenshot(session, info["product_id"]),
            grid=data.store_day_grid(session, info["product_id"], start, end),
            languages=LANGUAGES[:3],
        )


def promotion_series(request: Request) -> Response:
    board = dashboard(request)
    with board.reader() as session:
        series = chart_series(session, int(request.path_params["promotion_id"]), board.now())
    if series is None:
        return JSONResponse({"error": "no such promotion"}, status_code=404)
    return JSONResponse(series)


def finding(request: Request) -> Response:
    board = dashboard(request)
    finding_id = int(request.path_params["finding_id"])
    with board.reader() as session:
        info = data.finding(session, finding_id)
    if info is None:
        return render(request, "missing.html", status=404, what=f"finding {finding_id}")
    return render(request, "finding.html", f=info, languages=LANGUAGES[:3])


async def export_case(request: Request) -> Response:
    """The finding's case bundle, built by the same export as ``promowatch case export``."""
    from promowatch.evidence.case import export_case as export

    board = dashboard(request)
    form = await checked_form(request)
    if form is None:
        return forbidden()
    finding_id = int(request.path_params["finding_id"])
    language = form.get("language") if form.get("language") in LANGUAGES[:3] else "fr"
    with board.reader() as session:
        if session.get(Finding, finding_id) is None:
            return Response(f"no finding {finding_id}", status_code=404)

    def bundle() -> bytes:
        with tempfile.TemporaryDirectory(prefix="promowatch-web-case-") as temp:
            path = export(
                board.reader,
                board.data.blobs,
                board.data.warcs,
                finding_id,
                Path(temp),
                language=str(language),
            )
            return path.read_bytes()

    # the export draws charts and a PDF: seconds of work that must not hold up the other requests
    body = await run_in_threadpool(bundle)
    return Response(
        body,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="case-{finding_id}.zip"'},
    )


def screenshot(request: Request) -> Response:
    board = dashboard(request)
    sha = request.path_params["sha256"]
    with board.reader() as session:
        kind = data.evidence_kind(session, sha)
    body = stored_bytes(board.data.blobs, board.data.warcs, sha) if kind == "screenshot" else None
    if body is None:
        return Response("no such screenshot", status_code=404)
    return Response(body, media_type="image/png", headers={"Cache-Control": "private, max-age=86400"})


def captured_page(request: Request) -> Response:
    """A shop's page as captured, for a sandboxed iframe: its scripts never run on the dashboard's origin."""
    board = dashboard(request)
    sha = request.path_params["sha256"]
    with board.reader() as session:
        kind = data.evidence_kind(session, sha)
    body = stored_bytes(board.data.blobs, board.data.warcs, sha) if kind == "page" else None
    if body is None:
        return Response("no such captured page", status_code=404)
    return Response(
        body,
        media_type="text/html",
        headers={
            "Content-Security-Policy": CAPTURED_POLICY,
            "X-Frame-Options": "SAMEORIGIN",
            "Cache-Control": "private, max-age=86400",
        },
    )


def runs(request: Request) -> Response:
    board = dashboard(request)
    with board.reader() as session:
        return render(request, "runs.html", runs=data.runs(session))


async def subscriptions(request: Request) -> Response:
    from promowatch.config_schema import EVENT_KINDS

    board = dashboard(request)
    message = None
    status = 200
    if request.method == "POST":
        form = await checked_form(request)
        if form is None:
            return forbidden()
        from promowatch.web.subscribe import SubscriptionError, create_subscription

        try:
            # the test notification waits on the network: off the event loop
            created = await run_in_threadpool(
                create_subscription, board.writer, board.data, form, board.now()
            )
        except SubscriptionError as error:
            message, status = str(error), 400
        else:
            return RedirectResponse(f"/subscriptions?created={created}", status_code=303)
    rows, running = await run_in_threadpool(_subscriptions_page, board)
    created_id = request.query_params.get("created")
    return render(
        request,
        "subscriptions.html",
        status=status,
        rows=rows,
        promotions=running,
        events=EVENT_KINDS,
        languages=LANGUAGES,
        error=message,
        created=int(created_id) if created_id and created_id.isdigit() else None,
    )


def _subscriptions_page(board: Dashboard) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with board.reader() as session:
        return data.subscriptions(session), list_promotions(session, board.now(), state="running")


def create_app(board: Dashboard) -> Starlette:
    from promowatch.web.api import api_routes

    routes = [
        Route("/", overview),
        Route("/login", login, methods=["GET", "POST"]),
        Route("/promotions", promotions),
        Route("/promotions/{promotion_id:int}", promotion),
        Route("/promotions/{promotion_id:int}/series.json", promotion_series),
        Route("/findings/{finding_id:int}", finding),
        Route("/findings/{finding_id:int}/case", export_case, methods=["POST"]),
        Route("/evidence/screenshots/{sha256:str}.png", screenshot),
        Route("/captured/{sha256:str}", captured_page),
        Route("/runs", runs),
        Route("/subscriptions", subscriptions, methods=["GET", "POST"]),
        Mount("/api/v1", routes=api_routes()),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]
    app = Starlette(routes=routes, middleware=[Middleware(Guard)])
    app.state.dashboard = board
    return app
