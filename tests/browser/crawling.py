"""Writing a watchlist with its own site profiles, crawling it in a subprocess, reading what was stored."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import select

from promowatch.config import BUNDLED_SITES
from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation, Product

NOW = "2026-11-23T08:00:00+00:00"

PROFILE = """
slug = "{slug}"
currency = "CHF"
language = "fr"
render = "{render}"
concurrency = {concurrency}

[offer]
product_block = "main.product"
title = "h1.title::text"
price = ".price .amount::text"
availability = "#stock::text"
buy_button = "#buy"

[offer.availability_map]
"En stock" = "in_stock"
"Rupture" = "out_of_stock"

[browser]
timeout_ms = {timeout_ms}
screenshot = {screenshot}
{wait}
"""


@dataclass(frozen=True)
class Shop:
    """One retailer of the test watchlist: its profile's render mode and browser options, and its pages."""

    slug: str
    render: str
    products: tuple[str, ...]
    wait: str = 'wait_for = "#stock[data-status]"'
    timeout_ms: int = 3000
    screenshot: bool = True
    concurrency: int = 2


def write_watchlist(root: Path, base_url: str, shops: list[Shop]) -> Path:
    """A watchlist in ``root`` with one profile per shop under ``root/sites``."""
    (root / "sites").mkdir(parents=True, exist_ok=True)
    lines = []
    for shop in shops:
        profile = PROFILE.format(
            slug=shop.slug,
            render=shop.render,
            concurrency=shop.concurrency,
            timeout_ms=shop.timeout_ms,
            screenshot=str(shop.screenshot).lower(),
            wait=shop.wait,
        )
        (root / "sites" / f"{shop.slug}.toml").write_text(profile)
        products = ", ".join(f'"{base_url}{path}"' for path in shop.products)
        lines.append(
            f'[[retailers]]\nslug = "{shop.slug}"\nprofile = "{shop.slug}"\nbase_url = "{base_url}"\n'
            f"sweep = false\nproducts = [{products}]\n"
        )
    path = root / "watchlist.toml"
    path.write_text("\n".join(lines))
    return path


def write_demo_watchlist(
    root: Path,
    base_url: str,
    products: list[str],
    *,
    slug: str = "demo-browser",
    render: str = "browser",
    screenshot: bool = True,
    concurrency: int = 4,
    stores: bool = True,
) -> Path:
    """A watchlist in ``root`` for the demo shop at ``base_url``, read with a copy of the bundled demo-shop
    profile (``root/sites/{slug}.toml``) whose render mode, screenshot and concurrency are these (and without
    its store-stock API when ``stores`` is false)."""
    profile = (BUNDLED_SITES / "demo-shop.toml").read_text()
    for line, value in (
        ('slug = "demo-shop"', f'slug = "{slug}"'),
        ('render = "http"', f'render = "{render}"'),
        ("concurrency = 4", f"concurrency = {concurrency}"),
        ("screenshot = true", f"screenshot = {str(screenshot).lower()}"),
    ):
        assert line in profile, f"demo-shop.toml no longer has {line!r}"
        profile = profile.replace(line, value, 1)
    if not stores:  # product pages only: no store-stock crawl next to them
        head, _, rest = profile.partition("\n[stores]\n")
        profile = head + "\n" + rest[rest.index("\n[") :]
    (root / "sites").mkdir(parents=True, exist_ok=True)
    (root / "sites" / f"{slug}.toml").write_text(profile)
    urls = ", ".join(f'"{base_url}{path}"' for path in products)
    path = root / "watchlist.toml"
    path.write_text(
        f'[[retailers]]\nslug = "{slug}"\nprofile = "{slug}"\nbase_url = "{base_url}"\n'
        f"sweep = false\nproducts = [{urls}]\n"
    )
    return path


def crawl_command(watchlist: Path, data_dir: Path, now: str = NOW) -> list[str]:
    return [
        sys.executable, "-m", "promowatch.cli", "crawl",
        "--watchlist", str(watchlist), "--data-dir", str(data_dir), "--now", now,
    ]  # fmt: skip


def crawl(
    watchlist: Path, data_dir: Path, env: dict[str, str] | None = None, now: str = NOW
) -> subprocess.CompletedProcess[str]:
    """Run ``promowatch crawl`` in a subprocess, as cron would."""
    return subprocess.run(
        crawl_command(watchlist, data_dir, now),
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or {})},
        check=False,
    )


def observations(data_dir: Path) -> dict[str, dict[str, Any]]:
    """The stored offer observations by product URL path (the last one of each product)."""
    sessions = open_database(DataDir.resolve(str(data_dir), None).db_url)
    result: dict[str, dict[str, Any]] = {}
    with sessions() as session:
        rows = session.execute(
            select(Product.url, OfferObservation).join(Product).order_by(OfferObservation.id)
        ).all()
        for url, observation in rows:
            path = url.split("://", 1)[1].split("/", 1)[1]
            result["/" + path] = {
                "availability": observation.availability,
                "price": None if observation.price is None else str(observation.price),
                "currency": observation.currency,
                "orderable": observation.orderable,
                "reason": observation.reason,
                "render": observation.render,
                "screenshot_sha256": observation.screenshot_sha256,
                "evidence_sha256": observation.evidence_sha256,
                "wait": (observation.vantage or {}).get("wait"),
            }
    return result
