"""A hostile shop on 127.0.0.1: every page is one way a retailer can attack the crawler that watches it (issue 19),
beside one honest promotion so that findings exist. Faults it shares with the fault server (a 50 MB body, a slow
server, a redirect loop) are that server's own paths: :class:`HostileShop` is a :class:`FaultServer`.

A second server, :class:`SecretAdmin`, stands for an internal service on another port of the same machine: the
shop's redirects and refreshes point at it, and a test asserts it was never asked for anything.
"""

from __future__ import annotations

import json
import threading
import time
import zlib
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.extract.hostile_pages import price_elements
from tests.ops.faultserver import FaultHandler, FaultServer

# a title a shop writes to break terminals and renderers: rich markup, mathtext, terminal escapes (issue 19, 3 and 4)
HOSTILE_TITLE = "Kaffeemaschine [/x] $\\bar{$ \x1b[31mrot\x1b[0m \x1b]0;pwned\x07"
HOSTILE_STORE = (
    "Filiale HB $\\bar{$"  # a store name from the store API that made `case export` fail (issue 19, 3)
)
CROWDED_ELEMENTS = 200_000  # the probe's 7.9 MB page (issue 19, 1)
BOMB_BYTES = 64 * 1024 * 1024  # decompressed: more than DOWNLOAD_MAXSIZE (20 MB), about 64 kB on the wire
ENDLESS_SECONDS = 120.0  # the endless body stops by itself after this long, so the server's threads end
METADATA_URL = (
    "http://169.254.169.254/latest/meta-data/"  # a cloud's metadata service: refused, never contacted
)


def product_page(title: str, sku: str, price: str = "499.00") -> bytes:
    """A product page whose title is shop text: in the JSON-LD (escaped as JSON) and in the page (as text)."""
    data = {
        "@context": "https://schema.org",
        "@type": "Product",
        "name": title,
        "sku": sku,
        "offers": {
            "@type": "Offer",
            "price": price,
            "priceCurrency": "CHF",
            "availability": "https://schema.org/InStock",
        },
    }
    shown = title.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>{shown}</title>'
        f'<script type="application/ld+json">{json.dumps(data)}</script></head>'
        f'<body><main class="product"><h1>{shown}</h1><p class="price">CHF {price}</p>'
        '<p class="stock">An Lager</p><button class="add-to-cart">In den Warenkorb</button></main></body></html>'
    ).encode()


def refresh_page(target: str) -> bytes:
    return (
        f'<!doctype html><html><head><meta http-equiv="refresh" content="0; url={target}"></head>'
        "<body>Einen Moment...</body></html>"
    ).encode()


@cache
def gzip_bomb() -> bytes:
    """``BOMB_BYTES`` of spaces, gzip-compressed (made once, a megabyte at a time)."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = b" " * (1024 * 1024)
    parts = [packer.compress(chunk) for _ in range(BOMB_BYTES // len(chunk))]
    return b"".join(parts) + packer.flush()


class HostileHandler(FaultHandler):
    server: HostileShop

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        secret = self.server.secret_url
        if path == "/p/redirect-port":
            self.count(path)
            self.send(302, b"", Location=f"{secret}/secret-admin")
        elif path == "/p/redirect-localhost":
            self.count(path)
            self.send(302, b"", Location=secret.replace("127.0.0.1", "localhost") + "/secret-admin")
        elif path == "/p/refresh-port":
            self.count(path)
            self.send(200, refresh_page(f"{secret}/secret-admin"))
        elif path == "/p/metadata":
            self.count(path)
            self.send(301, b"", Location=METADATA_URL)
        elif path == "/p/crowded":
            self.count(path)
            self.send(200, price_elements(CROWDED_ELEMENTS))
        elif path == "/p/gzip-bomb":
            self.count(path)
            self.send(200, gzip_bomb(), Content_Encoding="gzip")
        elif path == "/p/endless":
            self.count(path)
            self.endless()
        elif path == "/aktionen":
            # a card and a next-page link that lead to the internal service: links are no more trusted than
            # redirects
            self.count(path)
            cards = (
                '<article class="card"><a href="/p/promo">Kaffeemaschine</a><span class="price">399.–</span>'
                f'</article><article class="card"><a href="{secret}/secret-card">Geheim</a>'
                f'<span class="price">1.–</span></article><a class="next" href="{secret}/secret-next">weiter</a>'
            )
            self.send(200, f"<html><body>{cards}</body></html>".encode())
        elif path == "/p/promo":
            self.count(path)
            self.send(200, product_page(HOSTILE_TITLE, "SKU-PROMO"))
        elif path == "/api/stores":
            self.count(path)
            stores = [{"id": "1", "name": HOSTILE_STORE, "postcode": "8001", "city": "Zürich"}]
            self.send(200, json.dumps(stores).encode(), "application/json")
        elif path.startswith("/api/stock/"):
            self.count(path)
            self.send(200, json.dumps([{"store_id": "1", "quantity": 0}]).encode(), "application/json")
        else:
            super().do_GET()

    def count(self, path: str) -> None:
        with self.server.lock:
            self.server.hits[path] += 1

    def endless(self) -> None:
        """A body without a length that never ends (until ``ENDLESS_SECONDS``, or the client hangs up)."""
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        chunk = b"<p>" + b"immer mehr " * 6000 + b"</p>\n"
        until = time.monotonic() + ENDLESS_SECONDS
        try:
            self.wfile.write(b"<!doctype html><html><body><main class='product'>")
            while time.monotonic() < until:
                self.wfile.write(chunk)
        except OSError:
            pass  # the client gave up, as it should


class HostileShop(FaultServer):
    def __init__(self, secret_url: str, slow_seconds: float = 6.0) -> None:
        super().__init__(slow_seconds=slow_seconds)
        self.RequestHandlerClass = HostileHandler
        self.secret_url = secret_url


class SecretHandler(BaseHTTPRequestHandler):
    server: SecretAdmin

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append(self.path)
        body = b"<h1>secret-admin</h1><p>internal only</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class SecretAdmin(ThreadingHTTPServer):
    """An internal service on another port of 127.0.0.1; ``requests``: every path it was asked for."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), SecretHandler)
        self.lock = threading.Lock()
        self.requests: list[str] = []
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def start(self) -> SecretAdmin:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
