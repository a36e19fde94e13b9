"""Two notifiers at once (cron's `run` next to a manual `promowatch notify`): each event reaches a target once."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from notify.outbox import deliver_pending, fan_out, record_event
from promowatch.config import load_watchlist
from promowatch.db.engine import open_database
from promowatch.db.queries import sync_watchlist

NOW = datetime(2026, 11, 5, 10, tzinfo=UTC)


@pytest.fixture
def slow_endpoint() -> Iterator[tuple[int, list[str]]]:
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hits.append(self.path)
            time.sleep(0.5)  # slow enough for the second notifier to arrive while the first still sends
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], hits
    server.shutdown()
    server.server_close()


def test_concurrent_notifiers_send_each_event_once(
    tmp_path: Path, slow_endpoint: tuple[int, list[str]]
) -> None:
    port, hits = slow_endpoint
    (tmp_path / "watchlist.toml").write_text(
        '[[retailers]]\nslug = "demo-shop"\nbase_url = "http://127.0.0.1:9"\n\n'
        f'[[subscriptions]]\nname = "ops"\nurl = "json://127.0.0.1:{port}/ops"\ntags = ["ops"]\n'
    )
    watchlist = load_watchlist(tmp_path / "watchlist.toml")
    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    sessions = open_database(url)
    with sessions.begin() as session:
        sync_watchlist(session, watchlist, NOW)
        record_event(
            session, "crawl_unhealthy", "unhealthy:1", NOW, {"retailer": "demo-shop", "summary": "x"}
        )
    with sessions.begin() as session:
        fan_out(session, watchlist, NOW)
    sent: list[int] = []

    def notifier() -> None:
        sent.append(deliver_pending(open_database(url), watchlist, NOW, None).sent)

    threads = [threading.Thread(target=notifier) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(sent) == [0, 1]
    assert hits == ["/ops"]
