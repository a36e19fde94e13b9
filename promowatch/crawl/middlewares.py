"""Downloader middlewares for politeness and faults: back off when a shop asks us to, re-check a page
conditionally, and recognise block and captcha pages so that a look which met one is stored as unknown, never as
a real state of the offer."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from time import monotonic
from typing import Any, ClassVar, Self
from weakref import WeakKeyDictionary

from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import IgnoreRequest
from scrapy.http import Response, TextResponse

from promowatch.datadir import DataDir
from promowatch.evidence.blobs import BlobStore, sha256_hex
from promowatch.extract.blocked import BLOCKED_REASON, block_reason
from promowatch.revalidation import Validators, conditional_headers


class BlockedPage(IgnoreRequest):
    """A block or captcha page came back instead of the page asked for (``why``: what gave it away). Carries the
    page for the evidence and the request that tries the page again later in the run (None once the attempts are
    spent)."""

    def __init__(self, page: Response, why: str, retry: Request | None = None) -> None:
        super().__init__(f"{BLOCKED_REASON}: {why}")
        # not ``response``: spiders.base.failure_reason would then report only the HTTP status
        self.page = page
        self.retry = retry


def retry_after_seconds(value: bytes | str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    text = value.decode("latin-1") if isinstance(value, bytes) else value
    text = text.strip()
    if not text:
        return None
    if text.isdigit():
        return float(text)
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


def backoff_delay(attempt: int, retry_after: float | None, base: float, cap: float) -> float:
    """The wait before retry ``attempt`` (1-based): the shop's Retry-After when given, else base * 2^(n-1)."""
    if retry_after is not None:
        return min(retry_after, cap)
    return min(base * 2 ** (attempt - 1), cap)


class SlotBackoff:
    """Slows a retailer's download slot down for a while: the retried request and every other request to that
    shop wait, while other shops go on, and the reactor never blocks. The slot's own delay comes back after the
    first response that arrives once the wait is over. One per crawl, shared by the middlewares that back off."""

    _of: ClassVar[WeakKeyDictionary[Crawler, SlotBackoff]] = WeakKeyDictionary()

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.normal_delay: dict[
            str, tuple[float, float]
        ] = {}  # slot -> (its delay before we raised it, until)

    @classmethod
    def of(cls, crawler: Crawler) -> SlotBackoff:
        if crawler not in cls._of:
            cls._of[crawler] = cls(crawler)
        return cls._of[crawler]

    def _slot(self, request: Request) -> tuple[str, Any] | None:
        engine = self.crawler.engine
        if engine is None:
            return None
        downloader = engine.downloader
        key = downloader.get_slot_key(request)
        slot = downloader.slots.get(key)
        return (key, slot) if slot is not None else None

    def slow_down(self, request: Request, wait: float) -> None:
        """Hold the request's slot back ``wait`` seconds from now."""
        found = self._slot(request)
        if found is None:
            return
        key, slot = found
        normal = self.normal_delay.get(key, (slot.delay, 0.0))[0]
        self.normal_delay[key] = (normal, monotonic() + wait)
        slot.delay = max(slot.delay, wait)
        slot.lastseen = monotonic()

    def answered(self, request: Request) -> None:
        """A response that needs no backoff: the slot's own delay comes back once the wait is over (a response
        that left before the backoff began must not end it early)."""
        found = self._slot(request)
        if (
            found is not None
            and found[0] in self.normal_delay
            and monotonic() >= self.normal_delay[found[0]][1]
        ):
            key, slot = found
            slot.delay = self.normal_delay.pop(key)[0]


def retry_later(request: Request, attempt_key: str, attempt: int, wait: float) -> Request:
    """The request again, after the others waiting (a lower priority), with its attempt counted."""
    retry = request.replace(dont_filter=True)
    retry.meta[attempt_key] = attempt
    retry.meta["backoff_wait"] = wait
    retry.priority = request.priority - 1
    return retry


def backoff_of(crawler: Crawler) -> tuple[float, float, SlotBackoff]:
    """The backoff's base and cap in seconds (settings read once) and the shop slots it slows down."""
    settings = crawler.settings
    return (
        settings.getfloat("PROMOWATCH_BACKOFF_BASE"),
        settings.getfloat("PROMOWATCH_BACKOFF_MAX"),
        SlotBackoff.of(crawler),
    )


class BackoffMiddleware:
    """Exponential backoff honouring Retry-After on 403/429/503 (design.md invariant 8), through the retailer's
    download slot (:class:`SlotBackoff`)."""

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.codes = {int(c) for c in crawler.settings.getlist("PROMOWATCH_BACKOFF_HTTP_CODES")}
        self.max_attempts = crawler.settings.getint("PROMOWATCH_BACKOFF_TIMES")
        self.base, self.cap, self.slots = backoff_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Request | Response:
        if response.status not in self.codes:
            self.slots.answered(request)
            return response
        attempt = int(request.meta.get("backoff_attempts", 0)) + 1
        if attempt > self.max_attempts:
            # give up: the spider records the look as unknown; Scrapy's RetryMiddleware must not retry again
            request.meta["dont_retry"] = True
            _inc(self.crawler, request, "backoff_gave_up")
            return response
        wait = backoff_delay(
            attempt, retry_after_seconds(response.headers.get("Retry-After")), self.base, self.cap
        )
        self.slots.slow_down(request, wait)
        _inc(self.crawler, request, "backoff")
        return retry_later(request, "backoff_attempts", attempt, wait)


