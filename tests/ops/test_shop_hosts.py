"""The shop-hosts policy (promowatch/crawl/shop_hosts.py): which addresses are internal, and where a shop's redirect may
lead. Pure: nothing here is contacted. Names are resolved through a table that stands in for DNS, so the rule that
every address of a name is checked is tested without a network.

Sources: the cloud metadata addresses are AWS's and GCP's documented ones (169.254.169.254, fd00:ec2::254); the
special ranges are IANA's special-purpose registries (RFC 6890) and RFC 6761 for ``localhost``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from promowatch.config import ConfigError, parse_profile
from promowatch.crawl.shop_hosts import ShopHosts, internal_address, refusal


@pytest.mark.parametrize(
    ("address", "internal"),
    [
        pytest.param("127.0.0.1", True, id="loopback"),
        pytest.param("127.8.9.10", True, id="loopback-range"),
        pytest.param("::1", True, id="ipv6-loopback"),
        pytest.param("169.254.169.254", True, id="cloud-metadata"),
        pytest.param("fd00:ec2::254", True, id="aws-ipv6-metadata"),
        pytest.param("fe80::1%eth0", True, id="ipv6-link-local-with-zone"),
        pytest.param("10.1.2.3", True, id="private-10"),
        pytest.param("172.16.5.4", True, id="private-172"),
        pytest.param("192.168.1.1", True, id="private-192"),
        pytest.param("100.64.0.1", True, id="shared-cgnat"),
        pytest.param("0.0.0.0", True, id="unspecified"),
        pytest.param("224.0.0.1", True, id="multicast"),
        pytest.param("240.0.0.1", True, id="reserved"),
        pytest.param("255.255.255.255", True, id="broadcast"),
        pytest.param("::ffff:127.0.0.1", True, id="ipv4-mapped-loopback"),
        pytest.param("::ffff:169.254.169.254", True, id="ipv4-mapped-metadata"),
        pytest.param("2002:a9fe:a9fe::1", True, id="6to4-of-metadata"),
        pytest.param("64:ff9b::a9fe:a9fe", True, id="nat64-of-metadata"),
        pytest.param("151.101.1.1", False, id="public-ipv4"),
        pytest.param("2606:4700:4700::1111", False, id="public-ipv6"),
        pytest.param("::ffff:151.101.1.1", False, id="ipv4-mapped-public"),
    ],
)
def test_internal_addresses(address: str, internal: bool) -> None:
    assert internal_address(address) is internal


LOCAL_SHOP = ShopHosts.of("http://127.0.0.1:8000", ["127.0.0.1:8001", "media.shop.example"])
PUBLIC_SHOP = ShopHosts.of("https://shop.example.ch")
DNS = {
    "www.shop.example.ch": ["151.101.1.1", "2606:4700:4700::1111"],
    "admin.shop.example.ch": ["10.0.0.5"],  # a name of the shop's own domain pointing inside
    "mixed.shop.example.ch": ["151.101.1.1", "127.0.0.1"],  # one public address is not enough
    "meta.shop.example.ch": ["169.254.169.254"],
}


async def table_resolver(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise OSError(f"{host}: name or service not known")
    return DNS[host]


@pytest.mark.parametrize(
    ("shop", "url", "reason"),
    [
        pytest.param(LOCAL_SHOP, "http://127.0.0.1:8000/p/2", None, id="same-host-and-port"),
        pytest.param(LOCAL_SHOP, "http://127.0.0.1:8001/p/2", None, id="profile-allowed-host-port"),
        pytest.param(
            LOCAL_SHOP, "https://media.shop.example/p/2", None, id="profile-allowed-host-default-port"
        ),
        pytest.param(
            LOCAL_SHOP,
            "http://media.shop.example:8080/",
            "refused: redirect to another site (media.shop.example:8080)",
            id="profile-allowed-host-other-port",
        ),
        pytest.param(
            LOCAL_SHOP,
            "http://127.0.0.1:9999/secret-admin",
            "refused: redirect to an internal address (127.0.0.1:9999)",
            id="other-loopback-port",
        ),
        pytest.param(
            LOCAL_SHOP,
            "http://localhost:8000/secret-admin",
            "refused: redirect to an internal address (localhost:8000)",
            id="localhost-is-not-the-shop-address",
        ),
        pytest.param(
            LOCAL_SHOP,
            "http://admin.localhost/",
            "refused: redirect to an internal address (admin.localhost)",
            id="rfc6761-localhost-subdomain",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "http://169.254.169.254/latest/meta-data/",
            "refused: redirect to an internal address (169.254.169.254)",
            id="cloud-metadata",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "http://[::ffff:10.0.0.1]/",
            "refused: redirect to an internal address (::ffff:10.0.0.1)",
            id="ipv6-literal-of-private",
        ),
        pytest.param(PUBLIC_SHOP, "https://www.shop.example.ch/p/1", None, id="same-site-public-name"),
        pytest.param(
            PUBLIC_SHOP,
            "https://admin.shop.example.ch/",
            "refused: redirect to an internal address (admin.shop.example.ch)",
            id="dns-name-of-the-shop-pointing-inside",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "https://mixed.shop.example.ch/",
            "refused: redirect to an internal address (mixed.shop.example.ch)",
            id="one-internal-address-among-public",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "http://meta.shop.example.ch:8080/",
            "refused: redirect to an internal address (meta.shop.example.ch:8080)",
            id="dns-name-of-the-metadata-service",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "https://gone.shop.example.ch/",
            "refused: redirect to a host that does not resolve (gone.shop.example.ch)",
            id="unresolvable-name",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "https://evil.example.com/p/1",
            "refused: redirect to another site (evil.example.com)",
            id="another-registrable-domain",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "https://151.101.1.1/p/1",
            "refused: redirect to another site (151.101.1.1)",
            id="public-address-literal",
        ),
        pytest.param(
            PUBLIC_SHOP,
            "file:///etc/passwd",
            "refused: redirect to a non-web address (file)",
            id="non-web-scheme",
        ),
    ],
)
def test_where_a_redirect_may_lead(shop: ShopHosts, url: str, reason: str | None) -> None:
    assert asyncio.run(refusal(url, shop, "redirect", table_resolver)) == reason


def test_names_of_other_sites_are_refused_without_a_lookup() -> None:
    asked: list[str] = []

    async def recording(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["151.101.1.1"]

    assert asyncio.run(refusal("https://evil.example.com/", PUBLIC_SHOP, "redirect", recording)) is not None
    assert asked == []  # a shop cannot make the crawler look names of its choosing up


@pytest.mark.parametrize(
    ("value", "message"),
    [
        pytest.param(["http://www.shop.ch"], "must list host names or host:port", id="url-not-host"),
        pytest.param(["www.shop.ch/p"], "must list host names or host:port", id="path"),
        pytest.param(["www.shop.ch:port"], "must list host names or host:port", id="port-not-a-number"),
        pytest.param([3], "must be a list of strings", id="not-a-string"),
    ],
)
def test_profile_allowed_hosts_are_checked(value: object, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_profile({"slug": "x", "allowed_hosts": value}, "sites/x.toml", Path("sites/x.toml"))
    assert str(error.value).startswith("sites/x.toml: allowed_hosts ")
    assert message in str(error.value)


def test_profile_allowed_hosts_are_read() -> None:
    profile = parse_profile({"slug": "x", "allowed_hosts": ["WWW.Shop.ch", "127.0.0.1:8001"]}, "sites/x.toml")
    assert profile.allowed_hosts == ("www.shop.ch", "127.0.0.1:8001")
