"""The page conditions of promowatch/crawl/browser.py asked of a real Chromium through Playwright's locators: what a page
shows and what a wait finds (shadow roots, XHTML, SVG, live form state, text a shopper sees, pages that broke
JavaScript's built-ins or moved on to another document).

Every page is set from a string or fulfilled by a route: nothing is fetched."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import pytest
from playwright.async_api import Page, Route, async_playwright

from promowatch.config import BrowserOptions
from promowatch.crawl.browser import (
    browser_executable,
    click_if_shown,
    playwright_selector,
    wait_for_condition,
)
from promowatch.settings import PLAYWRIGHT_LAUNCH_OPTIONS

pytestmark = pytest.mark.browser

BUTTON = '<button class="accept">OK</button>'
SHADOW_BUTTON = (
    '<div id="host"></div><script>document.getElementById("host").attachShadow({mode: "open"}).innerHTML = '
    '\'<button class="accept" onclick="document.title = `clicked`">OK</button>\';</script>'
)
# (name, page, question, selector, text) -> answer; question "shown" or "wait" (a wait gives up after 300 ms)
CASES: list[tuple[str, str, str, str | None, str | None, bool]] = [
    ("plain", BUTTON, "shown", "button.accept", None, True),
    ("display-none", '<button class="accept" style="display:none">OK</button>', "shown", "button.accept", None, False),
    ("visibility-hidden", '<button class="accept" style="visibility:hidden">OK</button>', "shown", ".accept", None,
     False),
    ("missing", "<p>nothing</p>", "shown", "button.accept", None, False),
    # consent managers (Usercentrics and others) draw their banner in an open shadow root
    ("shadow-root", '<div id="host"></div><script>document.getElementById("host").attachShadow({mode: "open"})'
     '.innerHTML = \'<button class="accept">OK</button>\';</script>', "shown", "button.accept", None, True),
    ("xpath", BUTTON, "shown", "xpath://button[text()='OK']", None, True),
    ("xpath-to-an-attribute", BUTTON, "shown", "xpath://button/@class", None, True),
    ("xpath-to-a-text", BUTTON, "shown", "xpath://button/text()", None, True),
    # Playwright's CSS reads "#host button" through the shadow root's boundary (the browser's own would not)
    ("across-a-shadow-boundary", SHADOW_BUTTON, "shown", "#host button.accept", None, True),
    ("parsel-text-pseudo", BUTTON, "shown", "button.accept::text", None, True),
    ("playwright-only-syntax", BUTTON, "shown", 'button:has-text("OK")', None, True),
    # a page whose scripts replaced JavaScript's built-ins: Playwright's locators run in their own world
    ("page-broke-built-ins", BUTTON + "<script>document.evaluate = undefined; document.querySelectorAll = null;"
     "window.setTimeout = () => 0; window.MutationObserver = null;</script>", "shown", "button.accept", None, True),
    ("text-in-element", '<p class="stock">En  STOCK</p>', "wait", ".stock", "en stock", True),
    ("text-elsewhere", '<p class="stock">chargement…</p><p>En stock</p>', "wait", ".stock", "En stock", False),
    ("text-only-in-a-script-of-the-element",
     '<div class="stock">chargement…<script>const s = "En stock";</script></div>', "wait", ".stock", "En stock",
     False),
    ("word-split-across-tags", '<p class="stock">Liefer<span>bar</span></p>', "wait", ".stock", "Lieferbar", True),
    ("text-anywhere-later", '<main></main><script>setTimeout(() => document.querySelector("main").textContent = '
     '"Rupture de stock", 100);</script>', "wait", None, "rupture de stock", True),
    ("text-anywhere-in-shadow-root", '<div id="host"></div><script>document.getElementById("host")'
     '.attachShadow({mode: "open"}).textContent = "En stock";</script>', "wait", None, "En stock", True),
    ("title-is-not-shown", "<head><title>En stock</title></head><body><p>chargement…</p></body>", "wait", None,
     "En stock", False),
    ("live-form-state", '<input type="checkbox" id="c"><script>document.getElementById("c").checked = true;'
     "</script>", "wait", "#c:checked", None, True),
    ("attribute-set-later", '<p id="stock">…</p><script>setTimeout(() => document.getElementById("stock")'
     '.setAttribute("data-state", "loaded"), 100);</script>', "wait", "#stock[data-state=loaded]", None, True),
    ("wait-playwright-only-syntax", BUTTON, "wait", "text=OK", None, True),
    ("shadow-content-later", '<div id="host"></div><script>const root = document.getElementById("host")'
     '.attachShadow({mode: "open"}); setTimeout(() => root.innerHTML = \'<p class="stock">En stock</p>\', 100);'
     "</script>", "wait", "p.stock", "en stock", True),
    ("wait-in-a-page-that-broke-built-ins", '<p class="stock">…</p><script>const later = window.setTimeout;'
     'later(() => document.querySelector(".stock").textContent = "En stock", 100); window.setTimeout = () => 0;'
     "window.MutationObserver = null; window.setInterval = null;</script>", "wait", ".stock", "En stock", True),
]  # fmt: skip
XHTML = (
    '<?xml version="1.0" encoding="utf-8"?><html xmlns="http://www.w3.org/1999/xhtml"><head><title>x</title>'
    '</head><body><p class="stock">En stock</p><svg xmlns="http://www.w3.org/2000/svg" class="icon" width="10" '
    'height="10"><rect width="10" height="10"/></svg><button class="accept">OK</button></body></html>'
)
XHTML_CASES = [
    ("xhtml-shown", "shown", "button.accept", None, True),
    ("xhtml-wait-text", "wait", "p.stock", "En stock", True),
    ("svg-in-xhtml", "shown", "svg.icon", None, True),
]


async def answer(page: Page, question: str, selector: str | None, text: str | None) -> bool:
    if question == "shown":
        assert selector is not None
        return await page.locator(playwright_selector(selector)).first.is_visible()
    met, _ = await wait_for_condition(
        page, BrowserOptions(wait_for=selector, wait_text=text, timeout_ms=300), []
    )
    return met


async def fulfil(route: Route) -> None:
    if route.request.url.endswith(".xhtml"):
        await route.fulfill(body=XHTML, content_type="application/xhtml+xml")
    elif route.request.url.endswith("/moving.html"):
        # the stock line is filled in the document the page moves on to
        await route.fulfill(
            body='<p>…</p><script>setTimeout(() => location.href = "/filled.html", 100);</script>',
            content_type="text/html",
        )
    elif route.request.url.endswith("/filled.html"):
        await route.fulfill(
            body='<p id="stock" data-status="in_stock">En stock</p>', content_type="text/html"
        )
    else:
        await route.fulfill(body=BUTTON, content_type="text/html")


async def ask_all() -> dict[str, Any]:
    """Every case's answer, or the error it raised (so that a case fails alone)."""
    answers: dict[str, Any] = {}

    async def keep(name: str, question: Awaitable[Any]) -> None:
        try:
            answers[name] = await question
        except Exception as error:
            answers[name] = error

    options = {**PLAYWRIGHT_LAUNCH_OPTIONS, "executable_path": browser_executable()}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(**options)
        for name, html, question, selector, text, _ in CASES:
            page = await browser.new_page()
            await page.set_content(f"<!doctype html><html>{html}</html>")
            await keep(name, answer(page, question, selector, text))
            await page.close()
        page = await browser.new_page()
        await page.route("http://127.0.0.1:9/**", fulfil)
        await page.goto("http://127.0.0.1:9/page.xhtml")
        for name, question, selector, text, _ in XHTML_CASES:
            await keep(name, answer(page, question, selector, text))
        await page.goto("http://127.0.0.1:9/moving.html")
        waiting = BrowserOptions(wait_for="#stock[data-status]", timeout_ms=3000)
        await keep("wait-goes-on-in-the-next-document", wait_for_condition(page, waiting, []))
        page = await browser.new_page()
        await page.set_content(f"<!doctype html><html>{SHADOW_BUTTON}</html>")
        await keep("click-across-a-shadow-boundary", click_if_shown(page, "#host button.accept", 2000))
        answers["title-after-the-click"] = await page.title()
        await browser.close()
    return answers


@pytest.fixture(scope="module")
def answers() -> dict[str, Any]:
    return asyncio.run(ask_all())


@pytest.mark.parametrize(
    ("name", "expected"),
    [pytest.param(c[0], c[-1], id=c[0]) for c in CASES]
    + [pytest.param(c[0], c[-1], id=c[0]) for c in XHTML_CASES]
    + [pytest.param("click-across-a-shadow-boundary", True, id="click-across-a-shadow-boundary")],
)
def test_the_page_answers_as_a_shopper_sees_it(answers: dict[str, Any], name: str, expected: bool) -> None:
    assert answers[name] is expected


def test_a_wait_goes_on_in_the_document_a_script_moved_the_page_to(answers: dict[str, Any]) -> None:
    met, outcome = answers["wait-goes-on-in-the-next-document"]
    assert met, outcome
    assert answers["title-after-the-click"] == "clicked"
