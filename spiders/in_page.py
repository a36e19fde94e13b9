"""Questions asked inside a rendered page over the DevTools protocol: is this element there (with this text), is
it shown, what is the page's HTML, settle it before the screenshot.

Playwright's own locators, ``page.content()`` and ``page.evaluate`` first load Playwright's helper scripts into
each new document (its selector engine alone is about 330 kB of JavaScript sent through Chromium's browser
process and compiled by the page's renderer). A product page is one document read once, so that set-up was a
large share of its rendering cost: here one ``Runtime.evaluate`` per question asks the page directly.

The questions run in an isolated world of the page, as Playwright's do: they see the page's DOM, but not what its
scripts did to JavaScript's built-ins. Selectors mean what they meant to Playwright: CSS through the browser's own
engine, into open shadow roots too (consent banners live there), and ``xpath:...`` through ``document.evaluate``.
A selector only Playwright understands (``:has-text()``, ``text=``) gets no answer here (``None``) and the caller
asks Playwright instead.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

# Chromium's words when the document a question was asked in went away: the page moved on to another one
NAVIGATED_PHRASES = (
    "Execution context was destroyed",
    "Cannot find default execution context",
    "Cannot find context with specified id",
    "Inspected target navigated or closed",  # the headless shell's words; a closed page fails the next question
)
WORLD = "promowatch"
_PSEUDO_ELEMENT = re.compile(r"::(?:text|attr\([^)]*\))")
_LAST_NODE_STEP = re.compile(r"/(?:text\(\)|@[\w:.-]+)$")  # an XPath's text or attribute of the element


def page_selector(selector: str) -> tuple[str, str]:
    """A profile selector (parsel CSS or ``xpath:...``) as (``"css"`` or ``"xpath"``, the expression) for the
    page: parsel's ``::text`` and ``::attr()`` name their element's text or attribute, the page needs the
    element."""
    if selector.startswith("xpath:"):
        return "xpath", _LAST_NODE_STEP.sub("", selector.removeprefix("xpath:"))
    return "css", _PSEUDO_ELEMENT.sub("", selector)


def navigated(error: BaseException) -> bool:
    """True when a question failed because the page left the document it was asked in."""
    return any(phrase in str(error) for phrase in NAVIGATED_PHRASES)


class PageQuestions:
    """Questions to one page through one DevTools session, in an isolated world made for the current document
    (made again when the page has moved on to another one)."""

    def __init__(self, session: CDPSession) -> None:
        self.session = session
        self.world: int | None = None

    async def ask(self, function: str, *args: Any, timeout_s: float) -> Any:
        """``function(*args)`` evaluated in the page (awaited when it returns a promise); its JSON value.

        :class:`PlaywrightTimeout` when the page does not answer within ``timeout_s`` (scripts that never yield),
        a Playwright error otherwise; :func:`navigated` tells the page moving on from the rest."""
        try:
            return await asyncio.wait_for(self._ask(function, args), timeout_s)
        except TimeoutError as error:
            raise PlaywrightTimeout(f"the page did not answer within {timeout_s:.1f} s") from error

    async def _ask(self, function: str, args: tuple[Any, ...]) -> Any:
        made_now = self.world is None
        try:
            return await self._evaluate(function, args)
        except PlaywrightError as error:
            if not navigated(error):
                raise
            self.world = None  # made for a document the page has since left
            if made_now:  # the page is moving on right now: the caller decides whether to wait
                raise
        return await self._evaluate(function, args)  # once more, in a world of the document the page is on

    async def _evaluate(self, function: str, args: tuple[Any, ...]) -> Any:
        if self.world is None:
            frames = await self.session.send("Page.getFrameTree")
            made = await self.session.send(
                "Page.createIsolatedWorld",
                {"frameId": frames["frameTree"]["frame"]["id"], "worldName": WORLD},
            )
            self.world = made["executionContextId"]
        answer = await self.session.send(
            "Runtime.evaluate",
            {
                "expression": f"({function})(...{json.dumps(args)})",
                "contextId": self.world,
                "awaitPromise": True,
                "returnByValue": True,
            },
        )
        if "exceptionDetails" in answer:
            details = answer["exceptionDetails"]
            raise PlaywrightError(
                details.get("exception", {}).get("description") or details.get("text", "error")
            )
        return answer["result"].get("value")


# What the questions share: the elements a selector names (CSS into open shadow roots, or XPath); null when the
# browser's CSS engine does not know the selector, or when it names nothing but might across a shadow root's
# boundary (Playwright's CSS reads "#host button" through it, the browser's does not); the text a shopper sees
# in a node (no scripts or styles, open shadow roots included), whitespace-normalised and lower-cased as
# Playwright's has_text compares it
_FIND = """
    const shadowRoots = () => {
        const roots = [];
        const visit = (root) => {
            for (const element of root.querySelectorAll("*")) {
                if (element.shadowRoot) { roots.push(element.shadowRoot); visit(element.shadowRoot); }
            }
        };
        visit(document);
        return roots;
    };
    const named = (kind, expression) => {
        if (kind === "xpath") {
            const nodes = document.evaluate(expression, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
            const found = [];
            for (let i = 0; i < nodes.snapshotLength; i++) {
                const node = nodes.snapshotItem(i);
                found.push(node.nodeType === Node.ELEMENT_NODE ? node
                    : node.nodeType === Node.ATTRIBUTE_NODE ? node.ownerElement : node.parentElement);
            }
            return found.filter((node) => node);
        }
        try { document.querySelector(expression); } catch { return null; }
        const roots = shadowRoots();
        const found = [document, ...roots].flatMap((root) => [...root.querySelectorAll(expression)]);
        const combined = /[\\s>+~]/.test(expression.replace(/\\[[^\\]]*\\]|\\([^)]*\\)|"[^"]*"|'[^']*'/g, "").trim());
        return found.length === 0 && roots.length > 0 && combined ? null : found;
    };
    const shownText = (node) => {
        if (node.nodeType === Node.TEXT_NODE) return node.data;
        if (node.nodeType === Node.ELEMENT_NODE && node.matches("head, script, style, noscript, template")) return "";
        let text = "";
        if (node.shadowRoot) for (const child of node.shadowRoot.childNodes) text += shownText(child);
        for (const child of node.childNodes) text += shownText(child);
        return text;
    };
    const normal = (value) => value.replace(/\\s+/g, " ").trim().toLowerCase();
