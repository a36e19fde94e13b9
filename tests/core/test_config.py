"""Watchlist and profile validation: bad input fails at load time naming the file, the entry and the field."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from promowatch.cli import main
from promowatch.config import ConfigError, load_profile, load_watchlist, parse_watchlist

PROFILE = """
slug = "acme"
name = "Acme"
country = "CH"
currency = "CHF"
base_url = "http://127.0.0.1:9"
[offer]
price = ".price::text"
"""

GOOD = """
[[retailers]]
slug = "acme"

[[promotions]]
retailer = "acme"
product_url = "http://127.0.0.1:9/p/1"
title = "De'Longhi ESAM"
advertised_price = "1’299.–"
reference_price = 999
valid_from = 2026-11-02
valid_until = 2026-11-15
[[promotions.ads]]
kind = "print"
note = "Flyer week 45, page 3"

[[subscriptions]]
name = "anna"
url = "json://127.0.0.1:8080/hook"
tags = ["consumer"]
events = ["restock"]
"""


def write(tmp_path: Path, watchlist: str, profile: str = PROFILE) -> Path:
    (tmp_path / "sites").mkdir(exist_ok=True)
    (tmp_path / "sites" / "acme.toml").write_text(profile)
    path = tmp_path / "watchlist.toml"
    path.write_text(watchlist)
    return path


def test_good_watchlist_loads_typed_values(tmp_path: Path) -> None:
    watchlist = load_watchlist(write(tmp_path, GOOD))
    promotion = watchlist.promotions[0]
    assert promotion.advertised_price == Decimal("1299.00")
    assert promotion.reference_price == Decimal("999.00")
    assert promotion.currency == "CHF"  # from the retailer's profile
    assert promotion.valid_until is not None and promotion.valid_until.hour == 23
    assert watchlist.retailers[0].reference_rule == "ch"  # a Swiss profile
    assert watchlist.subscriptions[0].urls == ("json://127.0.0.1:8080/hook",)
    assert "json://" not in repr(watchlist.subscriptions[0])  # secrets stay out of reprs and logs


def test_a_quoted_last_day_covers_the_whole_day(tmp_path: Path) -> None:
    watchlist = load_watchlist(
        write(tmp_path, GOOD.replace("valid_until = 2026-11-15", 'valid_until = "2026-11-15"'))
    )
    until = watchlist.promotions[0].valid_until
    assert until is not None and (until.day, until.hour, until.minute) == (15, 23, 59)


def test_the_same_apprise_url_twice_is_one_target(tmp_path: Path) -> None:
    text = GOOD.replace(
        'url = "json://127.0.0.1:8080/hook"',
        'url = "json://127.0.0.1:8080/hook"\nurls = ["json://127.0.0.1:8080/hook"]',
    )
    assert load_watchlist(write(tmp_path, text)).subscriptions[0].urls == ("json://127.0.0.1:8080/hook",)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            ('advertised_price = "1’299.–"', 'advertised_price = "cheap"'),
            'watchlist.toml: promotion 1 ("De\'Longhi ESAM"): advertised_price must be a positive amount, got "cheap"',
            id="price-not-a-number",
        ),
        pytest.param(
            ('advertised_price = "1’299.–"', "advertised_price = -5"),
            'promotion 1 ("De\'Longhi ESAM"): advertised_price must be a positive amount, got -5',
            id="negative-price",
        ),
        pytest.param(
            ('retailer = "acme"', 'retailer = "nope"'),
            'promotion 1 ("De\'Longhi ESAM"): retailer must name a [[retailers]] slug (acme), got "nope"',
            id="unknown-retailer",
        ),
        pytest.param(
            ("valid_until = 2026-11-15", "valid_until = 2026-10-15"),
            "valid_until must not be before valid_from",
            id="window-backwards",
        ),
        pytest.param(
            ('kind = "print"', 'kind = "billboard"'),
            'promotion 1 ("De\'Longhi ESAM"): ad 1: kind must be one of web, flyer, print',
            id="bad-ad-kind",
        ),
        pytest.param(
            ('events = ["restock"]', 'events = ["restock", "sale"]'),
            'subscription 1 ("anna"): events must list events from',
            id="unknown-event",
        ),
        pytest.param(
            ('tags = ["consumer"]', 'tags = ["consumer, ops"]'),
            'subscription 1 ("anna"): tags must be plain words',
            id="tag-with-comma",
        ),
        pytest.param(
            ('title = "De\'Longhi ESAM"', 'title = "De\'Longhi ESAM"\nadvertized_price = 1'),
            "promotion 1 (\"De'Longhi ESAM\"): unknown key 'advertized_price' (did you mean 'advertised_price'?)",
            id="typo-key",
        ),
        pytest.param(
            ('slug = "acme"', 'slug = "acme"\nprofile = "missing"'),
            "retailer 1 (\"acme\"): profile cannot be used: unknown site profile 'missing'",
            id="unknown-profile",
        ),
        pytest.param(
            ('url = "json://127.0.0.1:8080/hook"', ""),
            'subscription 1 ("anna"): url is required',
            id="subscription-without-url",
        ),
        pytest.param(("[[retailers]]", "[[retailers]"), "watchlist.toml: not valid TOML", id="toml-syntax"),
        pytest.param(
            ('advertised_price = "1’299.–"', 'advertised_price = "0.001"'),
            'advertised_price must be a positive amount, got "0.001"',
            id="price-rounds-to-zero",
        ),
        pytest.param(
            ('slug = "acme"', 'slug = "acme"\n[[retailers]]\nslug = "acme"'),
            'retailer 2 ("acme"): slug repeats retailer 1\'s slug "acme"',
            id="duplicate-retailer",
        ),
        pytest.param(
            ('tags = ["consumer"]', 'tags = ["consumer"]\nretailers = ["acmee"]'),
            'subscription 1 ("anna"): retailers must name [[retailers]] slugs (acme), got "acmee"',
            id="subscription-retailer-typo",
        ),
        pytest.param(
            ('slug = "acme"', 'slug = "acme"\nthresholds = 5'),
            'retailer 1 ("acme"): thresholds: must be a table of thresholds, got 5',
            id="thresholds-not-a-table",
        ),
        # issue 20: these loaded, then did nothing without a word
        pytest.param(
            ('slug = "acme"', 'slug = "acme"\nsweep = true'),
            "retailer 1 (\"acme\"): sweep is true but profile 'acme' has no [promotions] urls to follow",
            id="sweep-without-promotions-pages",
        ),
        pytest.param(
            ('url = "json://127.0.0.1:8080/hook"', 'url = "jsno://127.0.0.1:8080/hook"'),
            'subscription 1 ("anna"): url is not a URL Apprise can use: jsno://127.0.0.1:8080/****',
            id="url-apprise-cannot-parse",
        ),
    ],
)
def test_broken_watchlist_names_file_entry_and_field(
    tmp_path: Path, change: tuple[str, str], message: str
) -> None:
    old, new = change
    assert old in GOOD
    with pytest.raises(ConfigError) as error:
        load_watchlist(write(tmp_path, GOOD.replace(old, new, 1)))
    assert message in str(error.value)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        pytest.param(
            ('price = ".price::text"', 'price = "div[[["'),
            "acme.toml: offer: price is not a valid selector",
            id="css",
        ),
        pytest.param(
            ('price = ".price::text"', 'price = "xpath://div[@"'),
            "acme.toml: offer: price is not a valid selector",
            id="xpath",
        ),
        pytest.param(
            ('price = ".price::text"', 'prize = ".price"'),
            "acme.toml: offer: unknown key 'prize'",
            id="unknown-key",
        ),
        pytest.param(
            ('slug = "acme"', 'slug = "acme"\nrender = "magic"'), "render must be one of", id="render"
        ),
        pytest.param(
            ('price = ".price::text"', 'price = ".p"\n[offer.availability_map]\n"(épuisé" = "out_of_stock"'),
            "is not a valid regular expression",
            id="bad-regex",
        ),
        pytest.param(
            ('price = ".price::text"', 'price = ".p"\n[offer.availability_map]\n"épuisé" = "gone"'),
            "must map to one of in_stock",
            id="bad-state",
        ),
        pytest.param(
            (
                'price = ".price::text"',
                'price = ".p"\n[browser]\nwait_for = "p.stock:contains(\'En stock\')"',
            ),
            "acme.toml: browser: wait_for uses parsel's :contains(), which the browser does not know (use wait_text)",
            id="parsel-only-selector-in-the-page",
        ),
        # a top-level JSON array has one form, list_path = "$"; these passed and then read nothing (issue 20)
        *[
            pytest.param(
                ('price = ".price::text"', f'price = ".p"\n[stores]\nlist_path = "{path}"'),
                f"acme.toml: stores: list_path {message}",
                id=f"list-path-{path}",
            )
            for path, message in (
                ("0", 'names one entry, not a list: write "$" when the answer itself is the list'),
                ("$.0", 'names one entry, not a list: write "$"'),
                ("[]", "must be a dotted path without [] or *"),
                ("[*]", "must be a dotted path without [] or *"),
                ("*", "must be a dotted path without [] or *"),
                ("", 'must be a dotted path such as "data.stores", or "$" for the top level of the answer'),
            )
        ],
    ],
)
def test_broken_profile_names_file_and_key(tmp_path: Path, change: tuple[str, str], message: str) -> None:
    old, new = change
    profile = tmp_path / "acme.toml"
    profile.write_text(PROFILE.replace(old, new, 1))
    with pytest.raises(ConfigError) as error:
        load_profile(str(profile))
    assert message in str(error.value)


# Malformed subscription URLs that once echoed the password in the error (issue 19, item 6)
SECRET_URL_SHAPES = {
    "a list with a number": '[[subscriptions]]\nurl = ["json://user:hunter2@127.0.0.1/hook", 3]\n',
    "a table": '[[subscriptions]]\nurl = {target = "json://user:hunter2@127.0.0.1/hook"}\n',
    "a nested list": '[[subscriptions]]\nurl = [["json://user:hunter2@127.0.0.1/hook"]]\n',
    "urls with an empty string": '[[subscriptions]]\nurls = ["discord://4711/hunter2", ""]\n',
    "a token in the query": '[[subscriptions]]\nurl = ["https://127.0.0.1/hook?apikey=hunter2", false]\n',
    "an https URL Apprise cannot use": '[[subscriptions]]\nurl = "https://user:hunter2@127.0.0.1/h?key=hunter2"\n',
    "a TSA URL with a key": '[settings]\ntsa_url = "ftp://tsa:hunter2@127.0.0.1/tsr"\n',
    # Telegram puts the bot token where a host goes; this one is too short for Apprise
    "a token in the host Apprise cannot use": '[[subscriptions]]\nurl = "tgram://hunter2/"\n',
}


@pytest.mark.parametrize("shape", SECRET_URL_SHAPES.values(), ids=SECRET_URL_SHAPES.keys())
def test_config_errors_mask_the_urls_they_quote(shape: str) -> None:
    data = tomllib.loads(shape + '[[retailers]]\nslug = "demo-shop"\nbase_url = "http://127.0.0.1:9"\n')
    with pytest.raises(ConfigError) as raised:
        parse_watchlist(data, "watchlist.toml")
    assert "hunter2" not in str(raised.value)
    assert "127.0.0.1" in str(raised.value) or "://****" in str(raised.value)  # which target is meant


def test_sweep_defaults_to_whether_the_profile_has_promotions_pages(tmp_path: Path) -> None:
    assert load_watchlist(write(tmp_path, GOOD)).retailers[0].sweep is False  # PROFILE has no [promotions]
    with_pages = PROFILE + '[promotions]\nurls = ["/promotions"]\nitem = ".promo"\n'
    assert load_watchlist(write(tmp_path, GOOD, with_pages)).retailers[0].sweep is True


def test_check_config_warns_of_a_subscription_url_no_retailer_watches(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = GOOD.replace(
        'events = ["restock"]',
        'events = ["restock"]\nproducts = ["http://127.0.0.1:9/p/1", "https://shop.example/p/2"]',
    )
    assert main(["check-config", "-w", str(write(tmp_path, text)), "--data-dir", str(tmp_path / "none")]) == 0
    err = capsys.readouterr().err
    assert (
        'warning: watchlist.toml: subscription 1 ("anna"): products: https://shop.example/p/2 is on no '
        "watched retailer's host (127.0.0.1:9)"
    ) in err
    assert "/p/1" not in err  # on the watched retailer's host
