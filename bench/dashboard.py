"""The dashboard over a big database: p50 and p95 of every page and API call.

Usage: .venv/bin/python bench/dashboard.py [--scale 1.0] [--db FILE] [--repeat 40]

At scale 1 the SQLite database holds 1,000,000 offer observations and 10,000,000 store observations (2,000
products of 10 retailers, 60 days; 500 promotions; 20 stores per retailer), written with bulk Core inserts.
--scale 0.05 is a quick run. An existing --db is reused as it is (building the full size takes minutes).
Each call goes through the whole ASGI application (Starlette's TestClient, in process, no network). Target:
p95 under 300 ms for every call.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import insert, text

from promowatch.clock import Clock
from promowatch.datadir import DataDir
from promowatch.db.engine import close_database, open_database
from promowatch.db.models import (
    AdSighting,
    CrawlRun,
    Event,
    Finding,
    OfferObservation,
    Product,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
)

RETAILERS, STORES_PER_RETAILER, DAYS = 10, 20, 60
FULL_PRODUCTS, FULL_OFFERS, FULL_STORE_ROWS = 2000, 1_000_000, 10_000_000
T0 = datetime(2026, 9, 1, tzinfo=UTC)
NOW = T0 + timedelta(days=DAYS)
BATCH = 50_000
RULES = ("unorderable_online", "store_stockout", "price_mismatch", "reference_price_unsupported")


def _bulk(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    for start in range(0, len(rows), BATCH):
        session.execute(insert(model), rows[start : start + BATCH])


def _raw(session: Any, model: Any, rows: list[dict[str, Any]]) -> None:
    """Many rows at once without per-value type processing: times and money already in SQLite's stored form
    (what UTCDateTime and Numeric write), so tens of millions of rows take minutes, not hours."""
    if not rows:
        return
    names = list(rows[0])
    statement = text(
        f"INSERT INTO {model.__tablename__} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"
    )
    session.execute(statement, rows)


def _stored(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def build(data: DataDir, scale: float) -> dict[str, int]:
    products = max(20, int(FULL_PRODUCTS * scale))
    offers_each = max(10, int(FULL_OFFERS * scale // products))
    stores = RETAILERS * STORES_PER_RETAILER
    intervals_each = max(2, int(FULL_STORE_ROWS * scale // (products * STORES_PER_RETAILER)))
    rng = random.Random(24)
    sessions = open_database(data.db_url)
    began = time.monotonic()
    with sessions.begin() as s:
        _bulk(
            s,
            Retailer,
            [
                {"id": r, "slug": f"r{r}", "name": f"Retailer {r}", "country": "CH"}
                for r in range(1, RETAILERS + 1)
            ],
        )
        _bulk(
            s,
            Store,
            [
                {
                    "id": i,
                    "retailer_id": 1 + (i - 1) // STORES_PER_RETAILER,
                    "external_id": str(i),
                    "name": f"Store {i}",
                }
                for i in range(1, stores + 1)
            ],
        )
        _bulk(
            s,
            Product,
            [
                {
                    "id": p,
                    "retailer_id": 1 + p % RETAILERS,
                    "url": f"http://127.0.0.1:9/p/{p}",
                    "name": f"Product {p}",
                }
                for p in range(1, products + 1)
            ],
        )
        promoted = list(range(1, products + 1, 4))
        _bulk(
            s,
            Promotion,
            [
                {
                    "id": i,
                    "key": f"bench:{p}",
                    "retailer_id": 1 + p % RETAILERS,
                    "product_id": p,
                    "title": f"Promotion of product {p}",
                    "advertised_price": Decimal("499.00"),
                    "reference_price": Decimal("999.00"),
                    "currency": "CHF",
                    "valid_from": NOW - timedelta(days=rng.randint(1, 20)),
                    "valid_until": NOW + timedelta(days=rng.randint(-5, 10)),
                    "origin": "sweep",
                    "window_basis": "stated",
                    "created_at": NOW - timedelta(days=25),
                }
                for i, p in enumerate(promoted, 1)
            ],
        )
        _bulk(
            s,
            AdSighting,
            [
                {
                    "promotion_id": i,
                    "kind": "web",
                    "source_url": "http://127.0.0.1:9/ads",
                    "seen_at": NOW - timedelta(days=20),
                    "last_seen": NOW,
                    "checks": 20,
                }
                for i in range(1, len(promoted) + 1)
            ],
        )
        runs = [
            {
                "id": d + 1,
                "started_at": T0 + timedelta(days=d),
                "finished_at": T0 + timedelta(days=d, minutes=40),
                "spider": "stores",
                "status": "finished",
                "stats": {f"promowatch/r{r}/store_checks": 100 for r in range(1, RETAILERS + 1)},
            }
            for d in range(DAYS)
        ]
        _bulk(s, CrawlRun, runs)
        step = timedelta(days=DAYS) / offers_each
        rows: list[dict[str, Any]] = []
        offer_id = 0
        for p in range(1, products + 1):
            for k in range(offers_each):
                offer_id += 1
                rows.append(
                    {
                        "id": offer_id,
                        "product_id": p,
                        "observed_at": _stored(T0 + k * step),
                        "price": "499.00" if k % 3 else "549.00",
                        "regular_price": "999.00",
                        "currency": "CHF",
                        "availability": "out_of_stock" if k % 5 == 0 else "in_stock",
                        "orderable": int(k % 5 != 0),
                        "render": "http",
                    }
                )
            if len(rows) >= BATCH:
                _raw(s, OfferObservation, rows)
                rows = []
        _raw(s, OfferObservation, rows)
        span = timedelta(days=DAYS) / intervals_each
        rows = []
        store_id = 0
        for p in range(1, products + 1):
            first_store = 1 + (p % RETAILERS) * STORES_PER_RETAILER
            for st in range(first_store, first_store + STORES_PER_RETAILER):
                for k in range(intervals_each):
                    store_id += 1
                    zero = (k + st) % 3 == 0
                    rows.append(
                        {
                            "id": store_id,
                            "product_id": p,
                            "store_id": st,
                            "run_id": 1 + min(DAYS - 1, int(k * DAYS / intervals_each)),
                            "first_seen": _stored(T0 + k * span),
                            "last_seen": _stored(T0 + (k + 1) * span - timedelta(minutes=1)),
                            "checks": 2,
                            "availability": "out_of_stock" if zero else "in_stock",
                            "quantity": 0 if zero else 4,
                        }
                    )
            if len(rows) >= BATCH:
                _raw(s, StoreObservation, rows)
                rows = []
        _raw(s, StoreObservation, rows)
        findings = []
        for i in range(1, len(promoted) + 1, 2):
            p = promoted[i - 1]
            first_offer = (p - 1) * offers_each + 1
            findings.append(
                {
                    "id": len(findings) + 1,
                    "promotion_id": i,
                    "rule": RULES[i % len(RULES)],
                    "state": "confirmed" if i % 3 else "closed",
                    "opened_at": NOW - timedelta(days=5),
                    "evaluated_at": NOW,
                    "summary": "bench finding",
                    "inputs": {"thresholds": {}},
                    "observation_ids": {"offer": list(range(first_offer, first_offer + 30)), "store": []},
                }
            )
        _bulk(s, Finding, findings)
        _bulk(
            s,
            Event,
            [
                {
                    "kind": "finding_opened",
                    "dedup_key": f"f{f['id']}",
                    "created_at": NOW,
                    "occurred_at": NOW,
                    "promotion_id": f["promotion_id"],
                    "finding_id": f["id"],
                    "payload": {},
                }
                for f in findings
            ],
        )
    close_database(sessions)
    print(
        f"built {products} products, {offer_id:,} offer observations, {store_id:,} store observations, "
        f"{len(promoted)} promotions, {len(findings)} findings in {time.monotonic() - began:.0f} s"
    )
    return {
        "promotions": len(promoted),
        "findings": len(findings),
        "products": products,
        "offers": offer_id,
        "stores": store_id,
    }


def percentile(values: list[float], p: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def measure(data: DataDir, repeat: int) -> list[tuple[str, float, float, float, float]]:
    from starlette.testclient import TestClient

    from promowatch.web.app import Dashboard, create_app

    board = Dashboard(data, clock=Clock.parse(NOW.isoformat()))
    client = TestClient(create_app(board), base_url="http://127.0.0.1")
    with board.reader() as s:
        from sqlalchemy import func, select

        promotions = s.scalar(select(func.max(Promotion.id))) or 1
        findings = s.scalar(select(func.max(Finding.id))) or 1
        products = s.scalar(select(func.max(Product.id))) or 1
        offers = s.scalar(select(func.max(OfferObservation.id))) or 1
        stores = s.scalar(select(func.max(StoreObservation.id))) or 1
    rng = random.Random(7)
    calls: dict[str, Any] = {
        "page /": lambda: "/",
        "page /promotions": lambda: "/promotions",
        "page /promotions?state=running&rule=…": lambda: "/promotions?state=running&rule=unorderable_online",
        "page /promotions/{id}": lambda: f"/promotions/{rng.randint(1, promotions)}",
        "json /promotions/{id}/series.json": lambda: f"/promotions/{rng.randint(1, promotions)}/series.json",
        "page /findings/{id}": lambda: f"/findings/{rng.randint(1, findings)}",
        "page /runs": lambda: "/runs",
        "page /subscriptions": lambda: "/subscriptions",
        "api retailers": lambda: "/api/v1/retailers",
        "api promotions": lambda: "/api/v1/promotions",
        "api observations (first page)": lambda: "/api/v1/observations",
        "api observations (deep page)": lambda: f"/api/v1/observations?after={rng.randint(1, offers)}",
        "api observations?product_id": lambda: f"/api/v1/observations?product_id={rng.randint(1, products)}",
        "api store-observations (deep page)": lambda: (
            f"/api/v1/store-observations?after={rng.randint(1, stores)}"
        ),
        "api store-observations?product_id": lambda: (
            f"/api/v1/store-observations?product_id={rng.randint(1, products)}"
        ),
        "api findings?rule": lambda: "/api/v1/findings?rule=store_stockout",
        "api events": lambda: "/api/v1/events",
        "api runs": lambda: "/api/v1/runs",
        "api subscriptions": lambda: "/api/v1/subscriptions",
        "api openapi.json": lambda: "/api/v1/openapi.json",
    }
    results = []
    for name, path in calls.items():
        client.get(path())  # warm the page cache and the templates
        times, cpu = [], []
        for _ in range(repeat):
            url = path()
            began, began_cpu = time.perf_counter(), time.process_time()
            response = client.get(url)
            times.append(1000 * (time.perf_counter() - began))
            cpu.append(1000 * (time.process_time() - began_cpu))
            if response.status_code != 200:
                raise SystemExit(f"{url}: {response.status_code} {response.text[:300]}")
        results.append(
            (name, percentile(times, 50), percentile(times, 95), percentile(cpu, 50), percentile(cpu, 95))
        )
    board.close()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full size (default 1)")
    parser.add_argument("--db", help="SQLite file to build or reuse (default: a temporary one)")
    parser.add_argument("--repeat", type=int, default=40)
    args = parser.parse_args()
    root = Path(args.db).parent if args.db else Path(tempfile.mkdtemp(prefix="promowatch-bench-dashboard-"))
    db = Path(args.db) if args.db else root / "promowatch.db"
    data = DataDir(root=root, db_url=f"sqlite:///{db}")
    if not db.exists():
        build(data, args.scale)
    else:
        print(f"reusing {db}")
    results = measure(data, args.repeat)
    width = max(len(row[0]) for row in results)
    # wall time is what a user waits; CPU time (this process, all threads) is the part a busy machine cannot
    # inflate
    print(f"{'call':<{width}}  {'p50 ms':>8}  {'p95 ms':>8}  {'CPU p50':>8}  {'CPU p95':>8}")
    for name, p50, p95, cpu50, cpu95 in results:
        flag = "  OVER 300 ms" if p95 > 300 else ""
        print(f"{name:<{width}}  {p50:8.1f}  {p95:8.1f}  {cpu50:8.1f}  {cpu95:8.1f}{flag}")
    worst = max(row[2] for row in results)
    worst_cpu = max(row[4] for row in results)
    print(
        f"worst p95: {worst:.1f} ms wall, {worst_cpu:.1f} ms CPU (target < 300 ms): {'ok' if worst < 300 else 'FAILED'}"
    )
    sys.exit(0 if worst < 300 else 1)


if __name__ == "__main__":
    main()
