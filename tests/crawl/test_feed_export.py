"""Scrapy's own command line works in the checkout: ``scrapy crawl offers -a watchlist=FILE -O offers.jsonl``
crawls the watchlist's shops and writes one JSON object per observation, without the raw page bytes.

Source: the demo shop (promowatch/demo) on 127.0.0.1 and its watchlist.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urljoin

from sqlalchemy import func, select

from promowatch.config import load_watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation
from promowatch.demo.run import DEMO_START
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import demo_watchlist

ROOT = Path(__file__).resolve().parents[2]


def test_scrapy_crawl_with_a_watchlist_argument_exports_offers_as_json_lines(tmp_path: Path) -> None:
    # no PROMOWATCH_* variables: the watchlist comes from the spider argument alone
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOWATCH_")}
    with DemoShop(DEMO_START) as shop:
        watchlist = tmp_path / "watchlist.toml"
        watchlist.write_text(demo_watchlist(shop.url, "json://127.0.0.1:9/c", "json://127.0.0.1:9/w"))
        command = [sys.executable, "-m", "scrapy", "crawl", "offers", "-a", f"watchlist={watchlist}"]
        command += ["-O", str(tmp_path / "offers.jsonl"), "-s", f"PROMOWATCH_DATA_DIR={tmp_path / 'data'}"]
        result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "] ERROR:" not in result.stderr and "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [json.loads(line) for line in (tmp_path / "offers.jsonl").read_text().splitlines()]
    watched = {urljoin(r.base_url, url) for r in load_watchlist(watchlist).retailers for url in r.products}
    assert watched <= {line["product_url"] for line in lines}
    # one line per observation the crawl stored, in the data directory named with -s
    sessions = open_database(f"sqlite:///{tmp_path / 'data' / 'promowatch.db'}")
    with sessions() as session:
        assert session.scalar(select(func.count(OfferObservation.id))) == len(lines)
    for line in lines:
        assert line["retailer"] == "demo-shop"
        assert line["offer"]["availability"] in {"in_stock", "limited", "out_of_stock", "unknown"}
        assert line["offer"]["price"] is None or re.fullmatch(r"\d+\.\d\d", line["offer"]["price"])
        capture = line["capture"]
        assert capture["status"] == 200 and capture["url"].startswith(shop.url)
        # the bytes stay in the evidence store, named by their hash
        assert "body" not in capture and re.fullmatch(r"[0-9a-f]{64}", capture["body_sha256"])
