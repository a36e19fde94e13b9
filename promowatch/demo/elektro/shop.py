"""The German demo shop on 127.0.0.1: the standard library's ThreadingHTTPServer on a background thread.

Pages render from the simulated clock, which ``promowatch demo`` moves together with the first shop's. Every
:data:`~promowatch.demo.elektro.catalogue.CAPTCHA_EVERY`-th product page request gets the captcha interstitial
(status 200) instead of the page, as bot protection does on real shops.
"""

from __future__ import annotations

import json
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from promowatch.demo.elektro import pages
from promowatch.demo.elektro.catalogue import (
    ARTICLES,
    CAPTCHA_EVERY,
    LISTING_PATH,
    Article,
    cards_on,
    listing_on,
    market_stock,
    state_on,
)

_HTML = "text/html; charset=utf-8"
_JSON = "application/json; charset=utf-8"


class ElektroShop:
    """The German demo retailer with its simulated clock; ``start()`` serves it, ``stop()`` ends it."""

    def __init__(
        self, start: datetime, *, host: str = "127.0.0.1", port: int = 0, captcha_every: int = CAPTCHA_EVERY
    ):
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware (UTC)")
        self.start_time = start.astimezone(UTC)
        self.captcha_every = captcha_every
        self.requests: Counter[str] = Counter()
        self.captchas = 0
        self._now = self.start_time
        self._lock = threading.Lock()
        self._product_requests = 0
        self._articles = {a.path: a for a in ARTICLES}
        self._by_number = {a.number: a for a in ARTICLES}
        self._server = ThreadingHTTPServer((host, port), self._handler())
        self._server.daemon_threads = True
        self.url = f"http://{host}:{self._server.server_address[1]}"
        self._thread: threading.Thread | None = None

    @property
    def day(self) -> int:
        return (self._now.date() - self.start_time.date()).days

    def set_clock(self, moment: datetime) -> None:
        if moment.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware time (UTC)")
        self._now = moment.astimezone(UTC)

    def start(self) -> ElektroShop:
        self._thread = threading.Thread(target=self._server.serve_forever, name="demo-elektro", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=10)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> ElektroShop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------ pages

    def respond(self, path: str) -> tuple[int, str, bytes]:
        """(status, content type, body) of a GET of ``path`` (query strings ignored, as the shop does)."""
        day = self.day
        with self._lock:  # a ThreadingHTTPServer answers requests side by side
            self.requests[path] += 1
        if path.startswith("/artikel/"):
            article = self._articles.get(path)
            if article is None:
                return 404, _HTML, pages.not_found_page().encode()
            with self._lock:
                self._product_requests += 1
                blocked = self.captcha_every > 0 and self._product_requests % self.captcha_every == 0
                self.captchas += blocked
            if blocked:
                return 200, _HTML, pages.captcha_page().encode()
            accessory = state_on(_accessory(article), day)
            return 200, _HTML, pages.product_page(self.url, state_on(article, day), accessory).encode()
        if path == "/":
            return 200, _HTML, pages.home_page().encode()
        if path == LISTING_PATH:
            html = pages.listing_page(self.start_time.date(), listing_on(day), cards_on(day))
            return 200, _HTML, html.encode()
        if path == "/maerkte":
            return 200, _HTML, pages.markets_page().encode()
        if path == "/api/maerkte":
            return 200, _JSON, _json(pages.markets_json())
        if path.startswith("/api/bestand/"):
            article = self._by_number.get(path.removeprefix("/api/bestand/"))
            if article is None:
                return 404, _JSON, _json({"fehler": "unbekannte Artikelnummer"})
            data_time = self._now.replace(second=0, microsecond=0) - timedelta(minutes=self._now.minute % 5)
            return 200, _JSON, _json(pages.stock_json(article, market_stock(article, day), data_time))
        if path == "/robots.txt":
            return 200, "text/plain; charset=utf-8", pages.robots_txt().encode()
        return 404, _HTML, pages.not_found_page().encode()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            server_version = "demo-elektro"

            def do_GET(self) -> None:
                self.answer(with_body=True)

            def do_HEAD(self) -> None:
                self.answer(with_body=False)

            def answer(self, *, with_body: bool) -> None:
                status, kind, body = shop.respond(urlsplit(self.path).path)
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-cache")
                self.end_headers()
                if with_body:
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


def _json(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def _accessory(article: Article) -> Article:
    """The article shown under "Passendes Zubehör": the next one in the catalogue."""
    index = ARTICLES.index(article)
    return ARTICLES[(index + 1) % len(ARTICLES)]
