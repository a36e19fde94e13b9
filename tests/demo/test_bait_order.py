"""The demo's bait order (issue 25): the coffee machine advertised at 499.– instead of 999.–, ordered and paid on
the promotion's third day, still "en cours de traitement" after. `promowatch run` on the simulated days that
matter, real Apprise to a local json:// endpoint: delivery_overdue is raised on day 12 and told once."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest

from promowatch.demo.run import CHECK_HOUR, DEMO_START, Inbox, run_day
from promowatch.demo.scenarios import scenario
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import ORDER_DAY, confirmation_mail, demo_watchlist

# the bait promotion's first day, the order's day, a status day, the day before, of and after it is overdue
DAYS = (3, ORDER_DAY, 6, 11, 12, 13)


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args], capture_output=True, text=True, check=False
    )


@pytest.mark.timeout(600)
def test_the_bait_order_is_overdue_on_day_12_and_its_consumer_is_told_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    inbox = Inbox()
    with DemoShop(DEMO_START) as shop, inbox.serving():
        watchlist = data / "watchlist.toml"
        watchlist.write_text(
            demo_watchlist(
                shop.url, inbox.url + "/consumer", inbox.url + "/watchdog", inbox.url + "/order", files=data
            )
        )
        for day in DAYS:
            now = DEMO_START + timedelta(days=day) + CHECK_HOUR
            shop.set_clock(now)
            inbox.day = day
            result = run_day(watchlist, data, now)
            assert result.returncode in (0, 1), result.stderr[-3000:]

    told = [m for m in inbox.messages if m["path"] == "/order"]
    assert [m["day"] for m in told] == [12]
    (message,) = told
    assert message["title"] == f"Commande DS-2026-118734 en retard : {scenario('a').title}"
    assert (
        "commandé et payé le 07.11.2026; livraison promise au plus tard le 11.11.2026; toujours « en cours de "
        "traitement » le 14.11.2026" in message["message"]
    )

    found = cli("findings", "--data-dir", str(data), "--json", "--rule", "delivery_overdue")
    assert found.returncode == 0, found.stderr
    (finding,) = json.loads(found.stdout)
    assert (finding["promotion"], finding["opened_at"][:10]) == (scenario("a").title, "2026-11-14")

    # the order, its statuses and the confirmation e-mail verify in the promotion's case
    bundle = tmp_path / "case.zip"
    exported = cli("case", "export", str(finding["id"]), "-o", str(bundle), "--data-dir", str(data))
    assert exported.returncode == 0, exported.stderr
    with zipfile.ZipFile(bundle) as archive:
        (order,) = json.loads(archive.read("case.json"))["orders"]
        assert [s["text"] for s in order["statuses"]] == ["en cours de traitement"] * 2
        assert archive.read(order["statuses"][0]["exhibit"]["path"]) == confirmation_mail()
    verified = cli("case", "verify", str(bundle))
    assert verified.returncode == 0, verified.stdout[-3000:]
    assert "orders: 1 orders, 1 status files match" in verified.stdout
