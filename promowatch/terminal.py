"""Shop text on a terminal: data, never commands to the terminal or markup for rich.

A shop controls its titles, store names and summaries; printed raw, an escape sequence in one can rewrite what
the terminal shows (clear the screen, move the cursor over an earlier line, retitle the window) and a ``[/x]`` in
one makes rich raise ``MarkupError``.
"""

from __future__ import annotations

import re
import unicodedata

from rich.markup import escape

_WHITESPACE = re.compile(r"[\t\n\r\v\f\x85\u2028\u2029]+")
# bidirectional overrides and isolates reorder what follows them on screen ("Trojan Source", CVE-2021-42574)
_BIDI = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


def terminal_text(text: str) -> str:
    """``text`` on one line without control characters: line breaks and tabs become a space, the rest
    (ESC, C1 controls such as CSI, bidirectional overrides) is dropped.

    >>> terminal_text("Café\\x1b[2J\\x1b]0;pwned\\x07 deal\\nnow")
    'Café[2J]0;pwned deal now'
    """
    text = _WHITESPACE.sub(" ", text)
    return "".join(char for char in text if char not in _BIDI and unicodedata.category(char) != "Cc")


def rich_text(text: object) -> str:
    """``text`` for a rich table or console: control characters dropped, square brackets escaped."""
    return escape(terminal_text(str(text)))