"""

# Resolves true as soon as an element the selector names holds ``text`` (any element: ``kind`` null; any text:
# ``text`` null), false after ``ms``, null when the selector is not browser CSS
WAIT_FOR_ELEMENT = (
    """(kind, expression, text, ms) => new Promise((resolve) => {"""
    + _FIND
    + """
    const wanted = text === null ? null : normal(text);
    const found = () => {
        const elements = kind === null ? [document.documentElement] : named(kind, expression);
        if (elements === null) return null;
        return elements.some((element) => element && (wanted === null || normal(shownText(element)).includes(wanted)));
    };
    const now = found();
    if (now !== false) return resolve(now);
    // changes in the document are seen at once; changes inside shadow roots are not reported to a document's
    // observer, so those are looked for every 100 ms too
    const done = (answer) => { observer.disconnect(); clearInterval(poll); clearTimeout(timer); resolve(answer); };
    const check = () => { const answer = found(); if (answer !== false) done(answer); };
    const timer = setTimeout(() => done(false), ms);
    const poll = setInterval(check, 100);
    const observer = new MutationObserver(check);
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})"""
)

# Playwright's "visible" for the first element the selector names: a non-empty box and not visibility:hidden;
# null when the selector is not browser CSS
SHOWN = (
    """(kind, expression) => {"""
    + _FIND
    + """
    const elements = named(kind, expression);
    if (elements === null) return null;
    const element = elements[0];
    if (!element) return false;
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && element.checkVisibility({ visibilityProperty: true });
}"""
)

# the rendered DOM as page.content() gives it: the doctype, then the root element
PAGE_HTML = """() => (document.doctype ? new XMLSerializer().serializeToString(document.doctype) : "")
    + (document.documentElement ? document.documentElement.outerHTML : "")"""

# Before the image: finite animations jump to their end and infinite ones back to their start (Playwright's
# animations="disabled"), then the fonts and the pictures still loading are waited for, at most ``ms``; a lazy
# picture below the fold would never come, so those are not waited for
SETTLE_PAGE = """async (ms) => {
    for (const animation of document.getAnimations()) {
        try { animation.finish(); } catch { animation.cancel(); }
    }
    const loading = [...document.images].filter((image) => !image.complete && image.loading !== "lazy");
    const loaded = loading.map((image) => new Promise((done) => {
        image.addEventListener("load", done, { once: true });
        image.addEventListener("error", done, { once: true });
    }));
    await Promise.race([
        Promise.all([document.fonts.ready, ...loaded]),
        new Promise((done) => setTimeout(done, ms)),
    ]);
}"""
