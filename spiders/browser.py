"""Reading product pages as a shopper sees them: Chromium through scrapy-playwright.

The download handler opens the page; the spider's callback then performs the profile's actions, waits for the
profile's condition with one deadline, takes the screenshot and the rendered DOM, and always closes the page.
A page that never reaches its condition is read as it stands and its wait outcome says why, so extraction can
answer ``unknown`` with the reason instead of guessing.
"""

from __future__ import annotations

import asyncio
import base64
import inspect
import os
import re
import shutil
import time
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, Page, Route
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import Response as PlaywrightResponse
from playwright.async_api import TimeoutError as PlaywrightTimeout
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy.settings import BaseSettings
from scrapy_playwright.handler import ScrapyPlaywrightDownloadHandler
from w3lib.encoding import html_body_declared_encoding, read_bom

from promowatch.config import BrowserOptions, WatchedRetailer
from promowatch.domain import Availability, Offer
from promowatch.items import Capture
from spiders.in_page import (
    PAGE_HTML,
    SETTLE_PAGE,
    SHOWN,
    WAIT_FOR_ELEMENT,
    PageQuestions,
    navigated,
    page_selector,
)

# Debian's Chromium builds, best first: the headless shell (Debian package chromium-headless-shell) is the build
# Playwright itself launches for headless pages; with no window, tab strip, autofill or translation to run, it
# renders the bench pages about a fifth faster in about a fifth less memory than the full browser (chromium)
DEBIAN_CHROMIUMS = ("/usr/bin/chromium-headless-shell", "/usr/bin/chromium")
# Playwright's own downloads (`playwright install chromium`), under $PLAYWRIGHT_BROWSERS_PATH or its cache
PLAYWRIGHT_CHROMIUMS = (
    "chromium_headless_shell-*/chrome-headless-shell-linux*/chrome-headless-shell",
    "chromium_headless_shell-*/chrome-linux/headless_shell",
    "chromium-*/chrome-linux*/chrome",
)
# meta keys of browser requests (scrapy-playwright's own keys start with playwright_)
META_OPTIONS = "promowatch_browser"
META_SEEN = "promowatch_seen_responses"
META_IDLE = "promowatch_idle_pages"  # the handler's idle pages of this request's context
META_LISTENER = "promowatch_response_listener"
META_REUSABLE = "promowatch_page_reusable"
META_ABORT = "promowatch_abort_request"  # PLAYWRIGHT_ABORT_REQUEST's predicate, when the settings give one
META_DOCUMENT = "promowatch_document"  # the product page's response as the server sent it (DocumentResponse)
META_SHOT_LIMITS = "promowatch_screenshot_limits"  # ScreenshotLimits from the settings


class BrowserNotFound(RuntimeError):
    """No Chromium to run: the message is one line a user can act on."""


def browser_executable(
    environ: Mapping[str, str] | None = None, debian: tuple[str, ...] = DEBIAN_CHROMIUMS
) -> str:
    """The Chromium to launch: ``$PROMOWATCH_CHROMIUM``, else Debian's headless shell or Chromium, else one
    Playwright downloaded; a clear error when there is none."""
    env = os.environ if environ is None else environ
    if env.get("PROMOWATCH_CHROMIUM"):
        return checked_executable(env["PROMOWATCH_CHROMIUM"])
    for path in debian:
        if shutil.which(path):
            return path
    return playwright_download(env) or checked_executable(debian[-1])


def playwright_download(env: Mapping[str, str]) -> str | None:
    """The newest Chromium `playwright install` left, where Playwright itself looks for it."""
    cache = env.get("XDG_CACHE_HOME") or str(Path(env.get("HOME", "~"), ".cache"))
    downloads = env.get("PLAYWRIGHT_BROWSERS_PATH") or str(Path(cache, "ms-playwright"))
    if downloads == "0":  # Playwright's "inside the package"
        downloads = str(Path(playwright.__file__).parent / "driver" / "package" / ".local-browsers")
    folder = Path(downloads).expanduser()
    for pattern in PLAYWRIGHT_CHROMIUMS:
        for found in sorted(folder.glob(pattern), key=lambda path: revision(path, folder), reverse=True):
            if shutil.which(str(found)):
                return str(found)
    return None


def revision(download: Path, downloads: Path) -> int:
    """The browser revision of a Playwright download, from its folder (``chromium-1187``)."""
    number = download.relative_to(downloads).parts[0].rpartition("-")[2]
    return int(number) if number.isdigit() else -1


def checked_executable(path: str) -> str:
    """``path`` resolved when it is an executable, else :class:`BrowserNotFound` with what to do."""
    found = shutil.which(path)
    if found is None:
        raise BrowserNotFound(
            f"no Chromium at {path}: a site profile asks for browser rendering; install Debian's Chromium "
            "(apt-get install chromium-headless-shell chromium), run `playwright install chromium`, or set "
            "PROMOWATCH_CHROMIUM to a Chromium executable"
        )
    return found


