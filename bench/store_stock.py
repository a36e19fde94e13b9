"""CPU per store-stock answer written: the persistence pipeline alone, no crawl, one SQLite file.

    .venv/bin/python bench/store_stock.py [--answers 200] [--stores 50]

Writes ``--answers`` stock answers of ``--stores`` stores each three times through the real PersistPipeline:
all intervals new (a first crawl), all unchanged (an hourly re-check that extends them), all changed (a
restock). Prints CPU milliseconds per answer for each; the intervals and the hash-chain entries are included.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler

from pipelines.persist import PersistPipeline
from promowatch.domain import Availability, StoreInfo, StoreStock
from promowatch.items import Capture, StoreListItem, StoreStockItem

SHOP = "http://127.0.0.1:9"
T0 = datetime(2026, 11, 5, 10, tzinfo=UTC)


def answer(product: int, stores: list[str], at: datetime, shift: int) -> StoreStockItem:
    """One product's stock answer; ``shift`` moves every store's quantity (0: as the first time)."""
    stocks = [
        StoreStock(
            store, Availability.IN_STOCK if (n + shift) % 7 else Availability.OUT_OF_STOCK, (n + shift) % 7
        )
        for n, store in enumerate(stores)
    ]
    body = f"{product}-{shift}".encode()
    capture = Capture(
        f"{SHOP}/api/stock/{product}", 200, {}, body, "application/json", f"{product:032d}{shift:032d}"
    )
    return StoreStockItem("acme", f"{SHOP}/p/{product}", at, stocks, capture)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--answers", type=int, default=200)
    parser.add_argument("--stores", type=int, default=50)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="promowatch-stock-"))
    (root / "sites").mkdir()
    (root / "sites" / "acme.toml").write_text(f'slug = "acme"\ncurrency = "CHF"\nbase_url = "{SHOP}"\n')
    (root / "watchlist.toml").write_text('[[retailers]]\nslug = "acme"\n')
    settings = {
        "PROMOWATCH_WATCHLIST": str(root / "watchlist.toml"),
        "PROMOWATCH_DATA_DIR": str(root / "data"),
        "PROMOWATCH_DB": f"sqlite:///{root / 'promowatch.db'}",
    }
    pipeline = build_from_crawler(PersistPipeline, get_crawler(settings_dict=settings))
    stores = [f"s{n}" for n in range(args.stores)]
    pipeline.process_item(StoreListItem("acme", T0, [StoreInfo(s, s.upper()) for s in stores], None))
    print(f"{args.answers} answers x {args.stores} stores, SQLite in {root}")
    for hour, (label, shift) in enumerate((("all new", 0), ("all unchanged", 0), ("all changed", 1))):
        items = [answer(n, stores, T0 + timedelta(hours=hour), shift) for n in range(args.answers)]
        started = time.process_time()
        for item in items:
            pipeline.process_item(item)
        pipeline.commit()
        spent = time.process_time() - started
        print(f"  {label:<14} {spent / args.answers * 1000:6.2f} CPU ms per answer")


if __name__ == "__main__":
    main()
