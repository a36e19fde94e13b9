"""The dossier's pure parts: local times beside UTC, the page counter, the store grid, what the shop showed,
escaping, and a PDF that never reaches the network."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from promowatch.report.summary import (
    Formatter,
    page_counter_css,
    render_html,
    render_pdf,
    shown_observations,
    store_grid,
)

ZURICH = Formatter("fr", "CH", "Europe/Zurich")


@pytest.mark.parametrize(
    ("utc", "expected"),
    [
        # issue 23: a validity ending 23:59 UTC ends the next day in Switzerland
        pytest.param(
            "2026-11-15T23:59:00Z", "16.11.2026 00:59 +01:00 (2026-11-15 23:59 UTC)", id="winter-next-day"
        ),
        pytest.param(
            "2026-07-01T22:30:00.000000Z", "02.07.2026 00:30 +02:00 (2026-07-01 22:30 UTC)", id="summer-time"
        ),
        pytest.param(
            "2026-03-02T07:00:00+00:00", "02.03.2026 08:00 +01:00 (2026-03-02 07:00 UTC)", id="offset-form"
        ),
        pytest.param(None, "—", id="missing"),
    ],
)
def test_times_are_local_with_their_offset_beside_utc(utc: str | None, expected: str) -> None:
    assert ZURICH.time(utc) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [
        pytest.param("fr", '"page " counter(page) " sur " counter(pages)', id="fr"),
        pytest.param("de", '"Seite " counter(page) " von " counter(pages)', id="de"),
        pytest.param("it", '"pagina " counter(page) " di " counter(pages)', id="it"),
        pytest.param("en", '"page " counter(page) " of " counter(pages)', id="en"),
    ],
)
def test_page_counter_in_the_case_language(language: str, expected: str) -> None:
    assert page_counter_css(language) == expected


def _store(store_id: int, first: str, last: str, state: str, name: str) -> dict[str, Any]:
    return {
        "kind": "store",
        "record": {"store_id": store_id, "first_seen": first, "availability": state},
        "extension": {"last_seen": last},
        "store": {"name": name, "postcode": "1201"},
    }


def test_store_grid_counts_days_in_local_time() -> None:
    observations = [
        # 22:30 UTC on the 2nd is 23:30 in Geneva: still the 2nd; the interval runs into the 3rd
        _store(1, "2026-03-02T22:30:00Z", "2026-03-03T08:00:00Z", "out_of_stock", "Cornavin"),
        _store(2, "2026-03-02T09:00:00Z", "2026-03-02T09:00:00Z", "in_stock", "Carouge"),
        _store(2, "2026-03-03T23:30:00Z", "2026-03-03T23:30:00Z", "limited", "Carouge"),  # 00:30 on the 4th
    ]
    grid = store_grid(observations, ZURICH)
    assert grid["days"] == ["2026-03-02", "2026-03-03", "2026-03-04"]
    assert [(s["name"], s["cells"]) for s in grid["stores"]] == [
        ("Carouge", ["in_stock", None, "limited"]),
        ("Cornavin", ["out_of_stock", "out_of_stock", None]),
    ]


def _offer(at: str, price: str, availability: str, stock: str) -> dict[str, Any]:
    return {
        "kind": "offer",
        "record": {
            "observed_at": at,
            "price": price,
            "currency": "CHF",
            "availability": availability,
            "orderable": False,
            "final_url": "http://127.0.0.1/p/1",
            "signals": [
                {"field": "availability", "source": "text", "raw": "texte de page", "value": availability},
                {"field": "availability", "source": "profile", "raw": stock, "value": availability},
                {"field": "orderable", "source": "button", "raw": "Ajouter au panier", "value": "False"},
                {"field": "regular_price", "source": "profile", "raw": "au lieu de 999.–", "value": "999.00"},
            ],
        },
    }


def test_shop_showed_quotes_the_first_each_change_and_the_last() -> None:
    out = "Actuellement pas disponible en ligne"
    observations = [
        _offer("2026-11-02T10:00:00Z", "549.00", "out_of_stock", out),
        _offer("2026-11-03T10:00:00Z", "549.00", "out_of_stock", out),
        _offer("2026-11-05T10:00:00Z", "499.00", "out_of_stock", out),
        _offer("2026-11-06T10:00:00Z", "499.00", "out_of_stock", out),
        _offer("2026-11-07T10:00:00Z", "499.00", "out_of_stock", out),
    ]
    shown = shown_observations(observations)
    assert [s["observed_at"][:10] for s in shown] == ["2026-11-02", "2026-11-05", "2026-11-07"]
    assert shown[0]["stock_text"] == out  # the profile's literal line, not the page text around it
    assert shown[0]["buy_button"] == {"text": "Ajouter au panier", "enabled": False}
    assert shown[0]["reference_text"] == "au lieu de 999.–"


def _case(**extra: Any) -> dict[str, Any]:
    return {
        "reference": "PW-DEMO-SHOP-P1",
        "generated_at": "2026-11-16T08:00:00Z",
        "timezone": "Europe/Zurich",
        "software": {"version": "0"},
        "promotion": {
            "title": "Machine à café",
            "advertised_price": "499.00",
            "reference_price": "999.00",
            "currency": "CHF",
            "product": {"url": "http://127.0.0.1/p/1"},
            "retailer": {"name": "Demo Shop", "country": "CH"},
        },
        "findings": [
            {"rule": "unorderable_online", "state": "confirmed", "opened_at": "2026-11-05T10:00:00Z"}
        ],
        **extra,
    }


def test_shop_text_is_escaped_in_the_html() -> None:
    hostile = '<img src=x onerror="alert(1)">'
    shown = {
        "observed_at": "2026-11-05T10:00:00Z",
        "stock_text": hostile,
        "price": "499.00",
        "currency": "CHF",
    }
    page = render_html(_case(shop_showed=[shown]), [], "fr")
    assert hostile not in page
    assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page


def test_a_confirmation_is_never_shown_before_the_detection() -> None:
    """The reference-price rule dates its confirmation at the reduction start it measured from history; the
    dossier says promowatch confirmed it when it detected it (the start is what "counted from" shows)."""
    finding = {
        "rule": "reference_price_unsupported",
        "state": "confirmed",
        "window_start": "2026-11-05T00:00:00Z",
        "opened_at": "2026-11-05T10:00:00Z",
        "confirmed_at": "2026-11-05T00:00:00Z",
    }
    page = " ".join(render_html(_case(findings=[finding]), [], "en").split())
    confirmed = page.split("Confirmed")[1][:120]
    assert "05.11.2026 11:00 +01:00" in confirmed and "01:00 +01:00" not in confirmed


class _Recorder(http.server.BaseHTTPRequestHandler):
    requests: list[str] = []  # noqa: RUF012  (shared by the server's handler instances)

    def do_GET(self) -> None:
        self.requests.append(self.path)
        self.send_response(404)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def local_server() -> Iterator[str]:
    _Recorder.requests = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_pdf_fetches_nothing_outside_the_bundle(local_server: str) -> None:
    exhibit = {"number": "E1", "kind": "screenshot", "path": f"{local_server}/shot.png", "sha256": "0" * 64}
    shown = {"observed_at": "2026-11-05T10:00:00Z", "exhibit": "E1", "price": "499.00", "currency": "CHF"}
    pdf = render_pdf(_case(exhibits=[exhibit], shop_showed=[shown]), [], None, "fr", files={})
    assert pdf.startswith(b"%PDF")
    assert _Recorder.requests == []