def needs_browser(retailers: tuple[WatchedRetailer, ...]) -> bool:
    """True when one of these retailers' profiles may render pages in the browser (browser or auto)."""
    return any(r.profile.render in ("browser", "auto") for r in retailers)


# ---------------------------------------------------------------- requests


def playwright_selector(selector: str) -> str:
    """A profile selector (parsel CSS or ``xpath:...``) as Playwright understands it."""
    kind, expression = page_selector(selector)
    return f"xpath={expression}" if kind == "xpath" else expression


async def perform_actions(page: Page, questions: PageQuestions, options: BrowserOptions) -> list[str]:
    """The profile's actions ({click}, {fill}, {wait}) in order, each bounded by the profile's timeout; returns
    the clicks skipped.

    A click on what the page does not show is skipped: a cookie banner is accepted on the first page of a
    browser context and not shown again on the next ones (and a banner a script adds later gets a second chance
    in ``late_clicks``). A fill needs its field (a postcode or a store the look depends on): a missing one makes
    the look unknown with the reason."""
    skipped = []
    for action in options.actions:
        ((verb, argument),) = action.items()
        if verb == "click":
            if not await click_if_shown(page, questions, argument, options.timeout_ms):
                skipped.append(argument)
        elif verb == "fill":
            selector, text = argument
            await page.fill(playwright_selector(selector), text, timeout=options.timeout_ms)
        elif verb == "wait":
            await page.wait_for_timeout(int(argument))
    return skipped


async def click_if_shown(page: Page, questions: PageQuestions, selector: str, timeout_ms: int) -> bool:
    # asked in the page first: Playwright's locators load its selector engine into the document, worth it only
    # for the one page of a context that shows the banner (or for a selector only Playwright knows)
    target = page.locator(playwright_selector(selector)).first
    shown = await questions.ask(SHOWN, *page_selector(selector), timeout_s=timeout_ms / 1000)
    if shown is None:
        shown = await target.is_visible()
    if not shown:  # never waits
        return False
    await target.click(timeout=timeout_ms)
    return True


async def late_clicks(page: Page, questions: PageQuestions, selectors: list[str], timeout_ms: int) -> None:
    """After the wait, the clicks skipped before it whose target a script has shown since (a consent manager's
    banner arrives after the document), so that it does not cover the screenshot."""
    for selector in selectors:
        await click_if_shown(page, questions, selector, timeout_ms)


def browser_meta(retailer: WatchedRetailer) -> dict[str, Any]:
    """Request meta that has scrapy-playwright open the page in the retailer's browser context."""
    return page_meta(retailer.slug, retailer.profile.browser, retailer.profile.language)


def page_meta(context: str, options: BrowserOptions, language: str | None) -> dict[str, Any]:
    """Request meta that has scrapy-playwright open the page in browser context ``context`` with these
    options, in the shop's language."""
    return {
        "playwright": True,
        "playwright_include_page": True,  # the callback waits, screenshots and closes it
        "playwright_context": f"promowatch-{context}",
        "playwright_context_kwargs": {
            "locale": f"{language}-CH" if language else "en-US",
            "viewport": {"width": 1280, "height": 900},
            "service_workers": "block",
        },
        # the wait condition, not the load event, says when the page is ready: a page that never stops
        # loading must not hold the navigation until its timeout
        "playwright_page_goto_kwargs": {"wait_until": "domcontentloaded", "timeout": options.timeout_ms},
        "playwright_page_init_callback": init_page,
        # a rendered page's latency is mostly Chromium's own work (scripts, layout), not the server's load:
        # AutoThrottle would read it as a slow server; the profile's concurrency and delay bound these requests
        "autothrottle_dont_adjust_delay": True,
        META_OPTIONS: options,
    }


def context_headers(context_kwargs: Mapping[str, Any], request: Request) -> dict[str, Any]:
    """Context options that have Chromium send the request's User-Agent and Accept-Language on every request
    of the page, as Scrapy would (the honest User-Agent, the retailer's language)."""
    kwargs = dict(context_kwargs)
    agent = request.headers.get("User-Agent")
    if agent and "user_agent" not in kwargs:
        kwargs["user_agent"] = agent.decode("latin-1")
    language = request.headers.get("Accept-Language")
    if language:
        kwargs["extra_http_headers"] = {
            "Accept-Language": language.decode("latin-1"),
            **kwargs.get("extra_http_headers", {}),
        }
    return kwargs


