"""Reading product pages as a shopper sees them: Chromium through scrapy-playwright's public settings and API.

scrapy-playwright opens the page (``playwright_include_page``) and the spider's callback then performs the
profile's actions, waits for the profile's condition with Playwright locators and one deadline, takes
``page.content()`` and a bounded ``page.screenshot()``, and always closes the page. A page that never reaches its
condition is read as it stands and its wait outcome says why, so extraction can answer ``unknown`` with the
reason instead of guessing. Resource blocking is ``PLAYWRIGHT_ABORT_REQUEST`` (:func:`should_abort_request`);
Playwright and Chromium start at the first browser page (``PLAYWRIGHT_BROWSER_PROVIDER``: :class:`LazyChromium`);
a killed Chromium is relaunched by scrapy-playwright (``PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER``).
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import time
import weakref
from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import playwright
from playwright.async_api import Browser, BrowserContext, Locator, Page, Playwright, Route, async_playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Request as PlaywrightRequest
from playwright.async_api import TimeoutError as PlaywrightTimeout
from scrapy import Request
from scrapy.crawler import Crawler
from scrapy.exceptions import NotSupported
from scrapy.http import Headers, Response
from scrapy.responsetypes import responsetypes
from scrapy_playwright.handler import Config, ScrapyPlaywrightDownloadHandler
from w3lib.encoding import html_body_declared_encoding, read_bom

from promowatch.config import BrowserOptions, WatchedRetailer
from promowatch.domain import Availability, Offer
from promowatch.items import Capture

# Debian's Chromium builds, best first: the headless shell (Debian package chromium-headless-shell) is the build
# Playwright itself launches for headless pages; with no window, tab strip, autofill or translation to run, it
# renders the bench pages faster in less memory than the full browser (chromium)
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
META_DOCUMENT = "promowatch_document"  # the product page's response as the server sent it (DocumentResponse)
META_SHOT_LIMITS = "promowatch_screenshot_limits"  # ScreenshotLimits from the settings
# Chromium's Accept-Encoding stands for the document fetched for it (Playwright decodes what it accepts)
NOT_FORWARDED = ("accept-encoding",)


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

_PSEUDO_ELEMENT = re.compile(r"::(?:text|attr\([^)]*\))")
_LAST_NODE_STEP = re.compile(r"/(?:text\(\)|@[\w:.-]+)$")  # an XPath's text or attribute of the element


def page_selector(selector: str) -> tuple[str, str]:
    """A profile selector (parsel CSS or ``xpath:...``) as (``"css"`` or ``"xpath"``, the expression) for the
    page: parsel's ``::text`` and ``::attr()`` name their element's text or attribute, the page needs the
    element."""
    if selector.startswith("xpath:"):
        return "xpath", _LAST_NODE_STEP.sub("", selector.removeprefix("xpath:"))
    return "css", _PSEUDO_ELEMENT.sub("", selector)


def playwright_selector(selector: str) -> str:
    """A profile selector (parsel CSS or ``xpath:...``) as Playwright understands it."""
    kind, expression = page_selector(selector)
    return f"xpath={expression}" if kind == "xpath" else expression


async def perform_actions(page: Page, options: BrowserOptions) -> list[str]:
    """The profile's actions ({click}, {fill}, {wait}) in order, each bounded by the profile's timeout; returns
    the clicks skipped.

    A click on what the page does not show is skipped: a cookie banner is accepted on the first page of a
    browser context and not shown again on the next ones (and a banner a script adds later gets a second chance
    in ``late_clicks``). A fill needs its field (a postcode or a store the reading depends on): a missing one
    makes the observation unknown with the reason."""
    skipped = []
    for action in options.actions:
        ((verb, argument),) = action.items()
        if verb == "click":
            if not await click_if_shown(page, argument, options.timeout_ms):
                skipped.append(argument)
        elif verb == "fill":
            selector, text = argument
            await page.locator(playwright_selector(selector)).first.fill(text, timeout=options.timeout_ms)
        elif verb == "wait":
            await page.wait_for_timeout(int(argument))
    return skipped


async def click_if_shown(page: Page, selector: str, timeout_ms: int) -> bool:
    """Click the first element ``selector`` names when the page shows it; never waits for it to appear."""
    target = page.locator(playwright_selector(selector)).first
    if not await target.is_visible():
        return False
    await target.click(timeout=timeout_ms)
    return True


async def late_clicks(page: Page, selectors: list[str], timeout_ms: int) -> None:
    """After the wait, the clicks skipped before it whose target a script has shown since (a consent manager's
    banner arrives after the document), so that it does not cover the screenshot."""
    for selector in selectors:
        await click_if_shown(page, selector, timeout_ms)


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


# the profile's options and product URL of each open page, for PLAYWRIGHT_ABORT_REQUEST's predicate, which is
# handed only Playwright's request; an entry goes with its page
PAGE_OPTIONS: weakref.WeakKeyDictionary[Page, tuple[BrowserOptions, str]] = weakref.WeakKeyDictionary()


def should_abort_request(asked: PlaywrightRequest) -> bool:
    """``PLAYWRIGHT_ABORT_REQUEST``: what the profile of the request's page blocks (:func:`should_block`)."""
    try:
        page = asked.frame.page
    except PlaywrightError:  # a service worker's request has no frame (and service workers are blocked)
        return False
    known = PAGE_OPTIONS.get(page)
    return known is not None and should_block(known[0], asked.resource_type, asked.url, known[1])


