"""Requests that leave the shop: a shop's redirect, meta refresh or link may lead only to the shop's own hosts.

A retailer controls every byte promowatch reads, including where its redirects point. Followed blindly, a 302 or a
meta refresh to ``http://localhost:8080/admin`` or ``http://169.254.169.254/`` (a cloud's metadata service) makes
the crawler fetch an internal page and file it as the shop's evidence. So a redirected request is allowed to:

- the shop's own hosts: its base URL's host and port, the profile's ``allowed_hosts`` and the hosts of the URLs
  the operator listed for it, whatever their address (tests and the demo run shops on 127.0.0.1);
- another host of the shop's registrable domain (``www.shop.ch`` for ``shop.ch``) whose every address is public.

Anything else is refused before a connection is made (:class:`ShopHostsMiddleware` raises in ``process_request``),
and the page's observation is ``unknown`` with the reason. Host names are resolved and each address checked, so
a DNS name cannot smuggle an internal address past the check. robots.txt is fetched only for the shop hosts of
the watched retailers.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Self
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest

from promowatch.config import WatchedRetailer, Watchlist
from promowatch.db.queries import absolute, watched_urls
from promowatch.urls import site_of

REFUSED = "refused"
DEFAULT_PORTS = {"http": 80, "https": 443}
# NAT64's well-known prefix (RFC 6052) carries an IPv4 address in its last 32 bits
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

Resolver = Callable[[str, int], Awaitable[list[str]]]


class LeftTheShop(IgnoreRequest):
    """A request refused because it leads away from the shop; its message is the observation's reason."""


def internal_address(address: str) -> bool:
    """True for an address a shop must not send the crawler to: loopback, link-local (cloud metadata), private,
    shared, reserved, multicast or unspecified, also when written inside an IPv6 address.

    >>> internal_address("169.254.169.254"), internal_address("::ffff:127.0.0.1"), internal_address("1.1.1.1")
    (True, True, False)
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # an IPv6 zone ("fe80::1%eth0") names no other host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:  # the IPv4 host itself, written as IPv6
            return internal_address(str(ip.ipv4_mapped))
        embedded = ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None and internal_address(str(embedded)):
            return True
    return not ip.is_global or ip.is_multicast or ip.is_reserved or ip.is_unspecified


def _host_port(netloc_or_url: str) -> tuple[str, int | None]:
    parts = urlsplit(netloc_or_url if "//" in netloc_or_url else "//" + netloc_or_url)
    return (parts.hostname or "").rstrip(".").lower(), parts.port


@dataclass(frozen=True)
class ShopHosts:
    """Where one retailer's requests may go: ``own`` (host, port) pairs trusted whatever their address, and the
    registrable domains (``sites``) whose public hosts are the shop's too."""

    own: frozenset[tuple[str, int]]
    sites: frozenset[str]

    @classmethod
    def of(cls, base_url: str, allowed_hosts: Iterable[str] = (), listed: Iterable[str] = ()) -> ShopHosts:
        """The shop at ``base_url`` with its profile's ``allowed_hosts`` and the hosts of the URLs the operator
        ``listed`` for it (watchlist products, the profile's promotions pages and store API)."""
        own = {_origin(url) for url in (base_url, *listed)}
        for entry in allowed_hosts:
            name, given = _host_port(entry)
            own |= {(name, given)} if given else {(name, 80), (name, 443)}
        return cls(frozenset(own), frozenset(s for s in [site_of(base_url)] if s))

    @classmethod
    def of_retailer(cls, retailer: WatchedRetailer, watchlist: Watchlist) -> ShopHosts:
        profile = retailer.profile
        listed = [
            *watched_urls(retailer),
            *(p.product_url for p in watchlist.promotions if p.retailer == retailer.slug),
            *(absolute(retailer, url) for url in profile.promotions.urls),
            *(absolute(retailer, url) for url in (profile.stores.list_url, profile.stores.stock_url) if url),
        ]
        return cls.of(retailer.base_url, profile.allowed_hosts, listed)


