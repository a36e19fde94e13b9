"""Evaluate 100 promotions over 200,000 stored observations (1,000 offer looks and 1,000 store intervals each).

Usage: .venv/bin/python bench/evaluate.py [DB_URL]     (default: a temporary SQLite file). Target: < 5 s.
Prints wall and CPU seconds of a first evaluate and of a re-run with no new data.
"""

from __future__ import annotations

import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import insert, text

from promowatch.config import Watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation, Product, Promotion, Retailer, Store, StoreObservation
from promowatch.evaluate import evaluate
from promowatch.rules import Thresholds

PROMOTIONS, OFFERS, STORES, INTERVALS_PER_STORE = 100, 1000, 20, 50
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


def build(url: str) -> None:
    sessions = open_database(url)
    with sessions.begin() as session:
        session.execute(insert(Retailer), [{"id": 1, "slug": "bench", "name": "Bench", "country": "CH"}])
        session.execute(
            insert(Store),
            [
                {"id": s, "retailer_id": 1, "external_id": f"S{s}", "name": f"Store {s}"}
                for s in range(1, STORES + 1)
            ],
        )
        session.execute(
            insert(Product),
            [
                {"id": p, "retailer_id": 1, "url": f"http://127.0.0.1:9/p/{p}"}
                for p in range(1, PROMOTIONS + 1)
            ],
        )
        session.execute(
            insert(Promotion),
            [
                {
                    "id": p,
                    "key": f"bench:{p}",
                    "retailer_id": 1,
                    "product_id": p,
                    "title": f"Promotion {p}",
                    "advertised_price": Decimal("499.00"),
                    "reference_price": Decimal("999.00"),
                    "currency": "CHF",
                    "valid_from": T0,
                    "valid_until": T0 + timedelta(days=7),
                    "origin": "sweep",
                    "created_at": T0 - timedelta(days=40),
                }
                for p in range(1, PROMOTIONS + 1)
            ],
        )
        for p in range(1, PROMOTIONS + 1):
            # looks every hour from 31 days before to ~10 days after the start; odd products are bait
            offers = []
            for i in range(OFFERS):
                at = T0 - timedelta(days=31) + timedelta(hours=i)
                during = at >= T0
                bait = p % 2 == 1 and during
                offers.append(
                    {
                        "product_id": p,
                        "observed_at": at,
                        "currency": "CHF",
                        "price": Decimal("499.00") if during else Decimal("999.00"),
                        "availability": "unknown"
                        if i % 17 == 0
                        else ("out_of_stock" if bait else "in_stock"),
                        "orderable": None if i % 17 == 0 else not bait,
                        "render": "http",
                    }
                )
            session.execute(insert(OfferObservation), offers)
            intervals = []
            for s in range(1, STORES + 1):
                for k in range(INTERVALS_PER_STORE):
                    first = T0 - timedelta(days=2) + timedelta(hours=4 * k)
                    intervals.append(
                        {
                            "product_id": p,
                            "store_id": s,
                            "first_seen": first,
                            "last_seen": first + timedelta(hours=3),
                            "checks": 4,
                            "availability": "out_of_stock" if (k + s + p) % 3 == 0 else "in_stock",
                            "quantity": None,
                        }
                    )
            session.execute(insert(StoreObservation), intervals)
    # fold the bulk load's write-ahead log into the database so the timed runs measure evaluate, not the load
    with sessions() as session:
        session.execute(
            text("PRAGMA wal_checkpoint(TRUNCATE)") if url.startswith("sqlite") else text("SELECT 1")
        )
    engine = sessions.kw["bind"]
    engine.dispose()


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp(prefix='pw-bench-')}/bench.db"
    started = time.perf_counter()
    build(url)
    print(
        f"built {PROMOTIONS} promotions, {PROMOTIONS * (OFFERS + STORES * INTERVALS_PER_STORE):,} observations "
        f"in {time.perf_counter() - started:.1f} s"
    )
    watchlist = Watchlist(
        path=None, retailers=(), promotions=(), subscriptions=(), thresholds=Thresholds(), contact=None
    )
    sessions = open_database(url)
    now = T0 + timedelta(days=9)
    for label in ("first run", "re-run (no changes)"):
        started, cpu = time.perf_counter(), time.process_time()
        report = evaluate(sessions, watchlist, now)
        seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
        # CPU time next to wall time: on a shared machine the wall figure also measures the neighbours
        print(
            f"evaluate {label}: {seconds:.2f} s wall, {cpu:.2f} s CPU  (target < 5 s)  opened={report.opened} "
            f"confirmed={report.confirmed} closed={report.closed} events={report.events}"
        )


if __name__ == "__main__":
    main()
