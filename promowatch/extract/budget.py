"""The work one page may cost: a deadline on monotonic time, caps on what is examined, and profile patterns
that cannot hang.

The shop writes every byte extraction reads, so a page can be built to make any loop long. Each loop whose
length the page decides calls :func:`check`; past the deadline it raises :class:`PageTooComplex`, which
``extract_offer`` turns into availability ``unknown`` ("page too complex"). No signals or threads: the
deadline is a context variable read by the loops.

The caps on counted work (elements, price candidates, characters) are what bound a page; they are a function of
the page alone. The deadline is the last resort behind them, set far above what a capped page costs, so that a
loaded machine does not turn a readable page into "too complex" (a time limit alone would make the same bytes
read differently from one run to the next).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import regex

# A corpus page takes 0.05 s on average and under 1 s at worst, a capped hostile page under 2 s: a page that
# needs this long is built to stall in a way the caps do not see.
PAGE_SECONDS = 20.0
# One profile pattern on one value: availability words are short, a longer run is catastrophic backtracking.
PATTERN_SECONDS = 0.5
# Elements in a parsed page; the largest page of the corpus has about 41,000.
MAX_ELEMENTS = 200_000
# Price-like elements examined in one block; the corpus has at most about 700 on a page.
MAX_PRICE_CANDIDATES = 5_000
# Characters of visible text read for stock phrases; the corpus has at most about 425,000.
MAX_TEXT = 1_000_000

TOO_COMPLEX = "page too complex"

_deadline: ContextVar[float | None] = ContextVar("promowatch_extract_deadline", default=None)


class PageTooComplex(Exception):
    """The page needs more work than one page may take; the message says where it stopped."""


@contextmanager
def page_budget(seconds: float = PAGE_SECONDS) -> Iterator[None]:
    """Within the block, :func:`check` raises once ``seconds`` have passed."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def check(where: str) -> None:
    """Raise :class:`PageTooComplex` when the page's deadline has passed."""
    deadline = _deadline.get()
    if deadline is not None and time.monotonic() > deadline:
        raise PageTooComplex(f"{TOO_COMPLEX}: extraction ran out of time ({where})")


def profile_search(pattern: str, text: str) -> bool:
    """True when a site profile's pattern matches ``text`` (any case), with a timeout.

    Profiles are written by people (or copied from anywhere), and one pattern such as ``(a+)+$`` can backtrack
    for hours on a shop's text: the ``regex`` engine stops after :data:`PATTERN_SECONDS` or the rest of the
    page's budget, whichever is shorter, and the page is then too complex.
    """
    seconds = PATTERN_SECONDS
    deadline = _deadline.get()
    if deadline is not None:
        seconds = max(0.001, min(seconds, deadline - time.monotonic()))
    try:
        return regex.search(pattern, text, regex.IGNORECASE, timeout=seconds) is not None
    except TimeoutError:
        raise PageTooComplex(
            f"{TOO_COMPLEX}: the profile pattern {pattern[:60]!r} did not finish on {text[:40]!r}"
        ) from None