def third_party(url: str, page_url: str) -> bool:
    """True when ``url`` is on another site than the page (subdomains of the same site are first party)."""
    host, page_host = urlsplit(url).hostname or "", urlsplit(page_url).hostname or ""
    if not host or host == page_host:
        return False
    site = ".".join(page_host.split(".")[-2:])
    return not (host == site or host.endswith("." + site))


# what a screenshot shows: loaded for it from any host (product pictures usually come from a CDN)
SHOWN_TYPES = ("image", "stylesheet", "font", "media")


def should_block(options: BrowserOptions, resource_type: str, url: str, page_url: str) -> bool:
    """The profile's resource blocking: types such as image/font/media and other sites' requests; when a
    screenshot is taken, what it shows (pictures, styles, fonts) is loaded from wherever it comes from."""
    if url.startswith(("data:", "blob:")):
        return False
    if resource_type in options.blocked_types:
        return True
    if options.screenshot and resource_type in SHOWN_TYPES:
        return False
    return options.block_third_party and resource_type != "document" and third_party(url, page_url)


async def init_page(page: Page, request: Request) -> None:
    """Before navigation: block what the profile blocks (and what PLAYWRIGHT_ABORT_REQUEST names), take the
    product page's own response through :func:`same_document`, and note the responses when the profile waits
    for one."""
    options: BrowserOptions = request.meta[META_OPTIONS]
    abort = request.meta.get(META_ABORT)
    seen: list[str] = []
    request.meta[META_SEEN] = seen
    request.meta.pop(META_DOCUMENT, None)
    page_url = request.url

    async def route(route: Route, asked: PlaywrightRequest) -> None:
        if should_block(options, asked.resource_type, asked.url, page_url) or (
            abort is not None and await maybe_await(abort(asked))
        ):
            await route.abort()
        else:
            await route.fallback()

    async def document(route: Route, asked: PlaywrightRequest) -> None:
        if asked.frame.parent_frame is not None or not asked.is_navigation_request():
            await route.fallback()
            return
        await same_document(route, request, options.timeout_ms)

    def received(response: PlaywrightResponse) -> None:
        seen.append(response.url)

    # a route, like a response listener, has the driver send every request of the page to Python: only when
    # something is blocked, and responses only when the profile waits for one
    if options.blocks_anything or abort is not None:
        await page.route("**/*", route)
    # the last route is asked first; a regular expression is matched by the driver, so no other request of
    # the page comes to Python for it
    await page.route(re.compile("^" + re.escape(page_url) + "$"), document)
    if options.wait_response:
        page.on("response", received)
        request.meta[META_LISTENER] = received


async def maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


@dataclass(frozen=True)
class DocumentResponse:
    """The product page's response as the server sent it: its evidence, whatever Chromium was handed."""

    status: int
    headers: list[tuple[str, str]]
    body: bytes


def http_charset(content_type: str | None, body: bytes) -> str | None:
    """The charset to hand Chromium with a document, so that it decodes the bytes as the HTTP path does
    (promowatch.extract.page.parse_html: BOM, then the markup's declaration, else UTF-8); None when the
    response already says what both follow.

    Both follow a byte-order mark and the markup's ``<meta charset>``; a header's charset Chromium follows.
    With none of them Chromium guesses (windows-1252 for most locales) where the HTTP path reads UTF-8: the
    same bytes would read as two documents."""
    if content_type and "charset=" in content_type.lower():
        return None
    if read_bom(body)[0] is not None or html_body_declared_encoding(body) is not None:
        return None
    return "utf-8"


async def same_document(route: Route, request: Request, timeout_ms: int) -> None:
    """Fetch the product page for Chromium and hand it over with the charset the HTTP path would decode it
    with (:func:`http_charset`); the server's own response is kept for the evidence. Redirects are handed
    over as they are, for Chromium to follow."""
    try:
        fetched = await route.fetch(max_redirects=0, timeout=timeout_ms)
    except PlaywrightError:
        await route.fallback()  # Chromium's own request then meets the same failure and reports it
        return
    body = await fetched.body()
    headers = fetched.headers_array
    # Node hands the body over decompressed: the encoding and the length no longer describe it
    handed = {
        name: value
        for name, value in fetched.headers.items()
        if name.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    }
    content_type = fetched.headers.get("content-type")
    charset = http_charset(content_type, body) if "html" in (content_type or "text/html").lower() else None
    if charset is not None:
        handed["content-type"] = f"{(content_type or 'text/html').split(';')[0].strip()}; charset={charset}"
    request.meta[META_DOCUMENT] = DocumentResponse(
        fetched.status, [(h["name"], h["value"]) for h in headers], body
    )
    await route.fulfill(status=fetched.status, headers=handed, body=body)


# ---------------------------------------------------------------- reading the page


