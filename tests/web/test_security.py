"""The dashboard's guards, through Starlette's TestClient over a real SQLite database: who may connect, forged
forms, escaping of shop text, the sandbox around captured pages, and secrets that never come back."""

from __future__ import annotations

import re
import sqlite3
import stat
from typing import Any

import pytest
from markupsafe import escape
from starlette.testclient import TestClient

from promowatch.cli import main
from promowatch.datadir import DataDir
from promowatch.web.app import Dashboard, create_app
from promowatch.web.security import NotAllowed, check_bind
from tests.notify.endpoints import Hook
from tests.web.conftest import HOSTILE_TITLE

TOKEN = "correct-horse-battery-staple"
PAGES = ["/", "/promotions", "/promotions/{promotion}", "/findings/{finding}", "/runs", "/subscriptions"]


@pytest.mark.parametrize(
    ("host", "token", "allowed"),
    [
        pytest.param("127.0.0.1", None, True, id="loopback-v4-open"),
        pytest.param("::1", None, True, id="loopback-v6-open"),
        pytest.param("localhost", None, True, id="localhost-open"),
        pytest.param("0.0.0.0", None, False, id="all-addresses-without-token"),
        pytest.param("192.168.1.20", None, False, id="lan-without-token"),
        pytest.param("0.0.0.0", TOKEN, True, id="all-addresses-with-token"),
        pytest.param("0.0.0.0", "short", False, id="token-too-short"),
    ],
)
def test_bind_needs_a_token_beyond_loopback(host: str, token: str | None, allowed: bool) -> None:
    if allowed:
        check_bind(host, token)
    else:
        with pytest.raises(NotAllowed):
            check_bind(host, token)


