"""``promowatch demo``: the demo shop on 127.0.0.1, crawled day by day on a simulated clock.

Each simulated day is one real ``promowatch run`` (crawl, evaluate, notify) in a subprocess, exactly what cron
would start; the shop and a local notification endpoint live in this process.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from sqlalchemy import select

from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation, Product, Promotion, StoreObservation
from promowatch.demo.scenarios import DEFAULT_START, SCENARIOS
from promowatch.demo.truth import Score
from promowatch.terminal import rich_text

DEMO_START = DEFAULT_START  # the Monday the shop's fortnight begins
CHECK_HOUR = timedelta(hours=3)  # each simulated day is checked at 10:00 UTC, after the stores open


class Inbox:
    """A local ``json://`` endpoint that keeps every notification it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.day: int | None = None  # the simulated day being run, stamped on what arrives
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    message = json.loads(self.rfile.read(length) or b"{}")
                except json.JSONDecodeError:
                    message = {"body": "unreadable"}
                inbox.messages.append({**message, "path": self.path, "day": inbox.day})
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self.server.server_address[1]}"

    @contextmanager
    def serving(self) -> Iterator[Inbox]:
        thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self.server.shutdown()
            self.server.server_close()


def run_day(watchlist: Path, data_dir: Path, now: datetime) -> subprocess.CompletedProcess[str]:
    """One cron run at simulated time ``now``."""
    command = [
        sys.executable,
        "-m",
        "promowatch.cli",
        "run",
        "--watchlist",
        str(watchlist),
        "--data-dir",
        str(data_dir),
        "--now",
        now.isoformat(),
        "--quiet",
    ]
    return subprocess.run(command, capture_output=True, text=True, check=False)


def timeline(db_url: str, start: datetime, days: int) -> dict[str, list[dict[str, Any]]]:
    """Per promoted product (by title) and day: price, orderable online, availability, share of stores in stock."""
    sessions = open_database(db_url)
    result: dict[str, list[dict[str, Any]]] = {}
    with sessions() as session:
        products = session.scalars(
            select(Product).where(Product.id.in_(select(Promotion.product_id))).order_by(Product.id)
        ).all()
        for product in products:
            rows = []
            for day in range(days):
                begin = start + timedelta(days=day)
                end = begin + timedelta(days=1)
                offer = session.scalars(
                    select(OfferObservation)
                    .where(
                        OfferObservation.product_id == product.id,
                        OfferObservation.observed_at >= begin,
                        OfferObservation.observed_at < end,
                    )
                    .order_by(OfferObservation.observed_at.desc())
                    .limit(1)
                ).first()
                stores = session.scalars(
                    select(StoreObservation).where(
                        StoreObservation.product_id == product.id,
                        StoreObservation.first_seen < end,
                        StoreObservation.last_seen >= begin,
                    )
                ).all()
                latest: dict[int, StoreObservation] = {}
                for row in stores:
                    if row.store_id not in latest or row.last_seen > latest[row.store_id].last_seen:
                        latest[row.store_id] = row
                known = [r for r in latest.values() if r.availability != "unknown"]
                in_stock = [r for r in known if r.availability in ("in_stock", "limited")]
                rows.append(
                    {
                        "day": day,
                        "price": offer.price if offer else None,
                        "availability": offer.availability if offer else None,
                        "orderable": offer.orderable if offer else None,
                        "stores_in_stock": (len(in_stock) / len(known)) if known else None,
                    }
                )
            result[product.name or product.url] = rows
    return result


def _orderable(row: dict[str, Any]) -> str:
    if row["orderable"] is None or row["availability"] in (None, "unknown"):
        return "?" if row["availability"] == "unknown" else "—"
    return "yes" if row["orderable"] else "NO"


def print_timeline(console: Console, data: dict[str, list[dict[str, Any]]], start: datetime) -> None:
    """One table per scenario product, in scenario order, then any other promoted product."""
    from promowatch.demo.elektro.catalogue import ARTICLES

    letters = {s.title: (s.letter, s.shows) for s in SCENARIOS} | {
        a.title: (a.letter, a.shows) for a in ARTICLES
    }
    ordered = sorted(data, key=lambda title: (letters[title][0] if title in letters else "z", title))
    for title in ordered:
        rows = data[title]
        known = letters.get(title)
        caption = f"({known[0]}) {title}: {known[1]}" if known else title
        table = Table(title=rich_text(caption), title_justify="left")
        table.add_column("day")
        for row in rows:
            stamp = (start + timedelta(days=row["day"])).strftime("%d.%m")
            table.add_column(f"{row['day']}\n{stamp}", justify="right")

        def cell(value: Any) -> str:
            return "—" if value is None else str(value)

        table.add_row("price", *[cell(r["price"]) for r in rows])
        table.add_row("orderable", *[_orderable(r) for r in rows])
        table.add_row("online", *[cell(r["availability"]).replace("_", " ") for r in rows])
        table.add_row(
            "stores in stock",
            *["—" if r["stores_in_stock"] is None else f"{r['stores_in_stock']:.0%}" for r in rows],
        )
        console.print(table)


def browser_profile(sites: Path) -> None:
    """A copy of the bundled demo profile that renders in Chromium when HTTP reads unknown (scenario e)."""
    from promowatch.config import BUNDLED_SITES

    text = (BUNDLED_SITES / "demo-shop.toml").read_text()
    sites.mkdir(parents=True, exist_ok=True)
    (sites / "demo-shop.toml").write_text(re.sub(r'(?m)^render = ".*"$', 'render = "auto"', text))


