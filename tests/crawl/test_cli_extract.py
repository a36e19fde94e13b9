"""`promowatch extract` and `promowatch check`: the public JSON object of design.md §5."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from promowatch.demo.run import DEMO_START
from promowatch.demo.scenarios import scenario
from promowatch.demo.shop import DemoShop

CONTRACT = [
    "url",
    "title",
    "sku",
    "gtin",
    "price",
    "currency",
    "regular_price",
    "availability",
    "orderable",
    "signals",
]

# a Swiss shop's buy box as the demo shop and real Swiss shops print it
PAGE = """<html lang="fr-CH"><body><main><div class="product">
<h1>De'Longhi Magnifica S</h1>
<div class="buybox"><span class="price">1’299.–</span> <del>au lieu de 1’599.–</del>
<p class="stock">Épuisé</p><button class="add-to-cart" disabled>Ajouter au panier</button></div>
</div></main></body></html>"""


def promowatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_extract_json_prints_exactly_the_public_object(tmp_path: Path) -> None:
    page = tmp_path / "page.html.gz"
    page.write_bytes(gzip.compress(PAGE.encode()))
    result = promowatch("extract", str(page), "--url", "https://shop.example.ch/p/1", "--json")
    assert result.returncode == 0, result.stderr
    offer = json.loads(result.stdout)
    assert list(offer) == CONTRACT
    assert (offer["price"], offer["regular_price"], offer["currency"]) == ("1299.00", "1599.00", "CHF")
    assert (offer["availability"], offer["orderable"]) == ("out_of_stock", False)
    assert all(set(s) == {"field", "source", "raw", "value"} for s in offer["signals"])


def test_check_fetches_one_page_from_the_demo_shop() -> None:
    with DemoShop(DEMO_START) as shop:
        shop.set_clock(DEMO_START + timedelta(days=4))  # scenario (b) is sold out on days 2-5
        result = promowatch("check", shop.url + scenario("b").path, "--profile", "demo-shop", "--json")
        fetched = dict(shop.requests)
    assert result.returncode == 0, result.stderr
    offer = json.loads(result.stdout)
    assert list(offer) == CONTRACT
    assert offer["availability"] == "out_of_stock"
    assert fetched.get("/robots.txt") == 1  # polite: robots.txt first


def test_extract_missing_file_is_one_line() -> None:
    result = promowatch("extract", "/nonexistent/page.html", "--json")
    assert result.returncode == 2
    assert result.stderr.strip() == "promowatch: error: /nonexistent/page.html: no such file"
