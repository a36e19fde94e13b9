"""Runs one crawl in this process with settings overrides, then the health check; prints a JSON summary.

``python -m tests.ops.runner WATCHLIST DATA_DIR [--db URL] [--now ISO] [--set KEY=JSON ...]`` — tests start it
as a subprocess because Twisted's reactor runs once per process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from promowatch.clock import Clock
from promowatch.config import load_watchlist
from promowatch.crawl.runner import crawl_settings, run_crawl
from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.queries import sync_watchlist
from promowatch.health import check_crawl_health


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("watchlist")
    parser.add_argument("data_dir")
    parser.add_argument("--db")
    parser.add_argument("--now")
    parser.add_argument("--spiders", default="offers,stores")
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args(argv)
    watchlist = load_watchlist(Path(args.watchlist))
    data = DataDir.resolve(args.data_dir, args.db)
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    sessions = open_database(data.db_url)
    clock = Clock.parse(args.now)
    started = clock.now()
    with sessions.begin() as session:
        sync_watchlist(session, watchlist, started)
    report = run_crawl(
        crawl_settings(watchlist, data, clock=Clock.parse(args.now), overrides=overrides),
        tuple(args.spiders.split(",")),
    )
    health = check_crawl_health(sessions, watchlist, started, clock.now())
    summary = {
        "interrupted": report.interrupted,
        "stats": {k: v for s in report.stats.values() for k, v in s.items() if k.startswith("promowatch/")},
        "health": {h.retailer: h.problems for h in health},
    }
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
