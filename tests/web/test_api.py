"""The JSON API, CSV exports and the chart's series, over a real SQLite database."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from starlette.testclient import TestClient

from promowatch.db.models import Promotion
from promowatch.web.api import COLLECTIONS
from promowatch.web.app import Dashboard
from promowatch.web.chart import promotion_timeline
from tests.web.conftest import OBSERVATIONS


def walk(client: TestClient, url: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while url:
        page = client.get(url)
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        url = body["next"]
    return items


@pytest.mark.parametrize("limit", [1, 3, OBSERVATIONS, 100])
def test_keyset_pages_list_every_observation_once(client: TestClient, limit: int) -> None:
    items = walk(client, f"/api/v1/observations?limit={limit}")
    ids = [item["id"] for item in items]
    assert len(ids) == OBSERVATIONS and len(set(ids)) == OBSERVATIONS and ids == sorted(ids)


@pytest.mark.parametrize(
    ("url", "count"),
    [
        pytest.param("/api/v1/retailers", 1, id="retailers"),
        pytest.param("/api/v1/promotions?retailer=demo-shop", 1, id="promotions-of-retailer"),
        pytest.param("/api/v1/promotions?retailer=other", 0, id="promotions-of-another-retailer"),
        pytest.param("/api/v1/store-observations?limit=2", 4, id="store-observations"),
        pytest.param("/api/v1/findings?rule=unorderable_online", 1, id="findings-by-rule"),
        pytest.param("/api/v1/findings?state=closed", 0, id="findings-closed"),
        pytest.param("/api/v1/events?kind=finding_opened", 1, id="events-by-kind"),
        pytest.param("/api/v1/runs", 1, id="runs"),
        pytest.param("/api/v1/subscriptions", 0, id="subscriptions"),
    ],
)
def test_collections_and_filters(client: TestClient, url: str, count: int) -> None:
    assert len(walk(client, url)) == count


def test_money_is_a_decimal_string_and_times_are_utc(client: TestClient) -> None:
    first = client.get("/api/v1/observations?limit=1").json()["items"][0]
    assert first["price"] == "549.00"
    assert first["observed_at"].endswith("Z")


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("/api/v1/observations?after=x", id="cursor-not-a-number"),
        pytest.param("/api/v1/observations?product_id=abc", id="filter-not-a-number"),
        pytest.param("/api/v1/observations.csv?product_id=abc", id="csv-filter-not-a-number"),
    ],
)
def test_bad_query_is_a_400(client: TestClient, url: str) -> None:
    assert client.get(url).status_code == 400


def test_openapi_describes_every_collection(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    assert spec["openapi"].startswith("3.")
    assert {"/api/v1" + c.path for c in COLLECTIONS} <= set(spec["paths"])
    assert {"/api/v1/observations.csv", "/api/v1/findings.csv"} <= set(spec["paths"])


def test_observations_csv(client: TestClient, ids: dict[str, Any]) -> None:
    response = client.get(f"/api/v1/observations.csv?product_id={ids['product']}")
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == OBSERVATIONS
    assert [r["price"] for r in rows[:2]] == ["549.00", "499.00"]


def test_findings_csv(client: TestClient) -> None:
    rows = list(csv.DictReader(io.StringIO(client.get("/api/v1/findings.csv").text)))
    assert [(r["rule"], r["state"]) for r in rows] == [("unorderable_online", "confirmed")]


def test_chart_series_is_the_case_timeline(client: TestClient, board: Dashboard, ids: dict[str, Any]) -> None:
    """The dashboard's chart draws what report.timeline computes for the case chart, point for point."""
    series = client.get(f"/promotions/{ids['promotion']}/series.json").json()
    with board.reader() as session:
        promotion = session.get(Promotion, ids["promotion"])
        assert promotion is not None
        timeline = promotion_timeline(session, promotion, board.now())
    times, prices, advertised, reference, orderable, _share = series["columns"]
    offers = {int(p.at.timestamp()): p for p in timeline.offers}
    assert len(offers) == OBSERVATIONS
    for at, point in offers.items():
        i = times.index(at)
        assert prices[i] == float(point.price or 0) and orderable[i] == 0
    assert set(advertised) == {499.0} and set(reference) == {999.0}
    assert [m["rule"] for m in series["findings"]] == ["unorderable_online"]


def test_store_day_grid_shows_each_store(client: TestClient, ids: dict[str, Any]) -> None:
    page = client.get(f"/promotions/{ids['promotion']}").text
    assert page.count('class="cell out_of_stock"') >= 3 * OBSERVATIONS
    assert page.count('class="cell in_stock"') >= OBSERVATIONS


def test_promotions_filter_by_rule(client: TestClient) -> None:
    assert "/promotions/1" in client.get("/promotions?rule=unorderable_online").text
    assert "/promotions/1" not in client.get("/promotions?rule=price_mismatch").text
    # htmx asks for the rows only
    rows = client.get("/promotions?rule=unorderable_online", headers={"HX-Request": "true"}).text
    assert rows.startswith('<div id="promotion-rows">')


def test_export_case_returns_the_bundle(client: TestClient, ids: dict[str, Any], tmp_path: Any) -> None:
    import re

    from promowatch.evidence.case_verify import verify_case

    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get(f"/findings/{ids['finding']}").text)
    assert csrf is not None
    response = client.post(f"/findings/{ids['finding']}/case", data={"csrf": csrf.group(1), "language": "en"})
    assert response.status_code == 200
    assert response.headers["content-disposition"] == f'attachment; filename="case-{ids["finding"]}.zip"'
    bundle = tmp_path / "case.zip"
    bundle.write_bytes(response.content)
    # the fixture's rows are not in the hash chain: the bundle's own manifest must hold all the same
    report = verify_case(bundle)
    assert any("manifest" in line for line in report.checks)
