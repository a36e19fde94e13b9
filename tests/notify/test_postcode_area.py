"""A subscription's postcode stands for the nearest stores' area: a consumer at 1005 Lausanne, where the shop has no
store, hears of the Lausanne stores as one at 1003 does (issue 20: 1003 got 9 pushes, 1005 none). Postcodes are
real Lausanne-area and Zürich ones (tests/notify/shop.py); delivered to a json:// endpoint on 127.0.0.1.

The area never widens radius_km and is one retailer's (review of fb2896d, /tmp/rev20w/route.py: 13001 Marseille
with 5 km heard of Arles, 73 km away; 3900 Brig with 10 km of Sierre, 38 km; another retailer's store at 1005 hid
b-shop's Lausanne stores from a 1005 subscriber). Town-centre coordinates from OpenStreetMap, rounded to 3 decimals."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from notify.routing import StorePlace, postcode_area, postcode_place, unmatched_postcodes, wants
from promowatch.db.engine import open_database
from promowatch.db.models import Retailer, Store
from tests.notify.endpoints import Hook
from tests.notify.shop import PRODUCT_URL, STORES, add_shop, neighbour, run_day, watchlist

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


@pytest.mark.parametrize(
    ("postcode", "known", "area"),
    [
        # two shared digits are a postal district or a département, not a neighbourhood
        pytest.param("3900", ["3960", "8001"], set(), id="brig-not-sierre"),
        pytest.param("13001", ["13200", "75011"], set(), id="marseille-not-arles"),
        pytest.param("13001", ["13008", "13200"], {"13008"}, id="marseille-arrondissements"),
        pytest.param("10117", ["10115", "80331"], {"10115"}, id="berlin-mitte"),
    ],
)
def test_two_shared_digits_name_no_area(postcode: str, known: list[str], area: set[str]) -> None:
    assert postcode_area(postcode, known) == area


FLON = StorePlace("flon", "1003", 46.520, 6.630)
OUCHY = StorePlace("ouchy", "1006", 46.508, 6.627)
PULLY = StorePlace("pully", "1009", 46.510, 6.662)
RENENS = StorePlace("renens", "1020", 46.537, 6.588)
ZURICH = StorePlace("zurich", "8001", 47.378, 8.540)
ARLES = StorePlace("arles", "13200", 43.677, 4.630)
PARIS = StorePlace("paris", "75011", 48.857, 2.379)
SIERRE = StorePlace("sierre", "3960", 46.292, 7.535)
LAUSANNE = [FLON, OUCHY, PULLY, RENENS, ZURICH]
RESTOCK = {"scope": "store", "retailer": "demo-shop", "product_url": PRODUCT_URL}


@pytest.mark.parametrize(
    ("postcode", "radius_km", "stores", "store", "heard"),
    [
        pytest.param("13001", 5.0, [ARLES, PARIS], ARLES, False, id="marseille-5km-not-arles-73km"),
        pytest.param("3900", 10.0, [SIERRE], SIERRE, False, id="brig-10km-not-sierre-38km"),
        # 1005's centre is the mean of 1003/1006/1009, about 2 km from Pully: the area does not widen 1 km
        pytest.param("1005", 1.0, LAUSANNE, PULLY, False, id="lausanne-1km-not-pully"),
        pytest.param("1005", 10.0, LAUSANNE, PULLY, True, id="lausanne-10km-pully"),
        pytest.param("1005", 10.0, LAUSANNE, RENENS, True, id="lausanne-10km-renens-outside-area"),
        pytest.param("1005", None, LAUSANNE, PULLY, True, id="lausanne-no-radius-area-store"),
        pytest.param("1005", None, LAUSANNE, RENENS, False, id="lausanne-no-radius-not-renens"),
        pytest.param("1009", 0.5, LAUSANNE, PULLY, True, id="own-postcode-always"),
        pytest.param("1003", 10.0, LAUSANNE, ZURICH, False, id="lausanne-10km-not-zurich"),
    ],
)
def test_radius_km_is_measured_from_the_area_centre(
    postcode: str, radius_km: float | None, stores: list[StorePlace], store: StorePlace, heard: bool
) -> None:
    subscriber = neighbour("json://127.0.0.1:9/voisine", postcode=postcode, radius_km=radius_km)
    area, centre = postcode_place(postcode, stores)
    assert wants(subscriber, "restock", RESTOCK, store, centre, area) is heard


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


def test_another_retailers_store_at_the_postcode_hides_no_area(tmp_path: Path, hook: Hook) -> None:
    """A 1005 subscriber who follows the Demo Shop's air fryer hears of its Flon store although another
    retailer has a store at 1005 itself: each retailer's stores make their own area."""
    sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    with sessions.begin() as session:
        shop = add_shop(session)
        other = Retailer(slug="other-shop", name="Other Shop", country="CH", currency="CHF")
        session.add(other)
        session.flush()
        session.add(
            Store(
                retailer_id=other.id,
                external_id="9001",
                name="Lausanne Gare",
                postcode="1005",
                city=None,
                latitude=46.517,
                longitude=6.629,
            )
        )
    subscriber = watchlist(
        neighbour(f"json://127.0.0.1:{hook.port}/voisine", postcode="1005", radius_km=None)
    )
    run_day(sessions, shop, subscriber, 0)
    run_day(sessions, shop, subscriber, 1, restocked=("1001",))
    assert len(hook.received) == 1
    assert "Lausanne Flon" in hook.received[0]["message"]


def test_a_postcode_near_no_store_is_named_with_the_known_ones() -> None:
    far, near = neighbour("json://127.0.0.1:9/a", postcode="3011"), neighbour("json://127.0.0.1:9/b")
    lines = unmatched_postcodes([far, near], {"demo-shop": KNOWN})
    assert lines == [
        "subscription 'voisine': postcode 3011 is near no store's postcode of demo-shop, so it will hear of "
        "none of its stores; its stores' postcodes are: 1003, 1006, 1008, 1009, 1020, 8001"
    ]


@pytest.mark.parametrize(
    ("retailers", "warned"),
    [
        # areas are drawn per retailer: Bern's stores of another chain do not put 3011 near demo-shop's
        pytest.param(("demo-shop",), ["demo-shop"], id="named-retailer-has-no-store-near"),
        pytest.param(("bern-markt",), [], id="named-retailer-has-a-store-near"),
        pytest.param(("demo-shop", "bern-markt"), ["demo-shop"], id="each-named-retailer-checked"),
        # a subscription naming no retailer hears of any retailer's stores: one near is enough
        pytest.param((), [], id="no-retailer-named-one-near-is-enough"),
    ],
)
def test_postcodes_are_checked_against_each_retailers_stores(
    retailers: tuple[str, ...], warned: list[str]
) -> None:
    bern = neighbour("json://127.0.0.1:9/a", postcode="3011", retailers=retailers)
    known = {"demo-shop": KNOWN, "bern-markt": ["3011", "3012"]}
    lines = unmatched_postcodes([bern], known)
    assert [line.split(" of ")[1].split(",")[0] for line in lines] == warned
