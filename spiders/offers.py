"""Product pages -> offer observations (price, reference price, availability, orderable) with their signals."""

from __future__ import annotations

import codecs
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any
from urllib.parse import urlsplit

from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure
from w3lib.encoding import (
    html_body_declared_encoding,
    html_to_unicode,
    http_content_type_encoding,
    read_bom,
    resolve_encoding,
)

from promowatch.config import WatchedRetailer
from promowatch.crawl.browser import (
    browser_gone,
    browser_meta,
    close_page,
    read_page,
    rendered_capture,
    rendered_reading,
)
from promowatch.crawl.middlewares import BlockedPage
from promowatch.crawl.progress import due_key
from promowatch.db.queries import due_products, page_validators
from promowatch.domain import Availability, Offer, Signal, SignalSource
from promowatch.extract import extract_offer
from promowatch.items import OfferItem
from promowatch.revalidation import Validators
from promowatch.urls import canonical_link, canonical_url
from spiders.base import WatchSpider, capture, taking_turns

# a page whose Chromium crashed or was killed under it is opened again this many times before it is unknown
BROWSER_ATTEMPTS = 3


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


def without_product(offer: Offer) -> Offer:
    """A page read as unknown that shows no product at all (no price, SKU or GTIN: an error or interstitial
    page the block check did not know) tells neither whether the product can be ordered nor its name."""
    if offer.availability is not Availability.UNKNOWN or offer.price is not None or offer.sku or offer.gtin:
        return offer
    return replace(offer, title=None, orderable=None)


def page_bytes(response: Response) -> bytes:
    """The page's bytes as extraction reads them. Extraction decodes by byte-order mark, meta charset, else
    UTF-8; a charset that only the HTTP header declares (an older shop's ISO-8859-1) is honoured first, as
    Scrapy and browsers honour it, by handing the page over as UTF-8 with a byte-order mark. The evidence keeps
    the bytes as sent."""
    body = response.body
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
    header = http_content_type_encoding(content_type)
    if header is None or read_bom(body)[0] is not None:
        return body
    declared = html_body_declared_encoding(body)
    if resolve_encoding(header) == (resolve_encoding(declared) if declared else "utf-8"):
        return body
    _, text = html_to_unicode(content_type, body)
    return codecs.BOM_UTF8 + text.encode("utf-8")


def page_canonical(
    body: bytes, page_url: str, product_url: str, retailer: WatchedRetailer, offer: Offer
) -> str | None:
    """The product's canonical URL when its page names one other than ``product_url`` on the same site.

    Only a page read as a product (a known state and its price, SKU or GTIN) names it: error and soft-404
    templates often name the home page as canonical, and one bad day would merge every product into it.
    """
    if offer.availability is Availability.UNKNOWN or not (offer.price is not None or offer.sku or offer.gtin):
        return None
    found = canonical_url(canonical_link(body), page_url, retailer.profile.tracking_params)
    if found is None or found == product_url or urlsplit(found).path in ("", "/"):
        return None
    return found


# request meta that follows a page from its HTTP read to its browser read and retries
CARRIED_META = ("run",)


