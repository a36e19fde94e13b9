"""``python -m tests.ops.worker WATCHLIST DATA_DIR REDIS_URL DB_URL [--set KEY=JSON]``: one worker, tests only."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from promowatch.config import load_watchlist
from promowatch.datadir import DataDir
from promowatch.distributed import run_worker

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    for name in ("watchlist", "data_dir", "redis_url", "db"):
        parser.add_argument(name)
    parser.add_argument("--idle-exit", type=int, default=5)
    parser.add_argument("--set", action="append", default=[])
    args = parser.parse_args(sys.argv[1:])
    overrides = {k: json.loads(v) for k, v in (item.split("=", 1) for item in args.set)}
    stats = run_worker(
        load_watchlist(Path(args.watchlist)),
        DataDir.resolve(args.data_dir, args.db),
        args.redis_url,
        idle_exit=args.idle_exit,
        overrides=overrides,
    )
    print(json.dumps({k: v for k, v in stats.items() if "promowatch/" in k or k == "item_scraped_count"}))
