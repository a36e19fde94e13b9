"""One run, one context: a ``promowatch run`` parses its watchlist once, opens one database engine and closes
every connection it opened before it exits (so SQLite folds its write-ahead log back into the database)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from promowatch.demo.run import CHECK_HOUR, DEMO_START, Inbox
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import demo_watchlist


def test_a_run_parses_the_watchlist_once_and_opens_one_engine_that_it_disposes(tmp_path: Path) -> None:
    data, report = tmp_path / "data", tmp_path / "counts.json"
    inbox = Inbox()
    with DemoShop(DEMO_START) as shop, inbox.serving():
        watchlist = tmp_path / "watchlist.toml"
        watchlist.write_text(demo_watchlist(shop.url, inbox.url + "/consumer", inbox.url + "/watchdog"))
        now = DEMO_START + CHECK_HOUR
        shop.set_clock(now)
        command = ["run", "--watchlist", str(watchlist), "--data-dir", str(data), "--now", now.isoformat()]
        result = subprocess.run(
            [sys.executable, "-m", "tests.ops.counted_run", str(report), *command, "--quiet"],
            capture_output=True,
            text=True,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = json.loads(report.read_text())
    # crawl (three spiders and their pipelines), evaluate and notify all work from one context
    assert counts["watchlist_parses"] == 1
    assert counts["engines"] == 1
    assert counts["connections_opened"] >= 1
    assert counts["connections_closed"] == counts["connections_opened"]
    assert not (data / "promowatch.db-wal").exists()