def run_demo(port: int = 0, days: int = 14, data_dir: Path | None = None, browser: bool = False) -> int:
    """Start both demo retailers, crawl ``days`` simulated days (one ``promowatch run`` a day for both), print
    the timeline, findings, notifications and the score against the truth tables.

    With ``browser``, pages that HTTP cannot read (scenario e) are rendered in Chromium."""
    from promowatch.demo.elektro.shop import ElektroShop
    from promowatch.demo.shop import DemoShop
    from promowatch.demo.watchlist import both_watchlist

    console = Console(width=160)
    data = data_dir or Path(tempfile.mkdtemp(prefix="promowatch-demo-"))
    data.mkdir(parents=True, exist_ok=True)
    try:
        shop = DemoShop(DEMO_START, port=port).start()
    except OSError as error:
        print(
            f"promowatch: error: demo shop cannot listen on 127.0.0.1:{port}: {error.strerror or error}",
            file=sys.stderr,
        )
        return 1
    elektro = ElektroShop(DEMO_START).start()
    inbox = Inbox()
    began = time.monotonic()
    with inbox.serving():
        try:
            watchlist = data / "watchlist.toml"
            if browser:
                browser_profile(data / "sites")  # profiles beside the watchlist come first
            watchlist.write_text(both_watchlist(shop.url, elektro.url, inbox.url, data))
            console.print(f"demo shop at {shop.url}, Demo Elektromarkt at {elektro.url}, data in {data}")
            for day in range(days):
                now = DEMO_START + timedelta(days=day) + CHECK_HOUR
                shop.set_clock(now)
                elektro.set_clock(now)
                inbox.day = day
                result = run_day(watchlist, data, now)
                status = "ok" if result.returncode == 0 else f"exit {result.returncode}"
                console.print(f"day {day:>2} {now:%a %d.%m.%Y %H:%M} UTC: {status}")
                if result.returncode not in (0, 1):
                    console.print(result.stderr[-3000:], markup=False, highlight=False)
                    return result.returncode
        finally:
            shop.stop()
            elektro.stop()
        db_url = f"sqlite:///{data / 'promowatch.db'}"
        print_timeline(console, timeline(db_url, DEMO_START, days), DEMO_START)
        print_findings(console, db_url)
        print_notifications(console, inbox.messages)
        export_bait_case(console, data, db_url)
        print_score(console, score_demo(db_url, inbox.messages, browser))
    console.print(f"demo finished in {time.monotonic() - began:.1f} s; data kept in {data}")
    return 0


def print_findings(console: Console, db_url: str) -> None:
    from promowatch.db.queries import list_findings

    table = Table("id", "promotion", "rule", "state", "summary", title="Findings", title_justify="left")
    with open_database(db_url)() as session:
        rows = list_findings(session)
    for row in rows:
        table.add_row(*(rich_text(row[key]) for key in ("id", "promotion", "rule", "state", "summary")))
    console.print(table)


def print_notifications(console: Console, messages: list[dict[str, Any]]) -> None:
    table = Table(
        "day",
        "to",
        "title",
        title=f"Notifications delivered to the demo's json:// endpoint ({len(messages)})",
        title_justify="left",
    )
    for message in messages:
        day = message.get("day")
        when = "" if day is None else f"{day} ({DEMO_START + timedelta(days=day):%d.%m})"
        table.add_row(when, rich_text(message.get("path", "")), rich_text(message.get("title", "")))
    console.print(table)


def export_bait_case(console: Console, data: Path, db_url: str) -> None:
    """Export and verify the case of the bait promotion's first finding."""
    from promowatch.datadir import DataDir
    from promowatch.db.queries import list_findings
    from promowatch.evidence.case import export_case
    from promowatch.evidence.case_verify import verify_case

    with open_database(db_url)() as session:
        findings = list_findings(session, rule="unorderable_online")
    if not findings:
        console.print("no unorderable_online finding to export")
        return
    where = DataDir.resolve(str(data))
    bundle = export_case(
        open_database(db_url), where.blobs, where.warcs, findings[0]["id"], data / "case.zip"
    )
    report = verify_case(bundle)
    console.print(f"case bundle: {bundle}")
    console.print(f"case verify: {'ok' if report.ok else 'FAILED: ' + str(report.first_problem)}")


def score_demo(db_url: str, messages: list[dict[str, Any]], browser: bool = False) -> Score:
    """The demo's outcome scored against both retailers' truth tables."""
    from promowatch.demo.truth import DEMO_SHOP, TRUTHS, load_outcome, received_from, score

    findings, products = load_outcome(db_url, DEMO_START)
    # over HTTP scenario (e)'s stock is unknown; the browser reads it, and its truth is not tabled
    truths = TRUTHS if not browser else tuple(t for t in TRUTHS if t is not DEMO_SHOP)
    return score(findings, received_from(messages), products, truths)


def print_score(console: Console, result: Score) -> None:
    table = Table(
        "retailer",
        "check",
        "expected",
        "observed",
        "",
        title="Score against the truth tables",
        title_justify="left",
    )
    for row in result.rows:
        table.add_row(row.retailer, row.check, row.expected, row.observed, "ok" if row.ok else "WRONG")
    console.print(table)
    console.print(f"score: {result.summary()}")
