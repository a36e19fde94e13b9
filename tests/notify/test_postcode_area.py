"""A subscription's postcode stands for the nearest stores' area: a consumer at 1005 Lausanne, where the shop has no
store, hears of the Lausanne stores as one at 1003 does (issue 20: 1003 got 9 pushes, 1005 none). Postcodes are
real Lausanne-area and Zürich ones (tests/notify/shop.py); delivered to a json:// endpoint on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notify.routing import postcode_area, unmatched_postcodes
from promowatch.db.engine import open_database
from tests.notify.endpoints import Hook
from tests.notify.shop import STORES, add_shop, neighbour, run_day, watchlist

KNOWN = [code for _, _, code, _, _ in STORES]  # 1003, 1006, 1008, 1009, 1020, 8001


@pytest.mark.parametrize(
    ("postcode", "area"),
    [
        pytest.param("1003", {"1003"}, id="a-store-has-it"),
        pytest.param("1005", {"1003", "1006", "1008", "1009"}, id="lausanne-without-store"),
        pytest.param("1022", {"1020"}, id="chavannes-near-renens"),
        pytest.param("8004", {"8001"}, id="zurich-district"),
        pytest.param("3011", set(), id="bern-no-store-near"),
        pytest.param(" 1005 ", {"1003", "1006", "1008", "1009"}, id="spaces"),
    ],
)
def test_postcode_area(postcode: str, area: set[str]) -> None:
    assert postcode_area(postcode, KNOWN) == area


@pytest.fixture
def hook() -> Iterator[Hook]:
    endpoint = Hook()
    yield endpoint
    endpoint.close()


@pytest.mark.parametrize(
    ("postcode", "restocked", "heard"),
    [
        pytest.param("1003", ("1001",), ["Lausanne Flon"], id="1003-hears-flon"),
        pytest.param("1005", ("1001",), ["Lausanne Flon"], id="1005-hears-flon-too"),
        pytest.param("1005", ("2001",), [], id="1005-not-zurich"),
    ],
)
def test_a_postcode_without_a_store_hears_of_its_area(
    tmp_path: Path, hook: Hook, postcode: str, restocked: tuple[str, ...], heard: list[str]
) -> None:
    sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with sessions.begin() as session:
        shop = add_shop(session)
    # no radius: only the postcode (before issue 20, a postcode no store had heard of nothing)
    subscriber = watchlist(
        neighbour(f"json://127.0.0.1:{hook.port}/voisine", postcode=postcode, radius_km=None)
    )
    run_day(sessions, shop, subscriber, 0)  # the first run notes the subscription
    run_day(sessions, shop, subscriber, 1, restocked=restocked)
    assert [store for store in heard if any(store in m["message"] for m in hook.received)] == heard
    assert len(hook.received) == len(heard)


def test_a_postcode_near_no_store_is_named_with_the_known_ones() -> None:
    far, near = neighbour("json://127.0.0.1:9/a", postcode="3011"), neighbour("json://127.0.0.1:9/b")
    lines = unmatched_postcodes([far, near], KNOWN)
    assert lines == [
        "subscription 'voisine': postcode 3011 is near no store's postcode, so it will hear of no store; "
        "the stores' postcodes are: 1003, 1006, 1008, 1009, 1020, 8001"
    ]
