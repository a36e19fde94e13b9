"""A Chromium killed while pages are being opened: every page asked for gets an answer (a page, or
``TargetClosedError`` for scrapy-playwright to retry), and the next launch renders again.

Playwright 1.65's driver never answers a ``BrowserContext.new_page()`` under way when Chromium dies, and
scrapy-playwright waits for that page without a bound: the crawl of
test_rendering.py::test_a_killed_browser_is_relaunched_and_the_remaining_pages_are_read then never ended.
promowatch.crawl.browser.LazyChromium stops the driver with its Chromium, which fails such calls."""

from __future__ import annotations

import asyncio

import psutil
import pytest
from scrapy.settings import Settings
from scrapy_playwright.handler import Config

from promowatch import settings as promowatch_settings
from promowatch.crawl.browser import LazyChromium

pytestmark = pytest.mark.browser

ROUNDS = 6  # without the fix about half of the rounds leave a page unanswered
PAGES = 8


def kill_chromium() -> None:
    for child in psutil.Process().children(recursive=True):
        try:
            if "chrom" in child.name().lower():
                child.kill()
        except psutil.NoSuchProcess:
            continue


async def kill_while_opening() -> tuple[list[int], set[str], str]:
    provider = LazyChromium(Config.from_settings(Settings(vars(promowatch_settings))))
    unanswered, answers = [], set()
    for round_ in range(ROUNDS):
        browser = await provider.launch_browser()
        context = await browser.new_context()
        opening = [asyncio.ensure_future(context.new_page()) for _ in range(PAGES)]
        await asyncio.sleep(
            0.02 * round_
        )  # Chromium dies at another moment of the pages' creation each round
        kill_chromium()
        done, pending = await asyncio.wait(opening, timeout=15)
        unanswered.append(len(pending))
        answers |= {type(task.exception()).__name__ if task.exception() else "page" for task in done}
        for task in pending:
            task.cancel()
        await asyncio.sleep(0.5)  # the driver is stopped once Chromium's end is known
    browser = await provider.launch_browser()
    page = await (await browser.new_context()).new_page()
    await page.set_content("<p>relaunched</p>")
    text = await page.inner_text("p")
    await provider.close()
    return unanswered, answers, text


def test_pages_opening_when_chromium_is_killed_are_all_answered_and_the_next_launch_renders() -> None:
    unanswered, answers, text = asyncio.run(kill_while_opening())
    assert unanswered == [0] * ROUNDS
    assert answers <= {"page", "TargetClosedError"}
    assert text == "relaunched"