async def navigate(page: Page, request: Request) -> Response:
    """Open the product page; the response carries the document's bytes as the server sent them, for the
    evidence (the callback reads the rendered DOM once the page is ready).

    scrapy-playwright's own path also serialises the DOM right after the navigation, asks for the server's
    address and TLS details and for every response's headers: round trips through the driver that nothing here
    reads."""
    request.meta["playwright_page"] = page  # the callback and the errback close it
    started = time.monotonic()
    navigation = await page.goto(request.url, **(request.meta.get("playwright_page_goto_kwargs") or {}))
    headers = Headers()
    status = 200
    body: bytes | None = None
    sent: DocumentResponse | None = request.meta.get(META_DOCUMENT)
    if navigation is not None and sent is not None and navigation.request.redirected_from is None:
        # the page as the server sent it (Chromium was handed it with a charset: same_document)
        headers = Headers()
        for name, value in sent.headers:
            headers.appendlist(name, value)
        headers.pop("Content-Encoding", None)  # the body was decompressed when it was fetched
        status, body = sent.status, sent.body
    elif navigation is not None:  # None: the page only moved to another #fragment of the same document
        headers = Headers(await navigation.all_headers())
        headers.pop("Content-Encoding", None)  # Chromium hands the body over decoded
        status = navigation.status
        with suppress(PlaywrightError):  # Chromium may have dropped it already (a large or streamed body)
            body = await navigation.body()
    if body is None:  # then the DOM as it was at the navigation's end stands for it
        body = (await page.content()).encode("utf-8")
        headers["Content-Type"] = "text/html; charset=utf-8"
        headers.pop("Content-Length", None)
    request.meta["download_latency"] = time.monotonic() - started
    response_class = responsetypes.from_args(headers=headers, url=page.url, body=body)
    return response_class(
        url=page.url, status=status, headers=headers, body=body, request=request, flags=["playwright"]
    )


@dataclass(frozen=True)
class Rendered:
    """What the browser showed: the DOM as rendered, the screenshot and how the wait (and the screenshot)
    went."""

    html: bytes  # UTF-8 with a byte-order mark: read as UTF-8 whatever charset its markup still names
    screenshot: bytes | None
    wait: str
    waited: bool  # the condition was met (or there was none)


@dataclass(frozen=True)
class ScreenshotLimits:
    """How much of a page one screenshot holds: from the top, the viewport's width and at most ``height`` CSS
    pixels (a page can lay out hundreds of thousands of pixels tall without its stylesheets, and Chromium
    paints a screenshot into memory at once), at most ``max_bytes`` of PNG, within ``seconds``."""

    height: int = 8000
    max_bytes: int = 16 * 2**20
    seconds: float = 10.0


@dataclass(frozen=True)
class Screenshot:
    """A screenshot, or None with the reason; ``note`` says what it shows (clipped) or why there is none."""

    png: bytes | None
    note: str | None


def describe(options: BrowserOptions) -> str:
    """The wait condition in words, for the wait outcome and the unknown reason."""
    parts = []
    if options.wait_response:
        parts.append(f"a response from {options.wait_response!r}")
    if options.wait_for and options.wait_text:
        parts.append(f"{options.wait_text!r} in {options.wait_for}")
    elif options.wait_for:
        parts.append(options.wait_for)
    elif options.wait_text:
        parts.append(f"text {options.wait_text!r}")
    return " and ".join(parts) or "the document loaded"


async def wait_for_condition(
    page: Page, questions: PageQuestions, options: BrowserOptions, seen: list[str]
) -> tuple[bool, str]:
    """Wait for the profile's condition within ``timeout_ms`` in all; (met, outcome in words)."""
    deadline = time.monotonic() + options.timeout_ms / 1000
    condition = describe(options)
    timed_out = False, f"wait for {condition} timed out after {options.timeout_ms} ms"

    def left() -> float:
        return max(1.0, (deadline - time.monotonic()) * 1000)

    started = time.monotonic()
    try:
        if options.wait_response and not any(options.wait_response in url for url in seen):
            await page.wait_for_event(
                "response", lambda r: (options.wait_response or "") in r.url, timeout=left()
            )
        if options.wait_for or options.wait_text:
            kind, expression = page_selector(options.wait_for) if options.wait_for else (None, None)
            while True:
                try:
                    # the page's own timer ends the wait; the bound on the answer guards a page that hangs
                    met = await questions.ask(
                        WAIT_FOR_ELEMENT, kind, expression, options.wait_text, left(), timeout_s=left() / 1000
                    )
                    break
                except PlaywrightError as error:
                    # a script moved the page on (a redirect, a country chooser): wait in the next document
                    if not navigated(error):
                        raise
                    if time.monotonic() >= deadline:
                        return timed_out
                    await asyncio.sleep(0.05)
            if met is None and options.wait_for:  # a question only Playwright's selector engine can answer
                await playwright_locator(page, options.wait_for, options.wait_text).first.wait_for(
                    state="attached", timeout=left()
                )
            elif not met:
                return timed_out
        elif not options.wait_response:
            return await loaded_and_settled(page, min(left(), LOAD_WAIT_MS), started)
    except PlaywrightTimeout:
        return timed_out
    return True, f"{condition} after {(time.monotonic() - started) * 1000:.0f} ms"


