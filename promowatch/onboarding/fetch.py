"""The fetching edge of ``promowatch profile test``: which pages to ask for, one at a time, on the retailer's host.

:class:`PreviewPlan` decides the next request from the answers so far (the promotions pages and their next
pages, then a few product pages, then the store list and one stock answer); :func:`fetch_preview` runs it as one
small Scrapy crawl with the project's politeness (robots.txt, the honest User-Agent, one request at a time).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from promowatch.config import WatchedRetailer
from promowatch.crawl.shop_hosts import DEFAULT_PORTS, ShopHosts
from promowatch.db.queries import absolute, watched_urls
from promowatch.extract import extract_offer
from promowatch.onboarding.preview import Page, check_promotions, next_page_url, promoted_products, stock_url


def shop_hosts(retailer: WatchedRetailer) -> ShopHosts:
    """The retailer's own hosts as the crawl trusts them: its base URL's, the profile's ``allowed_hosts`` and
    those of the URLs the operator listed (watched products, promotions pages, store list and stock API)."""
    profile = retailer.profile
    listed = [
        *watched_urls(retailer),
        *(absolute(retailer, url) for url in profile.promotions.urls),
        *(absolute(retailer, url) for url in (profile.stores.list_url, profile.stores.stock_url) if url),
    ]
    return ShopHosts.of(retailer.base_url, profile.allowed_hosts, listed)


def on_shop_hosts(url: str, shop: ShopHosts) -> bool:
    """True when ``url`` is on one of the shop's own hosts (scheme-default port when none is written). Another
    public host of the shop's domain, which the crawl accepts after resolving it, is not fetched here: the
    preview asks for what the profile names."""
    parts = urlsplit(url)
    try:
        port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
    except ValueError:  # a port that is no number
        return False
    host = (parts.hostname or "").rstrip(".").lower()
    return port is not None and (host, port) in shop.own


PROMOTION_PAGES = 3  # the first page and two next pages: enough to see that next_page leads somewhere
PRODUCT_PAGES = 3


@dataclass
class PreviewPlan:
    """What to fetch next, given what came back. Pages off the retailer's host are never asked for."""

    retailer: WatchedRetailer
    promotions: list[Page] = field(default_factory=list)
    products: list[Page] = field(default_factory=list)
    store_list: Page | None = None
    stock: Page | None = None
    offsite: list[str] = field(default_factory=list)
    _queue: list[tuple[str, str]] = field(default_factory=list)
    _stage: int = 0

    def __post_init__(self) -> None:
        if self.retailer.profile.promotions.urls:
            first = self.retailer.profile.promotions.urls[0]
            self._queue.append(("promotions", absolute(self.retailer, first)))

    def _on_host(self, url: str) -> bool:
        if on_shop_hosts(url, shop_hosts(self.retailer)):
            return True
        self.offsite.append(url)
        return False

    def record(self, kind: str, page: Page) -> None:
        """Keep an answer and queue what it leads to."""
        if kind == "promotions":
            self.promotions.append(page)
            following = next_page_url(page, self.retailer.profile)
            seen = {p.url for p in self.promotions}
            if following and following not in seen and len(self.promotions) < PROMOTION_PAGES:
                self._queue.append(("promotions", following))
        elif kind == "product":
            self.products.append(page)
        elif kind == "stores":
            self.store_list = page
        elif kind == "stock":
            self.stock = page

    def next_request(self) -> tuple[str, str] | None:
        """The next (kind, url) to fetch, or None when done."""
        while not self._queue and self._stage < 3:
            self._stage += 1
            if self._stage == 1:
                watched = [absolute(self.retailer, url) for url in self.retailer.products]
                if self.retailer.canary:
                    watched.append(absolute(self.retailer, self.retailer.canary))
                promoted = promoted_products(check_promotions(self.promotions, self.retailer.profile), 2)
                chosen = list(dict.fromkeys(watched[:1] + promoted + watched[1:]))[:PRODUCT_PAGES]
                self._queue += [("product", url) for url in chosen]
            elif self._stage == 2 and self.retailer.profile.stores.list_url:
                self._queue.append(("stores", absolute(self.retailer, self.retailer.profile.stores.list_url)))
            elif self._stage == 3:
                url = self._stock_url()
                if url:
                    self._queue.append(("stock", absolute(self.retailer, url)))
        while self._queue:
            kind, url = self._queue.pop(0)
            if self._on_host(url):
                return kind, url
        return None

    def _stock_url(self) -> str | None:
        api = self.retailer.profile.stores
        for page in self.products:
            if page.status != 200:
                continue
            offer = extract_offer(page.body, page.url, self.retailer.profile)
            url = stock_url(api, page.url, offer.sku, offer.gtin)
            if url:
                return url
        return None


def fetch_preview(plan: PreviewPlan) -> PreviewPlan:
    """Run the plan as one crawl (one request at a time), filling it with the answers."""
    from promowatch.crawl.runner import run_crawl_of
    from spiders.preview import PreviewSpider

    run_crawl_of(PreviewSpider, plan=plan)
    return plan
