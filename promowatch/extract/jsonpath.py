"""Dotted paths into decoded JSON (``data.stores``, ``items.0.qty``): the profile's way to point at API fields.

``$`` is the whole answer, and the one way to read an API that returns a top-level array of stores
(``list_path = "$"``); ``$.data.stores`` is the same as ``data.stores``. JSONPath's ``[]``, ``[*]`` and ``*``
are refused rather than looked up as key names that never exist.
"""

from __future__ import annotations

import re
from typing import Any

ROOT = "$"
_STEP = re.compile(r"[^.\s]+")


def path_problem(path: str) -> str | None:
    """Why ``path`` is not a usable dotted path, or None. ``$`` alone (the top level) is usable."""
    steps = path.removeprefix(ROOT + ".").split(".") if path != ROOT else []
    if path.strip() != path or not all(_STEP.fullmatch(step) for step in steps):
        return 'must be a dotted path such as "data.stores", or "$" for the top level of the answer'
    if ROOT in steps:
        return 'may use "$" only at its start, for the top level of the answer'
    if any(c in step for step in steps for c in "[]*"):
        # JSONPath's [] and * would be looked up as keys of those names: nothing would ever be read
        return 'must be a dotted path without [] or * (such as "data.stores" or "items.0.qty"), or "$" for the top level of the answer'
    return None


def lookup(data: Any, path: str) -> Any:
    """The value at ``path`` in ``data``, or None when any step is missing. ``$`` (or the empty path) is ``data``."""
    current = data
    if path == ROOT:
        return current
    path = path.removeprefix(ROOT + ".")
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