# With no condition in the profile a page is read once its document has loaded, plus a short settle for the
# scripts its load starts. Network idle is no condition for real shops: pictures that fail and fall back, a
# script that polls, a chat widget that reconnects keep a page busy for ever. The navigation already waited for
# DOMContentLoaded (the parsed document and its synchronous scripts): a page whose load event does not come
# within LOAD_WAIT_MS (pictures failing and retried before it) is read as its document stands.
LOAD_WAIT_MS = 3000
SETTLE_AFTER_LOAD_MS = 500


async def loaded_and_settled(page: Page, load_ms: float, started: float) -> tuple[bool, str]:
    """Wait for the load event at most ``load_ms``, then settle; always met, the outcome says how."""
    try:
        await page.wait_for_load_state("load", timeout=load_ms)
        outcome = f"the document loaded after {(time.monotonic() - started) * 1000:.0f} ms"
    except PlaywrightTimeout:
        outcome = f"the document was parsed; no load event within {load_ms:.0f} ms"
    await asyncio.sleep(SETTLE_AFTER_LOAD_MS / 1000)
    return True, f"{outcome}, then {SETTLE_AFTER_LOAD_MS} ms to settle"


def playwright_locator(page: Page, selector: str, text: str | None) -> Locator:
    """The profile's wait condition as a Playwright locator (its CSS reads through shadow roots' boundaries)."""
    locator = page.locator(playwright_selector(selector))
    return locator.filter(has_text=text) if text else locator


async def read_page(page: Page, request: Request) -> Rendered:
    """Act (accept the cookie banner, choose a store), wait, then take the rendered DOM and (when the profile
    wants it) a full-page screenshot."""
    options: BrowserOptions = request.meta[META_OPTIONS]
    session = await page.context.new_cdp_session(page)
    questions = PageQuestions(session)
    try:
        skipped = await perform_actions(page, questions, options)
        waited, outcome = await wait_for_condition(page, questions, options, request.meta.get(META_SEEN, []))
        await late_clicks(page, questions, skipped, options.timeout_ms)
        # the serialised DOM is UTF-8, but its <meta charset> still names the charset the shop sent: the BOM
        # has the reader decode it as what it is
        html = (await questions.ask(PAGE_HTML, timeout_s=options.timeout_ms / 1000)).encode("utf-8-sig")
        shot = Screenshot(None, None)
        if options.screenshot:
            limits: ScreenshotLimits = request.meta.get(META_SHOT_LIMITS) or ScreenshotLimits()
            shot = await bounded_screenshot(page, questions, options.timeout_ms, limits)
    finally:  # bounded too: a stuck driver must not hold the read past its timeout
        with suppress(PlaywrightError, TimeoutError):
            await asyncio.wait_for(session.detach(), 1.0)
    # a page that reached its condition and was read is in a known state: the next product can reuse it
    request.meta[META_REUSABLE] = waited and (shot.png is not None or not options.screenshot)
    wait = f"{outcome}; {shot.note}" if shot.note else outcome
    return Rendered(html=html, screenshot=shot.png, wait=wait, waited=waited)


SETTLE_MS = 2000


async def bounded_screenshot(
    page: Page, questions: PageQuestions, timeout_ms: int, limits: ScreenshotLimits
) -> Screenshot:
    """:func:`full_page_png` within the limits; a screenshot that fails, runs out of time or is too large is
    left out and the note says why: the page's reading does not depend on it."""
    seconds = min(limits.seconds, timeout_ms / 1000)
    try:
        png, height = await full_page_png(page, questions, int(seconds * 1000), limits.height)
    except (PlaywrightError, TimeoutError) as error:
        if browser_gone(error):  # Chromium itself went away: the page is read again
            raise
        first = str(error).splitlines()[0][:160] if str(error) else type(error).__name__
        return Screenshot(None, f"no screenshot: {first}")
    if len(png) > limits.max_bytes:
        return Screenshot(None, f"no screenshot: {len(png)} bytes of PNG, more than {limits.max_bytes}")
    if height > limits.height:
        return Screenshot(png, f"screenshot clipped at {limits.height} px of {height} px")
    return Screenshot(png, None)


