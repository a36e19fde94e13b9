"""What every promowatch spider shares: the run's configuration, the database, and turning a response into a
capture of evidence. Spiders are thin: extraction is pure (promowatch.extract), persistence is a pipeline."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, Self

from scrapy import Request, Spider
from scrapy.crawler import Crawler
from scrapy.http import Response
from sqlalchemy.orm import Session, sessionmaker
from twisted.python.failure import Failure

from promowatch.config import WatchedRetailer
from promowatch.crawl.runner import shop_slots
from promowatch.crawl.shop_hosts import LeftTheShop
from promowatch.db.queries import sync_watchlist
from promowatch.evidence.blobs import BlobStore
from promowatch.items import Capture
from promowatch.revalidation import ETAG_MAX, LAST_MODIFIED_MAX, Validators, header_value
from promowatch.runconfig import RunConfig


class WatchSpider(Spider):
    """A spider driven by the watchlist and the site profiles, never by code per shop."""

    config: RunConfig
    sessions: sessionmaker[Session]

    @classmethod
    def from_crawler(cls, crawler: Crawler, *args: Any, **kwargs: Any) -> Self:
        spider = super().from_crawler(crawler, *args, **kwargs)
        watchlist = kwargs.get("watchlist")  # `scrapy crawl offers -a watchlist=FILE`
        if watchlist:
            crawler.settings.set("PROMOWATCH_WATCHLIST", str(watchlist), priority="spider")
        spider.config = RunConfig.from_crawler(crawler)
        if watchlist:  # as `promowatch crawl` does: its products known, each shop in its own slot
            with spider.config.context.sessions.begin() as session:
                sync_watchlist(
                    session,
                    spider.config.watchlist,
                    spider.config.clock.now(),
                    BlobStore(spider.config.context.data.blobs),
                )
            shop_slots(crawler.settings, spider.config.watchlist)
        spider.sessions = spider.config.context.sessions
        return spider

    def request(self, retailer: WatchedRetailer, url: str, **kwargs: Any) -> Request:
        """A request in the retailer's download slot (its own concurrency and delay), in its language."""
        meta = {"retailer": retailer.slug, "download_slot": retailer.slug, **kwargs.pop("meta", {})}
        if retailer.profile.download_delay > 0:
            # the gap the profile asks for is the shop's least: AutoThrottle would shorten it to the latency
            meta["autothrottle_dont_adjust_delay"] = True
        headers = {"Accept-Language": accept_language(retailer.profile.language)}
        return Request(url, meta=meta, headers=headers, dont_filter=True, **kwargs)

    def count(self, retailer: str, key: str) -> None:
        """Per-retailer figures for the run summary (``promowatch/<slug>/<key>`` in the crawl stats)."""
        if self.crawler.stats is not None:
            self.crawler.stats.inc_value(f"promowatch/{retailer}/{key}")

    def seen(self, response: Response) -> None:
        assert response.request is not None
        self.count(response.request.meta["retailer"], "responses")

    def lost(self, failure: Failure) -> tuple[str, Response | None]:
        """Count a failed fetch and give its reason and error response (when one came back)."""
        reason, response = failure_reason(failure)
        retailer = failure.request.meta["retailer"]  # type: ignore[attr-defined]
        self.count(retailer, "responses" if response is not None else "fetch_failed")
        return reason, response

    def skipped(self, failure: Failure) -> None:
        """Errback for fetches that produce no observation: count and log them."""
        reason, _ = self.lost(failure)
        self.logger.warning("%s: %s", failure.request.url, reason)  # type: ignore[attr-defined]

    def vantage(self, request: Request) -> dict[str, Any]:
        """Where the look was made from, as a shop would see the visitor."""
        user_agent = (request.headers.get("User-Agent") or b"").decode("latin-1") or self.settings.get(
            "USER_AGENT"
        )
        return {
            "user_agent": user_agent,
            "accept_language": (request.headers.get("Accept-Language") or b"").decode("latin-1"),
            "store": None,
            "postcode": None,
            "logged_in": False,
        }


def taking_turns(sources: Iterable[Iterable[Request]]) -> Iterator[Request]:
    """One request of each retailer in turn: every shop gets its first page early, not shop after shop."""
    pending = [iter(source) for source in sources]
    while pending:
        for source in list(pending):
            request = next(source, None)
            if request is None:
                pending.remove(source)
            else:
                yield request


def accept_language(language: str | None) -> str:
    if not language:
        return "en;q=0.8"
    return f"{language}-CH,{language};q=0.9,en;q=0.5"


def capture(response: Response, *, validators: bool = True) -> Capture:
    """The bytes and headers of a response, for the evidence pipeline. ``validators``: keep its ETag and
    Last-Modified for the next conditional re-check (not for an error or block page: a 304 would then vouch for
    that page instead of the product's)."""
    headers = {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()}
    request_headers = (
        {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.request.headers.items()}
        if response.request is not None
        else {}
    )
    # a 304 restates no body and may omit its validators: those it vouches for are the ones it was asked with
    vouched: Validators | None = (
        response.request.meta.get("revalidate")
        if response.status == 304 and response.request is not None
        else None
    )
    content_type = header_value(headers, "Content-Type") or (vouched.media_type if vouched else None)
    media_type = (content_type or "application/octet-stream").split(";")[0].strip()
    etag = last_modified = None
    if validators:
        etag = header_value(headers, "ETag", ETAG_MAX) or (vouched.etag if vouched else None)
        last_modified = header_value(headers, "Last-Modified", LAST_MODIFIED_MAX) or (
            vouched.last_modified if vouched else None
        )
    return Capture(
        url=response.url,
        status=response.status,
        headers=headers,
        body=response.body,
        media_type=media_type,
        request_method=response.request.method if response.request is not None else "GET",
        request_headers=request_headers,
        etag=etag,
        last_modified=last_modified,
        ip_address=None if response.ip_address is None else str(response.ip_address),
    )


def failure_reason(failure: Failure) -> tuple[str, Response | None]:
    """A one-line reason for a failed fetch and the error response, when there was one."""
    response = getattr(failure.value, "response", None)
    if isinstance(response, Response):
        return f"HTTP {response.status}", response
    if isinstance(failure.value, LeftTheShop):
        return str(failure.value), None  # says itself what was refused and why
    name = type(failure.value).__name__
    message = str(failure.value).strip()
    return (f"{name}: {message}"[:300] if message else name), None