async def init_page(page: Page, request: Request) -> None:
    """``playwright_page_init_callback``, before navigation: note the profile's blocking for
    :func:`should_abort_request`, take the product page's own response through :func:`same_document`, and note
    the responses when the profile waits for one."""
    options: BrowserOptions = request.meta[META_OPTIONS]
    PAGE_OPTIONS[page] = (options, request.url)
    seen: list[str] = []
    request.meta[META_SEEN] = seen
    request.meta.pop(META_DOCUMENT, None)
    # the headers Scrapy would send for the page (the honest User-Agent, the shop's language)
    sent_headers = {
        str(name).lower(): str(value) for name, value in request.headers.to_unicode_dict().items()
        if str(name).lower() not in NOT_FORWARDED
    }  # fmt: skip

    async def document(route: Route, asked: PlaywrightRequest) -> None:
        if asked.frame.parent_frame is not None or not asked.is_navigation_request():
            await route.fallback()
            return
        await same_document(route, request, {**asked.headers, **sent_headers}, options.timeout_ms)

    # registered after scrapy-playwright's own route, so asked first; a regular expression is matched by the
    # driver, so no other request of the page comes to Python for it
    await page.route(re.compile("^" + re.escape(request.url) + "$"), document)
    if options.wait_response:
        page.on("response", lambda response: seen.append(response.url))


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


async def same_document(route: Route, request: Request, headers: dict[str, str], timeout_ms: int) -> None:
    """Fetch the product page for Chromium with these ``headers`` and hand it over with the charset the HTTP
    path would decode it with (:func:`http_charset`); the server's own response is kept for the evidence.
    Redirects are handed over as they are, for Chromium to follow."""
    try:
        fetched = await route.fetch(headers=headers, max_redirects=0, timeout=timeout_ms)
    except PlaywrightError:
        await route.fallback()  # Chromium's own request then meets the same failure and reports it
        return
    body = await fetched.body()
    received = fetched.headers_array
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
        fetched.status, [(h["name"], h["value"]) for h in received], body
    )
    await route.fulfill(status=fetched.status, headers=handed, body=body)


# ---------------------------------------------------------------- reading the page


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


def condition_locator(page: Page, options: BrowserOptions) -> Locator:
    """The profile's wait condition as a Playwright locator: the ``wait_for`` element (its CSS reads through
    open shadow roots), holding ``wait_text`` when given, as a shopper sees it (case and spacing aside; the text
    of scripts, styles and the document's head does not count)."""
    locator = page.locator(playwright_selector(options.wait_for) if options.wait_for else "html")
    return locator.filter(has_text=options.wait_text) if options.wait_text else locator


async def wait_for_condition(page: Page, options: BrowserOptions, seen: list[str]) -> tuple[bool, str]:
    """Wait for the profile's condition within ``timeout_ms`` in all; (met, outcome in words). A locator's
    wait goes on in the document a script moved the page on to."""
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
            await condition_locator(page, options).first.wait_for(state="attached", timeout=left())
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