async def full_page_png(
    page: Page, questions: PageQuestions, timeout_ms: int, max_height: int
) -> tuple[bytes, int]:
    """The page from its top, the viewport's width and at most ``max_height`` CSS pixels tall, as a lossless
    PNG, settled (animations, fonts, pictures), within ``timeout_ms``; and the page's full height.

    Playwright's own full-page screenshot makes the same DevTools call, but with Chromium's default PNG
    compression and the page's whole height: ``optimizeForSpeed`` takes about a third less of the browser's
    time for about a third more bytes of the same image."""

    async def capture() -> tuple[bytes, int]:
        await questions.ask(SETTLE_PAGE, min(SETTLE_MS, timeout_ms // 2), timeout_s=timeout_ms / 1000)
        session = questions.session
        # a reused page may no longer be its window's active tab, and Chromium draws no frame to capture for a
        # hidden one: the screenshot would wait until its timeout (seen with Chromium 156 on the demo shop, the
        # second product of a context). Pages of one context are not serialised around this: 700 screenshots
        # of bench/browser.py, 4 pages at once in one context, all came back
        await session.send("Page.bringToFront")
        metrics = await session.send("Page.getLayoutMetrics")
        height = int(metrics["cssContentSize"]["height"])
        # a page wider than its viewport is shown at the viewport's width, as a shopper's window shows it
        width = min(int(metrics["cssContentSize"]["width"]), int(metrics["cssLayoutViewport"]["clientWidth"]))
        shot = await session.send(
            "Page.captureScreenshot",
            {
                "format": "png",
                "optimizeForSpeed": True,
                "captureBeyondViewport": True,
                "clip": {
                    "x": 0,
                    "y": 0,
                    "width": max(width, 1),
                    "height": max(min(height, max_height), 1),
                    "scale": 1,
                },
            },
        )
        return base64.b64decode(shot["data"]), height

    try:
        return await asyncio.wait_for(capture(), timeout_ms / 1000)
    except TimeoutError as error:
        raise PlaywrightTimeout(f"screenshot: no image after {timeout_ms} ms") from error


async def close_page(meta: Mapping[str, Any]) -> None:
    """Done with the request's page: back to its context's idle pages when it was read in full (opening a
    page costs Chromium more than navigating one), else closed, whatever state the browser is in."""
    page = meta.get("playwright_page")
    if not isinstance(page, Page):
        return
    idle: IdlePages | None = meta.get(META_IDLE)
    # while another request waits for a place in the context's page limit, closing frees one for it
    if idle is not None and not idle.creating and meta.get(META_REUSABLE) and not page.is_closed():
        with suppress(PlaywrightError, asyncio.CancelledError):
            listener = meta.get(META_LISTENER)
            if listener is not None:
                page.remove_listener("response", listener)
            # the product page's route (and the blocking one): init_page routes them again for the next request
            await page.unroute_all(behavior="ignoreErrors")
            if idle.put(page):
                return
    with suppress(PlaywrightError, asyncio.CancelledError):
        await page.close()


# opening a page takes well under a second; Chromium launching afresh a few seconds
PAGE_OPEN_SECONDS = 30.0


class IdlePages:
    """Open pages of one browser context that no request is using: they keep their place in the context's
    page limit, so a request that needs a page waits for one of them or for a free place."""

    def __init__(self, max_uses: int) -> None:
        self.pages: list[Page] = []
        self.returned = asyncio.Event()
        self.creating = 0  # requests opening a new page (perhaps waiting for a place)
        self.max_uses = max_uses  # a page's memory grows with each document it showed: retire it after these
        self.uses: dict[Page, int] = {}

    def put(self, page: Page) -> bool:
        """Keep ``page`` for the next request; False when it has served its turns (the caller closes it)."""
        uses = self.uses.pop(page, 0) + 1
        if uses >= self.max_uses:
            return False
        self.uses[page] = uses
        self.pages.append(page)
        self.returned.set()
        return True

    def take(self) -> Page | None:
        while self.pages:
            page = self.pages.pop()
            if not page.is_closed():
                return page
        return None

    async def close(self) -> None:
        pages, self.pages = self.pages, []
        self.uses.clear()
        with suppress(PlaywrightError):
            await asyncio.gather(*(page.close() for page in pages))


# Playwright's words when the page, its renderer, its context or Chromium went away under a call
GONE_PHRASES = (
    "has been closed",
    "Target closed",
    "crashed",
    "Browser closed",
    "Connection closed",
    "Session closed",
    "Execution context was destroyed",
    "Frame was detached",
)


def browser_gone(error: BaseException) -> bool:
    """True when the error means the page, its context or Chromium itself went away (crash, kill, restart)."""
    message = str(error)
    return any(phrase in message for phrase in GONE_PHRASES)


# the values of one reading that go together: a price with its currency and reference price, a stock state with
# the reason it is unknown
READING_FIELDS = {
    "price": ("price", "currency", "regular_price"),
    "availability": ("availability", "reason"),
    "orderable": ("orderable",),
    "delivery": ("delivery",),
    "title": ("title",),
    "sku": ("sku",),
    "gtin": ("gtin",),
}


def combined_reading(sent: Offer, rendered: Offer) -> Offer:
    """One reading of a browser fetch from two: ``sent``, the page the shop sent read as the HTTP path reads
    it, and ``rendered``, the page after its scripts ran. Never worse than the HTTP path on the same page:

    - a value the rendered page leaves unknown is the sent page's (a wait that ran out, a script that broke the
      page, a reading that gave up);
    - a value the sent page leaves unknown is the rendered page's (a stock line or a buy button that only
      scripts fill in: what the browser is for);
    - where both know and disagree, the rendered value wins only when scripts changed the evidence the sent
      page's value rests on (a "loading…" line replaced, a placeholder button enabled, structured data
      rewritten); evidence the scripts left in place still stands, whatever else they added to the page (a
      message about a picture that failed, a widget about other products).
    """
    changes: dict[str, Any] = {}
    taken_from_sent: set[str] = set()
    for name, fields in READING_FIELDS.items():
        mine, theirs = getattr(rendered, name), getattr(sent, name)
        if known(theirs) and (not known(mine) or (mine != theirs and evidence_kept(sent, rendered, name))):
            changes.update({field: getattr(sent, field) for field in fields})
            taken_from_sent.update(fields)
    if not changes:
        return rendered
    signals = tuple(s for s in rendered.signals if s.field not in taken_from_sent) + tuple(
        s for s in sent.signals if s.field in taken_from_sent
    )
    return replace(rendered, **changes, signals=signals)


def rendered_reading(sent: Offer, rendered_offer: Offer, rendered: Rendered) -> Offer:
    """The reading of a browser fetch: ``rendered_offer`` read from ``rendered.html``, ``sent`` from the bytes
    the shop sent (:func:`combined_reading`).

    Before its condition is met a page shows placeholders (a disabled button, "chargement…"): not what a
    shopper would see, so neither availability nor orderability is read from the rendered page then."""
    if not rendered.waited:
        rendered_offer = replace(
            rendered_offer, availability=Availability.UNKNOWN, orderable=None, reason=rendered.wait
        )
    return combined_reading(sent, rendered_offer)


def known(value: Any) -> bool:
    return value is not None and value is not Availability.UNKNOWN


def evidence_kept(sent: Offer, rendered: Offer, name: str) -> bool:
    """True when every signal behind the sent page's value of ``name`` is still on the rendered page, saying
    the same."""

    def evidence(offer: Offer) -> set[tuple[str, str, str | None]]:
        # what a signal read and what it made of it: a button a script enabled keeps its words, not its value
        return {(str(s.source), s.raw, s.value) for s in offer.signals if s.field == name}

    return evidence(sent) <= evidence(rendered)


def rendered_capture(response: Response, rendered: Rendered) -> Capture:
    """The evidence of a browser fetch: the server's bytes (when known), the rendered DOM and the screenshot."""
    assert response.request is not None
    headers = {k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.headers.items()}
    request_headers = {
        k.decode("latin-1"): [v.decode("latin-1") for v in vs] for k, vs in response.request.headers.items()
    }
    media_type = (headers.get("content-type") or headers.get("Content-Type") or ["text/html"])[0]
    return Capture(
        url=response.url,
        status=response.status,
        headers=headers,
        body=response.body,
        media_type=media_type.split(";")[0].strip(),
        request_method=response.request.method,
        request_headers=request_headers,
        screenshot=rendered.screenshot,
        rendered_html=rendered.html,
    )


# ---------------------------------------------------------------- download handler


class LazyPlaywrightHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler, but HTTP-only crawls never start Playwright or Chromium, and Chromium is
    restarted after ``PROMOWATCH_BROWSER_RESTART_PAGES`` pages so a long crawl's memory stays flat.

    scrapy-playwright 0.0.48 starts its Playwright driver (a Node process) on ``engine_started`` and Chromium
    at the first browser request; here both wait for the first browser request.
    """

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings: BaseSettings = crawler.settings
        self.restart_pages = settings.getint("PROMOWATCH_BROWSER_RESTART_PAGES", 0)
        self.page_uses = settings.getint("PROMOWATCH_BROWSER_PAGE_USES", 1)
        self.driver_node_options = settings.get("PROMOWATCH_BROWSER_DRIVER_NODE_OPTIONS", "")
        self.screenshot_limits = ScreenshotLimits(
            height=settings.getint("PROMOWATCH_BROWSER_SCREENSHOT_MAX_HEIGHT"),
            max_bytes=settings.getint("PROMOWATCH_BROWSER_SCREENSHOT_MAX_BYTES"),
            seconds=settings.getfloat("PROMOWATCH_BROWSER_SCREENSHOT_SECONDS"),
        )
        self.pages_since_launch = 0
        self.start_lock = asyncio.Lock()
        self.retire_lock = asyncio.Lock()
        self.started = False
        self.idle_pages: dict[str, IdlePages] = {}  # by context name

    async def _maybe_launch_in_thread(self) -> None:
        """Nothing at engine start: see the class docstring."""

    def _engine_started(self) -> Any:
        return None

    async def _download_request(self, request: Request, spider: Any = None) -> Response:
        if META_OPTIONS in request.meta:
            context = request.meta.setdefault("playwright_context", "default")
            if context not in self.idle_pages:
                self.idle_pages[context] = IdlePages(self.page_uses)
            request.meta[META_IDLE] = self.idle_pages[context]
            request.meta[META_SHOT_LIMITS] = self.screenshot_limits
            # scrapy-playwright asks it in its own route, which this handler replaces (init_page asks it)
            if self.abort_request is not None:
                request.meta[META_ABORT] = self.abort_request
        if not self.started:
            async with self.start_lock:
                if not self.started:
                    configured = self.config.launch_options.get("executable_path")
                    self.config.launch_options["executable_path"] = (
                        checked_executable(configured) if configured else browser_executable()
                    )
                    if self.driver_node_options:
                        # Playwright hands the crawler's environment to its Node driver, the only way to size
                        # the driver's heap; an operator's own NODE_OPTIONS wins
                        os.environ.setdefault("NODE_OPTIONS", self.driver_node_options)
                    await self._launch()
                    self.started = True
        return await super()._download_request(request, spider)

    async def _create_page(self, request: Request, spider: Any) -> Page:
        if self.restart_pages and self.pages_since_launch >= self.restart_pages:
            await self._retire_browser()
        idle: IdlePages | None = request.meta.get(META_IDLE)
        while idle is not None:
            reused = idle.take()
            if reused is not None:
                # scrapy-playwright navigates it; its own route and ours were removed when it was put back
                self.pages_since_launch += 1
                return reused
            wrapper = self.context_wrappers.get(request.meta["playwright_context"])
            if wrapper is None or not wrapper.semaphore.locked():
                break
            idle.returned.clear()
            with suppress(TimeoutError):  # a page may also be closed instead of put back: look again
                await asyncio.wait_for(idle.returned.wait(), timeout=0.1)
        if META_OPTIONS in request.meta:
            request.meta["playwright_context_kwargs"] = context_headers(
                request.meta.get("playwright_context_kwargs") or {}, request
            )
        # a page of a browser that died under it never comes: a bounded wait fails the request (retried or
        # unknown) instead of leaving the crawl waiting for ever
        opening = asyncio.wait_for(super()._create_page(request, spider), PAGE_OPEN_SECONDS)
        if idle is None:
            page = await opening
        else:
            idle.creating += 1
            try:
                page = await opening
            finally:
                idle.creating -= 1
        # scrapy-playwright counts every request and response of the page in its stats: a message from the
        # driver to Python for each, for two numbers nobody reads here
        page.remove_listener("request", self._increment_request_stats)
        page.remove_listener("response", self._increment_response_stats)
        self.pages_since_launch += 1
        return page

    async def _download_request_with_page(self, request: Request, page: Page, spider: Any) -> Response:
        if META_OPTIONS not in request.meta:
            return await super()._download_request_with_page(request, page, spider)
        # scrapy-playwright routes every sub-request of the page through Python only to copy Scrapy's
        # headers onto it, a round trip through the driver and Python per request: the context sends the
        # same User-Agent and Accept-Language instead (context_headers)
        await page.unroute("**")
        return await navigate(page, request)

    async def _retire_browser(self) -> None:
        """Let the open pages finish, then close Chromium; the next page launches a fresh one."""
        async with self.retire_lock:
            if self.pages_since_launch < self.restart_pages:
                return  # another request restarted it while this one waited
            drain_until = time.monotonic() + 120
            while self._get_total_page_count() and time.monotonic() < drain_until:
                for idle in self.idle_pages.values():  # pages in use come back here when read
                    await idle.close()
                await asyncio.sleep(0.05)
            browser = getattr(self, "browser", None)
            if browser is not None:
                # our own close, not a crash: keep scrapy-playwright's callback from deleting the next browser
                browser.remove_listener("disconnected", self._browser_disconnected_callback)
                del self.browser
                with suppress(PlaywrightError):
                    await asyncio.gather(*(c.context.close() for c in self.context_wrappers.values()))
                self.context_wrappers.clear()
                with suppress(PlaywrightError):
                    await browser.close()
                self.stats.inc_value("promowatch/browser_restarts")
            self.pages_since_launch = 0

    async def _close(self) -> None:
        if self.started:
            await super()._close()
