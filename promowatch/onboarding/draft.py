"""A drafted site profile: the keys found on the retailer's pages, each with what backs it, rendered as TOML.

What the drafting is sure of is written as a key; what it is not sure of is written commented out, with the
reason, so that a person decides (``profile test`` then shows what each section reads).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Entry:
    """One key of a profile section. ``value`` None writes only the note (nothing was found)."""

    key: str
    value: Any = None
    note: str = ""
    sure: bool = True


@dataclass
class Section:
    """A table of the profile (``""`` for the top level) with comment lines written above its keys."""

    name: str
    entries: list[Entry] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, value: Any = None, note: str = "", *, sure: bool = True) -> None:
        self.entries.append(Entry(key, value, note, sure))

    def value(self, key: str) -> Any:
        """The value written for ``key`` (suggestions included), or None."""
        return next((e.value for e in self.entries if e.key == key and e.value is not None), None)


@dataclass
class ProfileDraft:
    sections: list[Section] = field(default_factory=list)
    header: list[str] = field(default_factory=list)

    def section(self, name: str) -> Section:
        for section in self.sections:
            if section.name == name:
                return section
        section = Section(name)
        self.sections.append(section)
        return section


def toml_value(value: Any) -> str:
    """A TOML literal for the values a profile holds: strings, numbers, booleans, lists, inline tables.

    >>> toml_value({"gruen": "in_stock", "zu wenig": "limited"})
    '{ gruen = "in_stock", "zu wenig" = "limited" }'
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # JSON's escapes are TOML basic-string escapes
    if isinstance(value, Mapping):
        pairs = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{ " + pairs + " }" if pairs else "{}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _comment(text: str) -> str:
    # a note quotes the shop's pages: one line, never anything that ends the comment
    return " ".join(text.split())


def _entry_lines(entry: Entry) -> list[str]:
    note = _comment(entry.note)
    if entry.value is None:
        return [f"# {entry.key}: {note}" if note else f"# {entry.key}: not found"]
    line = f"{toml_key(entry.key)} = {toml_value(entry.value)}"
    if not entry.sure:
        line = "# " + line
    return [f"{line}  # {note}" if note else line]


def render_profile(draft: ProfileDraft) -> str:
    """The draft as a commented TOML profile that ``promowatch.config.parse_profile`` accepts."""
    lines = [f"# {_comment(line)}" if line else "#" for line in draft.header]
    for section in draft.sections:
        if not section.entries and not section.notes:
            continue
        if section.name:
            lines.append("")
            lines.append(f"[{section.name}]")
        elif lines:
            lines.append("")
        lines.extend(f"# {_comment(note)}" for note in section.notes)
        for entry in section.entries:
            lines.extend(_entry_lines(entry))
    return "\n".join(lines) + "\n"
