"""Shop text on the terminal and values the database cannot hold (issue 19, items 4, 6 and 8), with real crawls
of a local shop and the CLI in a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from sqlalchemy import select

from promowatch.db.engine import open_database
from promowatch.db.models import Finding, OfferObservation
from tests.ops.conftest import pg_database, postgres_url, write_watchlist  # noqa: F401 - fixtures
from tests.rules.dbdata import add_shop

# a price a shop can print: JSON-LD and the visible box agree on 12,345,678,901 francs
HUGE_PRICE_PAGE = b"""<!doctype html><html lang="de"><head><meta charset="utf-8"><title>ESAM</title>
<script type="application/ld+json">{"@context": "https://schema.org", "@type": "Product", "name": "ESAM",
"sku": "E1", "offers": {"@type": "Offer", "price": "12345678901.00", "priceCurrency": "CHF",
"availability": "https://schema.org/InStock"}}</script></head>
<body><main class="product"><h1>ESAM</h1><p class="price">CHF 12345678901.00</p>
<button class="add-to-cart">In den Warenkorb</button></main></body></html>"""


class Shop(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hang = False  # answer nothing: a crawl that waits, to be killed

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        if self.hang and self.path.startswith("/p/"):
            time.sleep(30)
            return
        status, body = (200, HUGE_PRICE_PAGE) if self.path.startswith("/p/") else (404, b"")
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def shop() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Shop)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def promowatch(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=180,
        env={**os.environ, **(env or {})},
    )


# the titles a hostile shop's promotions page can give: rich markup, terminal escapes (clear screen, retitle the
# window, move the cursor up over an earlier line), a C1 CSI, a bidirectional override
HOSTILE_TITLES = {  # the title, and what the table shows of it
    "closing tag": ("Deal [/x] now", "Deal [/x] now"),
    "rich style": ("[bold red]Deal[/]", "[bold red]Deal[/]"),
    "clear screen": ("Deal\x1b[2J\x1b[H", "Deal[2J[H"),
    "window title": ("Deal\x1b]0;owned\x07", "Deal]0;owned"),
    "cursor up": ("Deal\x1b[1A\rcase verified", "Deal[1A case verified"),
    "c1 csi": ("Deal\x9b2J", "Deal2J"),
    "bidi override": ("Deal \u202eoof", "Deal oof"),
}


@pytest.mark.parametrize(("title", "shown"), HOSTILE_TITLES.values(), ids=HOSTILE_TITLES.keys())
def test_findings_print_shop_titles_as_text(title: str, shown: str, tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sessions = open_database(f"sqlite:///{data / 'promowatch.db'}")
    with sessions.begin() as session:
        _, _, promotion, _ = add_shop(session)
        promotion.title = title
        now = datetime(2026, 11, 2, 10, tzinfo=UTC)
        session.add(
            Finding(
                promotion_id=promotion.id,
                rule="unorderable_online",
                state="open",
                opened_at=now,
                evaluated_at=now,
                summary="not orderable online in 3 observations",
                inputs={},
                observation_ids={},
            )
        )
    result = promowatch("findings", "--data-dir", str(data), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert shown in result.stdout
    for control in ("\x1b", "\x9b", "\x07", "\r", "\u202e"):
        assert control not in result.stdout


def test_a_shop_price_the_database_cannot_hold_is_refused_and_fails_the_run(
    shop: ThreadingHTTPServer, tmp_path: Path
) -> None:
    base = f"http://127.0.0.1:{shop.server_address[1]}"
    watchlist = write_watchlist(tmp_path, base, ["/p/esam"])
    result = promowatch("crawl", "-w", str(watchlist), "--data-dir", str(tmp_path / "data"), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [
        "promowatch: error: faulty: 1 value(s) refused as more than the database holds, "
        "0 observation(s) not stored (see logs/crawl.log)"
    ]
    assert "1 values refused" in result.stdout
    sessions = open_database(f"sqlite:///{tmp_path / 'data' / 'promowatch.db'}")
    with sessions() as session:
        observation = session.scalars(select(OfferObservation)).one()
    assert observation.price is None  # the observation is kept, the value it could not hold is not
    assert "price 12345678901.00" in (observation.reason or "")


@pytest.mark.postgres
def test_on_postgresql_a_price_of_ten_billion_is_refused_not_silently_dropped(
    shop: ThreadingHTTPServer,
    tmp_path: Path,
    pg_database: str,  # noqa: F811 - the fixture
) -> None:
    base = f"http://127.0.0.1:{shop.server_address[1]}"
    watchlist = write_watchlist(tmp_path, base, ["/p/esam"])
    result = promowatch(
        "crawl", "-w", str(watchlist), "--data-dir", str(tmp_path / "data"), "--db", pg_database, cwd=tmp_path
    )
    assert result.returncode == 1, result.stderr
    assert "1 value(s) refused" in result.stderr
    with open_database(pg_database)() as session:
        observation = session.scalars(select(OfferObservation)).one()
    assert observation.price is None and "12345678901.00" in (observation.reason or "")


def test_a_crawl_opens_no_remote_control_and_a_killed_one_leaves_no_token(
    shop: ThreadingHTTPServer, tmp_path: Path
) -> None:
    # Scrapy's telnet console and remote-control endpoint run Python sent to them; the latter writes its port
    # and bearer token to the user's state directory, where a killed crawl leaves them
    state = tmp_path / "state"
    Shop.hang = True
    try:
        base = f"http://127.0.0.1:{shop.server_address[1]}"
        watchlist = write_watchlist(tmp_path, base, ["/p/esam"])
        crawl = subprocess.Popen(
            [sys.executable, "-m", "promowatch.cli", "crawl", "-w", str(watchlist), "--data-dir", "data"],
            cwd=tmp_path,
            env={**os.environ, "XDG_STATE_HOME": str(state)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        log = tmp_path / "data" / "logs" / "crawl.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and "Spider opened" not in (
            log.read_text() if log.exists() else ""
        ):
            time.sleep(0.2)
        time.sleep(1.0)  # the product page is asked for and waits: the crawl is running
        crawl.send_signal(signal.SIGKILL)
        crawl.wait(10)
    finally:
        Shop.hang = False
    text = log.read_text()
    assert "Spider opened" in text
    assert "Telnet console listening" not in text
    assert "Remote control HTTP server listening" not in text
    assert not list(state.rglob("*.json"))
