"""Hand-entered promotions and their print/TV ads reach the database once, as chained observations."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from sqlalchemy import func, select

from promowatch.config import load_watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import AdSighting, Promotion
from promowatch.db.queries import sync_watchlist
from promowatch.evidence.chain import verify_chain

WATCHLIST = """
[[retailers]]
slug = "demo-shop"
base_url = "http://127.0.0.1:9"

[[promotions]]
retailer = "demo-shop"
product_url = "http://127.0.0.1:9/p/delonghi"
title = "De'Longhi Magnifica S"
advertised_price = "499.–"
reference_price = "999.–"
valid_from = 2026-11-05
[[promotions.ads]]
kind = "print"
note = "Weekly flyer, page 3"
"""


def test_a_print_ad_is_stored_once_and_chained(tmp_path: Path) -> None:
    (tmp_path / "watchlist.toml").write_text(WATCHLIST)
    watchlist = load_watchlist(tmp_path / "watchlist.toml")
    sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
    for day in (2, 3):  # every run syncs the watchlist again
        with sessions.begin() as session:
            sync_watchlist(session, watchlist, datetime(2026, 11, day, tzinfo=UTC))
    with sessions() as session:
        promotion = session.scalars(select(Promotion)).one()
        assert (promotion.origin, promotion.advertised_price) == ("watchlist", Decimal("499.00"))
        assert session.scalar(select(func.count()).select_from(AdSighting)) == 1
        report = verify_chain(session)
    assert report.ok, report.message
