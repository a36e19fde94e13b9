"""Multilingual phrase tables: what a shop writes for out of stock, in stock, delivery, savings, ...

The phrases live in ``phrases/<locale>.toml`` (one list per category) and a profile can add its own under
``[phrases.<locale>]``. All locales are matched at once: a shop's language is not always declared, and the
phrases are specific enough not to collide.

Temporary unavailability is composed rather than listed: a ``currently`` word ("zurzeit", "at the moment",
"momentanément") beside a not-available, not-deliverable or not-orderable phrase of the same line is one
``temporarily_unavailable`` hit, in either order and with up to two words between ("zurzeit leider nicht
lieferbar", "not available at the moment"). ``unavailable`` phrases ("not available", "nicht erhältlich") are
too vague to say anything alone and count only so composed.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TypeAlias

CATEGORIES = (
    "out_of_stock",
    "sold_out",
    "temporarily_unavailable",
    "not_deliverable",
    "currently",
    "unavailable",
    "store_only",
    "available_soon",
    "notify",
    "limited",
    "preorder",
    "backorder",
    "discontinued",
    "in_stock",
    "delivery",
    "saving",
    "instalment",
    "reference",
    "add_to_cart",
    "auction",
    "auction_ended",
    "classified",
    "price_comparison",
    "digital",
)
PHRASE_DIR = Path(__file__).with_name("phrases")
# A number, or a range such as "3-5" / "3 à 5", where a phrase says {n}.
_NUMBER = r"\d+(?:[.,]\d+)?(?:\s*(?:-|–|to|bis|à|a)\s*\d+)?"
_TOKEN = re.compile(r"\w+|[^\w\s]")
_NUMBER_KEY = "{n}"
# short texts whose categories a book remembers (a few hundred kB at most)
_REMEMBERED_TEXTS = 4096
# Scripts written without spaces between words (Chinese, Japanese) or with particles glued to them (Korean):
# their phrases are matched inside a run of letters, indexed by their first character.
_UNSPACED = re.compile(r"[\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff]")
_APOSTROPHE = str.maketrans({"’": "'", "ʼ": "'", "\xa0": " ", "\u202f": " "})

# What a "currently" word turns into a temporary stock state, and what it leaves alone: a not-deliverable
# phrase that names a channel ("not available online", "we do not ship") refuses a way of buying, not stock.
_MADE_TEMPORARY = frozenset({"out_of_stock", "sold_out", "unavailable", "not_deliverable"})
_CHANNEL = re.compile(
    r"online|en ligne|in linea|internet|ship|versand|spedi|env[ií]o|store|magasin|negozio|tienda|loja|filial|winkel"
)
# between a "currently" word and its phrase: at most two words, within one sentence of one line
_GAP_WORDS = 2
_GAP_CHARS = 30
_GAP_STOP = re.compile(r"[|.!?]")

PhraseTable: TypeAlias = Mapping[str, Mapping[str, tuple[str, ...]]]  # locale -> category -> phrases


@dataclass(frozen=True, slots=True)
class PhraseHit:
    """One phrase found in a text: its category, the phrase as written in the table, the matched text."""

    category: str
    phrase: str
    locale: str
    matched: str
    start: int
    end: int


def normalise_text(text: str) -> str:
    """Lower case, one space between words, straight apostrophes: the form phrases are matched on."""
    return " ".join(text.translate(_APOSTROPHE).split()).lower()


@lru_cache(maxsize=1)
def bundled_locales() -> tuple[str, ...]:
    """The locales shipped with promowatch (read once: they ship with the package)."""
    return tuple(sorted(p.stem for p in PHRASE_DIR.glob("*.toml")))


@lru_cache(maxsize=32)
def load_locale(locale: str, directory: Path = PHRASE_DIR) -> dict[str, tuple[str, ...]]:
    """The phrases of one locale file (category -> phrases); unknown categories are an error naming the file."""
    path = directory / f"{locale}.toml"
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except tomllib.TOMLDecodeError as error:
        raise ValueError(f"{path}: not valid TOML: {error}") from None
    for category, phrases in data.items():
        if category not in CATEGORIES:
            raise ValueError(f"{path}: {category!r} is not a phrase category; known: {', '.join(CATEGORIES)}")
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p.strip() for p in phrases):
            raise ValueError(f"{path}: {category} must be a list of phrases")
    return {category: tuple(phrases) for category, phrases in data.items()}


def user_phrase_dirs() -> tuple[Path, ...]:
    """Where a user adds phrases per locale (``fr.toml``, ...): $PROMOWATCH_PHRASES and the user config dir."""
    import os

    return _existing_dirs(os.environ.get("PROMOWATCH_PHRASES") or None)


@lru_cache(maxsize=8)
def _existing_dirs(from_environment: str | None) -> tuple[Path, ...]:
    # looked up once per process (and per value of the variable), not on every page of a crawl
    import platformdirs

    dirs = [Path(from_environment)] if from_environment else []
    dirs.append(Path(platformdirs.user_config_dir("promowatch")) / "phrases")
    return tuple(d for d in dirs if d.is_dir())


class PhraseBook:
    """Compiled phrases of several locales: find every phrase in a text, the longest at each place.

    One big alternation is far too slow on a product page (every alternative is tried at every character),
    so phrases are indexed by their first token and only tried where that token starts.
    """

    def __init__(self, table: PhraseTable) -> None:
        entries: list[tuple[str, str, str]] = []
        for locale, categories in table.items():
            for category, phrases in categories.items():
                entries.extend((category, phrase, locale) for phrase in phrases)
        # Longest first so "not in stock" wins over "in stock" where both start at the same place.
        entries.sort(key=lambda e: len(e[1]), reverse=True)
        self.entries = tuple(entries)
        self._index: dict[str, list[tuple[re.Pattern[str], str, str, str]]] = {}
        seen: set[str] = set()
        for category, phrase, locale in entries:
            words = normalise_text(phrase)
            if not words or words in seen:
                continue
            seen.add(words)
            first = _TOKEN.match(words)
            if words.startswith("{n}"):
                key = _NUMBER_KEY
            elif _UNSPACED.match(words):
                key = words[0]
            else:
                key = first.group(0) if first else words[0]
            compiled = re.compile(_phrase_pattern(words))
            self._index.setdefault(key, []).append((compiled, category, phrase, locale))
        self._categories: dict[str, frozenset[str]] = {}

    def find(self, text: str, categories: Iterable[str] | None = None) -> list[PhraseHit]:
        """Non-overlapping phrase hits in ``text`` (already normalised), in reading order."""
        wanted = set(categories) if categories is not None else None
        hits: list[PhraseHit] = []
        index = self._index
        taken_until = 0
        if _UNSPACED.search(text) is None:
            # most texts: only the tokens that begin some phrase, picked in one pass
            starts: Iterable[tuple[int, str]] = [
                (token.start(), key)
                for token in _TOKEN.finditer(text)
                if (key := _NUMBER_KEY if token.group().isdigit() else token.group()) in index
            ]
        else:
            starts = _starts(text)
        for start, word in starts:
            if start < taken_until:
                continue
            candidates = index.get(word)
            if not candidates:
                continue
            best: tuple[re.Match[str], str, str, str] | None = None
            for compiled, category, phrase, locale in candidates:
                match = compiled.match(text, start)
                if match and (best is None or match.end() > best[0].end()):
                    best = (match, category, phrase, locale)
            if best is None:
                continue
            match, category, phrase, locale = best
            taken_until = match.end()
            hits.append(PhraseHit(category, phrase, locale, match.group(0), start, match.end()))
        if any(hit.category == "currently" for hit in hits):
            hits = _made_temporary(text, hits)
        if any(hit.category in ("in_stock", "notify") for hit in hits):
            hits = [_made_future(text, hit) for hit in hits]
        return hits if wanted is None else [hit for hit in hits if hit.category in wanted]

    def categories(self, text: str) -> frozenset[str]:
        """The categories of the phrases in a short normalised text (a button's label, a price's words).

        Remembered: a shop prints the same labels on every page, and a crawl asks about each one on each page.
        """
        known = self._categories.get(text)
        if known is None:
            if len(self._categories) >= _REMEMBERED_TEXTS:
                self._categories.clear()
            known = self._categories[text] = frozenset(hit.category for hit in self.find(text))
        return known

    def first(self, text: str, category: str) -> PhraseHit | None:
        """The first hit of one category in a normalised text."""
        for hit in self.find(text):
            if hit.category == category:
                return hit
        return None


def _made_temporary(text: str, hits: list[PhraseHit]) -> list[PhraseHit]:
    """Join each "currently" word to the not-available phrase beside it ("zurzeit" + "nicht lieferbar").

    The word before the phrase is preferred ("zurzeit nicht lieferbar, momentan ..."), then the one after.
    """
    joined: list[PhraseHit] = []
    position = 0
    while position < len(hits):
        hit = hits[position]
        after = hits[position + 1] if position + 1 < len(hits) else None
        if not _may_be_temporary(hit):
            joined.append(hit)
        elif joined and joined[-1].category == "currently" and _adjacent(text, joined[-1], hit):
            joined[-1] = _joined(text, joined[-1], hit)
        elif after is not None and after.category == "currently" and _adjacent(text, hit, after):
            joined.append(_joined(text, hit, after))
            position += 1
        else:
            joined.append(hit)
        position += 1
    return joined


# A stock state said to come back, in the future tense, in its own clause: "ob und wann dieser Artikel wieder
# vorrätig sein wird", "sarà di nuovo disponibile", "volverá a estar disponible", "estará disponível novamente",
# "weer op voorraad zal zijn", "will be back in stock". It is what the shop hopes for, not what it has; "wieder
# verfügbar" alone (a badge: it is back) and "verfügbar, wird in 2 Tagen geliefert" (a delivery) stay in stock.
_AGAIN = re.compile(
    r"\b(?:wieder|erneut|back|again|weer|opnieuw|ponownie|znovu|opäť|opět|igen|tillbaka|снова|вновь|"
    r"nouveau|nuovo|nuovamente|nuevo|nuevamente|novo|novamente|volverá|voltará|tornerà|redeviendra)\b|再次|重新"
)
_FUTURE = re.compile(
    r"\b(?:will|wird|werden|sera|seront|redeviendra|sarà|saranno|tornerà|será|estará|volverá|voltará|zal|"
    r"zullen|będzie|bude|kommer|будет)\b|将"
)
_CLAUSE_STOP = re.compile(r"[.!?|;]")
_CLAUSE_REACH = 40


def _made_future(text: str, hit: PhraseHit) -> PhraseHit:
    """An in-stock state that is to come back (future tense and an "again" word in its clause): available soon."""
    if hit.category not in ("in_stock", "notify") or (hit.category == "notify" and "stock" not in hit.phrase):
        return hit
    before = _CLAUSE_STOP.split(text[max(0, hit.start - _CLAUSE_REACH) : hit.start])[-1]
    after = _CLAUSE_STOP.split(text[hit.end : hit.end + _CLAUSE_REACH])[0]
    clause = f"{before} {hit.matched} {after}"
    if not (_FUTURE.search(clause) and _AGAIN.search(clause)):
        return hit
    return PhraseHit("available_soon", hit.phrase, hit.locale, hit.matched, hit.start, hit.end)


def _may_be_temporary(hit: PhraseHit) -> bool:
    if hit.category not in _MADE_TEMPORARY:
        return False
    return hit.category != "not_deliverable" or _CHANNEL.search(hit.phrase) is None


def _adjacent(text: str, first: PhraseHit, second: PhraseHit) -> bool:
    gap = text[first.end : second.start]
    return (
        len(gap) <= _GAP_CHARS
        and _GAP_STOP.search(gap) is None
        and len(re.findall(r"\w+", gap)) <= _GAP_WORDS
    )


def _joined(text: str, first: PhraseHit, second: PhraseHit) -> PhraseHit:
    """One temporarily_unavailable hit from a "currently" word and its phrase, in the phrase's locale."""
    stated = second if first.category == "currently" else first
    phrase = f"{first.phrase} + {second.phrase}"
    matched = text[first.start : second.end]
    return PhraseHit("temporarily_unavailable", phrase, stated.locale, matched, first.start, second.end)


