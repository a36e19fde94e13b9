"""The key reference and the JSON Schemas come from the one schema the loader reads through: they cannot drift.

The committed docs/ files are regenerated and compared; the loader is walked over a watchlist and profiles that
use every table, and must read exactly the keys the schema declares; the bundled profiles and the demo's
watchlist validate against the JSON Schemas an editor uses.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from promowatch.config import (
    BUNDLED_SITES,
    Entry,
    SchemaMismatch,
    load_profile,
    parse_watchlist,
    recording_reads,
)
from promowatch.config_schema import (
    PROFILE_TABLES,
    WATCHLIST_TABLES,
    generated_files,
    json_schema,
    table,
)
from promowatch.demo.watchlist import demo_watchlist
from promowatch.rules.thresholds import Thresholds

DOCS = Path(__file__).parents[2] / "docs"

# every table of a watchlist once (a promotion with an ad, a retailer with thresholds)
FULL_WATCHLIST = """
[settings]
contact = "mailto:ops@example.org"
[settings.thresholds]
observations = 2

[[retailers]]
slug = "demo-shop"
base_url = "http://127.0.0.1:9"
[retailers.thresholds]
stockout_share = 0.3

[[promotions]]
retailer = "demo-shop"
product_url = "http://127.0.0.1:9/p/1"
title = "Magnifica S"
advertised_price = "499.–"
[[promotions.ads]]
kind = "print"
note = "Flyer week 45, page 3"

[[subscriptions]]
url = "json://127.0.0.1:8080/hook"

[[orders]]
id = "coffee-machine"
retailer = "demo-shop"
product = "/p/1"
ordered_at = 2026-11-07T10:00:00Z
price_paid = "499.00"
reference = "DS-1"
[[orders.status]]
at = 2026-11-09T08:00:00Z
text = "in processing"
"""

PROFILE_WITH_PHRASES = """
slug = "acme"
[phrases.fr]
out_of_stock = ["momentanément en rupture"]
"""


def test_committed_reference_and_schemas_are_current() -> None:
    for name, text in generated_files().items():
        path = DOCS / name
        assert path.exists(), f"docs/{name} is missing: run `promowatch reference`"
        assert path.read_text(encoding="utf-8") == text, f"docs/{name} is stale: run `promowatch reference`"


def test_the_loader_reads_exactly_the_declared_keys(tmp_path: Path) -> None:
    profile = tmp_path / "acme.toml"
    profile.write_text(PROFILE_WITH_PHRASES)
    with recording_reads() as reads:
        parse_watchlist(tomllib.loads(FULL_WATCHLIST), "watchlist.toml")
        load_profile(str(profile))
    # rules.thresholds reads the thresholds; phrase categories are read as a file names them (they are
    # extract.phrases' own CATEGORIES); free tables (regex -> state, locale -> phrases) have no fixed keys
    checked = [
        table(t)
        for t in (*WATCHLIST_TABLES, *PROFILE_TABLES)
        if table(t).free_value is None and t not in ("thresholds", "phrase_categories")
    ]
    declared = {(t.id, key.name) for t in checked for key in t.keys}
    reads = {(t, key) for t, key in reads if t in {c.id for c in checked}}
    assert sorted(declared - reads) == [], "declared in config_schema but never read by the loader"
    assert sorted(reads - declared) == [], "read by the loader but not declared"


def test_reading_an_undeclared_key_is_a_programming_error() -> None:
    offer = Entry({}, "acme.toml: offer", table("offer"))
    with pytest.raises(SchemaMismatch):
        offer.text("prize")
    with pytest.raises(SchemaMismatch):  # declared, but a selector, not a boolean
        offer.boolean("price", False)


def test_threshold_keys_and_defaults_are_the_rules_own() -> None:
    defaults = Thresholds().to_json()
    declared = {key.name: key.default for key in table("thresholds").keys}
    assert list(declared) == list(defaults)
    assert {k: json.loads(v or "null") for k, v in declared.items()} == defaults


def _as_json(value: Any) -> Any:
    """A TOML document as an editor's JSON Schema sees it: dates and date-times as ISO strings."""
    if isinstance(value, dict):
        return {k: _as_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_json(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _errors(root: str, document: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft202012Validator(json_schema(root))
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(_as_json(document))
    ]


@pytest.mark.parametrize("profile", sorted(BUNDLED_SITES.glob("*.toml")), ids=lambda p: p.stem)
def test_bundled_profiles_validate_against_the_profile_schema(profile: Path) -> None:
    assert _errors("profile", tomllib.loads(profile.read_text())) == []


@pytest.mark.parametrize(
    ("root", "text"),
    [
        pytest.param("watchlist", demo_watchlist("http://127.0.0.1:9", "http://127.0.0.1:8080/h"), id="demo"),
        pytest.param("watchlist", FULL_WATCHLIST, id="every-table"),
        pytest.param("profile", PROFILE_WITH_PHRASES, id="phrases"),
    ],
)
def test_watchlists_validate_against_their_schema(root: str, text: str) -> None:
    assert _errors(root, tomllib.loads(text)) == []


@pytest.mark.parametrize(
    ("root", "text", "where"),
    [
        pytest.param("profile", 'slug = "a"\n[offer]\nprize = ".p"', "offer", id="unknown-key"),
        pytest.param(
            "profile",
            'slug = "a"\n[stores]\nstatus_map = { gruen = "green" }',
            "stores/status_map/gruen",
            id="status-map-value",
        ),
        pytest.param("profile", 'slug = "a"\nrender = "magic"', "render", id="render-mode"),
        pytest.param(
            "watchlist",
            '[[subscriptions]]\nurl = "json://127.0.0.1/h"\nevents = ["sale"]',
            "subscriptions/0/events",
            id="event-kind",
        ),
        pytest.param("watchlist", '[[subscriptions]]\nname = "no url"', "subscriptions/0", id="no-url"),
    ],
)
def test_the_schemas_refuse_what_the_loader_refuses(root: str, text: str, where: str) -> None:
    errors = _errors(root, tomllib.loads(text))
    assert any(e.startswith(where) for e in errors), errors
