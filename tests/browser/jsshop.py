"""A tiny shop on 127.0.0.1 whose stock line only JavaScript fills in, for the browser tests and bench.

Modelled on the demo shop's scenario (e): the static HTML shows "chargement…" where the stock line goes and a
script fills it in from /api/stock/{sku}. Paths:

- ``/p/js/{sku}``      stock line and buy button filled from /api/stock/{sku} (``?delay=ms`` slows the API)
- ``/p/never/{sku}``   the script never fills the stock line in (a wait that must time out)
- ``/p/stream/{sku}``  the page fetches forever, never reaching network idle, and never fills the stock line
- ``/p/same/{sku}``    the same rendering for every sku (one screenshot stored for all)
- ``/p/consent/{sku}`` as /p/js, and a consent banner a script adds 200 ms after load (as consent managers do)
- ``/p/postcode/{sku}`` the stock line is filled only after a postcode is typed into ``#zip`` and ``#show`` is
  clicked (a store-availability form): in stock for 1003, out of stock elsewhere
- ``/p/slowimg/{sku}`` as /p/js, but its picture takes 700 ms to arrive, after the stock line is filled
- ``/p/moved/{sku}``  a script moves the page on to /p/js/{sku} after 150 ms (a redirect or country chooser); its
  own stock line stays "chargement…", and a script of it holds the words "En stock"
- ``/img/{sku}.svg``    the product's picture (every page shows one; ``?delay=ms`` slows it)
- ``/api/stock/{sku}`` ``{"sku": ..., "status": "in_stock"|"out_of_stock"}``: skus ending in 0 are out of stock
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

PAGE = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;margin:2em}} .price{{font-size:2em}}</style></head>
<body>
<main class="product" data-sku="{sku}">
  <h1 class="title">{title}</h1>
  <img class="photo" src="/img/{image}.svg{image_query}" alt="" width="120" height="90">
  <p class="price">CHF <span class="amount">499.00</span></p>
  <p class="stock" id="stock">chargement…</p>
  <button class="buy" id="buy" disabled>Ajouter au panier</button>
</main>
<script>{script}</script>
</body></html>
"""

FILL = """
fetch('/api/stock/{sku}{query}').then(r => r.json()).then(d => {{
  const stock = document.getElementById('stock');
  stock.textContent = d.status === 'in_stock' ? 'En stock' : 'Rupture de stock';
  stock.setAttribute('data-status', d.status);
  document.getElementById('buy').disabled = d.status !== 'in_stock';
}});
"""

CONSENT = """
setTimeout(() => {{
  const banner = document.createElement('div');
  banner.id = 'consent';
  banner.style = 'position:fixed;bottom:0;left:0;right:0;height:40%;background:#333;color:#fff';
  banner.innerHTML = 'Cookies? <button id="consent-ok">OK</button>';
  document.body.appendChild(banner);
  document.getElementById('consent-ok').onclick = () => banner.remove();
}}, 200);
"""

POSTCODE = """
document.querySelector('main').insertAdjacentHTML('beforeend',
  '<form id="where"><input id="zip" name="zip"><button type="button" id="show">Voir</button></form>');
document.getElementById('show').onclick = () => {{
  const stock = document.getElementById('stock');
  const here = document.getElementById('zip').value === '1003';
  stock.textContent = here ? 'En stock' : 'Rupture de stock';
  stock.setAttribute('data-status', here ? 'in_stock' : 'out_of_stock');
  document.getElementById('buy').disabled = !here;
}};
"""

MOVED = """
const state = {{ "label": "En stock" }};
setTimeout(() => location.replace('/p/js/{sku}'), 150);
"""

STREAM = """
let i = 0;
function more() {{ fetch('/api/ping?i=' + (i++)).finally(() => setTimeout(more, 20)); }}
more();
"""


PHOTO = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="90">'
    b'<rect width="120" height="90" fill="#a0522d"/></svg>'
)


class JsShop:
    """``JsShop().start()`` serves the shop on a free port of 127.0.0.1; ``.url``; ``.hits(prefix)``; ``.stop()``."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None

    def start(self) -> JsShop:
        shop = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                shop.count(self.path)
                status, media, body = shop.respond(self.path)
                self.send_response(status)
                self.send_header("Content-Type", media)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()

    def count(self, path: str) -> None:
        key = "/".join(urlsplit(path).path.split("/")[:3])
        with self.lock:
            self.counts[key] = self.counts.get(key, 0) + 1

    def hits(self, prefix: str) -> int:
        with self.lock:
            return sum(n for key, n in self.counts.items() if key.startswith(prefix))

    def respond(self, path: str) -> tuple[int, str, bytes]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        segments = parts.path.strip("/").split("/")
        html = "text/html; charset=utf-8"
        if len(segments) == 3 and segments[0] == "p":
            kind, sku = segments[1], segments[2]
            delay = f"?delay={query['delay'][0]}" if "delay" in query else ""
            scripts = {
                "js": FILL.format(sku=sku, query=delay),
                "never": "",
                "stream": STREAM.format(),
                "same": FILL.format(sku="1", query=delay),
                "consent": FILL.format(sku=sku, query=delay) + CONSENT.format(),
                "postcode": POSTCODE.format(),
                "slowimg": FILL.format(sku=sku, query=""),
                "moved": MOVED.format(sku=sku),
            }
            if kind in scripts:
                title = "Machine à café Barista" if kind == "same" else f"Machine à café {sku}"
                image = "1" if kind == "same" else sku
                image_query = "?delay=700" if kind == "slowimg" else ""
                page = PAGE.format(
                    title=title, sku=sku, image=image, image_query=image_query, script=scripts[kind]
                )
                return 200, html, page.encode("utf-8")
        if len(segments) == 3 and segments[:2] == ["api", "stock"]:
            if "delay" in query:
                time.sleep(int(query["delay"][0]) / 1000)
            sku = segments[2]
            status = "out_of_stock" if sku.endswith("0") else "in_stock"
            return 200, "application/json", json.dumps({"sku": sku, "status": status}).encode()
        if len(segments) == 2 and segments[0] == "img":
            if "delay" in query:
                time.sleep(int(query["delay"][0]) / 1000)
            return 200, "image/svg+xml", PHOTO
        if segments[:2] == ["api", "ping"]:
            return 200, "application/json", b"{}"
        return 404, html, b"<html><body>not found</body></html>"