def _starts(text: str) -> Iterator[tuple[int, str]]:
    """Where a phrase may begin, with its index key: each token, and each character of unspaced scripts."""
    for token in _TOKEN.finditer(text):
        word = token.group(0)
        if word.isdigit():
            yield token.start(), _NUMBER_KEY
        elif _UNSPACED.search(word):
            base = token.start()
            if not _UNSPACED.match(word):
                yield base, word
            for offset, char in enumerate(word):
                if _UNSPACED.match(char):
                    yield base + offset, char
        else:
            yield token.start(), word


def _phrase_pattern(words: str) -> str:
    parts = [re.escape(part) for part in words.split("{n}")]
    pattern = _NUMBER.join(parts)
    # Whole words only, where the phrase begins or ends with a letter ("/month" may follow a digit).
    before = r"(?<!\w)" if re.match(r"\w|\{", words) and not _UNSPACED.match(words) else ""
    after = r"(?!\w)" if re.search(r"(?:\w|\})$", words) and not _UNSPACED.search(words[-1]) else ""
    return before + pattern + after


def phrase_book(extra: PhraseTable | None = None, locales: tuple[str, ...] | None = None) -> PhraseBook:
    """The bundled locales plus a profile's own phrases, compiled once per distinct input."""
    key = tuple(
        sorted((loc, cat, tuple(ph)) for loc, cats in (extra or {}).items() for cat, ph in cats.items())
    )
    return _compiled(key, locales or bundled_locales(), user_phrase_dirs())


@lru_cache(maxsize=64)
def _compiled(
    extra: tuple[tuple[str, str, tuple[str, ...]], ...], locales: tuple[str, ...], user_dirs: tuple[Path, ...]
) -> PhraseBook:
    table: dict[str, dict[str, tuple[str, ...]]] = {loc: dict(load_locale(loc)) for loc in locales}
    for directory in user_dirs:  # the user's own words, per locale, on top of the bundled ones
        for path in sorted(directory.glob("*.toml")):
            table[f"user:{directory}:{path.stem}"] = load_locale(path.stem, directory)
    for locale, category, phrases in extra:
        bucket = table.setdefault(f"profile:{locale}", {})
        bucket[category] = bucket.get(category, ()) + phrases
    return PhraseBook(table)
