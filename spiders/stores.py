"""Store APIs -> the store list and store observations of each watched product."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from promowatch.config import WatchedRetailer
from promowatch.db.queries import absolute, due_products
from promowatch.extract.stores import StoreDataError, parse_store_list, parse_store_stock
from promowatch.items import StoreListItem, StoreStockItem
from spiders.base import WatchSpider, capture, taking_turns


class StoresSpider(WatchSpider):
    name = "stores"

    async def start(self) -> AsyncIterator[Request]:
        now = self.config.clock.now()
        requests = []
        for retailer in self.config.retailers:
            products = []
            if retailer.profile.stores.stock_url:
                with self.sessions() as session:
                    products = [(p.url, p.sku, p.gtin) for p in due_products(session, retailer, now)]
            requests.append(self.retailer_requests(retailer, products))
        for request in taking_turns(requests):
            yield request

    def retailer_requests(
        self, retailer: WatchedRetailer, products: list[tuple[str, str | None, str | None]]
    ) -> Iterator[Request]:
        """The retailer's store list, then the stock of each due product, each request made when it is taken."""
        api = retailer.profile.stores
        if api.list_url:
            yield self.request(
                retailer, absolute(retailer, api.list_url), callback=self.parse_list, errback=self.skipped
            )
        if not api.stock_url:
            return
        for url, sku, gtin in products:
            if sku is None and "{sku}" in api.stock_url:
                continue  # not read online yet: the offers spider learns the SKU first
            if gtin is None and "{gtin}" in api.stock_url:
                continue
            # the values go into a URL: a SKU like "12/34" or "A B" must not change its shape
            stock_url = api.stock_url.format(
                sku=quote(str(sku), safe=""),
                gtin=quote(str(gtin), safe=""),
                product_url=quote(url, safe=""),
            )
            yield self.request(
                retailer,
                absolute(retailer, stock_url),
                callback=self.parse_stock,
                errback=self.failed,
                meta={"product_url": url},
            )

    def parse_list(self, response: Response) -> Iterator[StoreListItem]:
        request = response.request
        assert request is not None
        self.seen(response)
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        try:
            stores = parse_store_list(response.body, retailer.profile.stores)
        except StoreDataError as error:
            self.logger.warning("%s: store list unreadable: %s", retailer.slug, error)
            return
        yield StoreListItem(retailer.slug, self.config.clock.now(), stores, capture(response))

    def parse_stock(self, response: Response) -> Iterator[StoreStockItem]:
        request = response.request
        assert request is not None
        self.seen(response)
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        # the run's health check weighs answers that came back and did not read against those that did;
        # a stock request that failed (HTTP error, timeout) is counted apart, by failed()
        self.count(retailer.slug, "stock_answers")
        reason = None
        try:
            stocks = parse_store_stock(response.body, retailer.profile.stores)
        except StoreDataError as error:
            stocks, reason = [], f"store stock unreadable: {error}"
            self.count(retailer.slug, "store_unreadable")
        if retailer.stores:
            stocks = [s for s in stocks if s.store_id in retailer.stores]
        yield StoreStockItem(
            retailer=retailer.slug,
            product_url=request.meta["product_url"],
            observed_at=self.config.clock.now(),
            stocks=stocks,
            capture=capture(response),
            reason=reason,
        )

    def failed(self, failure: Failure) -> Iterator[StoreStockItem]:
        request = failure.request  # type: ignore[attr-defined]
        reason, response = self.lost(failure)
        # unknown, not unreadable: a product the store system does not know (404) or a one-off timeout
        self.count(request.meta["retailer"], "stock_failed")
        yield StoreStockItem(
            retailer=request.meta["retailer"],
            product_url=request.meta["product_url"],
            observed_at=self.config.clock.now(),
            stocks=[],
            capture=capture(response) if response is not None else None,
            reason=reason,
        )
