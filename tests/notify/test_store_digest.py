"""Many store changes of one product in one run make one message per target, naming the stores; each event is
still delivered only on Apprise SUCCESS and retried otherwise (invariant 4). Delivered to json:// on 127.0.0.1."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from notify.outbox import deliver_pending
from notify.sender import target_id
from promowatch.db.engine import open_database
from promowatch.db.models import Delivery
from tests.notify.endpoints import Hook
from tests.notify.shop import add_shop, day, neighbour, run_day, watchlist

RESTOCKED = ("1001", "1002", "1003", "1004", "1005")  # five Lausanne-area stores
STORE_NAMES = ("Lausanne Flon (1003)", "Lausanne Ouchy (1006)", "Prilly Centre (1008)", "Pully (1009)")


def test_five_store_restocks_in_one_run_make_one_message_retried_as_one(tmp_path: Path) -> None:
    hook = Hook(status=500)  # down on day 1, up again later
    try:
        url = f"json://127.0.0.1:{hook.port}/voisine"
        subscribers = watchlist(neighbour(url, language="fr"))
        sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
        with sessions.begin() as session:
            shop = add_shop(session)
        run_day(sessions, shop, subscribers, 0)
        first = run_day(sessions, shop, subscribers, 1, restocked=(*RESTOCKED, "2001"))
        assert (first.messages, first.sent, first.retried) == (0, 0, 5)  # Zürich is too far: 5 deliveries
        assert len(first.errors) == 1  # one message failed, not five

        hook.status = 200
        second = deliver_pending(sessions, subscribers, day(1, 0.5) + timedelta(minutes=6), None)
        assert (second.messages, second.sent, second.retried) == (1, 5, 0)
        [message] = hook.received
        assert message["title"] == "De retour en stock dans 5 magasins : Air fryer XL"
        body = message["message"]
        assert "dans 5 de vos magasins : " in body
        for store in (*STORE_NAMES, "Renens Gare (1020)"):
            assert store in body
        assert "Zürich" not in body
        assert "Constaté le 03.11.2026 à 07:00 UTC." in body
        with sessions() as session:
            rows = session.execute(select(Delivery.target, Delivery.status, Delivery.attempts)).all()
        assert sorted(rows) == [(target_id("voisine", url), "delivered", 2)] * 5

        # nothing is sent twice
        assert deliver_pending(sessions, subscribers, day(2), None).sent == 0
        assert len(hook.received) == 1
    finally:
        hook.close()


def test_each_target_gets_its_own_digest_and_a_single_store_reads_as_one(tmp_path: Path) -> None:
    phone, mail = Hook(), Hook()
    try:
        urls = (f"json://127.0.0.1:{phone.port}/phone", f"json://127.0.0.1:{mail.port}/mail")
        subscribers = watchlist(neighbour(urls[0], urls=urls))
        sessions = open_database(f"sqlite:///{tmp_path / 'db.sqlite'}")
        with sessions.begin() as session:
            shop = add_shop(session)
        run_day(sessions, shop, subscribers, 0)
        report = run_day(sessions, shop, subscribers, 1, restocked=("1001", "1002", "1003"))
        assert (report.messages, report.sent) == (2, 6)
        for hook in (phone, mail):
            assert [m["title"] for m in hook.received] == ["Back in stock in 3 stores: Air fryer XL"]
            assert (
                "back in stock in 3 of your stores: Lausanne Flon (1003), Lausanne Ouchy (1006), "
                in (hook.received[0]["message"])
            )
        run_day(sessions, shop, subscribers, 2, restocked=("1004",))
        assert phone.received[-1]["title"] == "Back in stock: Air fryer XL"
        assert phone.received[-1]["message"].startswith("Air fryer XL is available again at Pully.\n")
    finally:
        phone.close()
        mail.close()
