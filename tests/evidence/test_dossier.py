"""Dossiers (issue 23): one per promotion with all its findings, the ad's file as a numbered exhibit, what the
shop showed quoted in its own words, the stores as a store x day grid; and the pure functions behind them.

The demo-based tests run the demo shop (promowatch/demo, scenario a: the bait coffee machine) for seven
simulated days, one real ``promowatch run`` a day, with a hand-entered print ad of the bait carrying a flyer
scan; about a minute on two cores.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import subprocess
import sys
import zipfile
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import matplotlib.dates as mdates
import matplotlib.image
import pytest
from matplotlib.figure import Figure
from sqlalchemy import select

from promowatch.config import load_watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import AdSighting, EvidenceBlob, Finding, Promotion
from promowatch.db.queries import sync_watchlist
from promowatch.demo.run import CHECK_HOUR, DEMO_START, Inbox, run_day
from promowatch.demo.scenarios import scenario
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import demo_watchlist
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.case import MANIFEST, manifest_text
from promowatch.evidence.case_verify import verify_case
from promowatch.evidence.chain import verify_chain
from promowatch.evidence.dossier import quoted_texts, shop_showed, store_grid, threshold_rows
from promowatch.report.timeline import (
    ChartLabels,
    FindingMark,
    OfferPoint,
    Timeline,
    date_formatter,
    draw_timeline,
    render_timeline_png,
)
from tests.evidence.builder import tiny_png
from tests.report.pdf_text import PAGE, PRICES, RAW, english_sentences, run_tool

DAYS = 7  # the bait's three findings are all raised by day 6
BAIT_RULES = {"reference_price_unsupported", "unorderable_online", "store_stockout"}
FLYER_NOTE = "Weekly flyer, page 3"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args], capture_output=True, text=True, check=False
    )


def flyer_promotion(file: str | None, note: str | None = FLYER_NOTE, base: str = "http://127.0.0.1:9") -> str:
    """A hand-entered print ad of the bait (scenario a: 499.– instead of 999.– from day 3)."""
    start = (DEMO_START + timedelta(days=3)).date().isoformat()
    ad = 'kind = "print"' + (f", note = {json.dumps(note)}" if note else "")
    ad += f", file = {json.dumps(file)}" if file else ""
    return f"""
[operator]
name = "Observatoire des prix"
contact = "mailto:prix@example.org"

