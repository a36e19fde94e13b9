"""The demo shop on 127.0.0.1: the standard library's ThreadingHTTPServer (HTTP/1.1, keep-alive) on a background
thread.

Every page renders from the simulated clock, never from the wall clock; responses are cached per path until the
clock moves, so a crawl or a benchmark measures the client, not the renderer.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import json
import logging
import re
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from promowatch.demo import pages
from promowatch.demo.catalogue import (
    CATEGORIES,
    PRODUCTS,
    Product,
    bench_live_product,
    bench_product,
    stores_for,
)
from promowatch.demo.scenarios import (
    DayOffer,
    day_index,
    offer_on,
    promotion_window,
    promotions_on,
    store_levels,
)

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).with_name("static")
_STATIC_TYPES = {
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
_HTML = "text/html; charset=utf-8"
_JSON = "application/json; charset=utf-8"
_MAX_BODY = 1024 * 1024
_BENCH_PATH = re.compile(r"/p/bench-(live-)?(\d+)")
_STORE_STOCK = re.compile(r"/api/stores/([^/]+)/stock/([^/]+)")


class PortInUseError(OSError):
    """The shop's port is taken; ``str()`` is one line a CLI can print."""

    def __str__(self) -> str:
        return str(self.strerror)


@dataclass
class _Response:
    status: int
    content_type: str
    body: bytes
    last_modified: datetime | None = None
    extra: tuple[tuple[str, str], ...] = ()
    etag: str | None = None
    _gzipped: bytes | None = field(default=None, repr=False)

    def gzipped(self) -> bytes:
        if self._gzipped is None:
            self._gzipped = gzip.compress(self.body, compresslevel=6, mtime=0)
        return self._gzipped


def _http_date(moment: datetime) -> str:
    return format_datetime(moment.astimezone(UTC), usegmt=True)


