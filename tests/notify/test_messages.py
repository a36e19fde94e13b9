"""Message formatting: every event kind in every language of the templates, filled in completely, and scraped
text escaped in HTML bodies.

Source of the payloads: the fields notify/outbox.py puts on its events (product, price, store, finding, health).
"""

from __future__ import annotations

import pytest

from notify.messages import RULE_LABELS, TEMPLATES, format_message

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
