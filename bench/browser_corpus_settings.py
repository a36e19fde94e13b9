"""Scrapy settings of bench/browser_corpus.py's crawls: promowatch's own, with nothing let off the machine.

The corpus pages name CDNs and trackers that cannot be reached from here and must never be asked: Chromium sends
every request not for 127.0.0.1 to a closed local port (a proxy that is not there), and the crawl aborts such
requests before they are made, noting each in ``$PROMOWATCH_BENCH_ABORTED`` so the bench can count them.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlsplit

from promowatch.crawl.browser import should_abort_request
from promowatch.settings import *  # noqa: F403
from promowatch.settings import PLAYWRIGHT_LAUNCH_OPTIONS as _LAUNCH

PLAYWRIGHT_LAUNCH_OPTIONS = {
    **_LAUNCH,
    # loopback is never proxied: everything else meets a closed port, whatever the page or the code does
    "args": [*_LAUNCH["args"], "--proxy-server=http://127.0.0.1:9"],
}


def leaves_machine(request: Any) -> bool:
    """True (abort it) for a request to any host but 127.0.0.1, and for what the profile blocks."""
    if request.url.startswith(("data:", "blob:")) or urlsplit(request.url).hostname == "127.0.0.1":
        return should_abort_request(request)
    log = os.environ.get("PROMOWATCH_BENCH_ABORTED")
    if log:
        with open(log, "a", encoding="utf-8") as handle:
            handle.write(request.url[:200] + "\n")
    return True


PLAYWRIGHT_ABORT_REQUEST = leaves_machine
