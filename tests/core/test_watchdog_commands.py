"""What a watchdog lists from the command line (issue 20): ``promowatch promotions`` with windows and sources,
``findings`` filtered by retailer, rule, state and date; and ``check`` finding a profile in ``sites/`` beside the
watchlist. A real SQLite database written through the models, the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from promowatch.db.engine import open_database
from promowatch.db.models import AdSighting, Finding, Product, Promotion, Retailer

NOW = datetime(2026, 11, 20, 10, tzinfo=UTC)


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOWATCH_")}
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
        env=env,
    )


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two retailers: a swept promotion still running, one that ended, one entered by hand; three findings."""
    root = tmp_path_factory.mktemp("data")
    sessions = open_database(f"sqlite:///{root / 'promowatch.db'}")
    with sessions.begin() as session:
        shops = {
            slug: Retailer(slug=slug, name=slug, country="CH", currency="CHF") for slug in ("acme", "bolt")
        }
        session.add_all(shops.values())
        session.flush()

        def promotion(slug: str, title: str, start: datetime, end: datetime | None, origin: str) -> Promotion:
            product = Product(retailer_id=shops[slug].id, url=f"http://127.0.0.1:9/{slug}/{title}")
            session.add(product)
            session.flush()
            row = Promotion(
                key=f"{slug}|{title}",
                retailer_id=shops[slug].id,
                product_id=product.id,
                title=title,
                advertised_price=Decimal("499.00"),
                reference_price=Decimal("999.00"),
                currency="CHF",
                valid_from=start,
                valid_until=end,
                origin=origin,
                window_basis="stated",
                created_at=start,
            )
            session.add(row)
            session.flush()
            return row

        running = promotion("acme", "espresso", NOW - timedelta(days=3), NOW + timedelta(days=4), "sweep")
        session.add(
            AdSighting(
                promotion_id=running.id,
                kind="web",
                source_url="http://127.0.0.1:9/acme/promotions",
                seen_at=NOW - timedelta(days=3),
                last_seen=NOW - timedelta(hours=2),
                checks=5,
            )
        )
        ended = promotion("acme", "airfryer", NOW - timedelta(days=20), NOW - timedelta(days=10), "sweep")
        entered = promotion("bolt", "tablet", NOW - timedelta(days=1), NOW + timedelta(days=6), "watchlist")

        def finding(promotion: Promotion, rule: str, state: str, opened: datetime) -> None:
            session.add(
                Finding(
                    promotion_id=promotion.id,
                    rule=rule,
                    state=state,
                    opened_at=opened,
                    closed_at=opened + timedelta(days=2) if state == "closed" else None,
                    evaluated_at=NOW,
                    summary=f"{rule} of {promotion.title}",
                    inputs={},
                    observation_ids={},
                )
            )

        finding(running, "unorderable_online", "confirmed", NOW - timedelta(days=2))
        finding(ended, "store_stockout", "closed", NOW - timedelta(days=18))
        finding(entered, "price_mismatch", "open", NOW - timedelta(hours=20))
    return root


@pytest.mark.parametrize(
    ("options", "titles"),
    [
        pytest.param([], {"espresso", "airfryer", "tablet"}, id="all"),
        pytest.param(["--state", "running"], {"espresso", "tablet"}, id="running"),
        pytest.param(["--state", "ended"], {"airfryer"}, id="ended"),
        pytest.param(["--retailer", "acme", "--state", "running"], {"espresso"}, id="one-retailer-running"),
    ],
)
def test_promotions_lists_what_the_sweeps_found(data: Path, options: list[str], titles: set[str]) -> None:
    result = cli(
        "promotions", "--data-dir", str(data), "--now", NOW.isoformat(), "--json", *options, cwd=data
    )
    assert result.returncode == 0, result.stderr
    rows = json.loads(result.stdout)
    assert {row["title"] for row in rows} == titles


def test_promotions_show_window_and_sources(data: Path) -> None:
    result = cli("promotions", "--data-dir", str(data), "--now", NOW.isoformat(), "--json", cwd=data)
    espresso = next(row for row in json.loads(result.stdout) if row["title"] == "espresso")
    assert espresso["starts"].startswith("2026-11-17")
    assert espresso["ends"].startswith("2026-11-24")
    assert espresso["sources"] == ["http://127.0.0.1:9/acme/promotions"]
    assert espresso["origin"] == "sweep"
    table = cli("promotions", "--data-dir", str(data), "--now", NOW.isoformat(), cwd=data)
    assert "espresso" in table.stdout and "running" in table.stdout


@pytest.mark.parametrize(
    ("options", "promotions"),
    [
        pytest.param(["--retailer", "acme"], {"espresso", "airfryer"}, id="retailer"),
        pytest.param(["--rule", "price_mismatch"], {"tablet"}, id="rule"),
        pytest.param(["--state", "closed"], {"airfryer"}, id="closed"),
        pytest.param(["--state", "open", "--retailer", "acme"], {"espresso"}, id="open-of-a-retailer"),
        pytest.param(["--since", "2026-11-18"], {"espresso", "tablet"}, id="since-a-date"),
    ],
)
def test_findings_filters(data: Path, options: list[str], promotions: set[str]) -> None:
    result = cli("findings", "--data-dir", str(data), "--json", *options, cwd=data)
    assert result.returncode == 0, result.stderr
    assert {row["promotion"] for row in json.loads(result.stdout)} == promotions


def test_findings_since_refuses_a_non_date(data: Path) -> None:
    result = cli("findings", "--data-dir", str(data), "--since", "last tuesday", cwd=data)
    assert result.returncode == 2
    assert "not an ISO 8601 date" in result.stderr


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("http://[::1/p", id="unclosed-ipv6-bracket"),
        pytest.param("http://127.0.0.1:abc/p", id="port-not-a-number"),
        pytest.param("http://127.0.0.1:99999/p", id="port-out-of-range"),
        pytest.param("http://127.0.0.1 /p", id="space-in-host"),
    ],
)
def test_check_malformed_url_is_one_line_exit_2(url: str, tmp_path: Path) -> None:
    result = cli("check", url, cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        f"promowatch: error: {result.stderr.split('error: ', 1)[1].strip()}"
    ]
    assert "not an http(s) URL" in result.stderr
    assert result.returncode == 2


def test_check_finds_a_profile_beside_the_watchlist(tmp_path: Path) -> None:
    from promowatch.demo.scenarios import DEFAULT_START, scenario
    from promowatch.demo.shop import DemoShop

    (tmp_path / "sites").mkdir()
    # the demo profile kept under a name only the watchlist's sites/ directory knows
    bundled = Path(__file__).parents[2] / "promowatch" / "sites" / "demo-shop.toml"
    text = bundled.read_text().replace('slug = "demo-shop"', 'slug = "my-shop"')
    (tmp_path / "sites" / "my-shop.toml").write_text(text)
    (tmp_path / "watchlist.toml").write_text("")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with DemoShop(DEFAULT_START) as shop:
        url = shop.url + scenario("a").path
        result = cli(
            "check",
            url,
            "--profile",
            "my-shop",
            "-w",
            str(tmp_path / "watchlist.toml"),
            "--json",
            cwd=elsewhere,
        )
    assert result.returncode == 0, result.stderr
    offer = json.loads(result.stdout)
    assert any(s["source"] == "profile" for s in offer["signals"])
