"""`promowatch observations --json` shows each observation's delivery promise beside the delivery text it was read
from (issue 25): the stored text stays the evidence, the promise is its reading as of the observation."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from promowatch.db.engine import open_database
from promowatch.db.models import OfferObservation, Product, Retailer

URL = "http://127.0.0.1:8765/p/coffee-machine-x1"
FRIDAY = datetime(2026, 11, 13, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("delivery", "promise"),
    [
        pytest.param(
            "Lieferzeit 2–3 Werktage",  # issue 25's wording
            {
                "kind": "days",
                "min_days": 2,
                "max_days": 3,
                "working_days": True,
                "earliest": "2026-11-17",  # from a Friday: Monday is the first working day
                "latest": "2026-11-18",
            },
            id="working-day-range",
        ),
        pytest.param(
            "délai de livraison inconnu",
            {
                "kind": "none",
                "min_days": None,
                "max_days": None,
                "working_days": False,
                "earliest": None,
                "latest": None,
            },
            id="stated-absence",
        ),
        pytest.param("Livraison gratuite dès 50.–", None, id="no-promise"),
        pytest.param(None, None, id="no-delivery-line"),
    ],
)
def test_observations_json_shows_the_delivery_promise(
    tmp_path: Path, delivery: str | None, promise: dict[str, Any] | None
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    sessions = open_database(f"sqlite:///{data / 'promowatch.db'}")
    with sessions.begin() as session:
        retailer = Retailer(slug="demo-shop", name="Demo Shop", country="CH", currency="CHF")
        session.add(retailer)
        session.flush()
        product = Product(retailer_id=retailer.id, url=URL, sku="X1", name="Coffee machine X1")
        session.add(product)
        session.flush()
        session.add(
            OfferObservation(
                product_id=product.id,
                observed_at=FRIDAY,
                currency="CHF",
                availability="in_stock",
                orderable=True,
                delivery=delivery,
                render="http",
            )
        )
    shown = subprocess.run(
        [sys.executable, "-m", "promowatch.cli", "observations", "--json", "--data-dir", str(data)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert shown.returncode == 0, shown.stderr
    (row,) = json.loads(shown.stdout)
    assert row["delivery"] == delivery  # the shop's own words stay as they were
    assert row["delivery_promise"] == promise
