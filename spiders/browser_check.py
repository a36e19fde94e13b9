"""One product page read in Chromium for ``promowatch check URL --browser`` (or a profile's ``render``): no
watchlist, no storage; the same reading as a crawl's browser fetch (spiders.offers), HTTP first for "auto"."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure

from promowatch.config import BrowserOptions, SiteProfile
from promowatch.crawl.browser import close_page, page_meta, read_page, rendered_reading
from promowatch.domain import Availability, Offer
from promowatch.extract import extract_offer
from spiders.base import failure_reason
from spiders.offers import moved_elsewhere, page_bytes, unknown_offer, without_product


class BrowserCheckSpider(Spider):
    """Reads ``url`` as ``render`` says ("browser", or "auto": over HTTP, in the browser when that is unknown)
    and appends the :class:`Offer` to ``results``."""

    name = "check-browser"

    def __init__(
        self,
        url: str = "",
        profile: SiteProfile | None = None,
        render: str = "browser",
        results: list[Offer] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.profile = profile
        self.render = render
        self.results: list[Offer] = results if results is not None else []
        # a check shows its reading: no screenshot to keep, so none is taken
        options = profile.browser if profile is not None else BrowserOptions()
        self.options = replace(options, screenshot=False)

    async def start(self) -> AsyncIterator[Request]:
        if self.render == "auto":
            yield Request(self.url, callback=self.parse_http, errback=self.failed, dont_filter=True)
        else:
            yield self.browser_request()

    def browser_request(self) -> Request:
        language = self.profile.language if self.profile is not None else None
        return Request(
            self.url,
            callback=self.parse_rendered,
            errback=self.failed,
            dont_filter=True,
            meta=page_meta("check", self.options, language),
        )

    async def parse_http(self, response: Response) -> AsyncIterator[Request]:
        offer = self.read(page_bytes(response), response.url)
        if offer.availability is Availability.UNKNOWN and not moved_elsewhere(self.url, response.url):
            yield self.browser_request()
            return
        self.results.append(offer)

    async def parse_rendered(self, response: Response) -> None:
        assert response.request is not None
        try:
            rendered = await read_page(response.request.meta["playwright_page"], response.request)
        finally:
            await close_page(response.request.meta)
        sent = self.read(page_bytes(response), response.url)
        self.results.append(rendered_reading(sent, self.read(rendered.html, response.url), rendered))

    def read(self, body: bytes, url: str) -> Offer:
        """The offer as the crawl reads it (spiders.offers.OffersSpider.read)."""
        if moved_elsewhere(self.url, url):
            return unknown_offer(self.url, f"redirected to another page: {url}", url)
        try:
            return without_product(extract_offer(body, url, self.profile))
        except Exception as error:  # a page the extraction cannot read is unknown, as in the crawl
            reason = f"the page could not be read: {type(error).__name__}: {error}"
            return unknown_offer(self.url, reason, type(error).__name__)

    async def failed(self, failure: Failure) -> None:
        await close_page(failure.request.meta)  # type: ignore[attr-defined]
        reason, _ = failure_reason(failure)
        self.results.append(unknown_offer(self.url, reason, reason))


def fetch_rendered_offer(url: str, profile: SiteProfile | None, render: str = "browser") -> Offer:
    """``promowatch check --browser``: one page read in Chromium (``render`` "auto": HTTP first)."""
    from promowatch.crawl.runner import run_crawl_of

    results: list[Offer] = []
    run_crawl_of(BrowserCheckSpider, url=url, profile=profile, render=render, results=results)
    if not results:
        return unknown_offer(url, "nothing fetched (robots.txt may forbid it)", "no response")
    return results[0]
