"""The fetching behind ``promowatch profile new``: only the URLs given, politely, and in Chromium only what the
product page itself requests.

Pages and JSON answers come through the same Scrapy crawl as ``promowatch check`` (robots.txt obeyed, one request
at a time per shop, the honest User-Agent, retries). The browser reading uses Playwright directly with the
Chromium the crawls use: it is one page, and what is wanted is every JSON answer the page received. Requests to
any origin but the page's own (host and port), and those robots.txt disallows, are refused in the browser too.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from protego import Protego
from scrapy import Request
from scrapy.http import Response
from twisted.python.failure import Failure

from promowatch.crawl.shop_hosts import ShopHosts
from promowatch.onboarding.fetch import on_shop_hosts
from promowatch.onboarding.profile import Pages
from promowatch.onboarding.stores import JsonAnswer
from spiders.check import CheckSpider

# what a page needs to run its scripts; pictures and fonts tell nothing about stock
_SKIPPED_TYPES = ("image", "font", "media")
SETTLE_MS = 1500  # after the network is idle, the time a page's delayed requests get (stock is often late)


@dataclass(frozen=True)
class Fetched:
    url: str
    body: bytes | None
    status: int | None = None
    error: str | None = None


class PagesSpider(CheckSpider):
    """Fetches the given URLs in their order, one at a time (the project's politeness settings)."""

    name = "profile-pages"

    def __init__(self, urls: tuple[str, ...] = (), fetched: dict[str, Fetched] | None = None, **kwargs: Any):
        super().__init__(url=urls[0] if urls else "", **kwargs)
        self.urls = urls
        self.fetched: dict[str, Fetched] = fetched if fetched is not None else {}

    async def start(self) -> AsyncIterator[Request]:
        for index, url in enumerate(self.urls):
            # in order: a shop sees the product page, then the promotions page, as a person would fetch them
            yield Request(
                url,
                callback=self.parse,
                errback=self.failed,
                dont_filter=True,
                priority=-index,
                meta={"wanted": url},
            )

    def parse(self, response: Response) -> Any:
        assert response.request is not None
        wanted = response.request.meta.get("wanted", response.url)
        self.fetched[wanted] = Fetched(response.url, response.body, response.status)
        return iter(())

    def failed(self, failure: Failure) -> Any:
        request = getattr(failure, "request", None)
        wanted = request.meta.get("wanted") if request is not None else None
        if wanted:
            self.fetched[wanted] = Fetched(
                wanted, None, error=str(failure.value) or type(failure.value).__name__
            )
        return iter(())


def fetch_pages(urls: list[str]) -> dict[str, Fetched]:
    """Fetch each URL once through the project's crawl settings; one call per process (Scrapy's reactor)."""
    from promowatch.crawl.runner import run_crawl_of

    fetched: dict[str, Fetched] = {}
    run_crawl_of(PagesSpider, urls=tuple(urls), fetched=fetched)
    for url in urls:
        fetched.setdefault(url, Fetched(url, None, error="not fetched (robots.txt may forbid it)"))
    return fetched


def robots_url(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}/robots.txt"


def json_answer(url: str, body: bytes | None) -> JsonAnswer | None:
    if not body:
        return None
    try:
        return JsonAnswer(url, json.loads(body))
    except (UnicodeDecodeError, ValueError):
        return None


def render_page(
    url: str, robots: bytes | None, user_agent: str, timeout_ms: int = 15000
) -> tuple[bytes, list[JsonAnswer]]:
    """The product page after its scripts ran, and the JSON answers it received (in a thread of its own: the
    crawl that fetched the pages has had this process's event loop)."""
    result: dict[str, Any] = {}

    def run() -> None:
        try:
            result["value"] = asyncio.run(_render(url, robots, user_agent, timeout_ms))
        except BaseException as error:
            result["error"] = error

    thread = threading.Thread(target=run, name="profile-browser")
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    value: tuple[bytes, list[JsonAnswer]] = result["value"]
    return value


async def _render(
    url: str, robots: bytes | None, user_agent: str, timeout_ms: int
) -> tuple[bytes, list[JsonAnswer]]:
    from playwright.async_api import Response as PlaywrightResponse
    from playwright.async_api import Route, async_playwright

    from promowatch.crawl.browser import browser_executable

    # the page's own origin only: a 127.0.0.1 page may not reach another service on 127.0.0.1 (another port)
    shop = ShopHosts.of(url)
    rules = Protego.parse(robots.decode("utf-8", "replace")) if robots else None
    answers: list[JsonAnswer] = []
    pending: list[asyncio.Task[None]] = []

    async def route(route: Route) -> None:
        request = route.request
        allowed = on_shop_hosts(request.url, shop) and request.resource_type not in _SKIPPED_TYPES
        if allowed and rules is not None and not rules.can_fetch(request.url, user_agent):
            allowed = False
        await (route.continue_() if allowed else route.abort())

    async def keep(response: PlaywrightResponse) -> None:
        if "json" not in (response.headers.get("content-type") or ""):
            return
        try:
            answer = json_answer(response.url, await response.body())
        except Exception:
            return
        if answer is not None:
            answers.append(answer)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=browser_executable(), headless=True)
        try:
            context = await browser.new_context(user_agent=user_agent, service_workers="block")
            page = await context.new_page()
            await page.route("**/*", route)
            page.on("response", lambda response: pending.append(asyncio.ensure_future(keep(response))))
            await page.goto(url, wait_until="domcontentloaded", timeout=timeout_ms)
            with suppress(Exception):  # a page that never goes quiet is read as it is
                await page.wait_for_load_state("networkidle", timeout=timeout_ms)
            await page.wait_for_timeout(SETTLE_MS)
            await asyncio.gather(*pending)
            html = (await page.content()).encode("utf-8")
        finally:
            await browser.close()
    return html, answers