def _origin(url: str) -> tuple[str, int]:
    host, port = _host_port(url)
    return host, port or DEFAULT_PORTS.get(urlsplit(url).scheme.lower(), 80)


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address the system resolver gives for ``host`` (in a thread: the reactor goes on meanwhile)."""
    found = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in found]


async def refusal(
    url: str, shop: ShopHosts, what: str = "redirect", resolve: Resolver = system_resolver
) -> str | None:
    """Why a request for ``url`` leaves the shop (``what``: the kind of request, for the reason), or None when
    it stays with the shop."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        return f"{REFUSED}: {what} to a non-web address ({scheme or 'no scheme'})"
    host, port = _host_port(url)
    where = f"{host}:{port}" if port else host
    port = port or DEFAULT_PORTS[scheme]
    if (host, port) in shop.own:
        return None
    internal = f"{REFUSED}: {what} to an internal address ({where})"
    try:
        if internal_address(host.strip("[]")):
            return internal
        return (
            f"{REFUSED}: {what} to another site ({where})"  # a public address is no host of the shop's domain
        )
    except ValueError:
        pass  # a name, not an address
    if host == "localhost" or host.endswith(".localhost"):  # RFC 6761: always loopback, whatever DNS says
        return internal
    if site_of(url) not in shop.sites:
        return f"{REFUSED}: {what} to another site ({where})"
    try:
        addresses = await resolve(host, port)
    except OSError:
        return f"{REFUSED}: {what} to a host that does not resolve ({where})"
    if not addresses or any(internal_address(a) for a in addresses):
        return internal
    return None


class ShopHostsMiddleware:
    """Refuses a request of a retailer that leaves its shop (a redirect, which Scrapy's redirect and meta-refresh
    middlewares mark with ``redirect_urls``, or a link from a promotion card or a next-page link), and robots.txt
    on any host that no watched retailer owns, before a connection is made: it runs before the offsite and
    robots.txt middlewares."""

    def __init__(self, crawler: Crawler, resolve: Resolver = system_resolver) -> None:
        self.crawler = crawler
        self._resolve = resolve
        self._resolved: dict[tuple[str, int], list[str]] = {}
        self._shops: dict[str, ShopHosts] | None = None

    async def resolve(self, host: str, port: int) -> list[str]:
        """The addresses of a host of the shop's domain, looked up once per run: every link to it would ask
        again (Scrapy caches its own lookups for the connection the same way)."""
        if (host, port) not in self._resolved:
            self._resolved[host, port] = await self._resolve(host, port)
        return self._resolved[host, port]

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def shops(self) -> dict[str, ShopHosts]:
        # the spider's run configuration, read once: the watchlist is parsed once per run
        if self._shops is None:
            config = getattr(self.crawler.spider, "config", None)
            watchlist = config.watchlist if config is not None else None
            self._shops = (
                {r.slug: ShopHosts.of_retailer(r, watchlist) for r in watchlist.retailers}
                if watchlist
                else {}
            )
        return self._shops

    async def process_request(self, request: Request) -> None:
        retailer = request.meta.get("retailer", "")
        if "redirect_urls" in request.meta:
            # a fetch for no watched retailer (``promowatch check URL``): the shop is the first URL's
            shop = self.shops().get(retailer) or ShopHosts.of(request.meta["redirect_urls"][0])
            await self.refuse(request, [shop], "redirect")
        elif request.meta.get("dont_obey_robotstxt") and urlsplit(request.url).path == "/robots.txt":
            await self.refuse(request, list(self.shops().values()), "robots.txt request")
        elif retailer in self.shops():
            # a link the shop's own pages gave (a promotion card, a next page) is no more trusted than a redirect
            await self.refuse(request, [self.shops()[retailer]], "link")

    async def refuse(self, request: Request, shops: list[ShopHosts], what: str) -> None:
        """Raise :class:`LeftTheShop` unless ``request`` stays with one of ``shops``."""
        reason = None
        for shop in shops:
            reason = await refusal(request.url, shop, what, self.resolve)
            if reason is None:
                return
        if reason is None:
            return  # no watched retailer: a crawl without a watchlist (``promowatch check``) goes anywhere
        if self.crawler.stats is not None:
            retailer = request.meta.get("retailer")
            self.crawler.stats.inc_value(
                f"promowatch/{retailer}/refused" if retailer else "promowatch/refused"
            )
        raise LeftTheShop(reason)
