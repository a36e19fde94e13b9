"""``promowatch profile test``: the pages a :class:`~promowatch.onboarding.fetch.PreviewPlan` asks for, one at a
time, with the project's politeness; no watchlist state, no storage."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

from scrapy import Request, Spider
from scrapy.http import Response
from twisted.python.failure import Failure

from promowatch.onboarding.fetch import PreviewPlan
from promowatch.onboarding.preview import Page
from spiders.base import failure_reason


class PreviewSpider(Spider):
    """One request at a time: the next is asked for only once the answer before it is in, which it depends on."""

    name = "preview"

    def __init__(self, plan: PreviewPlan | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        assert plan is not None
        self.plan = plan

    def _next(self) -> Iterator[Request]:
        following = self.plan.next_request()
        if following is not None:
            kind, url = following
            yield Request(
                url, callback=self.parse, errback=self.failed, dont_filter=True, meta={"kind": kind}
            )

    async def start(self) -> AsyncIterator[Request]:
        for request in self._next():
            yield request

    def parse(self, response: Response) -> Iterator[Request]:
        request = response.request
        assert request is not None
        self.plan.record(request.meta["kind"], Page(response.url, response.status, response.body))
        yield from self._next()

    def failed(self, failure: Failure) -> Iterator[Request]:
        request = failure.request  # type: ignore[attr-defined]
        reason, response = failure_reason(failure)
        status, body = (response.status, response.body) if response is not None else (0, b"")
        self.plan.record(request.meta["kind"], Page(request.url, status, body, reason))
        yield from self._next()
