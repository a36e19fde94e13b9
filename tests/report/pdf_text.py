"""What a reader finds in a dossier's PDF: the expected words per case language and the poppler tools that read
them (shared by the dossier tests on the test world and on the demo's own bait)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from babel.messages.pofile import read_po

from promowatch.report import texts

PRICES = {
    "fr": ("499,00 CHF", "999,00 CHF"),
    "de": ("CHF 499.00", "CHF 999.00"),
    "it": ("CHF 499.00", "CHF 999.00"),
    "en": ("CHF 499.00", "CHF 999.00"),
}
PAGE = {
    "fr": "page {n} sur {of}",
    "de": "Seite {n} von {of}",
    "it": "pagina {n} di {of}",
    "en": "page {n} of {of}",
}
RULE_WORDS = {
    "fr": "pas commandable en ligne",
    "de": "online nicht bestellbar",
    "it": "non ordinabile online",
    "en": "not orderable online",
}
# identifiers of the code that must never reach a reader, in any language
RAW = re.compile(r"\b(?:\w+_\w+|orderable=\w+|True|False|None)\b")


def run_tool(*args: str | Path) -> str:
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, check=True).stdout


def words(text: str) -> str:
    return " ".join(text.split())


def english_sentences(language: str) -> list[str]:
    """The catalogue's English texts of three words or more that ``language`` words differently."""
    path = texts.LOCALE_DIR / language / "LC_MESSAGES" / f"{texts.DOMAIN}.po"
    with path.open("rb") as f:
        catalogue = read_po(f)
    found = []
    for message in catalogue:
        if not isinstance(message.id, str) or not message.id or message.string == message.id:
            continue
        # the fixed part before the first placeholder is what would show if it leaked
        fixed = re.split(r"\{\w+\}|%\(\w+\)s", message.id)[0].strip()
        if len(fixed.split()) >= 3:
            found.append(words(fixed))
    return found
