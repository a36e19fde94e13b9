"""Message formatting: every event kind in every language of the templates, filled in completely, and scraped
text escaped in HTML bodies.

Source of the payloads: the fields notify/outbox.py puts on its events (product, price, store, finding, health).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from notify.messages import RULE_LABELS, TEMPLATES, format_message, format_store_digest

PAYLOAD = {
    "product_name": "Machine à café De'Longhi",
    "product_url": "http://127.0.0.1:8000/p/delonghi",
    "price": "499.00",
    "old_price": "999.00",
    "currency": "CHF",
    "store": "Lausanne Flon",
    "scope": "store",
    "promotion": "Semaine du café",
    "retailer": "demo-shop",
    "advertised_price": "499.00",
    "rule": "store_stockout",
    "summary": "no store had it for 3 days",
    "closed_at": "2026-11-12T08:00:00+00:00",
}
KINDS = [k for k in TEMPLATES["en"] if not k.startswith("_")]


@pytest.mark.parametrize("language", sorted(TEMPLATES))
@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_is_complete_in_every_language(language: str, kind: str) -> None:
    message = format_message(kind, PAYLOAD, language)
    assert kind in TEMPLATES[language], f"{language} lacks {kind}"
    assert "{" not in message.title + message.body and message.title and message.body


@pytest.mark.parametrize(
    ("language", "words"),
    [
        pytest.param(
            "fr", ["De retour en stock", "au magasin Lausanne Flon", "à 499.00 CHF"], id="fr-restock"
        ),
        pytest.param(
            "de", ["Wieder erhältlich", "in der Filiale Lausanne Flon", "zu 499.00 CHF"], id="de-restock"
        ),
        pytest.param(
            "it", ["Di nuovo disponibile", "nella filiale Lausanne Flon", "a 499.00 CHF"], id="it-restock"
        ),
        pytest.param("en", ["Back in stock", "at Lausanne Flon", "at 499.00 CHF"], id="en-restock"),
        pytest.param("rm", ["Back in stock"], id="romansh-falls-back-to-english"),
    ],
)
def test_restock_reads_in_the_subscribers_language(language: str, words: list[str]) -> None:
    message = format_message("restock", PAYLOAD, language)
    for word in words:
        assert word in message.title + message.body


@pytest.mark.parametrize("language", sorted(RULE_LABELS))
def test_every_rule_has_a_label_in_every_language(language: str) -> None:
    assert RULE_LABELS[language].keys() == RULE_LABELS["en"].keys()
    message = format_message("finding_opened", PAYLOAD, language)
    assert RULE_LABELS[language]["store_stockout"] in message.body


def test_scraped_text_is_escaped_in_html_bodies() -> None:
    payload = {**PAYLOAD, "product_name": 'Coffee <script>alert("x")</script>'}
    message = format_message("restock", payload, "it", as_html=True)
    assert "<script>" not in message.body and "&lt;script&gt;" in message.body
    assert message.body_format == "html"


SEEN = datetime(2026, 11, 8, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("language", "seen"),
    [
        pytest.param("en", "Seen 2026-11-08 10:00 UTC.", id="en"),
        pytest.param("fr", "Constaté le 08.11.2026 à 10:00 UTC.", id="fr"),
        pytest.param("de", "Festgestellt am 08.11.2026 um 10:00 UTC.", id="de"),
        pytest.param("it", "Rilevato il 08.11.2026 alle 10:00 UTC.", id="it"),
    ],
)
@pytest.mark.parametrize("kind", [k for k in KINDS if k != "test"])
def test_every_message_says_when_the_change_was_seen(language: str, seen: str, kind: str) -> None:
    zurich_time = SEEN.astimezone(ZoneInfo("Europe/Zurich"))  # written in UTC whatever zone it comes in
    message = format_message(kind, PAYLOAD, language, seen=zurich_time)
    assert seen in message.body.splitlines()


@pytest.mark.parametrize(
    ("language", "title", "stores"),
    [
        pytest.param(
            "en",
            "Back in stock in 3 stores: Machine à café De'Longhi",
            "back in stock in 3 of your stores: Lausanne Flon (1003), Morges, Renens Gare (1020).",
            id="en",
        ),
        pytest.param(
            "fr",
            "De retour en stock dans 3 magasins : Machine à café De'Longhi",
            "dans 3 de vos magasins : Lausanne Flon (1003), Morges, Renens Gare (1020).",
            id="fr",
        ),
        pytest.param(
            "de",
            "Wieder erhältlich in 3 Filialen: Machine à café De'Longhi",
            "in 3 Ihrer Filialen wieder erhältlich: Lausanne Flon (1003), Morges, Renens Gare (1020).",
            id="de",
        ),
        pytest.param(
            "it",
            "Di nuovo disponibile in 3 filiali: Machine à café De'Longhi",
            "in 3 delle sue filiali: Lausanne Flon (1003), Morges, Renens Gare (1020).",
            id="it",
        ),
    ],
)
def test_a_store_digest_names_each_store_once(language: str, title: str, stores: str) -> None:
    flon = {**PAYLOAD, "store": "Lausanne Flon", "postcode": "1003"}
    payloads = [
        {**PAYLOAD, "store": "Renens Gare", "postcode": "1020"},
        flon,
        {**PAYLOAD, "store": "Morges", "postcode": None},
        flon,  # the same store twice in one pass (two intervals) is named once
    ]
    message = format_store_digest("restock", payloads, language, seen=[SEEN, SEEN + timedelta(minutes=4)])
    assert message.title == title
    assert stores in message.body
    assert "10:04" in message.body and "{" not in message.body


def test_a_store_digest_escapes_store_names_in_html() -> None:
    payloads = [{**PAYLOAD, "store": f"<b>Store {n}</b>", "postcode": None} for n in range(2)]
    message = format_store_digest("stockout", payloads, "en", as_html=True, seen=[SEEN])
    assert "<b>" not in message.body and "&lt;b&gt;Store 0&lt;/b&gt;" in message.body


@pytest.mark.parametrize("language", sorted(TEMPLATES))
def test_every_language_has_every_template(language: str) -> None:
    assert TEMPLATES[language].keys() == TEMPLATES["en"].keys()


# What a hostile shop puts in a product name so that a Discord message pings everyone or hides a link's target
# (issue 19, item 9); Discord's docs break a mention with a zero-width space after the @
CHAT_ATTACKS = {
    "@everyone": ("Coffee @everyone", "@everyone"),
    "@here": ("Coffee @HERE", "@HERE"),
    "role mention": ("Coffee <@&123456789>", "<@&"),
    "user mention": ("Coffee <@!987654321>", "<@!"),
    "channel mention": ("Coffee <#42>", "<#"),
    "masked link": ("[Coffee](http://127.0.0.1:9/phish)", "](http"),
}


@pytest.mark.parametrize("as_html", [False, True], ids=["text", "html"])
@pytest.mark.parametrize(("name", "live"), CHAT_ATTACKS.values(), ids=CHAT_ATTACKS.keys())
def test_chat_markup_in_shop_text_is_neutralised(name: str, live: str, as_html: bool) -> None:
    message = format_message("restock", {**PAYLOAD, "product_name": name}, "en", as_html=as_html)
    for text in (message.title, message.body):
        assert live not in text and "&lt;@" not in text.replace("&lt;\u200b@", "")
        assert "Coffee" in text
    digest = format_store_digest(
        "restock",
        [{**PAYLOAD, "product_name": name, "store": store} for store in ("Lausanne", "Bern")],
        "en",
        as_html=as_html,
    )
    assert live not in digest.title and live not in digest.body
