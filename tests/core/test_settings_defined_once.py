"""Every ``PROMOWATCH_*`` Scrapy setting the code reads or sets is defined once, in promowatch/settings.py, with
a comment that documents it, and is read there without a second default (Scrapy's ``default_settings.py`` habit:
a default written again where it is read drifts; PROMOWATCH_COMMIT_EVERY was 100 in one place and 1 in the other).

Settings are told from environment variables by the object they are read from: one whose name ends in
``settings`` (``settings``, ``crawler.settings``, ``self.settings``).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("promowatch", "spiders", "pipelines", "notify")
SETTINGS = ROOT / "promowatch" / "settings.py"
GETTERS = {"get", "getint", "getfloat", "getbool", "getlist", "getdict", "getwithbase", "getpriority"}


@dataclass(frozen=True)
class Use:
    name: str
    where: str  # path:line
    extra_default: bool  # a default passed where it is read


def uses() -> list[Use]:
    """Each read or write of a PROMOWATCH_* key on a Scrapy settings object in the production packages."""
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            tree = ast.parse(path.read_text(), str(path))
            for node in ast.walk(tree):
                key, receiver, extra = None, None, False
                if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.args:
                    if node.func.attr in GETTERS | {"set"}:
                        key, receiver = node.args[0], node.func.value
                        extra = node.func.attr in GETTERS and (len(node.args) > 1 or bool(node.keywords))
                elif isinstance(node, ast.Subscript):
                    key, receiver = node.slice, node.value
                if not (isinstance(key, ast.Constant) and isinstance(key.value, str)):
                    continue
                if key.value.startswith("PROMOWATCH_") and ast.unparse(receiver).endswith("settings"):
                    where = f"{path.relative_to(ROOT)}:{node.lineno}"
                    found.append(Use(key.value, where, extra))
    return found


def documented_settings() -> dict[str, bool]:
    """PROMOWATCH_* names assigned in settings.py -> whether a comment documents them: a comment names the
    setting, or its paragraph (the lines above it up to a blank line) has a comment."""
    lines = SETTINGS.read_text().splitlines()
    comments = "\n".join(line for line in lines if line.lstrip().startswith("#"))
    result = {}
    for node in ast.parse(SETTINGS.read_text()).body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name) and target.id.startswith("PROMOWATCH_"):
                paragraph = []
                for line in reversed(lines[: node.lineno - 1]):
                    if not line.strip():
                        break
                    paragraph.append(line)
                explained = any(line.lstrip().startswith("#") for line in paragraph)
                result[target.id] = explained or target.id in comments
    return result


USES = uses()


def test_the_settings_are_found() -> None:
    # the scan itself: the settings every crawl reads are among those it finds
    assert {"PROMOWATCH_WATCHLIST", "PROMOWATCH_COMMIT_EVERY", "PROMOWATCH_BACKOFF_TIMES"} <= {
        u.name for u in USES
    }


@pytest.mark.parametrize("use", USES, ids=lambda u: f"{u.name}@{u.where}")
def test_each_setting_used_is_defined_in_settings_py(use: Use) -> None:
    assert use.name in documented_settings(), (
        f"{use.where}: {use.name} is not defined in promowatch/settings.py"
    )


@pytest.mark.parametrize("use", USES, ids=lambda u: f"{u.name}@{u.where}")
def test_each_setting_is_read_without_a_second_default(use: Use) -> None:
    assert not use.extra_default, f"{use.where}: {use.name} has its default in promowatch/settings.py only"


@pytest.mark.parametrize("name", sorted(documented_settings()))
def test_each_setting_defined_is_documented_by_a_comment(name: str) -> None:
    assert documented_settings()[name], f"promowatch/settings.py: {name} has no comment saying what it does"
