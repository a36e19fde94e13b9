"""Pure parts of promowatch/crawl/browser.py: selectors, resource blocking, actions, wait descriptions, the executable."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Error as PlaywrightError

from promowatch.config import BrowserOptions
from promowatch.crawl.browser import (
    BrowserNotFound,
    browser_executable,
    browser_gone,
    describe,
    page_selector,
    playwright_selector,
    should_block,
)

PAGE = "http://shop.example.ch/p/1"


@pytest.mark.parametrize(
    ("profile_selector", "element", "for_playwright"),
    [
        pytest.param("#stock[data-status]", ("css", "#stock[data-status]"), "#stock[data-status]", id="css"),
        pytest.param(".stock::text", ("css", ".stock"), ".stock", id="parsel-text-pseudo-names-its-element"),
        pytest.param("a.buy::attr(href)", ("css", "a.buy"), "a.buy", id="parsel-attr-pseudo-names-its-element"),
        pytest.param(".a::text, .b::text", ("css", ".a, .b"), ".a, .b", id="every-selector-of-a-group"),
        pytest.param("xpath://p[@id='stock']", ("xpath", "//p[@id='stock']"), "xpath=//p[@id='stock']", id="xpath"),
        pytest.param("xpath://p[@id='stock']/text()", ("xpath", "//p[@id='stock']"), "xpath=//p[@id='stock']",
                     id="xpath-text-names-its-element"),
        pytest.param("xpath://a[@rel]/@href", ("xpath", "//a[@rel]"), "xpath=//a[@rel]",
                     id="xpath-attribute-names-its-element"),
    ],
)  # fmt: skip
def test_profile_selectors_name_elements_in_the_page(
    profile_selector: str, element: tuple[str, str], for_playwright: str
) -> None:
    assert page_selector(profile_selector) == element
    assert playwright_selector(profile_selector) == for_playwright


NO_SHOT = BrowserOptions(screenshot=False)


@pytest.mark.parametrize(
    ("options", "resource_type", "url", "blocked"),
    [
        # defaults of config.BrowserOptions: image, font, media blocked unless a screenshot is taken (on by
        # default); other sites blocked
        pytest.param(NO_SHOT, "image", "http://shop.example.ch/a.png", True, id="image-blocked"),
        pytest.param(NO_SHOT, "font", "http://shop.example.ch/a.woff2", True, id="font-blocked"),
        pytest.param(
            BrowserOptions(), "image", "http://shop.example.ch/a.png", False, id="image-loaded-for-screenshot"
        ),
        pytest.param(
            BrowserOptions(), "font", "http://shop.example.ch/a.woff2", False, id="font-loaded-for-screenshot"
        ),
        pytest.param(
            BrowserOptions(),
            "script",
            "http://tracker.test/t.js",
            True,
            id="third-party-blocked-with-screenshot",
        ),
        # what a screenshot shows comes from the shop's CDN as often as from the shop
        pytest.param(
            BrowserOptions(), "image", "http://cdn.test/p.jpg", False, id="cdn-picture-for-screenshot"
        ),
        pytest.param(
            BrowserOptions(), "stylesheet", "http://cdn.test/s.css", False, id="cdn-styles-for-screenshot"
        ),
        pytest.param(
            NO_SHOT, "stylesheet", "http://cdn.test/s.css", True, id="cdn-styles-without-screenshot"
        ),
        pytest.param(
            BrowserOptions(), "script", "http://shop.example.ch/app.js", False, id="own-script-kept"
        ),
        pytest.param(
            BrowserOptions(), "fetch", "http://api.example.ch/stock", False, id="own-subdomain-kept"
        ),
        pytest.param(BrowserOptions(), "script", "http://tracker.test/t.js", True, id="third-party-blocked"),
        pytest.param(BrowserOptions(), "image", "data:image/png;base64,AA", False, id="data-url-kept"),
        pytest.param(
            BrowserOptions(block_third_party=False),
            "script",
            "http://cdn.test/x.js",
            False,
            id="third-party-allowed",
        ),
        pytest.param(
            BrowserOptions(block=(), screenshot=False),
            "image",
            "http://shop.example.ch/a.png",
            False,
            id="nothing-blocked",
        ),
        pytest.param(
            BrowserOptions(), "document", "http://other.test/", False, id="navigation-never-blocked"
        ),
    ],
)
def test_resource_blocking(options: BrowserOptions, resource_type: str, url: str, blocked: bool) -> None:
    assert should_block(options, resource_type, url, PAGE) is blocked


@pytest.mark.parametrize(
    ("options", "words"),
    [
        pytest.param(BrowserOptions(), "the document loaded", id="no-condition"),
        pytest.param(BrowserOptions(wait_for=".stock"), ".stock", id="selector"),
        pytest.param(
            BrowserOptions(wait_for=".stock", wait_text="En stock"), "'En stock' in .stock", id="text-in"
        ),
        pytest.param(BrowserOptions(wait_text="Disponible"), "text 'Disponible'", id="text-anywhere"),
        pytest.param(
            BrowserOptions(wait_response="/api/stock/", wait_for=".stock"),
            "a response from '/api/stock/' and .stock",
            id="response-and-selector",
        ),
    ],
)
def test_wait_condition_in_words(options: BrowserOptions, words: str) -> None:
    assert describe(options) == words


def test_missing_chromium_is_one_clear_line(tmp_path: Path) -> None:
    missing = str(tmp_path / "chromium")
    with pytest.raises(BrowserNotFound) as raised:
        browser_executable({"PROMOWATCH_CHROMIUM": missing})
    assert str(raised.value).startswith(f"no Chromium at {missing}: ")
    assert "\n" not in str(raised.value)


def test_debian_chromium_is_found_by_default() -> None:
    assert Path(browser_executable({})).name.startswith("chromium")


def executable(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    ("installed", "environ", "expected"),
    [
        pytest.param(["own/chromium", "deb/shell", "deb/chromium"], {"PROMOWATCH_CHROMIUM": "own/chromium"},
                     "own/chromium", id="operator-choice-first"),
        pytest.param(["deb/shell", "deb/chromium"], {}, "deb/shell", id="debian-headless-shell"),
        pytest.param(["deb/chromium"], {}, "deb/chromium", id="debian-chromium"),
        pytest.param(
            ["pw/chromium_headless_shell-999/chrome-linux/headless_shell",
             "pw/chromium_headless_shell-1190/chrome-linux/headless_shell", "pw/chromium-1200/chrome-linux/chrome"],
            {"PLAYWRIGHT_BROWSERS_PATH": "pw"},
            "pw/chromium_headless_shell-1190/chrome-linux/headless_shell",
            id="playwright-download-newest-shell",
        ),
        pytest.param(["xdg/ms-playwright/chromium-1190/chrome-linux/chrome"], {"XDG_CACHE_HOME": "xdg"},
                     "xdg/ms-playwright/chromium-1190/chrome-linux/chrome", id="playwright-xdg-cache"),
        pytest.param(["home/.cache/ms-playwright/chromium-1190/chrome-linux/chrome"], {"HOME": "home"},
                     "home/.cache/ms-playwright/chromium-1190/chrome-linux/chrome", id="playwright-cache"),
    ],
)  # fmt: skip
def test_the_chromium_launched_is_the_first_found(
    tmp_path: Path, installed: list[str], environ: dict[str, str], expected: str
) -> None:
    for path in installed:
        executable(tmp_path / path)
    environ = {key: str(tmp_path / value) for key, value in environ.items()}
    debian = (str(tmp_path / "deb/shell"), str(tmp_path / "deb/chromium"))
    assert browser_executable(environ, debian) == str(tmp_path / expected)


def test_no_chromium_anywhere_says_what_to_install(tmp_path: Path) -> None:
    debian = (str(tmp_path / "deb/shell"), str(tmp_path / "deb/chromium"))
    with pytest.raises(
        BrowserNotFound, match=r"apt-get install chromium-headless-shell chromium\), run `playwright"
    ):
        browser_executable({"HOME": str(tmp_path)}, debian)


@pytest.mark.parametrize(
    ("message", "gone"),
    [
        # messages Playwright 1.5x raises when Chromium or one of its renderers is killed under a call
        pytest.param("Page.content: Target page, context or browser has been closed", True, id="closed"),
        pytest.param("Page.goto: Navigation failed because page crashed!", True, id="renderer-crash"),
        pytest.param("Protocol error (Page.captureScreenshot): Session closed.", True, id="cdp-session"),
        pytest.param("Page.content: Execution context was destroyed", True, id="context-destroyed"),
        pytest.param("Locator.wait_for: Frame was detached", True, id="frame-detached"),
        pytest.param("Page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:9/", False, id="shop-down"),
        pytest.param("Timeout 8000ms exceeded.", False, id="timeout"),
    ],
)
def test_which_errors_mean_the_browser_went_away(message: str, gone: bool) -> None:
    assert browser_gone(PlaywrightError(message)) is gone
