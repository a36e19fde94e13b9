"""Dotted paths into decoded JSON (``data.stores``, ``items.0.qty``): the profile's way to point at API fields."""

from __future__ import annotations

from typing import Any


def lookup(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data``, or None when any step is missing. The empty path is ``data``."""
    current = data
    for step in path.split(".") if path else ():
        if isinstance(current, dict):
            current = current.get(step)
        elif (
            isinstance(current, list)
            and step.lstrip("-").isdigit()
            and -len(current) <= int(step) < len(current)
        ):
            current = current[int(step)]
        else:
            return None
    return current