def _inc(crawler: Crawler, request: Request, key: str) -> None:
    retailer = request.meta.get("retailer")
    if crawler.stats is not None and retailer:
        crawler.stats.inc_value(f"promowatch/{retailer}/{key}")


class BlockPageMiddleware:
    """Turns a block or captcha page into a failed look whose reason starts with ``BLOCKED_REASON``
    (promowatch.extract.blocked), and tries a product page again later in the run: the shop's download slot
    backs off as for a 429 (``PROMOWATCH_BACKOFF_BASE``, ``_MAX``), at most ``PROMOWATCH_BLOCKED_RETRIES`` times.
    The spider stores the blocked look (its evidence, for the health check) and schedules the retry.

    It sits after the retry and backoff middlewares, so it sees only the response they finally let through.
    """

    def __init__(self, crawler: Crawler) -> None:
        self.crawler = crawler
        self.max_attempts = crawler.settings.getint("PROMOWATCH_BLOCKED_RETRIES")
        self.base, self.cap, self.slots = backoff_of(crawler)

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler)

    def process_response(self, request: Request, response: Response) -> Response:
        if request.meta.get("allow_block_page"):
            return response
        body = response.body if isinstance(response, TextResponse) or response.status >= 400 else b""
        why = block_reason(response.status, body, product_page="product_url" in request.meta)
        if why is None:
            return response
        _inc(self.crawler, request, "blocked")
        attempt = int(request.meta.get("blocked_attempts", 0)) + 1
        retry = None
        # an error answer was backed off already (BackoffMiddleware) or is a hard block; a browser page is the
        # spider's to close, its read is not tried again here
        if (
            response.status < 400
            and "product_url" in request.meta
            and "playwright" not in request.meta
            and attempt <= self.max_attempts
        ):
            wait = backoff_delay(attempt, None, self.base, self.cap)
            self.slots.slow_down(request, wait)
            retry = retry_later(request, "blocked_attempts", attempt, wait)
            _inc(self.crawler, request, "blocked_retries")
        raise BlockedPage(response, why, retry)


class RevalidationMiddleware:
    """Conditional re-checks of product pages (``PROMOWATCH_CONDITIONAL_REQUESTS``).

    A request whose meta ``revalidate`` holds the page's :class:`Validators` is sent with If-None-Match /
    If-Modified-Since. A 304 answer goes on to the spider as the stored body it vouches for, keeping its own status
    and headers, so the evidence says what the shop answered and the WARC gets a revisit record. Validators hold
    for their own URL only (a redirect's new request is sent without them), and a stored body that is missing or
    no longer matches its hash is never used: the page is asked for in full, and a damaged copy is set aside so
    the full answer is stored again.
    """

    def __init__(self, crawler: Crawler, enabled: bool) -> None:
        self.crawler = crawler
        self.enabled = enabled
        settings = crawler.settings
        self.allowed = [int(c) for c in settings.getlist("HTTPERROR_ALLOWED_CODES")]
        self._data = (settings.get("PROMOWATCH_DATA_DIR") or None, settings.get("PROMOWATCH_DB") or None)
        self._blobs: BlobStore | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        return cls(crawler, crawler.settings.getbool("PROMOWATCH_CONDITIONAL_REQUESTS"))

    @property
    def blobs(self) -> BlobStore:
        # resolved at the first conditional request: `promowatch check` crawls without a data directory
        if self._blobs is None:
            self._blobs = BlobStore(DataDir.resolve(*self._data).blobs)
        return self._blobs

    def process_request(self, request: Request) -> None:
        validators: Validators | None = request.meta.get("revalidate")
        if validators is None:
            return
        if (
            not self.enabled
            or "playwright" in request.meta
            or request.url != validators.url  # a redirect: its new request carries the meta along
            or not self.blobs.exists(validators.body_sha256)
        ):
            unconditional(request, validators)
            return
        for name, value in conditional_headers(validators).items():
            request.headers[name] = value
        allowed = request.meta.get("handle_httpstatus_list", self.allowed)
        if 304 not in allowed:
            request.meta["handle_httpstatus_list"] = [*allowed, 304]

    def process_response(self, request: Request, response: Response) -> Request | Response:
        validators: Validators | None = request.meta.get("revalidate")
        if response.status != 304 or validators is None:
            return response
        body: bytes | None = None
        if response.url == validators.url:
            with contextlib.suppress(OSError):
                body = self.blobs.get(validators.body_sha256)
        if body is None or sha256_hex(body) != validators.body_sha256:
            if body is not None:
                self.blobs.set_aside(validators.body_sha256)
            full = request.replace(dont_filter=True)
            unconditional(full, validators)
            return full
        retailer = request.meta.get("retailer")
        if self.crawler.stats is not None and retailer:
            self.crawler.stats.inc_value(f"promowatch/{retailer}/not_modified")
        return response.replace(body=body, flags=[*response.flags, "revalidated"])


def unconditional(request: Request, validators: Validators) -> None:
    """Ask for the whole page: no validators, and a 304 is an error again."""
    for name in conditional_headers(validators):
        if name in request.headers:
            del request.headers[name]
    request.meta["revalidate"] = None
    if "handle_httpstatus_list" in request.meta:
        request.meta["handle_httpstatus_list"] = [
            c for c in request.meta["handle_httpstatus_list"] if c != 304
        ]
