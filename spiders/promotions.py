"""Ad pages (the shop's promotions) -> ad sightings and promotions."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urljoin

from parsel import Selector
from scrapy import Request
from scrapy.http import Response

from promowatch.db.queries import absolute
from promowatch.extract.promotions import first_text, parse_promotions
from promowatch.items import AdItem
from spiders.base import WatchSpider, capture


class PromotionsSpider(WatchSpider):
    name = "promotions"
    # a broken "next page" link must not loop forever
    max_pages = 50

    async def start(self) -> AsyncIterator[Request]:
        for retailer in self.config.retailers:
            if not retailer.sweep:
                continue
            for url in retailer.profile.promotions.urls:
                yield self.request(
                    retailer,
                    absolute(retailer, url),
                    callback=self.parse_ads,
                    errback=self.skipped,
                    meta={"page": 1},
                )

    def parse_ads(self, response: Response) -> Iterator[AdItem | Request]:
        request = response.request
        assert request is not None
        self.seen(response)
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        selectors = retailer.profile.promotions
        now = self.config.clock.now()
        yield AdItem(
            retailer=retailer.slug,
            source_url=response.url,
            observed_at=now,
            promotions=parse_promotions(
                response.body,
                response.url,
                selectors,
                retailer.profile.currency,
                retailer.profile.tracking_params,
                seen_at=now,
            ),
            capture=capture(response),
        )
        following = first_text(Selector(text=response.text), selectors.next_page)
        if following and request.meta["page"] < self.max_pages:
            yield self.request(
                retailer,
                urljoin(response.url, following),
                callback=self.parse_ads,
                meta={"page": request.meta["page"] + 1},
            )