class DraftError(Exception):
    """Nothing to draft from: the product page could not be had. ``code`` is the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def _checked_url(url: str, what: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DraftError(f"{url!r}: not an http(s) URL of {what}", 2)
    return url


def fetch_for_draft(
    url: str,
    promotions: str | None = None,
    *,
    browser: bool = False,
    stores: str | None = None,
    stock: str | None = None,
) -> Pages:
    """Fetch the product page, the promotions page and the named JSON APIs (and robots.txt, for the browser),
    then, with ``browser``, render the product page; what failed is said in ``Pages.problems``."""
    from promowatch.crawl.runner import project_settings

    _checked_url(url, "a product page")
    wanted = [(url, "the product page")]
    if promotions:
        wanted.append((_checked_url(promotions, "the promotions page"), "the promotions page"))
    for api, what in ((stores, "the store list API"), (stock, "the stock API")):
        if api:
            wanted.append((_checked_url(api, what), what))
    if browser:
        from promowatch.crawl.browser import BrowserNotFound, browser_executable

        try:
            browser_executable()
        except BrowserNotFound as error:
            raise DraftError(str(error), 1) from None
        wanted.append((robots_url(url), "robots.txt"))
    fetched = fetch_pages([u for u, _ in wanted])
    product = fetched[url]
    if product.body is None or (product.status or 0) >= 400:
        reason = product.error or f"HTTP {product.status}"
        raise DraftError(f"{url}: the product page could not be fetched: {reason}", 1)
    pages = Pages(product_url=product.url, product=product.body)
    for address, what in wanted[1:]:
        answer = fetched[address]
        if what == "robots.txt":
            continue
        if answer.body is None or (answer.status or 0) >= 400:
            pages.problems.append(f"{what} ({address}) could not be fetched: {answer.error or answer.status}")
        elif what == "the promotions page":
            pages.promotions_url, pages.promotions = answer.url, answer.body
        else:
            json_found = json_answer(answer.url, answer.body)
            if json_found is None:
                pages.problems.append(f"{what} ({address}) did not answer JSON")
            else:
                pages.answers.append(json_found)
    if browser:
        robots = fetched[robots_url(url)]
        user_agent = str(project_settings()["USER_AGENT"])
        rendered, answers = render_page(url, robots.body if (robots.status or 0) < 400 else None, user_agent)
        pages.rendered = rendered
        pages.answers.extend(answers)
    return pages
