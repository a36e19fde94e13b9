"""deliver_pending() against endpoints started here on 127.0.0.1: a json:// HTTP hook and an aiosmtpd server.
Invariant 4 of design.md: delivered only on SUCCESS, retried with backoff, never twice to one target."""

from __future__ import annotations

import email
import email.policy
import json
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from notify.outbox import deliver_pending
from notify.sender import send_test, target_id
from notify.subscriptions import note_subscriptions
from promowatch.config import Subscription, Watchlist
from promowatch.db.engine import open_database
from promowatch.db.models import Delivery
from promowatch.evaluate import evaluate
from promowatch.evidence.blobs import BlobStore
from promowatch.rules.thresholds import Thresholds
from tests.notify.endpoints import Hook, free_port
from tests.rules.dbdata import PRODUCT_URL, add_shop, offer
from tests.rules.factories import at


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(envelope.content)
        return "250 OK"


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


def test_delivery_retry_backoff_and_no_duplicates(tmp_path, smtp, caplog):
    mailbox, smtp_port = smtp
    good, broken = Hook(), Hook(status=500)
    down_port = free_port()  # nothing listens here during the first run
    consumer_url = f"json://127.0.0.1:{good.port}/hook?token=s3cr3t-consumer"
    down_url = f"json://127.0.0.1:{down_port}/later?token=s3cr3t-down"
    broken_url = f"json://127.0.0.1:{broken.port}/broken?token=s3cr3t-broken"
    mail_url = f"mailto://127.0.0.1:{smtp_port}?from=pw@example.org&to=watchdog@example.org"
    watchlist = Watchlist(
        path=None,
        retailers=(),
        promotions=(),
        thresholds=Thresholds(),
        contact=None,
        subscriptions=(
            Subscription(
                name="phone",
                urls=(consumer_url, down_url),
                tags=("consumer",),
                language="fr",
                events=(),
                products=(PRODUCT_URL,),
            ),
            Subscription(
                name="watchdog",
                urls=(mail_url, broken_url),
                tags=("watchdog",),
                language="de",
                events=(),
                all_findings=True,
            ),
            Subscription(
                name="stranger",
                urls=(consumer_url,),
                tags=("consumer",),
                language="en",
                events=(),
                products=("http://127.0.0.1:9/p/other",),
            ),
        ),
    )
    blobs = BlobStore(tmp_path / "blobs")
    shot, _ = blobs.put(b"\x89PNG fake screenshot")
    sessions = open_database(f"sqlite:///{tmp_path}/t.db")
    with sessions.begin() as session:
        note_subscriptions(session, watchlist, at(0))  # the subscriptions were there before the crawls
        _, product, _, _ = add_shop(session)
        for i in range(4):
            session.add(offer(product.id, at(2 + 3 * i), "out_of_stock", False, screenshot=shot))
    evaluate(sessions, watchlist, at(12))  # unorderable_online opens at 8 h; stockout + price_drop at 2 h

    try:
        first = deliver_pending(sessions, watchlist, at(12), blobs)
        # phone: stockout + price_drop to 2 URLs; watchdog: finding_opened to 2 URLs
        assert first.fanned_out == 6
        assert first.sent == 3 and first.retried == 3 and first.failed == 0
        assert sorted(p["title"] for p in good.received) == [
            "Baisse de prix : Coffee <b>Machine</b>",
            "Rupture de stock : Coffee <b>Machine</b>",
        ]
        assert all(p["attachments"] for p in good.received if p["title"].startswith("Rupture"))
        assert len(mailbox.messages) == 1
        mail = email.message_from_bytes(mailbox.messages[0], policy=email.policy.default)
        assert str(mail["subject"]).startswith("Befund: online nicht bestellbar")
        html_part = mail.get_body(("html",))
        assert html_part is not None
        # scraped text is escaped in HTML bodies
        assert "Coffee machine 499.– &lt;deal&gt;" in html_part.get_content()
        assert "<deal>" not in html_part.get_content()

        # the down target comes up; a run before the backoff (5 min) sends nothing
        later = Hook(port=down_port)
        early = deliver_pending(sessions, watchlist, at(12) + timedelta(minutes=1), blobs)
        assert early.sent == 0 and later.received == []
        second = deliver_pending(sessions, watchlist, at(12) + timedelta(minutes=6), blobs)
        assert second.sent == 2 and len(later.received) == 2
        assert second.retried == 1 and len(good.received) == 2 and len(mailbox.messages) == 1

        # the broken target answers 500 forever: attempts 1 and 2 above, 3..6 here, then failed and reported
        moment = at(13)
        for _ in range(4):
            moment += timedelta(hours=13)
            last = deliver_pending(sessions, watchlist, moment, blobs)
        assert last.failed == 1 and "gave up" in last.errors[-1]
        with sessions() as session:
            rows = [(d.target, d.status, d.attempts) for d in session.scalars(select(Delivery))]
        assert (target_id("watchdog", broken_url), "failed", 6) in rows
        assert sum(1 for r in rows if r[1] == "delivered") == 5
        assert deliver_pending(sessions, watchlist, moment + timedelta(days=1), blobs).sent == 0
        assert len(good.received) == 2 and len(later.received) == 2 and len(mailbox.messages) == 1

        text = json.dumps([first.to_json(), second.to_json(), last.to_json()]) + caplog.text
        for secret in ("s3cr3t-consumer", "s3cr3t-down", "s3cr3t-broken"):
            assert secret not in text
        with sessions() as session:
            stored = " ".join(f"{d.target} {d.last_error}" for d in session.scalars(select(Delivery)))
        assert "s3cr3t" not in stored
        later.close()
    finally:
        good.close()
        broken.close()


def test_send_test_reports_without_secret():
    hook = Hook()
    try:
        ok, message = send_test(f"json://127.0.0.1:{hook.port}/x?token=s3cr3t-test", "de")
        assert ok and "s3cr3t" not in message
        assert hook.received[0]["title"] == "promowatch Test"
    finally:
        hook.close()
    ok, message = send_test(f"json://127.0.0.1:{free_port()}/x?token=s3cr3t-test")
    assert not ok and "s3cr3t" not in message
