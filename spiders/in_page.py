"""Questions asked inside a rendered page over the DevTools protocol: is this element there (with this text), is
it shown, what is the page's HTML, settle it before the screenshot.

Playwright's own locators, ``page.content()`` and ``page.evaluate`` first load Playwright's helper scripts into
each new document (its selector engine alone is about 330 kB of JavaScript sent through Chromium's browser
process and compiled by the page's renderer). A product page is one document read once, so that set-up was a
large share of its rendering cost: here one ``Runtime.evaluate`` per question asks the page directly.

Profile selectors are matched as extraction matches them: parsel CSS (or ``xpath:...``) turned into XPath, which
the page evaluates with ``document.evaluate``.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from parsel.csstranslator import css2xpath
from playwright.async_api import CDPSession
from playwright.async_api import Error as PlaywrightError

# Chromium's words when the document a question was asked in went away: the page moved on to another one
NAVIGATED_PHRASES = (
    "Execution context was destroyed",
    "Cannot find default execution context",
    "Inspected target navigated or closed",  # the headless shell's words; a closed page fails the next question
)


def selector_xpath(selector: str) -> str:
    """The XPath of the elements a profile selector (parsel CSS or ``xpath:...``) names."""
    if selector.startswith("xpath:"):
        return selector.removeprefix("xpath:")
    for pseudo in ("::text", "::attr("):
        selector = selector.split(pseudo)[0]
    return css2xpath(selector)


def navigated(error: BaseException) -> bool:
    """True when a question failed because the page left the document it was asked in."""
    return any(phrase in str(error) for phrase in NAVIGATED_PHRASES)


async def ask(session: CDPSession, function: str, *args: Any, timeout_s: float) -> Any:
    """``function(*args)`` evaluated in the page (awaited when it returns a promise); its JSON value."""
    expression = f"({function})(...{json.dumps(args)})"
    try:
        answer = await asyncio.wait_for(
            session.send(
                "Runtime.evaluate", {"expression": expression, "awaitPromise": True, "returnByValue": True}
            ),
            timeout_s,
        )
    except TimeoutError as error:  # a page whose scripts never yield must not hold the read past its timeout
        raise PlaywrightError(f"the page did not answer within {timeout_s:.1f} s") from error
    if "exceptionDetails" in answer:
        details = answer["exceptionDetails"]
        raise PlaywrightError(details.get("exception", {}).get("description") or details.get("text", "error"))
    return answer["result"].get("value")


# The first element ``xpath`` names whose text holds ``text`` (whitespace-normalised, any case, as Playwright's
# has_text); without xpath, any text of the page outside scripts and styles. Resolves true as soon as it is
# there, false after ``ms``
WAIT_FOR_ELEMENT = """(xpath, text, ms) => new Promise((resolve) => {
    const normal = (value) => value.replace(/\\s+/g, " ").trim().toLowerCase();
    const wanted = text === null ? null : normal(text);
    const pageText = () => {
        const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT, {
            acceptNode: (node) => node.parentElement && node.parentElement.closest("script, style, noscript, template")
                ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT,
        });
        let all = "";
        while (walker.nextNode()) all += walker.currentNode.data + " ";
        return all;
    };
    const found = () => {
        if (xpath === null) return document.documentElement !== null && normal(pageText()).includes(wanted);
        const nodes = document.evaluate(xpath, document, null, XPathResult.ORDERED_NODE_SNAPSHOT_TYPE, null);
        for (let i = 0; i < nodes.snapshotLength; i++) {
            if (wanted === null || normal(nodes.snapshotItem(i).textContent || "").includes(wanted)) return true;
        }
        return false;
    };
    if (found()) return resolve(true);
    const timer = setTimeout(() => { observer.disconnect(); resolve(false); }, ms);
    const observer = new MutationObserver(() => {
        if (found()) { observer.disconnect(); clearTimeout(timer); resolve(true); }
    });
    observer.observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
})"""

# Playwright's "visible": the first element ``xpath`` names has a non-empty box and is not visibility:hidden
SHOWN = """(xpath) => {
    const node = document.evaluate(xpath, document, null, XPathResult.FIRST_ORDERED_NODE_TYPE, null).singleNodeValue;
    const element = node && node.nodeType !== Node.ELEMENT_NODE ? node.parentElement : node;
    if (!element) return false;
    const box = element.getBoundingClientRect();
    return box.width > 0 && box.height > 0 && element.checkVisibility({ visibilityProperty: true });
}"""

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