class OffersSpider(WatchSpider):
    name = "offers"

    def read(self, body: bytes, url: str, product_url: str, retailer: WatchedRetailer) -> Offer:
        """The offer the page shows. A page whose reading fails (a fault of the extraction) is an unknown look
        that says why, stored with its evidence like any other."""
        try:
            return without_product(extract_offer(body, url, retailer.profile))
        except Exception as error:
            self.logger.exception("%s: the page could not be read", product_url)
            self.count(retailer.slug, "unreadable")
            reason = f"the page could not be read: {type(error).__name__}: {error}"
            return unknown_offer(product_url, reason, type(error).__name__)

    async def start(self) -> AsyncIterator[Request]:
        now = self.config.clock.now()
        work: list[tuple[WatchedRetailer, list[tuple[str, Validators | None]]]] = []
        for retailer in self.config.retailers:
            with self.sessions() as session:
                products = due_products(session, retailer, now)
                validators = page_validators(session, [p.id for p in products], now)
            work.append((retailer, [(p.url, validators.get(p.id)) for p in products]))
            if self.crawler.stats is not None:
                self.crawler.stats.set_value(due_key(retailer.slug), len(products))
        # all of them at once: Scrapy's scheduler then hands each shop's slot its next page as soon as it is free
        for request in taking_turns(self.page_requests(retailer, pages) for retailer, pages in work):
            yield request

    def page_requests(
        self, retailer: WatchedRetailer, pages: list[tuple[str, Validators | None]]
    ) -> Iterator[Request]:
        """The retailer's due pages as requests, each made when Scrapy takes it."""
        for url, known in pages:
            yield self.page_request(retailer, url, known)

    def page_request(
        self, retailer: WatchedRetailer, url: str, validators: Validators | None = None, **meta: Any
    ) -> Request:
        """A product page to read as the profile says: over HTTP (conditionally when its validators are known:
        promowatch.crawl.middlewares.RevalidationMiddleware) or in Chromium. ``meta``: bookkeeping that goes along."""
        if retailer.profile.render == "browser":
            return self.browser_request(retailer, url, carry=Request(url, meta=meta))
        return self.request(
            retailer,
            url,
            callback=self.parse_offer,
            errback=self.failed,
            meta={"product_url": url, "revalidate": validators, **meta},
        )

    def browser_request(
        self, retailer: WatchedRetailer, url: str, attempt: int = 1, carry: Request | None = None
    ) -> Request:
        """A product page to render in Chromium (render = "browser", or "auto" after an unknown HTTP read).

        ``carry``: the request this one follows up, whose bookkeeping (a distributed run's id) goes along."""
        carried = {k: carry.meta[k] for k in CARRIED_META if k in carry.meta} if carry is not None else {}
        meta: dict[str, Any] = {
            "product_url": url,
            "browser_attempt": attempt,
            **carried,
            **browser_meta(retailer),
        }
        return self.request(
            retailer, url, callback=self.parse_rendered, errback=self.failed_rendered, meta=meta
        )

    async def parse_offer(self, response: Response) -> AsyncIterator[OfferItem | Request]:
        request = response.request
        assert request is not None
        self.seen(response)
        product_url = request.meta["product_url"]
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        canonical = None
        if moved_elsewhere(product_url, response.url):
            offer = unknown_offer(product_url, f"redirected to another page: {response.url}", response.url)
        else:
            offer = self.read(page_bytes(response), response.url, product_url, retailer)
            if retailer.profile.render == "auto" and offer.availability is Availability.UNKNOWN:
                # the page may fill its stock line in with JavaScript: read it again as a shopper sees it
                self.count(retailer.slug, "auto_to_browser")
                yield self.browser_request(retailer, product_url, carry=request)
                return
            canonical = page_canonical(response.body, response.url, product_url, retailer, offer)
        yield OfferItem(
            retailer=retailer.slug,
            product_url=product_url,
            observed_at=self.config.clock.now(),
            offer=offer,
            render="http",
            capture=capture(response),
            vantage=self.vantage(request),
            canonical_url=canonical,
        )

    def failed(self, failure: Failure) -> Iterator[OfferItem | Request]:
        request = failure.request  # type: ignore[attr-defined]
        reason, response = self.lost_page(failure)
        product_url = request.meta["product_url"]
        if response is not None and response.status in (404, 410):
            self.count(request.meta["retailer"], "gone")  # a watched page that moved or was removed
        yield OfferItem(
            retailer=request.meta["retailer"],
            product_url=product_url,
            observed_at=self.config.clock.now(),
            offer=unknown_offer(product_url, reason, reason),
            render="http",
            capture=capture(response, validators=False) if response is not None else None,
            vantage=self.vantage(request),
        )
        if isinstance(failure.value, BlockedPage) and failure.value.retry is not None:
            yield failure.value.retry

    def lost_page(self, failure: Failure) -> tuple[str, Response | None]:
        """Why a product page was not read, and the response that came back instead, when one did: a block page
        is the evidence of its look (its reason starts with ``BLOCKED_REASON``)."""
        reason, response = self.lost(failure)
        if isinstance(failure.value, BlockedPage):
            return str(failure.value), failure.value.page
        return reason, response

    async def parse_rendered(self, response: Response) -> AsyncIterator[OfferItem | Request]:
        """Wait for the profile's condition, keep screenshot and rendered DOM, extract; the page is always closed."""
        request = response.request
        assert request is not None
        self.seen(response)
        product_url = request.meta["product_url"]
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        try:
            rendered = await read_page(request.meta["playwright_page"], request)
        except Exception as error:  # Chromium crashed, was killed or restarted under the page
            await close_page(request.meta)
            if browser_gone(error) and request.meta["browser_attempt"] < BROWSER_ATTEMPTS:
                self.count(retailer.slug, "browser_retries")
                yield self.browser_request(
                    retailer, product_url, request.meta["browser_attempt"] + 1, carry=request
                )
                return
            reason = f"browser failed while reading the page: {type(error).__name__}: {error}"[:300]
            yield self.rendered_item(
                retailer.slug,
                product_url,
                unknown_offer(product_url, reason, reason),
                request,
                capture(response),
                wait=None,
            )
            return
        await close_page(request.meta)
        if not rendered.waited:
            self.count(retailer.slug, "browser_wait_timeouts")
        canonical = None
        if moved_elsewhere(product_url, response.url):
            offer = unknown_offer(product_url, f"redirected to another page: {response.url}", response.url)
        else:
            # the page as the shop sent it is read too, as over HTTP: the browser's reading is never worse
            offer = rendered_reading(
                self.read(page_bytes(response), response.url, product_url, retailer),
                self.read(rendered.html, response.url, product_url, retailer),
                rendered,
            )
            canonical = page_canonical(rendered.html, response.url, product_url, retailer, offer)
        yield self.rendered_item(
            retailer.slug,
            product_url,
            offer,
            request,
            rendered_capture(response, rendered),
            wait=rendered.wait,
            canonical=canonical,
        )

    async def failed_rendered(self, failure: Failure) -> AsyncIterator[OfferItem | Request]:
        """A browser fetch that failed (navigation timeout, HTTP error, crash): close its page, then retry or
        store unknown with the reason."""
        request = failure.request  # type: ignore[attr-defined]
        await close_page(request.meta)
        retailer = self.config.watchlist.retailer(request.meta["retailer"])
        product_url = request.meta["product_url"]
        if (
            failure.value is not None
            and browser_gone(failure.value)
            and request.meta["browser_attempt"] < BROWSER_ATTEMPTS
        ):
            self.count(retailer.slug, "browser_retries")
            yield self.browser_request(
                retailer, product_url, request.meta["browser_attempt"] + 1, carry=request
            )
            return
        reason, response = self.lost_page(failure)
        yield self.rendered_item(
            retailer.slug,
            product_url,
            unknown_offer(product_url, reason, reason),
            request,
            capture(response) if response is not None else None,
            wait=None,
        )

    def rendered_item(
        self,
        retailer: str,
        product_url: str,
        offer: Offer,
        request: Request,
        evidence: Any,
        wait: str | None,
        canonical: str | None = None,
    ) -> OfferItem:
        return OfferItem(
            retailer=retailer,
            product_url=product_url,
            observed_at=self.config.clock.now(),
            offer=offer,
            render="browser",
            capture=evidence,
            vantage=self.vantage(request),
            wait=wait,
            canonical_url=canonical,
        )
