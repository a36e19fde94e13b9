"""A shop that counts the product-page requests it serves at the same time, and a watchlist of such shops:
the measure of politeness (tests/ops/test_one_request_at_a_time.py, test_workers_share_no_shop.py)."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.ops.faultserver import product

PAGES_PER_SHOP = 12
ANSWER_SECONDS = 0.15  # long enough for a second request to arrive while the first is served


class CountingShop(ThreadingHTTPServer):
    """A shop that remembers the most product-page requests it served at the same time."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ShopHandler)
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most_in_flight = 0
        self.served: list[str] = []
        self.arrivals: list[float] = []  # monotonic time each product-page request arrived
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class ShopHandler(BaseHTTPRequestHandler):
    server: CountingShop
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if not self.path.startswith("/p/"):  # robots.txt: not a product page, answered at once
            self.answer(404, b"")
            return
        shop = self.server
        with shop.lock:
            shop.arrivals.append(time.monotonic())
            shop.in_flight += 1
            shop.most_in_flight = max(shop.most_in_flight, shop.in_flight)
        try:
            time.sleep(ANSWER_SECONDS)
            self.answer(200, product("Kaffeemaschine", self.path.rsplit("/", 1)[-1]))
        finally:
            with shop.lock:
                shop.in_flight -= 1
                shop.served.append(self.path)

    def answer(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def counting_shops(*slugs: str) -> dict[str, CountingShop]:
    """Shops serving on 127.0.0.1, one per slug; stop them with :func:`stop_shops`."""
    running = {slug: CountingShop() for slug in slugs}
    for shop in running.values():
        shop.thread.start()
    return running


def stop_shops(running: dict[str, CountingShop]) -> None:
    for shop in running.values():
        shop.shutdown()
        shop.server_close()


def write_watchlist(
    where: Path, shops: dict[str, CountingShop], delay: float | None = None, concurrency: int | None = None
) -> Path:
    """Each shop with the profile defaults (one request at a time, no delay of its own) unless told otherwise."""
    (where / "sites").mkdir(parents=True, exist_ok=True)
    lines = []
    for slug, shop in shops.items():
        (where / "sites" / f"{slug}.toml").write_text(
            f'slug = "{slug}"\nname = "{slug}"\ncountry = "CH"\ncurrency = "CHF"\nlanguage = "de"\n'
            f'base_url = "{shop.url}"\n'
            + ("" if delay is None else f"download_delay = {delay}\n")
            + ("" if concurrency is None else f"concurrency = {concurrency}\n")
        )
        pages = [f"{shop.url}/p/{slug}-{n}" for n in range(PAGES_PER_SHOP)]
        lines += ["[[retailers]]", f'slug = "{slug}"', f"products = {json.dumps(pages)}", ""]
    path = where / "watchlist.toml"
    path.write_text("\n".join(lines))
    return path