async def read_page(page: Page, request: Request) -> Rendered:
    """Act (accept the cookie banner, choose a store), wait, then take the rendered DOM and (when the profile
    wants it) a screenshot from the top of the page."""
    options: BrowserOptions = request.meta[META_OPTIONS]
    skipped = await perform_actions(page, options)
    waited, outcome = await wait_for_condition(page, options, request.meta.get(META_SEEN, []))
    await late_clicks(page, skipped, options.timeout_ms)
    # page.content() takes no timeout: a renderer that stopped answering must not hold the read for ever.
    # The serialised DOM is UTF-8, but its <meta charset> still names the charset the shop sent: the BOM has
    # the reader decode it as what it is
    html = (await asyncio.wait_for(page.content(), options.timeout_ms / 1000)).encode("utf-8-sig")
    shot = Screenshot(None, None)
    if options.screenshot:
        limits: ScreenshotLimits = request.meta.get(META_SHOT_LIMITS) or ScreenshotLimits()
        shot = await bounded_screenshot(page, options.timeout_ms, limits)
    wait = f"{outcome}; {shot.note}" if shot.note else outcome
    return Rendered(html=html, screenshot=shot.png, wait=wait, waited=waited)


# Before the image, the pictures still loading are waited for at most this long (a lazy picture below the fold
# would never come, so those are not waited for); Playwright's screenshot itself waits for the fonts
SETTLE_MS = 2000
PICTURES_LOADED = (
    """() => [...document.images].every((image) => image.complete || image.loading === "lazy")"""
)
PAGE_SIZE = """() => [
    Math.max(document.documentElement.scrollWidth, document.body ? document.body.scrollWidth : 0),
    Math.max(document.documentElement.scrollHeight, document.body ? document.body.scrollHeight : 0),
]"""


async def bounded_screenshot(page: Page, timeout_ms: int, limits: ScreenshotLimits) -> Screenshot:
    """:func:`top_of_page_png` within the limits; a screenshot that fails, runs out of time or is too large is
    left out and the note says why: the page's reading does not depend on it."""
    seconds = min(limits.seconds, timeout_ms / 1000)
    try:
        # Playwright's own timeouts bound each call; this bounds them together
        png, height = await asyncio.wait_for(
            top_of_page_png(page, int(seconds * 1000), limits.height), seconds + 1
        )
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


async def top_of_page_png(page: Page, timeout_ms: int, max_height: int) -> tuple[bytes, int]:
    """The page from its top, the viewport's width and at most ``max_height`` CSS pixels tall, as a PNG with
    animations stopped, once its pictures have loaded (at most ``SETTLE_MS``); and the page's full height."""
    started = time.monotonic()
    with suppress(PlaywrightTimeout):
        await page.wait_for_function(PICTURES_LOADED, timeout=min(SETTLE_MS, timeout_ms / 2))
    width, height = await page.evaluate(PAGE_SIZE)
    viewport = page.viewport_size or {"width": 1280, "height": 900}
    # a page wider than its viewport is shown at the viewport's width, as a shopper's window shows it
    clip = {
        "x": 0,
        "y": 0,
        "width": max(min(width, viewport["width"]), 1),
        "height": max(min(height, max_height), 1),
    }
    png = await page.screenshot(
        full_page=True,
        clip=clip,  # type: ignore[arg-type]
        animations="disabled",
        timeout=max(1.0, timeout_ms - (time.monotonic() - started) * 1000),
    )
    return png, int(height)


# closing a page of a Chromium that went away answers at once; a stuck driver must not hold the callback
CLOSE_SECONDS = 5.0


async def close_page(meta: Mapping[str, Any]) -> None:
    """Done with the request's page: closed, whatever state the browser is in (closing frees its place in the
    context's ``PLAYWRIGHT_MAX_PAGES_PER_CONTEXT``)."""
    page = meta.get("playwright_page")
    if not isinstance(page, Page):
        return
    PAGE_OPTIONS.pop(page, None)
    with suppress(PlaywrightError, TimeoutError):
        await asyncio.wait_for(page.close(), CLOSE_SECONDS)


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
        ip_address=None if response.ip_address is None else str(response.ip_address),
    )


