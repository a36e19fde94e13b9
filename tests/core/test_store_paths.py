"""A store API that answers with a bare top-level array (``[{"marktId": ...}, ...]``, as the store finders of
several German chains do) is read with ``list_path = "$"``; paths that read nothing are refused at load time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from promowatch.config import ConfigError, parse_profile
from promowatch.extract.jsonpath import lookup, path_problem
from promowatch.extract.stores import StoreDataError, parse_store_list, parse_store_stock

MARKETS = [
    {"marktId": "m01", "name": "Berlin-Mitte", "adresse": {"plz": "10117"}},
    {"marktId": "m02", "name": "Hamburg-Altona", "adresse": {"plz": "22765"}},
]


def profile(**stores: Any) -> Any:
    return parse_profile({"slug": "markt", "stores": stores}, "markt.toml")


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        pytest.param([1, 2], "$", [1, 2], id="dollar-is-top-level-array"),
        pytest.param({"a": {"b": 1}}, "$.a.b", 1, id="dollar-dot-prefix"),
        pytest.param([{"b": 1}], "$.0.b", 1, id="dollar-then-index"),
        pytest.param({"$": 1}, "a", None, id="missing-key"),
    ],
)
def test_lookup_root(data: object, path: str, expected: object) -> None:
    assert lookup(data, path) == expected


@pytest.mark.parametrize(
    ("path", "usable"),
    [
        pytest.param("$", True, id="dollar"),
        pytest.param("stores", True, id="plain"),
        pytest.param("$.data.stores", True, id="dollar-prefixed"),
        pytest.param("items.0.qty", True, id="index-step"),
        pytest.param("", False, id="empty"),
        pytest.param(".", False, id="lone-dot"),
        pytest.param("data..stores", False, id="empty-step"),
        pytest.param("stores.", False, id="trailing-dot"),
        pytest.param(" stores", False, id="leading-space"),
        pytest.param("data.$", False, id="dollar-inside"),
    ],
)
def test_path_problem(path: str, usable: bool) -> None:
    assert (path_problem(path) is None) is usable


def test_top_level_array_store_list_is_read_with_dollar() -> None:
    api = profile(list_url="/api/maerkte", list_path="$", id="marktId", postcode="adresse.plz").stores
    stores = parse_store_list(json.dumps(MARKETS).encode(), api)
    assert [(s.store_id, s.postcode) for s in stores] == [("m01", "10117"), ("m02", "22765")]


def test_top_level_array_stock_is_read_with_dollar() -> None:
    api = profile(
        stock_url="/api/bestand/{sku}", stock_path="$", stock_store_id="marktId", stock_quantity="menge"
    )
    body = json.dumps([{"marktId": "m01", "menge": 0}, {"marktId": "m02", "menge": 4}]).encode()
    assert [s.quantity for s in parse_store_stock(body, api.stores)] == [0, 4]


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        pytest.param("list_path", "", 'or "$" for the top level', id="list-path-empty"),
        pytest.param("list_path", ".", 'or "$" for the top level', id="list-path-dot"),
        pytest.param("stock_path", "data..stores", "dotted path", id="stock-path-empty-step"),
        pytest.param("id", "$", "field inside each entry", id="field-cannot-be-root"),
        pytest.param("list_path", 0, "must be a string", id="list-path-number"),
    ],
)
def test_unreadable_paths_are_config_errors(key: str, value: object, message: str) -> None:
    with pytest.raises(ConfigError, match="markt.toml: stores: " + key) as error:
        profile(**{key: value})
    assert message in str(error.value)


def test_object_path_on_top_level_array_says_how_to_fix_it() -> None:
    api = profile(list_path="stores").stores
    with pytest.raises(StoreDataError, match=r'top-level array \(write list_path = "\$"\)'):
        parse_store_list(json.dumps(MARKETS).encode(), api)


def test_omitted_list_path_reads_the_top_level() -> None:
    assert profile(list_url="/api/maerkte").stores.list_path == "$"
