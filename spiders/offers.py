"""Product pages -> offer observations (price, reference price, availability, orderable) with their signals."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from promowatch.db.queries import due_products
from promowatch.domain import Availability, Offer, Signal, SignalSource
from promowatch.extract import extract_offer
from promowatch.items import OfferItem
from spiders.base import WatchSpider, capture


def moved_elsewhere(requested: str, final: str) -> bool:
    """True when a redirect landed on another page (not just another scheme, host alias or trailing slash)."""
    return urlsplit(requested).path.rstrip("/") != urlsplit(final).path.rstrip("/")


def unknown_offer(url: str, reason: str, raw: str) -> Offer:
    """What a look that could not read the page stores: unknown, with the reason, never out of stock."""
    return Offer(
        url=url,
        availability=Availability.UNKNOWN,
        reason=reason,
        signals=(Signal("availability", SignalSource.HTTP, raw, Availability.UNKNOWN.value),),
    )


class OffersSpider(WatchSpider):
    name = "offers"

    async def start(self) -> AsyncIterator[Request]:
        now = self.config.clock.now()
        for retailer in self.config.retailers:
            with self.sessions() as session:
                urls = [p.url for p in due_products(session, retailer, now)]
            for url in urls:
                yield self.request(
                    retailer, url, callback=self.parse_offer, errback=self.failed, meta={"product_url": url}
                )

    def parse_offer(self, response: Response) -> Iterator[OfferItem]:
        request = response.request
        assert request is not None
        self.seen(response)
        product_url = request.meta["product_url"]
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        if moved_elsewhere(product_url, response.url):
            offer = unknown_offer(product_url, f"redirected to another page: {response.url}", response.url)
        else:
            offer = extract_offer(response.body, response.url, retailer.profile)
        yield OfferItem(
            retailer=retailer.slug,
            product_url=product_url,
            observed_at=self.config.clock.now(),
            offer=offer,
            render="http",
            capture=capture(response),
            vantage=self.vantage(request),
        )

    def failed(self, failure: Failure) -> Iterator[OfferItem]:
        request = failure.request  # type: ignore[attr-defined]
        reason, response = self.lost(failure)
        product_url = request.meta["product_url"]
        yield OfferItem(
            retailer=request.meta["retailer"],
            product_url=product_url,
            observed_at=self.config.clock.now(),
            offer=unknown_offer(product_url, reason, reason),
            render="http",
            capture=capture(response) if response is not None else None,
            vantage=self.vantage(request),
        )
