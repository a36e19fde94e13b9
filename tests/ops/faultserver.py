"""A scripted fault server on 127.0.0.1: every path is one way a shop can misbehave (tests/ops)."""

from __future__ import annotations

import hashlib
import os
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PRODUCT = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{name}</title>
<script type="application/ld+json">{{"@context": "https://schema.org", "@type": "Product", "name": "{name}",
"sku": "{sku}", "offers": {{"@type": "Offer", "price": "499.00", "priceCurrency": "CHF",
"availability": "https://schema.org/InStock"}}}}</script></head>
<body><main class="product"><h1>{name}</h1><p class="price">CHF 499.00</p><p class="stock">{stock}</p>
<button class="add-to-cart">In den Warenkorb</button></main></body></html>"""

CAPTCHA = b"""<!doctype html><html><head><title>Just a moment...</title></head><body>
<div class="g-recaptcha" data-sitekey="x"></div><p>Please verify you are a human.</p></body></html>"""

# the interstitial an unseen German shop served instead of every 37th product page (issue 18): status 200
GERMAN_CAPTCHA = """<!doctype html><html lang="de"><head><meta charset="utf-8">
<title>Sicherheitsüberprüfung</title><style>body{font-family:sans-serif}</style></head>
<body><main class="challenge"><h1>Sicherheitsüberprüfung</h1>
<p>Bitte bestätigen Sie, dass Sie kein Roboter sind.</p>
<form method="post" action="/challenge"><input type="hidden" name="token" value="a8f3c1">
<button type="submit">Weiter</button></form></main></body></html>""".encode()
# a product page that names its canonical URL, as most shops' pages do
CANONICAL_HEAD = '<link rel="canonical" href="{url}/p/canon">'
PROMOTIONS = """<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Aktionen</title></head><body>
<div class="promo"><a href="/aktion/espresso-deal?src=wk48">Espresso</a><span class="price">CHF 399.00</span>
<time class="until">13.12.2026</time></div>
<div class="promo"><a href="/p/canon?src=wk48&amp;utm_source=newsletter">Espresso</a>
<span class="price">CHF 399.00</span><time class="until">13.12.2026</time></div></body></html>"""

HUGE_BYTES = 50 * 1024 * 1024
# "this product is no more, off to the home page": the page itself still reads as a product in stock
REFRESH_HEAD = '<meta http-equiv="Refresh" content="0; url=/p/ok">'


def product(name: str, sku: str, stock: str = "An Lager") -> bytes:
    return PRODUCT.format(name=name, sku=sku, stock=stock).encode("utf-8")


class FaultHandler(BaseHTTPRequestHandler):
    server: FaultServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(
        self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        with self.server.lock:
            self.server.hits[path] += 1
            hit = self.server.hits[path]
            self.server.times.setdefault(path, []).append(time.monotonic())
        name = path.rsplit("/", 1)[-1]
        if path == "/robots.txt":
            self.send(200, b"User-agent: *\nDisallow: /private/\nAllow: /\n", "text/plain")
        elif path == "/p/ok" or path.startswith("/p/item-"):
            self.send(200, product(f"Kaffeemaschine {name}", f"SKU-{name}"))
        elif path.startswith("/p/shy-"):
            # a shop that sends every Nth product page to a bot check while ``captcha_every`` is set
            with self.server.lock:
                self.server.shy_pages += 1
                challenged = (
                    bool(self.server.captcha_every) and self.server.shy_pages % self.server.captcha_every == 0
                )
            if challenged:
                self.send(200, GERMAN_CAPTCHA)
            else:
                self.send(200, product(f"Kaffeemaschine {name}", f"SKU-{name}"))
        elif path in ("/p/canon", "/aktion/espresso-deal"):
            page = product("Espressomaschine Barista", "SKU-canon").decode()
            self.send(
                200, page.replace("<head>", "<head>" + CANONICAL_HEAD.format(url=self.server.url)).encode()
            )
        elif path == "/promotions":
            self.send(200, PROMOTIONS.encode())
        elif path == "/p/slow":
            time.sleep(self.server.slow_seconds)
            self.send(200, product("Langsam", "SKU-slow"))
        elif path == "/p/reset":
            # RST instead of FIN: the client sees "connection reset by peer"
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            os.close(self.connection.detach())
            self.close_connection = True
        elif path == "/p/error500":
            self.send(500, b"<h1>Internal Server Error</h1>")
        elif path == "/p/ratelimited":
            if hit == 1:
                self.send(429, b"<h1>Too Many Requests</h1>", Retry_After="1")
            else:
                self.send(200, product("Geduldig", "SKU-ratelimited"))
        elif path == "/p/unavailable":
            self.send(503, b"<h1>Service Unavailable</h1>", Retry_After="1")
        elif path == "/p/captcha":
            self.send(200, CAPTCHA)
        elif path == "/p/forbidden":
            self.send(403, CAPTCHA)
        elif path in ("/p/loop", "/p/loop2"):
            target = "/p/loop2" if path == "/p/loop" else "/p/loop"
            self.send(302, b"", Location=target)
        elif path == "/p/huge":
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(HUGE_BYTES))
            self.end_headers()
            chunk = b"<p>" + b"x" * 65530 + b"</p>"
            try:
                for _ in range(HUGE_BYTES // len(chunk)):
                    self.wfile.write(chunk)
                self.wfile.write(b" " * (HUGE_BYTES % len(chunk)))
            except OSError:
                pass  # the client gave up at its size limit, as it should
        elif path == "/p/malformed":
            self.send(200, b"<html><head><title>Kaputt</ti<body><div class='product'><h1>Kaputt<p>CHF <b>49")
        elif path == "/p/charset":
            # declared UTF-8, sent as Windows-1252: the umlauts are invalid UTF-8
            self.send(
                200,
                product("Kaffeemühle", "SKU-charset", "Verfügbar – sofort lieferbar")
                .decode()
                .encode("cp1252"),
            )
        elif path == "/p/versioned":
            # a page with validators that answers conditional requests, as most shop CDNs do
            page = product("Versioniert", "SKU-versioned", self.server.versioned_stock)
            etag = '"' + hashlib.sha256(page).hexdigest()[:16] + '"'
            asked = self.headers.get("If-None-Match")
            with self.server.lock:
                self.server.conditional.append(asked)
            if asked == etag:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
            else:
                self.send(200, page, ETag=etag, Last_Modified="Tue, 03 Nov 2026 08:00:00 GMT")
        elif path == "/p/moving":
            # first a page with validators; once moved, a redirect to a variant of it (another query) whose
            # server would say 304 to the old validators: they must not be sent there
            with self.server.lock:
                self.server.conditional.append(self.headers.get("If-None-Match"))
            if self.path == "/p/moving?v=2":
                if self.headers.get("If-None-Match") == '"moving-1"':
                    self.send_response(304)
                    self.send_header("ETag", '"moving-1"')
                    self.end_headers()
                else:
                    self.send(200, product("Neues Modell", "SKU-moving-2", "Ausverkauft"), ETag='"moving-2"')
            elif self.server.moved:
                self.send(302, b"", Location="/p/moving?v=2")
            else:
                self.send(200, product("Altes Modell", "SKU-moving-1"), ETag='"moving-1"')
        elif path == "/p/refresh":
            self.send(
                200,
                product("Ausgelaufen", "SKU-refresh").replace(b"<head>", b"<head>" + REFRESH_HEAD.encode()),
            )
        elif path == "/p/refresh-ebcdic":
            page = (
                product("Ausgelaufen", "SKU-refresh500").decode().replace("<head>", "<head>" + REFRESH_HEAD)
            )
            self.send(200, page.replace("utf-8", "cp500").encode("cp500"), "text/html; charset=cp500")
        elif path == "/p/refresh-utf16":
            page = product("Ausgelaufen", "SKU-refresh16").decode().replace("<head>", "<head>" + REFRESH_HEAD)
            self.send(200, page.replace("utf-8", "utf-16").encode("utf-16"), "text/html; charset=utf-16")
        elif path == "/p/gone":
            self.send(404, b"<h1>Not found</h1>")
        else:
            self.send(404, b"<h1>Not found</h1>")


class FaultServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # resets and clients giving up are what this server is for

    def __init__(self, slow_seconds: float = 6.0) -> None:
        super().__init__(("127.0.0.1", 0), FaultHandler)
        self.slow_seconds = slow_seconds
        self.lock = threading.Lock()
        self.hits: Counter[str] = Counter()
        self.times: dict[str, list[float]] = {}
        self.versioned_stock = "An Lager"  # what /p/versioned says; a test changes it to change the page
        self.conditional: list[str | None] = []  # If-None-Match of each request for /p/versioned, /p/moving
        self.moved = False  # /p/moving redirects to /p/moving?v=2
        self.captcha_every = 0  # /p/shy-*: every Nth of them is a captcha page (0: none)
        self.shy_pages = 0
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> FaultServer:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