class DemoShop:
    """A French-language Swiss retailer on 127.0.0.1 with a simulated clock (see the module docs)."""

    def __init__(
        self,
        start: datetime,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bench_products: int = 0,
        bench_stores: int = 50,
        bench_hydration_ms: int = 0,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.start_time = start.astimezone(UTC)
        self.host = host
        self.port = port
        self.bench_products = bench_products
        self.bench_hydration_ms = bench_hydration_ms  # /p/bench-live-{i}: wait before the stock is asked for
        self.stores = stores_for(bench_stores) if bench_products else stores_for(None)
        self.url = ""
        self.requests: Counter[str] = Counter()
        self._now = self.start_time
        self._products = {p.path: p for p in PRODUCTS}
        self._by_sku = {p.sku: p for p in PRODUCTS}
        self._static = {p.name: p.read_bytes() for p in STATIC_DIR.iterdir() if p.suffix in _STATIC_TYPES}
        self._cache: dict[str, tuple[object, _Response]] = {}
        # rendering and the request counts are shared by the server's threads: one request at a time reads them
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------ clock

    @property
    def now(self) -> datetime:
        return self._now

    @property
    def day(self) -> int:
        """The simulated day number (0 = the start's day)."""
        return day_index(self.start_time, self._now)

    def set_clock(self, moment: datetime) -> None:
        """Move the simulated clock (forwards or backwards); pages render from it."""
        if moment.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time (UTC)")
        self._now = moment.astimezone(UTC)

    def prerender(self) -> int:
        """Render every product page (catalogue and bench) for the current simulated day; returns how many.

        A crawl right after a clock move then finds every page cached instead of rendering on demand.
        """
        paths = [p.path for p in PRODUCTS] + [f"/p/bench-{i}" for i in range(self.bench_products)]
        with self._lock:
            for path in paths:
                self._respond("GET", path, "", b"")
        return len(paths)

    # ------------------------------------------------------------ life cycle

    def start(self) -> DemoShop:
        """Bind, then serve on a background thread. Raises :class:`PortInUseError` when the port is taken."""
        server_class = _Server6 if ":" in self.host else _Server
        try:
            server = server_class((self.host, self.port), _handler(self))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise PortInUseError(
                    errno.EADDRINUSE,
                    f"demo shop cannot listen on {self.host}:{self.port}: the port is already in use "
                    "(stop the other program or choose another port)",
                ) from None
            raise
        self._server = server
        self.port = server.server_address[1]
        self.url = f"http://{self.host}:{self.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, args=(0.05,), name=f"demo-shop-{self.port}", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close every connection."""
        if self._server is not None:
            self._server.shutdown()
            self._server.close_connections()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._server = None
        self._thread = None

    def __enter__(self) -> DemoShop:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

    # ------------------------------------------------------------ HTTP

    def answer(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """One request in (header names in lower case), its status, headers and body out."""
        split = urlsplit(target)
        path = unquote(split.path) or "/"
        with self._lock:
            self.requests[path] += 1
            try:
                response = self._respond(method, path, split.query, body)
            except Exception:
                log.exception("demo shop failed on %s %s", method, target)
                response = _Response(500, "text/plain; charset=utf-8", b"internal error\n")
        return self._serialise(method, response, headers)

    def _respond(self, method: str, path: str, query: str, body: bytes) -> _Response:
        if path == "/_admin/clock":
            return self._admin_clock(method, body)
        if method not in ("GET", "HEAD", "POST"):
            return _Response(
                405, "text/plain; charset=utf-8", b"method not allowed\n", extra=(("Allow", "GET, HEAD"),)
            )
        if path == "/recherche":
            return self._search(parse_qs(query).get("q", [""])[0])
        if method == "POST" and path not in ("/panier", "/checkout"):
            return _Response(
                405, "text/plain; charset=utf-8", b"method not allowed\n", extra=(("Allow", "GET, HEAD"),)
            )
        fresh = self._freshness(path)
        cached = self._cache.get(path)
        if cached is not None and cached[0] == fresh:
            return cached[1]
        response = self._render(path)
        if response.status == 200:  # errors are not cached: any path can be asked for
            response.etag = '"' + hashlib.sha256(response.body).hexdigest()[:20] + '"'
            self._cache[path] = (fresh, response)
        return response

    def _freshness(self, path: str) -> object:
        """What a cached response of ``path`` depends on: pages change by day, stock data every 5 minutes."""
        if path.startswith("/api/"):
            return self._data_time()
        if path.startswith(("/static/", "/img/")) or path in ("/favicon.ico", "/robots.txt", "/sitemap.xml"):
            return None
        return self._now.date()

    def _data_time(self) -> datetime:
        # the shop's stock data lags a few minutes behind, as real store systems do
        return self._now.replace(second=0, microsecond=0) - timedelta(minutes=self._now.minute % 5)

    def _context(self) -> pages.PageContext:
        return pages.PageContext(self.url, self._now, self.day)

    def _page(self, html: str, status: int = 200) -> _Response:
        midnight = datetime.combine(self._now.date(), time.min, tzinfo=UTC)
        return _Response(status, _HTML, html.encode(), last_modified=midnight)

    def _json(self, data: Any, status: int = 200) -> _Response:
        return _Response(status, _JSON, json.dumps(data, ensure_ascii=False).encode())

    def _product(self, path: str) -> Product | None:
        product = self._products.get(path)
        if product is None and (match := _BENCH_PATH.fullmatch(path)):
            index = int(match.group(2))
            if index < self.bench_products and str(index) == match.group(2):
                live = match.group(1) is not None
                product = bench_live_product(index, self.bench_hydration_ms) if live else bench_product(index)
        return product

    def _product_by_sku(self, sku: str) -> Product | None:
        product = self._by_sku.get(sku)
        if product is None and len(sku) == 7 and sku.startswith("9") and sku.isdigit():
            index = int(sku[1:])
            if index < self.bench_products:
                product = bench_product(index)
        return product

    def _render(self, path: str) -> _Response:
        ctx = self._context()
        day = self.day
        if path.startswith("/p/"):
            product = self._product(path)
            if product is not None:
                return self._page(self._product_page(ctx, product, day))
        elif path == "/":
            return self._page(pages.home_page(ctx, [offer_on(p, day) for p in PRODUCTS]))
        elif path == "/promotions":
            return self._page(pages.promotions_page(ctx, promotions_on(self.start_time, day)))
        elif path.startswith("/c/"):
            for category in CATEGORIES:
                if path == category.path:
                    offers = [offer_on(p, day) for p in PRODUCTS if p.category == category.slug]
                    return self._page(pages.category_page(ctx, category, offers))
        elif path.startswith("/api/"):
            return self._api(path, day)
        elif path.startswith("/static/"):
            name = path.removeprefix("/static/")
            if name in self._static:
                return _Response(
                    200,
                    _STATIC_TYPES[Path(name).suffix],
                    self._static[name],
                    last_modified=self.start_time,
                    extra=(("Cache-Control", "public, max-age=86400"),),
                )
        elif path.startswith("/img/") and path.endswith(".svg"):
            product = self._product_by_sku(path.removeprefix("/img/").removesuffix(".svg"))
            if product is not None:
                return _Response(
                    200,
                    "image/svg+xml",
                    pages.product_image(product).encode(),
                    last_modified=self.start_time,
                    extra=(("Cache-Control", "public, max-age=86400"),),
                )
        elif path == "/favicon.ico":
            return _Response(200, "image/svg+xml", self._static["logo.svg"], last_modified=self.start_time)
        elif path == "/robots.txt":
            return _Response(200, "text/plain; charset=utf-8", pages.robots_txt(self.url).encode())
        elif path == "/sitemap.xml":
            return _Response(
                200, "application/xml", pages.sitemap_xml(self.url, pages.all_product_paths()).encode()
            )
        elif path == "/magasins":
            return self._page(pages.stores_page(ctx, self.stores))
        elif path.startswith("/info/") and path.removeprefix("/info/") in pages.INFO_PAGES:
            return self._page(pages.info_page(ctx, path.removeprefix("/info/")))
        elif path in ("/panier", "/checkout"):
            return self._page(pages.basket_page(ctx, path))
        return self._page(pages.not_found_page(ctx, path), status=404)

    def _product_page(self, ctx: pages.PageContext, product: Product, day: int) -> str:
        offer = offer_on(product, day)
        levels = store_levels(product.sku, day, offer.store_zero_share, self.stores)
        related = [offer_on(p, day) for p in _related(product)]
        valid_until = None
        if product.promotion and product.promotion.first_day <= day <= product.promotion.last_day:
            valid_until = promotion_window(product.promotion, self.start_time)[1]
        return pages.product_page(ctx, offer, levels, related, valid_until)

    def _api(self, path: str, day: int) -> _Response:
        updated_at = self._data_time()
        if path == "/api/stores":
            return self._json(pages.stores_json(self.stores))
        if path.startswith("/api/stock/"):
            product = self._product_by_sku(path.removeprefix("/api/stock/"))
            if product is None:
                return self._json({"error": "unknown sku"}, 404)
            offer = offer_on(product, day)
            levels = store_levels(product.sku, day, offer.store_zero_share, self.stores)
            return self._json(pages.stock_json(offer, levels, updated_at))
        if match := _STORE_STOCK.fullmatch(path):
            store_id, sku = match.groups()
            product = self._product_by_sku(sku)
            if product is None:
                return self._json({"error": "unknown sku"}, 404)
            offer = offer_on(product, day)
            for level in store_levels(product.sku, day, offer.store_zero_share, self.stores):
                if level.store.store_id == store_id:
                    return self._json(pages.store_stock_json(offer, level, updated_at))
            return self._json({"error": "unknown store"}, 404)
        return self._json({"error": "not found"}, 404)

    def _search(self, query: str) -> _Response:
        words = query.lower().split()
        day = self.day
        found: list[DayOffer] = [
            offer_on(p, day)
            for p in PRODUCTS
            if words and all(w in f"{p.title} {p.brand} {p.sku} {p.gtin}".lower() for w in words)
        ]
        return self._page(pages.search_page(self._context(), query, found))

    def _admin_clock(self, method: str, body: bytes) -> _Response:
        if method == "POST":
            try:
                data = json.loads(body or b"{}")
                if "day" in data:
                    moment = self.start_time + timedelta(days=int(data["day"]))
                else:
                    moment = datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00"))
                self.set_clock(moment)
            except (ValueError, KeyError, TypeError) as error:
                return self._json({"error": f'send {{"now": "2026-11-05T08:00:00Z"}}: {error}'}, 400)
        elif method not in ("GET", "HEAD"):
            return _Response(405, _JSON, b'{"error": "GET or POST"}', extra=(("Allow", "GET, POST"),))
        return self._json({"now": self._now.isoformat().replace("+00:00", "Z"), "day": self.day})

    def _serialise(
        self, method: str, response: _Response, headers: dict[str, str]
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        status, body = response.status, response.body
        lines = []
        etag = response.etag
        compressible = len(body) > 1024 and not response.content_type.startswith("image/png")
        if compressible:
            lines.append(("Vary", "Accept-Encoding"))
        gzipped = compressible and "gzip" in headers.get("accept-encoding", "")
        if gzipped:
            body = response.gzipped()
            etag = etag and etag[:-1] + '-gz"'
            lines.append(("Content-Encoding", "gzip"))
        if etag:
            lines.append(("ETag", etag))
        if response.last_modified is not None:
            lines.append(("Last-Modified", _http_date(response.last_modified)))
        lines.extend(response.extra)
        if (
            status == 200
            and method in ("GET", "HEAD")
            and _not_modified(headers, etag, response.last_modified)
        ):
            status, body = 304, b""
        else:
            lines.append(("Content-Type", response.content_type))
            lines.append(("Content-Length", str(len(body))))
        if not response.extra and response.content_type in (_HTML, _JSON):
            lines.append(("Cache-Control", "no-cache"))
        return status, lines, b"" if method == "HEAD" else body


def _not_modified(headers: dict[str, str], etag: str | None, last_modified: datetime | None) -> bool:
    match = headers.get("if-none-match")
    if match is not None:
        return etag is not None and (match.strip() == "*" or etag in [t.strip() for t in match.split(",")])
    since = headers.get("if-modified-since")
    if since and last_modified is not None:
        try:
            return last_modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False
    return False


def _related(product: Product) -> list[Product]:
    """Four other products for "Vous aimerez aussi": same category first."""
    others = [p for p in PRODUCTS if p.sku != product.sku]
    others.sort(key=lambda p: p.category != product.category)
    return others[:4]


class _Server(ThreadingHTTPServer):
    """Knows its open connections, so that stopping the shop closes the kept-alive ones too."""

    daemon_threads = True
    request_queue_size = 1024

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self.connections_lock:
            self.connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.connections_lock:
            for connection in self.connections:
                with contextlib.suppress(OSError):  # closed by its client meanwhile
                    connection.shutdown(socket.SHUT_RDWR)


class _Server6(_Server):
    address_family = socket.AF_INET6


def _handler(shop: DemoShop) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        """HTTP/1.1 with keep-alive; request bodies by Content-Length only; any method reaches the shop."""

        protocol_version = "HTTP/1.1"

        def version_string(self) -> str:
            return "demo-shop"

        def date_time_string(self, timestamp: float | None = None) -> str:
            return _http_date(shop.now)  # the simulated clock's, like every page

        def log_message(self, format: str, *args: Any) -> None:
            pass  # no access log: a crawl of the shop would flood the terminal

        def _answer(self) -> None:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                self.send_error(411)
                return
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                self.send_error(400)
                return
            if length < 0 or length > _MAX_BODY:
                self.send_error(413 if length > 0 else 400)
                return
            body = self.rfile.read(length)
            headers = {name.lower(): value for name, value in self.headers.items()}
            status, lines, payload = shop.answer(self.command, self.path, headers, body)
            self.send_response(status)
            for name, value in lines:
                self.send_header(name, value)
            self.send_header("Connection", "close" if self.close_connection else "keep-alive")
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _answer

    return Handler
