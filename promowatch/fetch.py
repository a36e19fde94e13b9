"""``promowatch check URL``: fetch one product page with the project's Scrapy settings and extract its offer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure

from promowatch.config import SiteProfile
from promowatch.domain import Offer


class _CheckSpider(Spider):
    name = "check"

    def __init__(self, url: str, results: list[Any], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.results = results

    async def start(self) -> AsyncIterator[Request]:
        yield Request(self.url, callback=self.parse, errback=self.failed, dont_filter=True)

    def parse(self, response: Response) -> Iterator[None]:
        self.results.append(response)
        return iter(())

    def failed(self, failure: Failure) -> Iterator[None]:
        self.results.append(failure)
        return iter(())


def fetch_offer(url: str, profile: SiteProfile | None) -> Offer:
    """One polite fetch (robots.txt, the honest User-Agent, retries) and the offer it shows."""
    from promowatch.crawl import run_crawl_of
    from promowatch.extract import extract_offer
    from spiders.base import failure_reason
    from spiders.offers import moved_elsewhere, unknown_offer

    results: list[Any] = []
    run_crawl_of(_CheckSpider, url=url, results=results)
    if not results:
        return unknown_offer(url, "nothing fetched (robots.txt may forbid it)", "no response")
    outcome = results[0]
    if isinstance(outcome, Failure):
        reason, _ = failure_reason(outcome)
        return unknown_offer(url, reason, reason)
    if moved_elsewhere(url, outcome.url):
        return unknown_offer(url, f"redirected to another page: {outcome.url}", outcome.url)
    return extract_offer(outcome.body, outcome.url, profile)
