"""Product identity by URL (issue 18, item 9): tracking parameters stripped, ``rel=canonical`` read and trusted on
the same site only. Links are shaped like those of Swiss and German shops' promotion cards and newsletters."""

from __future__ import annotations

from pathlib import Path

import pytest

from promowatch.config import ConfigError, parse_profile
from promowatch.extract.promotions import parse_promotions
from promowatch.urls import canonical_link, canonical_url, site_of, strip_tracking

SHOP = "https://www.shop.ch"


@pytest.mark.parametrize(
    ("url", "extra", "expected"),
    [
        pytest.param(f"{SHOP}/p/1", (), f"{SHOP}/p/1", id="no-query"),
        pytest.param(f"{SHOP}/p/1?src=wk48", (), f"{SHOP}/p/1", id="shop-src"),
        pytest.param(f"{SHOP}/p/1?ref=home-teaser", (), f"{SHOP}/p/1", id="ref"),
        pytest.param(
            f"{SHOP}/p/1?utm_source=newsletter&utm_medium=email&utm_campaign=black-friday",
            (),
            f"{SHOP}/p/1",
            id="utm-family",
        ),
        pytest.param(f"{SHOP}/p/1?UTM_Source=nl", (), f"{SHOP}/p/1", id="any-case"),
        pytest.param(f"{SHOP}/p/1?gclid=Cj0KCQiA&fbclid=IwAR3", (), f"{SHOP}/p/1", id="click-ids"),
        pytest.param(f"{SHOP}/p/1?mc_cid=7a1b&mc_eid=9f2e", (), f"{SHOP}/p/1", id="mailchimp"),
        pytest.param(
            f"{SHOP}/p/1?color=rot&src=wk48&size=XL", (), f"{SHOP}/p/1?color=rot&size=XL", id="keeps-variant"
        ),
        pytest.param(
            f"{SHOP}/suche?q=caf%C3%A9+cr%C3%A8me&utm_source=x",
            (),
            f"{SHOP}/suche?q=caf%C3%A9+cr%C3%A8me",
            id="keeps-encoding",
        ),
        pytest.param(f"{SHOP}/p/1?src=wk48#reviews", (), f"{SHOP}/p/1#reviews", id="keeps-fragment"),
        pytest.param(f"{SHOP}/p/1?source=wk48", (), f"{SHOP}/p/1?source=wk48", id="not-a-prefix-match"),
        pytest.param(f"{SHOP}/p/1?campaign=x&id=7", ("campaign",), f"{SHOP}/p/1?id=7", id="profile-name"),
        pytest.param(f"{SHOP}/p/1?trk_a=1&trk_b=2", ("trk_*",), f"{SHOP}/p/1", id="profile-prefix"),
        pytest.param(f"{SHOP}/p/1?campaign=x", (), f"{SHOP}/p/1?campaign=x", id="profile-names-only-there"),
        # review of issue 18: a shop whose "ref" names the product keeps it (two products were merged)
        pytest.param(
            f"{SHOP}/fiche.php?ref=CAF-499&utm_source=nl",
            ("!ref",),
            f"{SHOP}/fiche.php?ref=CAF-499",
            id="kept",
        ),
    ],
)
def test_strip_tracking(url: str, extra: tuple[str, ...], expected: str) -> None:
    assert strip_tracking(url, extra) == expected


@pytest.mark.parametrize(
    ("declared", "page", "expected"),
    [
        pytest.param(f"{SHOP}/p/1", f"{SHOP}/aktion/1?src=wk48", f"{SHOP}/p/1", id="absolute"),
        pytest.param("/p/1", f"{SHOP}/aktion/1", f"{SHOP}/p/1", id="relative"),
        pytest.param("https://shop.ch/p/1", f"{SHOP}/p/1", "https://shop.ch/p/1", id="same-site-without-www"),
        pytest.param(f"{SHOP}/p/1?utm_source=x", f"{SHOP}/p/1", f"{SHOP}/p/1", id="stripped-too"),
        pytest.param("https://www.other.ch/p/1", f"{SHOP}/p/1", None, id="another-site"),
        pytest.param("https://evil.co.uk/p/1", "https://shop.co.uk/p/1", None, id="another-site-under-co-uk"),
        pytest.param(
            "https://m.shop.co.uk/p/1", "https://shop.co.uk/p/1", "https://m.shop.co.uk/p/1", id="co-uk"
        ),
        pytest.param("http://127.0.0.1:9001/p/1", "http://127.0.0.1:9000/p/1", None, id="another-local-port"),
        pytest.param("javascript:void(0)", f"{SHOP}/p/1", None, id="not-http"),
        pytest.param(None, f"{SHOP}/p/1", None, id="none-declared"),
    ],
)
def test_canonical_url(declared: str | None, page: str, expected: str | None) -> None:
    assert canonical_url(declared, page) == expected


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        pytest.param(
            b'<link rel="canonical" href="https://www.shop.ch/p/1">', "https://www.shop.ch/p/1", id="plain"
        ),
        pytest.param(b"<LINK HREF='/p/1' REL='canonical' />", "/p/1", id="attributes-reversed"),
        pytest.param(b"<link rel=canonical href=/p/1>", "/p/1", id="unquoted"),
        pytest.param(b'<link rel="canonical" href="/p/1?a=1&amp;b=2">', "/p/1?a=1&b=2", id="entities"),
        pytest.param(
            b'<link rel="alternate" hreflang="fr" href="/fr/p/1"><link rel="canonical" href="/de/p/1">',
            "/de/p/1",
            id="after-alternates",
        ),
        pytest.param(b'<link rel="stylesheet" href="/a.css">', None, id="none"),
    ],
)
def test_canonical_link(head: bytes, expected: str | None) -> None:
    assert canonical_link(b"<html><head>" + head + b"</head><body></body></html>") == expected


def test_site_of() -> None:
    assert site_of("https://www.galaxus.ch/de/s1/product/1") == "galaxus.ch"
    assert site_of("https://www.argos.co.uk/product/1") == "argos.co.uk"
    assert site_of("http://127.0.0.1:8000/p/1") == "127.0.0.1:8000"


def test_promotion_cards_link_the_plain_product_url() -> None:
    profile = parse_profile(
        {
            "slug": "x",
            "tracking_params": ["aktion"],
            "promotions": {"item": ".promo", "link": "a::attr(href)", "price": ".price"},
        },
        "x",
    )
    page = b"""<div class="promo"><a href="/p/1?src=wk48&amp;aktion=bf">A</a><span class="price">CHF 9.90</span></div>
    <div class="promo"><a href="/p/2?utm_source=nl&amp;farbe=rot">B</a><span class="price">CHF 5.00</span></div>"""
    found = parse_promotions(page, f"{SHOP}/aktionen", profile.promotions, "CHF", profile.tracking_params)
    assert [p.product_url for p in found] == [f"{SHOP}/p/1", f"{SHOP}/p/2?farbe=rot"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(["a=b"], 'got "a=b"', id="assignment"),
        pytest.param(["utm source"], 'got "utm source"', id="space"),
        pytest.param([3], "must be a list of strings", id="not-a-string"),
    ],
)
def test_profile_tracking_params_are_checked(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_profile({"slug": "x", "tracking_params": value}, "sites/x.toml", Path("sites/x.toml"))
    assert str(error.value).startswith("sites/x.toml: tracking_params ")
    assert message in str(error.value)