# ---------------------------------------------------------------- Playwright and Chromium


class LazyChromium:
    """``PLAYWRIGHT_BROWSER_PROVIDER``: Playwright's driver (a Node process) and Chromium start at the first
    browser page, not when the crawl starts, so an HTTP-only crawl never starts either; the Chromium launched is
    the one ``PLAYWRIGHT_LAUNCH_OPTIONS`` names, else :func:`browser_executable`'s (a missing one fails the page
    with :class:`BrowserNotFound`).

    A Chromium that goes away (crash, kill) takes its driver with it, and scrapy-playwright asks for a new
    one (``PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER``): Playwright 1.65's driver never answers a
    ``BrowserContext.new_page()`` that was under way when Chromium died (half of the rounds of 8 pages opened
    at once while Chromium is killed), and scrapy-playwright waits for that page without a bound, so the crawl
    never ended. Stopping the driver fails every call still waiting on it with ``TargetClosedError``, which
    scrapy-playwright retries on the relaunched Chromium."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.playwright: Playwright | None = None

    async def start(self) -> None:
        """Nothing at engine start: see the class docstring."""

    async def launch_browser(self) -> Browser:
        options = dict(self.config.launch_options)
        configured = options.get("executable_path")
        options["executable_path"] = checked_executable(configured) if configured else browser_executable()
        if self.playwright is None:
            self.playwright = await async_playwright().start()
        driver = self.playwright
        browser: Browser = await getattr(driver, self.config.browser_type_name).launch(**options)

        async def driver_gone(_: Browser) -> None:
            if self.playwright is driver:
                self.playwright = None  # the next launch starts a driver of its own
            with suppress(PlaywrightError):
                await driver.stop()

        browser.on("disconnected", driver_gone)
        return browser

    async def launch_persistent_context(self, context_kwargs: dict[str, Any]) -> BrowserContext:
        raise NotSupported("promowatch opens no persistent browser contexts")

    async def close(self) -> None:
        if self.playwright is not None:
            driver, self.playwright = self.playwright, None
            await driver.stop()


class BrowserDownloadHandler(ScrapyPlaywrightDownloadHandler):
    """scrapy-playwright's handler through Scrapy's public download-handler interface only: a product page's
    response carries the document as the server sent it (:func:`same_document`), for the evidence and for
    reading it as over HTTP, where scrapy-playwright gives the DOM serialised at the navigation's end; and the
    screenshot limits of the settings go along with the request."""

    def __init__(self, crawler: Crawler) -> None:
        super().__init__(crawler)
        settings = crawler.settings
        self.screenshot_limits = ScreenshotLimits(
            height=settings.getint("PROMOWATCH_BROWSER_SCREENSHOT_MAX_HEIGHT"),
            max_bytes=settings.getint("PROMOWATCH_BROWSER_SCREENSHOT_MAX_BYTES"),
            seconds=settings.getfloat("PROMOWATCH_BROWSER_SCREENSHOT_SECONDS"),
        )

    async def download_request(self, request: Request) -> Response:
        if META_OPTIONS not in request.meta:
            return await super().download_request(request)
        request.meta[META_SHOT_LIMITS] = self.screenshot_limits
        response = await super().download_request(request)
        return as_sent(response, request.meta.get(META_DOCUMENT))


def as_sent(response: Response, sent: DocumentResponse | None) -> Response:
    """``response`` with the URL, body, status and headers the server sent for its document, when the page
    showed that document (not one a redirect led to: Chromium followed it). A script may have moved the page on
    since (scrapy-playwright takes the page's URL at the end): the callback's wait reads where it went."""
    if sent is None or 300 <= sent.status < 400 or response.request is None:
        return response
    headers = Headers()
    for name, value in sent.headers:
        headers.appendlist(name, value)
    headers.pop("Content-Encoding", None)  # the body was decompressed when it was fetched
    url = response.request.url
    kind = responsetypes.from_args(headers=headers, url=url, body=sent.body)
    return kind(
        url=url,
        status=sent.status,
        headers=headers,
        body=sent.body,
        request=response.request,
        flags=response.flags,
        ip_address=response.ip_address,
    )
