"""A consumer's own order end to end: the watchlist's [[orders]] and `promowatch order`, real SQLite, the hash chain,
the evidence store, `promowatch evaluate` / `notify` to local json:// endpoints, and the case bundle."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import zipfile
from pathlib import Path

import pytest

from promowatch.cli import main
from promowatch.config import ConfigError, load_watchlist
from promowatch.db.engine import open_database
from promowatch.db.queries import sync_watchlist
from tests.notify.endpoints import Hook
from tests.rules.factories import T0

PROFILE = """
slug = "acme"
name = "Acme"
country = "CH"
currency = "CHF"
base_url = "http://127.0.0.1:9"
[offer]
price = ".price::text"
"""

RETAILER = """
[[retailers]]
slug = "acme"
"""

# the issue's story, a week shifted: ordered and paid on Monday 23.11.2026, "Lieferzeit 1–2 Werktage" (Galaxus'
# wording) allows until Wednesday 25.11; overdue with the default 2 days from Saturday 28.11
ORDER = """
[[promotions]]
retailer = "acme"
product_url = "http://127.0.0.1:9/p/coffee"
title = "Coffee machine"
advertised_price = "499.–"
reference_price = "999.–"
valid_from = 2026-11-23
valid_until = 2026-12-13

[[orders]]
id = "coffee-machine"
retailer = "acme"
product = "/p/coffee"
ordered_at = 2026-11-23T10:00:00Z
price_paid = "499.00"
reference = "DS-118734"
promise = "Lieferzeit 1–2 Werktage"
[orders.notify]
url = "{consumer}"
language = "de"
watchdog = ["{watchdog}"]
[[orders.status]]
at = 2026-11-24T08:00:00Z
text = "In Bearbeitung"
file = "mails/confirmation.eml"
"""

MAIL = b"From: shop@example.org\r\nSubject: Ihre Bestellung DS-118734\r\n\r\nIn Bearbeitung.\r\n"


def setup(tmp_path: Path, body: str) -> Path:
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "acme.toml").write_text(PROFILE)
    (tmp_path / "mails").mkdir(exist_ok=True)
    (tmp_path / "mails" / "confirmation.eml").write_bytes(MAIL)
    path = tmp_path / "watchlist.toml"
    path.write_text(RETAILER + body)
    return path


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            ('id = "coffee-machine"', 'id = "coffee machine"'),
            'order 1 ("coffee machine"): id must be',
            id="id",
        ),
        pytest.param(
            ('retailer = "acme"\nproduct', 'retailer = "acne"\nproduct'), "retailer must name", id="retailer"
        ),
        pytest.param(
            ('product = "/p/coffee"\n', ""), "product or promotion is required", id="what-was-ordered"
        ),
        pytest.param(
            ("ordered_at = 2026-11-23T10:00:00Z", "ordered_at = 2026-11-23T10:00:00Z\npaid_at = 2026-11-22"),
            "paid_at must not be before ordered_at",
            id="paid-before-ordered",
        ),
        pytest.param(
            ('price_paid = "499.00"', 'price_paid = "cheap"'),
            "price_paid must be a positive amount",
            id="price",
        ),
        pytest.param(('reference = "DS-118734"\n', ""), "reference is required", id="reference"),
        pytest.param(
            ('file = "mails/confirmation.eml"', 'file = "mails/missing.eml"'),
            'order 1 ("coffee-machine"): status 1: file does not exist',
            id="status-file",
        ),
        pytest.param(
            ('text = "In Bearbeitung"', 'text = "In Bearbeitung"\noutcome = "lost"'),
            "outcome must be one of delivered, cancelled",
            id="status-outcome",
        ),
        pytest.param(
            ('watchdog = ["{watchdog}"]', 'watchdog = ["nonsense://"]'),
            'order 1 ("coffee-machine"): notify: watchdog is not a URL Apprise can use',
            id="watchdog-url",
        ),
        pytest.param(
            ('language = "de"', 'langage = "de"'),
            "unknown key 'langage' (did you mean 'language'?)",
            id="typo",
        ),
    ],
)
def test_a_broken_order_names_file_entry_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    body = ORDER.replace(*change).format(consumer="json://127.0.0.1:1/me", watchdog="json://127.0.0.1:1/wd")
    with pytest.raises(ConfigError) as error:
        load_watchlist(setup(tmp_path, body))
    assert str(error.value).startswith("watchlist.toml: ")
    assert message in str(error.value)


def test_an_orders_notify_stands_for_subscriptions_that_follow_only_that_order(tmp_path: Path) -> None:
    path = setup(tmp_path, ORDER.format(consumer="json://127.0.0.1:1/me", watchdog="json://127.0.0.1:1/wd"))
    watchlist = load_watchlist(path)
    (order,) = watchlist.orders
    assert (order.product_url, order.currency, order.statuses[0].file) == (
        "http://127.0.0.1:9/p/coffee",
        "CHF",
        tmp_path / "mails" / "confirmation.eml",
    )
    assert [(s.name, s.tags, s.events, s.orders, s.language) for s in watchlist.subscriptions] == [
        ("order-coffee-machine", ("consumer",), ("delivery_overdue",), ("coffee-machine",), "de"),
        ("order-coffee-machine-watchdog", ("watchdog",), ("delivery_overdue",), ("coffee-machine",), "de"),
    ]


def crawled(watchlist: Path, data: Path) -> None:
    """The database as a crawl leaves it before its first request: retailers, products, promotions synced."""
    data.mkdir()
    with open_database(f"sqlite:///{data / 'promowatch.db'}").begin() as session:
        sync_watchlist(session, load_watchlist(watchlist), T0)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(args)
    return code, capsys.readouterr().out


def test_order_commands_record_hash_and_chain_what_the_consumer_saw(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup(tmp_path, "")
    data = tmp_path / "data"
    common = ["--watchlist", str(path), "--data-dir", str(data)]
    crawled(path, data)
    code, out = _run(
        [
            "order",
            "add",
            *common,
            "--retailer",
            "acme",
            "--product",
            "/p/coffee",
            "--ordered-at",
            "2026-11-23T10:00Z",
            "--price",
            "499.–",
            "--reference",
            "DS-1",
            "--now",
            "2026-11-23T10:05Z",
        ],
        capsys,
    )
    assert (code, out.strip()) == (0, "order acme-DS-1 recorded")
    code, out = _run(
        [
            "order",
            "status",
            *common,
            "acme-DS-1",
            "in processing",
            "--at",
            "2026-11-24T08:00Z",
            "--file",
            str(tmp_path / "mails" / "confirmation.eml"),
        ],
        capsys,
    )
    assert code == 0 and hashlib.sha256(MAIL).hexdigest() in out
    code, out = _run(["order", "list", *common, "--json"], capsys)
    (listed,) = json.loads(out)
    assert (listed["id"], listed["price_paid"], listed["currency"], listed["origin"]) == (
        "acme-DS-1",
        "499.00",
        "CHF",
        "command",
    )
    assert [(s["text"], s["file"], s["file_sha256"]) for s in listed["statuses"]] == [
        ("in processing", "confirmation.eml", hashlib.sha256(MAIL).hexdigest())
    ]
    assert _run(["evidence", "verify", *common], capsys)[0] == 0

    # an edited status is detected like an edited observation
    with sqlite3.connect(data / "promowatch.db") as db:
        db.execute("UPDATE order_status SET text = 'delivered'")
    code, out = _run(["evidence", "verify", *common], capsys)
    assert code == 1
    assert "order_status observation 1 differs from the chained record" in out


def test_a_second_order_with_the_same_id_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = setup(tmp_path, "")
    data = tmp_path / "data"
    common = ["--watchlist", str(path), "--data-dir", str(data)]
    crawled(path, data)
    add = [
        "order",
        "add",
        *common,
        "--retailer",
        "acme",
        "--product",
        "/p/coffee",
        "--ordered-at",
        "2026-11-23T10:00Z",
        "--price",
        "499",
        "--reference",
        "DS-1",
    ]
    assert main(add) == 0
    assert main(add) == 2
    assert "an order 'acme-DS-1' is already recorded" in capsys.readouterr().err
    assert main(["order", "status", *common, "nope", "in processing"]) == 2


def test_overdue_order_is_told_once_to_its_consumer_and_watchdog_and_closes_when_delivered(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    consumer, watchdog = Hook(), Hook()
    try:
        path = setup(
            tmp_path,
            ORDER.format(
                consumer=f"json://127.0.0.1:{consumer.port}/me",
                watchdog=f"json://127.0.0.1:{watchdog.port}/wd",
            ),
        )
        data = tmp_path / "data"
        common = ["--watchlist", str(path), "--data-dir", str(data)]
        crawled(path, data)
        told: dict[int, tuple[int, int]] = {}
        for day in range(23, 31):
            now = f"2026-11-{day}T10:00:00Z"
            assert main(["evaluate", *common, "--now", now, "--quiet"]) == 0
            assert main(["notify", *common, "--now", now, "--quiet"]) == 0
            told[day] = (len(consumer.received), len(watchdog.received))
        assert {day: counts for day, counts in told.items() if counts != (0, 0)} == {
            28: (1, 1),
            29: (1, 1),
            30: (1, 1),
        }
        message = consumer.received[0]
        assert message["title"] == "Bestellung DS-118734 überfällig: http://127.0.0.1:9/p/coffee"
        assert (
            "bestellt und bezahlt am 23.11.2026; Lieferung zugesagt bis 25.11.2026; am 28.11.2026 noch "
            "«In Bearbeitung»; die Werbung lief an 5 dieser 5 Tage" in message["message"]
        )

        findings = json.loads(_run(["findings", *common, "--json", "--rule", "delivery_overdue"], capsys)[1])
        assert [(f["state"], f["opened_at"][:10]) for f in findings] == [("confirmed", "2026-11-28")]

        # the case of the finding holds the order, its status history and the confirmation e-mail
        bundle = tmp_path / "case.zip"
        assert (
            main(["case", "export", *common, str(findings[0]["id"]), "-o", str(bundle), "--language", "de"])
            == 0
        )
        with zipfile.ZipFile(bundle) as archive:
            case = json.loads(archive.read("case.json"))
            (order,) = case["orders"]
            exhibit = order["statuses"][0]["exhibit"]
            assert (exhibit["path"], exhibit["sha256"]) == (
                f"orders/{hashlib.sha256(MAIL).hexdigest()}",
                hashlib.sha256(MAIL).hexdigest(),
            )
            assert archive.read(exhibit["path"]) == MAIL
        code, out = _run(["case", "verify", *common, str(bundle)], capsys)
        assert code == 0, out
        assert "orders: 1 orders, 1 status files match the hashes their statuses chained" in out
        assert "finding recomputed: delivery_overdue" in out

        # delivered on 30.11: the finding closes and nobody is told again
        status = ["order", "status", *common, "coffee-machine", "Zugestellt", "--at", "2026-11-30T12:00Z"]
        assert _run(status, capsys) == (0, "status of order coffee-machine recorded\n")
        assert main(["evaluate", *common, "--now", "2026-12-01T10:00:00Z", "--quiet"]) == 0
        assert main(["notify", *common, "--now", "2026-12-01T10:00:00Z", "--quiet"]) == 0
        findings = json.loads(_run(["findings", *common, "--json", "--rule", "delivery_overdue"], capsys)[1])
        assert [(f["state"], str(f["closed_at"])[:10]) for f in findings] == [("closed", "2026-11-30")]
        assert (len(consumer.received), len(watchdog.received)) == (1, 1)
    finally:
        consumer.close()
        watchdog.close()


def test_a_swapped_status_file_fails_case_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    hook = Hook()
    try:
        path = setup(
            tmp_path,
            ORDER.format(
                consumer=f"json://127.0.0.1:{hook.port}/me", watchdog=f"json://127.0.0.1:{hook.port}/wd"
            ),
        )
        data = tmp_path / "data"
        common = ["--watchlist", str(path), "--data-dir", str(data)]
        crawled(path, data)
        assert main(["evaluate", *common, "--now", "2026-11-29T10:00:00Z", "--quiet"]) == 0
        findings = json.loads(_run(["findings", *common, "--json", "--rule", "delivery_overdue"], capsys)[1])
        bundle, forged = tmp_path / "case.zip", tmp_path / "forged.zip"
        assert main(["case", "export", *common, str(findings[0]["id"]), "-o", str(bundle)]) == 0
        # another e-mail in the file's place, the manifest rewritten to match: only the chained hash tells
        other = MAIL.replace(b"In Bearbeitung", b"Zugestellt")
        name = f"orders/{hashlib.sha256(MAIL).hexdigest()}"
        with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(forged, "w") as target:
            files = {info.filename: source.read(info) for info in source.infolist()}
            files[name] = other
            files["manifest-sha256.txt"] = "".join(
                f"{hashlib.sha256(body).hexdigest()}  {entry}\n"
                for entry, body in sorted(files.items())
                if entry != "manifest-sha256.txt"
            ).encode()
            for entry, body in files.items():
                target.writestr(entry, body)
        code, out = _run(["case", "verify", *common, str(forged)], capsys)
        assert code == 1
        assert f"order coffee-machine: {name} does not match the SHA-256 its status chained" in out
    finally:
        hook.close()


@pytest.mark.parametrize(
    ("price", "recorded"),
    [
        pytest.param("1’299.50", "1299.50", id="swiss-apostrophe-thousands"),
        pytest.param("CHF 499.–", "499.00", id="currency-and-dash-cents"),
        pytest.param("1,299.50", "1299.50", id="comma-thousands"),
        pytest.param("abc", None, id="no-amount-refused"),
    ],
)
def test_order_price_is_read_as_a_shop_or_receipt_writes_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], price: str, recorded: str | None
) -> None:
    path = setup(tmp_path, "")
    data = tmp_path / "data"
    common = ["--watchlist", str(path), "--data-dir", str(data)]
    crawled(path, data)
    add = ["order", "add", *common, "--retailer", "acme", "--product", "/p/coffee"]
    add += ["--ordered-at", "2026-11-23T10:00Z", "--price", price, "--reference", "DS-1"]
    code = main(add)
    told = capsys.readouterr()
    if recorded is None:
        assert code == 2
        assert f"--price {price!r}: not an amount such as 499.00" in told.err
        return
    assert code == 0, told.err
    code, out = _run(["order", "list", *common, "--json"], capsys)
    assert [order["price_paid"] for order in json.loads(out)] == [recorded]
