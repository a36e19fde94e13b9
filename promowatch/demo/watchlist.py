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


def both_watchlist(demo_url: str, elektro_url: str, inbox_url: str) -> str:
    """Watchlist TOML for both demo retailers, crawled in one run; each retailer's consumer and watchdog post
    to their own path under ``inbox_url`` (``/{slug}/consumer``, ``/{slug}/watchdog``) so the truth tables
    can score them."""
    from promowatch.demo.elektro.catalogue import SLUG, article
    from promowatch.demo.truth import DEMO_SHOP, ELEKTRO

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    inbox = apprise_json_url(inbox_url.rstrip("/"))
    first = demo_url.rstrip("/")
    second = elektro_url.rstrip("/")
    watched_first = ", ".join(q(s.path) for s in SCENARIOS)
    watched_second = ", ".join(q(path) for path, _ in ELEKTRO.products.values())
    followed_first = ", ".join(q(first + DEMO_SHOP.products[letter][0]) for letter in DEMO_SHOP.followed)
    followed_second = ", ".join(q(second + article(letter).path) for letter in ELEKTRO.followed)
    return f"""# promowatch demo: both demo retailers on their simulated fortnight, one run per day
[[retailers]]
slug = "demo-shop"
base_url = {q(first)}
sweep = true
products = [{watched_first}]

[[retailers]]
slug = {q(SLUG)}
base_url = {q(second)}
sweep = true
products = [{watched_second}]

[[subscriptions]]
name = "consommatrice"
url = {q(inbox + DEMO_SHOP.consumer_path())}
tags = ["consumer"]
language = {q(DEMO_SHOP.language)}
products = [{followed_first}]
events = ["restock", "stockout"]

[[subscriptions]]
name = "observatoire-des-prix"
url = {q(inbox + DEMO_SHOP.watchdog_path())}
tags = ["watchdog"]
language = {q(DEMO_SHOP.language)}
retailers = ["demo-shop"]

[[subscriptions]]
name = "verbraucherin"
url = {q(inbox + ELEKTRO.consumer_path())}
tags = ["consumer"]
language = {q(ELEKTRO.language)}
products = [{followed_second}]
events = ["restock", "stockout"]

[[subscriptions]]
name = "verbraucherzentrale"
url = {q(inbox + ELEKTRO.watchdog_path())}
tags = ["watchdog"]
language = {q(ELEKTRO.language)}
retailers = [{q(SLUG)}]
"""
