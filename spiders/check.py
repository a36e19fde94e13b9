"""One product page, fetched for ``promowatch check URL``: no watchlist, no storage, the project's politeness."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure


class CheckSpider(Spider):
    name = "check"

    def __init__(self, url: str = "", results: list[Any] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.url = url
        self.results = results if results is not None else []

    async def start(self) -> AsyncIterator[Request]:
        yield Request(self.url, callback=self.parse, errback=self.failed, dont_filter=True)

    def parse(self, response: Response) -> Iterator[None]:
        self.results.append(response)
        return iter(())

    def failed(self, failure: Failure) -> Iterator[None]:
        self.results.append(failure)
        return iter(())
