"""The watchlist the demo runs with: the demo shop swept through its promotions page, a consumer who follows the
sold-out air fryer (scenario b) and a watchdog who gets every finding."""

from __future__ import annotations

import json

from promowatch.demo.scenarios import SCENARIOS, scenario


def apprise_json_url(hook_url: str) -> str:
    """An Apprise ``json://`` URL for a plain HTTP(S) endpoint; Apprise URLs are returned unchanged."""
    if hook_url.startswith("http://"):
        return "json://" + hook_url.removeprefix("http://")
    if hook_url.startswith("https://"):
        return "jsons://" + hook_url.removeprefix("https://")
    return hook_url


def demo_watchlist(base_url: str, hook_url: str, watchdog_hook_url: str | None = None) -> str:
    """Watchlist TOML for a running :class:`~promowatch.demo.shop.DemoShop` at ``base_url``.

    Both subscriptions post to ``hook_url`` (``http://...`` or an Apprise URL) unless ``watchdog_hook_url``
    gives the watchdog its own endpoint.
    """

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid TOML basic string

    base = base_url.rstrip("/")
    followed = base + scenario("b").path
    # every scenario product is watched from day 0, so the prices charged before a promotion are on record
    watched = ", ".join(q(s.path) for s in SCENARIOS)

    return f"""# promowatch demo: the local Demo Shop with its simulated fortnight
[[retailers]]
slug = "demo-shop"
profile = "demo-shop"
base_url = {q(base)}
sweep = true
products = [{watched}]

[[subscriptions]]
name = "consommatrice"
url = {q(apprise_json_url(hook_url))}
tags = ["consumer"]
language = "fr"
products = [{q(followed)}]
events = ["restock", "stockout"]

[[subscriptions]]
name = "observatoire-des-prix"
url = {q(apprise_json_url(watchdog_hook_url or hook_url))}
tags = ["watchdog"]
language = "fr"
all_findings = true
"""