[[promotions]]
retailer = "demo-shop"
product_url = {json.dumps(base + scenario("a").path)}
title = "De'Longhi Magnifica S, flyer"
advertised_price = "499"
reference_price = "999"
valid_from = {start}
ads = [{{ {ad} }}]
"""


class Demo:
    def __init__(self, data: Path) -> None:
        self.data = data
        self.db_url = f"sqlite:///{data / 'promowatch.db'}"
        self.flyer = tiny_png(90)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return cli(*args, "--data-dir", str(self.data), "--watchlist", str(self.data / "watchlist.toml"))

    def promotion_ids(self) -> tuple[int, int]:
        """(the swept bait promotion, the hand-entered one with the flyer)."""
        with open_database(self.db_url)() as session:
            rows = session.execute(
                select(Promotion.id, Promotion.origin).where(Promotion.title.like("De'Longhi%"))
            ).all()
        by_origin = {origin: pid for pid, origin in rows}
        return by_origin["sweep"], by_origin["watchlist"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    world = Demo(tmp_path_factory.mktemp("demo") / "data")
    world.data.mkdir()
    (world.data / "flyer.png").write_bytes(world.flyer)
    inbox = Inbox()
    with DemoShop(DEMO_START) as shop, inbox.serving():
        watchlist = world.data / "watchlist.toml"
        watchlist.write_text(
            demo_watchlist(shop.url, inbox.url) + flyer_promotion("flyer.png", base=shop.url)
        )
        for day in range(DAYS):
            now = DEMO_START + timedelta(days=day) + CHECK_HOUR
            shop.set_clock(now)
            inbox.day = day
            result = run_day(watchlist, world.data, now)
            assert result.returncode in (0, 1), result.stderr[-3000:]
    return world


def read_case(bundle: Path) -> tuple[dict[str, Any], dict[str, bytes]]:
    with zipfile.ZipFile(bundle) as z:
        files = {name: z.read(name) for name in z.namelist()}
    return json.loads(files["case.json"]), files


@pytest.fixture(scope="module")
def bait(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    swept, _ = demo.promotion_ids()
    out = tmp_path_factory.mktemp("bait") / "bait.zip"
    result = demo.cli("case", "export", "--promotion", str(swept), "-o", str(out), "--language", "fr")
    assert result.returncode == 0, result.stderr
    return out


def test_the_bait_exports_as_one_dossier_with_its_three_findings(bait: Path) -> None:
    case, files = read_case(bait)
    assert {f["rule"] for f in case["findings"]} == BAIT_RULES
    assert case["reference"] == f"PW-DEMO-SHOP-P{case['promotion']['id']}"
    assert case["timezone"] == "Europe/Zurich"  # the demo shop is Swiss; its profile names no zone
    numbers = [e["number"] for e in case["exhibits"]]
    assert numbers == [f"E{n}" for n in range(1, len(numbers) + 1)]
    assert len({e["sha256"] for e in case["exhibits"]}) == len(numbers), "an exhibit was numbered twice"
    assert {e["kind"] for e in case["exhibits"]} >= {"ad_capture", "page_capture"}
    for exhibit in case["exhibits"]:
        assert exhibit["path"] in files
    cited = {row["exhibit"] for row in case["advertised"] + case["shop_showed"]} - {None}
    assert cited == set(numbers)
    report = verify_case(bait)
    assert report.ok, report.problems
    recomputed = [c for c in report.checks if c.startswith("ok: finding recomputed: ")]
    assert len(recomputed) == 3


def test_the_findings_keep_detection_and_window_start_apart(bait: Path) -> None:
    case, _ = read_case(bait)
    reference = next(f for f in case["findings"] if f["rule"] == "reference_price_unsupported")
    # the reduction started at midnight on day 3; promowatch could tell once a run saw the reduced price
    assert reference["window_start"] == "2026-11-05T00:00:00.000000Z"
    assert reference["episode_opened_at"] == reference["window_start"]  # what the rule recomputes
    assert reference["opened_at"] >= "2026-11-05T10:00"  # the first run of day 3 or later
    stockout = next(f for f in case["findings"] if f["rule"] == "store_stockout")
    assert {"name": "stockout_share", "value": 0.5, "unit": "share"} in stockout["thresholds"]


def test_the_shop_is_quoted_in_its_own_words(bait: Path) -> None:
    case, _ = read_case(bait)
    shown = case["shop_showed"]
    assert 2 <= len(shown) < 7, "the first, each change and the last; not every observation"
    during = shown[-1]
    assert during["stock_text"] == "Actuellement pas disponible en ligne"
    assert during["buy_button"] == {"text": "Ajouter au panier", "enabled": False}
    assert during["reference_text"] == "au lieu de 999.–"
    assert (during["price"], during["regular_price"], during["currency"]) == ("499.00", "999.00", "CHF")
    assert shown[0]["price"] == "549.00"  # before the promotion, days 0-2


def test_the_store_grid_names_each_store_with_its_postcode(bait: Path) -> None:
    case, _ = read_case(bait)
    grid = case["store_grid"]
    assert grid["days"][0] == "2026-11-02" and len(grid["days"]) == DAYS
    stores = grid["stores"]
    assert len(stores) == len(case["promotion"]["stores"])
    first = stores[0]
    assert first["name"] == "Demo Shop Genève Cornavin" and first["postcode"] == "1201"
    assert all(len(s["cells"]) == DAYS for s in stores)
    last_day = [s["cells"][-1] for s in stores]
    assert last_day.count("out_of_stock") >= 0.9 * len(stores)  # scenario a: at least 90 % empty


def test_the_attestation_names_the_operator_and_the_user_agent(bait: Path) -> None:
    case, _ = read_case(bait)
    attestation = case["attestation"]
    assert attestation["operator"] == {"name": "Observatoire des prix", "contact": "mailto:prix@example.org"}
    assert attestation["user_agent"] and attestation["user_agent"][0].startswith("promowatch/")
    assert attestation["vantage"][0]["accept_language"].startswith("fr")


def test_the_flyer_is_hashed_once_and_bundled_as_an_exhibit(demo: Demo, tmp_path: Path) -> None:
    _, entered = demo.promotion_ids()
    sha = hashlib.sha256(demo.flyer).hexdigest()
    sessions = open_database(demo.db_url)
    with sessions() as session:
        sightings = session.scalars(select(AdSighting).where(AdSighting.promotion_id == entered)).all()
        blob = session.get(EvidenceBlob, sha)
        first = session.scalars(select(Finding.id).where(Finding.promotion_id == entered)).first()
    # seven runs synced the watchlist seven times: one sighting, holding the file's hash
    assert [(s.kind, s.note, s.evidence_sha256) for s in sightings] == [("print", FLYER_NOTE, sha)]
    assert blob is not None and blob.media_type == "image/png"
    assert first is not None, "the hand-entered bait promotion raised no finding"
    out = tmp_path / "flyer.zip"
    result = demo.cli("case", "export", str(first), "-o", str(out))
    assert result.returncode == 0, result.stderr
    case, files = read_case(out)
    (scan,) = [e for e in case["exhibits"] if e["kind"] == "ad_scan"]
    assert scan["number"] == "E1" and scan["note"] == FLYER_NOTE and scan["sha256"] == sha
    assert files[scan["path"]] == demo.flyer and scan["path"] == f"ads/{sha}.png"
    assert case["advertised"][0]["exhibit"] == "E1"
    assert case["findings"][0]["id"] == first  # the finding asked for comes first
    assert verify_case(out).ok


def test_a_scan_swapped_for_another_fails_case_verify(demo: Demo, tmp_path: Path) -> None:
    _, entered = demo.promotion_ids()
    with open_database(demo.db_url)() as session:
        first = session.scalars(select(Finding.id).where(Finding.promotion_id == entered)).first()
    out, forged = tmp_path / "flyer.zip", tmp_path / "forged.zip"
    assert demo.cli("case", "export", str(first), "-o", str(out)).returncode == 0
    case, files = read_case(out)
    (scan,) = [e for e in case["exhibits"] if e["kind"] == "ad_scan"]
    # another scan in its place, case.json and the manifest rewritten to match: only the chained hash tells
    other = tiny_png(91)
    sha = hashlib.sha256(other).hexdigest()
    del files[scan["path"]]
    scan["sha256"], scan["path"] = sha, f"ads/{sha}.png"
    files[scan["path"]] = other
    files["case.json"] = json.dumps(case).encode()
    files[MANIFEST] = manifest_text({k: v for k, v in files.items() if k != MANIFEST}).encode()
    with zipfile.ZipFile(forged, "w") as target:
        for name, body in files.items():
            target.writestr(name, body)
    report = verify_case(forged)
    assert not report.ok
    assert f"exhibit {scan['number']}: not the file its ad sighting chained" in report.problems


def test_a_retailer_exports_one_dossier_per_promotion_with_findings(demo: Demo, tmp_path: Path) -> None:
    result = demo.cli(
        "case", "export", "--retailer", "demo-shop", "--rule", "price_mismatch", "-o", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    (bundle,) = tmp_path.glob("dossier-*.zip")
    case, _ = read_case(bundle)
    assert [f["rule"] for f in case["findings"]] == ["price_mismatch"]
    assert bundle.name == f"dossier-{case['reference']}.zip"
    assert verify_case(bundle).ok


def test_open_without_a_viewer_prints_the_summary_path(demo: Demo, tmp_path: Path) -> None:
    swept, _ = demo.promotion_ids()
    out = tmp_path / "d.zip"
    env_path = "/nonexistent"  # no xdg-open on this PATH: the path is printed instead
    result = subprocess.run(
        [sys.executable, "-m", "promowatch.cli", "case", "export", "--promotion", str(swept), "-o", str(out),
         "--open", "--rule", "store_stockout", "--data-dir", str(demo.data)],
        capture_output=True, text=True, check=False, env={"PATH": env_path, "HOME": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    summary = tmp_path / "d-summary.pdf"
    assert f"summary: {summary}" in result.stdout
    assert summary.read_bytes().startswith(b"%PDF")


# --- the watchlist's ad sightings -----------------------------------------------------------------------------


def sync(tmp_path: Path, promotion: str) -> list[AdSighting]:
    watchlist = tmp_path / "watchlist.toml"
    watchlist.write_text(demo_watchlist("http://127.0.0.1:9", "json://127.0.0.1:9/h") + promotion)
    sessions = open_database(f"sqlite:///{tmp_path / 'w.db'}")
    with sessions.begin() as session:
        sync_watchlist(session, load_watchlist(watchlist), DEMO_START, BlobStore(tmp_path / "blobs"))
    with sessions() as session:
        assert verify_chain(session).ok
        return list(session.scalars(select(AdSighting).order_by(AdSighting.id)))


@pytest.mark.parametrize(
    ("before", "after"),
    [
        # issue 23: the ad noted first, its scan added later, made a second sighting
        pytest.param(flyer_promotion(None), flyer_promotion("flyer.png"), id="file-added"),
        pytest.param(
            flyer_promotion(None, note=None), flyer_promotion("flyer.png"), id="file-and-note-added"
        ),
        pytest.param(flyer_promotion("flyer.png"), flyer_promotion("flyer.png"), id="same-file-again"),
    ],
)
def test_adding_the_file_to_an_ad_makes_no_second_sighting(tmp_path: Path, before: str, after: str) -> None:
    (tmp_path / "flyer.png").write_bytes(tiny_png(7))
    first = sync(tmp_path, before)
    again = sync(tmp_path, after)
    assert len(first) == 1
    assert [s.id for s in again] == [first[0].id]


def test_a_new_ad_with_a_file_cites_its_hash(tmp_path: Path) -> None:
    scan = tiny_png(8)
    (tmp_path / "flyer.png").write_bytes(scan)
    (sighting,) = sync(tmp_path, flyer_promotion("flyer.png"))
    sha = hashlib.sha256(scan).hexdigest()
    assert sighting.evidence_sha256 == sha
    assert sighting.source_url is None  # no longer the file's local path
    assert BlobStore(tmp_path / "blobs").get(sha) == scan


# --- pure functions ------------------------------------------------------------------------------------------


def signal(field: str, source: str, raw: str, value: str | None) -> dict[str, Any]:
    return {"field": field, "source": source, "raw": raw, "value": value}


# signals as the demo shop's pages give them (promowatch/demo, scenario a, days 0 and 4 of the run above)
@pytest.mark.parametrize(
    ("signals", "expected"),
    [
        pytest.param(
            [
                signal("availability", "jsonld", "https://schema.org/OutOfStock", "out_of_stock"),
                signal("availability", "profile", "Actuellement pas disponible en ligne", "out_of_stock"),
                signal("orderable", "button", "ajouter au panier", "False"),
                signal("orderable", "profile", "Ajouter au panier", "False"),
                signal("regular_price", "profile", "au lieu de 999.–", "999.00"),
            ],
            {
                "stock_text": "Actuellement pas disponible en ligne",
                "buy_button": {"text": "Ajouter au panier", "enabled": False},
                "reference_text": "au lieu de 999.–",
                "delivery_text": None,
            },
            id="bait-profile-lines",
        ),
        pytest.param(
            [
                signal("availability", "text", "ée de recyclage (tar) 8.– | | épuisé", "sold_out"),
                signal(
                    "orderable", "profile", "no .product-main form.add-to-cart button[type=submit]", "False"
                ),
                signal(
                    "delivery", "profile", "Livraison en 1 à 2 jours ouvrables", "Livraison en 1 à 2 jours"
                ),
            ],
            {
                "stock_text": "épuisé",
                "buy_button": {"text": None, "enabled": False},
                "reference_text": None,
                "delivery_text": "Livraison en 1 à 2 jours ouvrables",
            },
            id="visible-text-no-button",
        ),
        pytest.param(
            [signal("orderable", "text", "ge (tar) 8.– | | disponible uniquement en magasin", "store_only")],
            {
                "stock_text": "disponible uniquement en magasin",
                "buy_button": None,
                "reference_text": None,
                "delivery_text": None,
            },
            id="store-only-line",
        ),
        pytest.param(
            [signal("availability", "jsonld", "https://schema.org/InStock", "in_stock")],
            {"stock_text": None, "buy_button": None, "reference_text": None, "delivery_text": None},
            id="structured-data-only",
        ),
    ],
)
def test_quoted_texts(signals: list[dict[str, Any]], expected: dict[str, Any]) -> None:
    assert quoted_texts(signals) == expected


def offer_line(n: int, at: str, price: str, stock: str) -> dict[str, Any]:
    record = {
        "id": n,
        "observed_at": at,
        "final_url": "http://127.0.0.1:9/p/x",
        "price": price,
        "currency": "CHF",
        "regular_price": None,
        "availability": "in_stock",
        "orderable": True,
        "signals": [signal("availability", "profile", stock, "in_stock")],
        "screenshot_sha256": None,
        "evidence_sha256": None,
    }
    return {"kind": "offer", "id": n, "record": record}


@pytest.mark.parametrize(
    ("series", "quoted"),
    [
        pytest.param([("549.00", "En stock")] * 5, [1, 5], id="unchanged-first-and-last"),
        pytest.param(
            [("549.00", "En stock"), ("549.00", "En stock"), ("499.00", "En stock"), ("499.00", "En stock")],
            [1, 3, 4],
            id="price-change",
        ),
        pytest.param(
            [("499.00", "En stock"), ("499.00", "Épuisé"), ("499.00", "Épuisé")],
            [1, 2, 3],
            id="stock-text-change",
        ),
        pytest.param([("499.00", "En stock")], [1], id="single"),
    ],
)
def test_shop_showed_quotes_the_first_each_change_and_the_last(
    series: list[tuple[str, str]], quoted: list[int]
) -> None:
    lines = [offer_line(n, f"2026-11-0{n}T10:00:00Z", p, s) for n, (p, s) in enumerate(series, start=1)]
    assert [row["observation_id"] for row in shop_showed(reversed(lines))] == quoted


def store_line(n: int, store: int, first: str, last: str, state: str) -> dict[str, Any]:
    record = {"id": n, "store_id": store, "first_seen": first, "availability": state}
    return {"kind": "store", "id": n, "record": record, "extension": {"last_seen": last}}


def test_store_grid_days_are_the_retailers_local_days() -> None:
    lines = [
        # 23:30 UTC on the 2nd is already the 3rd in Zurich (UTC+1 in November)
        store_line(1, 1, "2026-11-02T23:30:00Z", "2026-11-02T23:30:00Z", "out_of_stock"),
        store_line(2, 2, "2026-11-02T10:00:00Z", "2026-11-03T10:00:00Z", "limited"),
        store_line(3, 2, "2026-11-03T12:00:00Z", "2026-11-03T12:00:00Z", "discontinued"),
    ]
    stores = [
        {"id": 1, "name": "Lausanne Flon", "postcode": "1003"},
        {"id": 2, "name": "Bern Bahnhof", "postcode": "3011"},
        {"id": 3, "name": "never observed", "postcode": "8001"},
    ]
    grid = store_grid(lines, stores, "Europe/Zurich")
    assert grid["days"] == ["2026-11-02", "2026-11-03"]
    assert grid["stores"] == [
        {"id": 1, "name": "Lausanne Flon", "postcode": "1003", "cells": [None, "out_of_stock"]},
        # the interval begun last on a day is the state the store was left in
        {"id": 2, "name": "Bern Bahnhof", "postcode": "3011", "cells": ["limited", "out_of_stock"]},
    ]
    assert store_grid(lines, stores, "UTC")["stores"][0]["cells"] == ["out_of_stock", None]


def test_threshold_rows_keep_the_rules_own_thresholds() -> None:
    given = {"observations": 3, "min_span_hours": 6.0, "stockout_share": 0.5, "price_tolerance": "0.01"}
    assert threshold_rows("unorderable_online", given) == [
        {"name": "observations", "value": 3, "unit": "observations"},
        {"name": "min_span_hours", "value": 6.0, "unit": "hours"},
    ]
    assert [r["name"] for r in threshold_rows("delivery_overdue", given)] == list(given)


# --- the chart ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "tick"),
    [
        pytest.param("fr", "5 nov.", id="fr"),
        pytest.param("de", "5. Nov.", id="de"),
        pytest.param("it", "5 nov", id="it"),
        pytest.param("en", "Nov 5", id="en"),
    ],
)
def test_chart_dates_are_in_the_case_language(language: str, tick: str) -> None:
    # issue 23: a French case's axis said "2026-Nov"; 23:30 UTC on the 4th is the 5th in Zurich
    at = mdates.date2num(datetime(2026, 11, 4, 23, 30, tzinfo=UTC))
    assert date_formatter(language, "Europe/Zurich", timedelta(days=7))(at) == tick


def test_the_chart_spans_the_data_with_threshold_and_finding_marks() -> None:
    start = datetime(2026, 11, 5, 10, tzinfo=UTC)
    offers = [
        OfferPoint(start + timedelta(hours=2 * n), n, Decimal("499"), Decimal("999"), "out_of_stock", False)
        for n in range(7)
    ]
    # a week's validity of which the data cover twelve hours
    timeline = Timeline(
        Decimal("499"), Decimal("999"), "CHF", (start - timedelta(days=3), start + timedelta(days=4))
    )
    timeline.offers = offers
    opened = start + timedelta(hours=6)
    chart = ChartLabels(
        title="Kaffeemaschine X1 · Demo Shop",
        zone="Europe/Zurich",
        marks=[FindingMark("unorderable_online", opened, None, None)],
        share_threshold=0.5,
    )
    fig = Figure()
    draw_timeline(fig, timeline, "fr", chart)
    price_ax, _, store_ax = fig.axes
    left, right = (mdates.num2date(x) for x in store_ax.get_xlim())
    assert (left, right) == (offers[0].at, offers[-1].at)
    assert price_ax.get_title() == "Kaffeemaschine X1 · Demo Shop"
    assert any(list(line.get_ydata()) == [50, 50] for line in store_ax.get_lines())
    assert any(list(line.get_xdata()) == [opened, opened] for line in price_ax.get_lines())
    markers = [line for line in price_ax.get_lines() if line.get_marker() == "o"]
    assert len(markers) == 1 and len(markers[0].get_xdata()) == len(offers)


def test_the_chart_png_is_at_print_resolution() -> None:
    timeline = Timeline(Decimal("499"), None, "CHF", (None, None))
    timeline.offers = [
        OfferPoint(datetime(2026, 11, 5, tzinfo=UTC), 1, Decimal("499"), None, "in_stock", True)
    ]
    image = matplotlib.image.imread(io.BytesIO(render_timeline_png(timeline, "de")), format="png")
    width = image.shape[1]
    assert width >= 2000  # 300 dpi over the text width of an A4 page


@pytest.mark.parametrize("language", ["fr", "de", "it", "en"])
def test_the_bait_dossier_pdf_quotes_the_shop_in_the_case_language_only(
    demo: Demo, tmp_path: Path, language: str
) -> None:
    """Issue 23's acceptance on the demo's own bait: what the shop showed, quoted as written, the prices, the
    store grid, page numbers and the case reference, in the case language only; every font embedded."""
    swept, _ = demo.promotion_ids()
    out = tmp_path / f"{language}.zip"
    result = demo.cli("case", "export", "--promotion", str(swept), "-o", str(out), "--language", language)
    assert result.returncode == 0, result.stderr
    case, files = read_case(out)
    pdf = tmp_path / "summary.pdf"
    pdf.write_bytes(files["summary.pdf"])
    text = " ".join(run_tool("pdftotext", "-enc", "UTF-8", pdf, "-").split())
    pages = int(re.search(r"^Pages:\s+(\d+)", run_tool("pdfinfo", pdf), re.M).group(1))  # type: ignore[union-attr]

    for quoted in ("Actuellement pas disponible en ligne", "Ajouter au panier", "au lieu de 999.–"):
        assert quoted in text  # the shop's words, as the shop wrote them
    advertised, reference = PRICES[language]
    assert advertised in text and reference in text
    store = case["store_grid"]["stores"][0]
    assert f"{store['name']}, {store['postcode']}" in text
    for n in (1, pages):
        assert PAGE[language].format(n=n, of=pages) in text
    assert text.count(case["reference"]) >= pages
    raw = sorted(set(RAW.findall(text)))
    assert not raw, f"identifiers shown to the reader: {raw}"
    if language != "en":
        leaked = [s for s in english_sentences(language) if s in text]
        assert not leaked, f"English left in a {language} dossier: {leaked[:3]}"
    fonts = [line.split() for line in run_tool("pdffonts", pdf).splitlines()[2:]]
    assert fonts and all(row[-5] == "yes" for row in fonts), fonts