def test_serve_refuses_an_open_address_in_one_line(
    data: DataDir, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PROMOWATCH_WEB_TOKEN", raising=False)
    (data.root / "promowatch.db").touch()
    code = main(["serve", "--data-dir", str(data.root), "--host", "0.0.0.0", "--port", "1"])
    error = capsys.readouterr().err
    assert code == 2
    assert error.count("\n") == 1 and "PROMOWATCH_WEB_TOKEN" in error


def test_a_foreign_host_name_is_refused_on_loopback(board: Dashboard) -> None:
    """DNS rebinding: a page on evil.example resolving to 127.0.0.1 must not read the dashboard."""
    client = TestClient(create_app(board), base_url="http://evil.example")
    assert client.get("/api/v1/findings").status_code == 400


@pytest.fixture
def guarded(board: Dashboard) -> TestClient:
    board.token = TOKEN
    return TestClient(create_app(board), base_url="http://dashboard.example")


def test_token_guards_pages_and_api(guarded: TestClient) -> None:
    assert guarded.get("/", follow_redirects=False).headers["location"] == "/login"
    assert guarded.get("/api/v1/findings").status_code == 401
    assert guarded.get("/api/v1/findings", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert (
        guarded.get("/api/v1/findings", headers={"Authorization": "Bearer wrong-token-xxxxxxx"}).status_code
        == 401
    )


def test_login_form_sets_a_cookie_that_does_not_hold_the_token(guarded: TestClient) -> None:
    form = guarded.get("/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf is not None
    wrong = guarded.post("/login", data={"csrf": csrf.group(1), "token": "nope"}, follow_redirects=False)
    assert wrong.status_code == 401
    right = guarded.post("/login", data={"csrf": csrf.group(1), "token": TOKEN}, follow_redirects=False)
    assert right.status_code == 303
    assert TOKEN not in right.headers["set-cookie"]
    assert guarded.get("/").status_code == 200


def _csrf(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(path).text)
    assert found is not None, f"{path} has no CSRF field"
    return found.group(1)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        pytest.param(
            "/subscriptions", {"name": "x", "url": "json://127.0.0.1:9/", "events": "restock"}, id="subscribe"
        ),
        pytest.param("/findings/{finding}/case", {"language": "en"}, id="export-case"),
    ],
)
@pytest.mark.parametrize("token", [None, "forged-token-value"], ids=["no-token", "wrong-token"])
def test_forms_without_the_csrf_token_are_refused(
    client: TestClient, ids: dict[str, Any], path: str, form: dict[str, str], token: str | None
) -> None:
    client.get("/")  # the cookie
    sent = form | ({"csrf": token} if token else {})
    response = client.post(path.format(**ids), data=sent)
    assert response.status_code == 403


@pytest.mark.parametrize("path", PAGES)
def test_every_page_is_under_a_strict_policy_without_inline_script(
    client: TestClient, ids: dict[str, Any], path: str
) -> None:
    response = client.get(path.format(**ids))
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert (
        "script-src 'self'" in policy and "unsafe-inline" not in policy and "frame-ancestors 'none'" in policy
    )
    scripts = re.findall(r"<script\b[^>]*>", response.text)
    assert scripts and all(" src=" in tag for tag in scripts)
    assert not re.search(r"\son[a-z]+=", response.text.replace(str(escape(HOSTILE_TITLE)), ""))


@pytest.mark.parametrize("path", ["/promotions", "/promotions/{promotion}", "/findings/{finding}"])
def test_a_product_title_of_markup_is_shown_as_text(
    client: TestClient, ids: dict[str, Any], path: str
) -> None:
    page = client.get(path.format(**ids)).text
    assert "<img src=x" not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page


def test_captured_page_is_sandboxed_on_its_own_path(client: TestClient, ids: dict[str, Any]) -> None:
    response = client.get(f"/captured/{ids['page_sha']}")
    assert response.status_code == 200
    policy = response.headers["content-security-policy"]
    assert policy.startswith("sandbox;") and "script-src" not in policy and "default-src 'none'" in policy
    finding = client.get(f"/findings/{ids['finding']}").text
    assert re.search(r'<iframe id="captured-frame" sandbox=""', finding)


@pytest.mark.parametrize(
    "path",
    [
        pytest.param("/captured/" + "0" * 64, id="unknown-hash"),
        pytest.param("/captured/{shot_sha}", id="a-screenshot-is-no-page"),
        pytest.param("/evidence/screenshots/{page_sha}.png", id="a-page-is-no-screenshot"),
        pytest.param("/captured/..%2F..%2Fpromowatch.db", id="path-outside-the-store"),
    ],
)
def test_only_cited_evidence_is_served(client: TestClient, ids: dict[str, Any], path: str) -> None:
    assert client.get(path.format(**ids)).status_code == 404


def test_subscription_url_is_kept_secret_and_tested(client: TestClient, data: DataDir) -> None:
    hook = Hook()
    secret = "s3cr3t-hook-path"
    url = f"json://127.0.0.1:{hook.port}/{secret}"
    try:
        response = client.post(
            "/subscriptions",
            data={
                "csrf": _csrf(client, "/subscriptions"),
                "name": "coffee",
                "url": url,
                "events": ["restock", "finding_opened"],
                "language": "de",
                "postcode": "8001",
                "radius_km": "10",
            },
        )
    finally:
        hook.close()
    assert response.status_code == 200
    assert len(hook.received) == 1  # the test notification, through Apprise
    shown = response.text + client.get("/api/v1/subscriptions").text
    assert "json://***" in shown and "ok: delivered" in shown
    assert secret not in shown and str(hook.port) not in shown
    with sqlite3.connect(data.root / "promowatch.db") as db:
        dumped = "\n".join(db.iterdump())
    assert secret not in dumped
    kept = list((data.root / "web-subscriptions").iterdir())
    assert [f.read_text().strip() for f in kept] == [url]
    assert stat.S_IMODE(kept[0].stat().st_mode) == 0o600


@pytest.mark.parametrize(
    ("form", "says"),
    [
        pytest.param({"name": "", "url": "json://127.0.0.1:9/", "events": "restock"}, "name", id="no-name"),
        pytest.param({"name": "a", "url": "not a url", "events": "restock"}, "schema://", id="no-schema"),
        pytest.param(
            {"name": "a", "url": "json://127.0.0.1:9/", "events": "everything"}, "events", id="bad-event"
        ),
        pytest.param(
            {"name": "a", "url": "json://127.0.0.1:9/", "events": "restock", "radius_km": "5"},
            "postcode",
            id="radius-without-postcode",
        ),
        pytest.param(
            {
                "name": "a",
                "url": "json://127.0.0.1:9/",
                "events": "restock",
                "product_url": "http://127.0.0.1:9/p/404",
            },
            "no watched product",
            id="product-page-not-watched",
        ),
    ],
)
def test_subscription_form_errors_are_told(client: TestClient, form: dict[str, str], says: str) -> None:
    response = client.post("/subscriptions", data=form | {"csrf": _csrf(client, "/subscriptions")})
    assert response.status_code == 400
    assert says in response.text


def test_a_subscription_can_follow_a_watched_product_page(client: TestClient, data: DataDir) -> None:
    hook = Hook()
    try:
        response = client.post(
            "/subscriptions",
            data={
                "csrf": _csrf(client, "/subscriptions"),
                "name": "this machine",
                "url": f"json://127.0.0.1:{hook.port}/me",
                "events": ["restock"],
                "language": "fr",
                # the page as a consumer copies it, with a campaign's tracking parameter
                "product_url": "http://127.0.0.1:9/p/1?utm_source=newsletter",
            },
        )
    finally:
        hook.close()
    assert response.status_code == 200, response.text
    (row,) = client.get("/api/v1/subscriptions").json()["items"]
    with sqlite3.connect(data.root / "promowatch.db") as db:
        (product_id,) = db.execute("SELECT id FROM products WHERE url = 'http://127.0.0.1:9/p/1'").fetchone()
    assert row["product_id"] == product_id and row["promotion_id"] is None
