"""The watchlist the demo runs with: the demo shop swept through its promotions page, a consumer who follows the
sold-out air fryer (scenario b), a watchdog who gets every finding, and a consumer's own order of the bait coffee
machine (scenario a) that stays "en cours de traitement"."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from promowatch.demo.scenarios import DEFAULT_START, SCENARIOS, scenario

# the bait promotion is advertised from day 3: the order is placed and paid on its third day, before that day's
# check; "2 à 3 jours ouvrables" from Saturday allow until Wednesday (day 9), overdue by 2 days from day 12
ORDER_DAY = 5
ORDER_PROMISE = "Livraison sous 2 à 3 jours ouvrables"
ORDER_STATUS_DAYS = (6, 11)
ORDER_CONFIRMATION = "orders/confirmation-DS-2026-118734.eml"  # relative to the watchlist


def confirmation_mail(start: datetime = DEFAULT_START) -> bytes:
    """The shop's order confirmation as the consumer saved it: the first status's exhibit."""
    sent = datetime.combine(start.date() + timedelta(days=ORDER_DAY), datetime.min.time()) + timedelta(
        hours=9, minutes=31
    )
    return (
        "From: Demo Shop <commandes@demo-shop.invalid>\r\n"
        "To: client@example.org\r\n"
        f"Date: {sent:%a, %d %b %Y %H:%M:%S} +0000\r\n"
        "Subject: =?utf-8?q?Confirmation_de_votre_commande_DS-2026-118734?=\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "\r\n"
        "Merci pour votre commande DS-2026-118734 : De'Longhi Magnifica S, 499.00 CHF, payée par carte.\r\n"
        f"{ORDER_PROMISE}.\r\n"
        "Statut : en cours de traitement.\r\n"
    ).encode()


def apprise_json_url(hook_url: str) -> str:
    """An Apprise ``json://`` URL for a plain HTTP(S) endpoint; Apprise URLs are returned unchanged."""
    if hook_url.startswith("http://"):
        return "json://" + hook_url.removeprefix("http://")
    if hook_url.startswith("https://"):
        return "jsons://" + hook_url.removeprefix("https://")
    return hook_url


def bait_order(
    base_url: str,
    consumer_url: str,
    watchdog_url: str | None = None,
    start: datetime = DEFAULT_START,
    files: Path | None = None,
) -> str:
    """``[[orders]]`` TOML: the bait coffee machine ordered and paid at 499.– on the promotion's third day, the
    shop's "en cours de traitement" seen twice after; its consumer (and watchdog) told at their own URLs. With
    ``files`` (the watchlist's directory), the confirmation e-mail is written there as the first status's file."""

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    def day(number: int, hour: int, minute: int = 0) -> str:
        moment = datetime.combine(start.date() + timedelta(days=number), datetime.min.time())
        return (moment + timedelta(hours=hour, minutes=minute)).strftime("%Y-%m-%dT%H:%M:%SZ")

    mail = ""
    if files is not None:
        (files / ORDER_CONFIRMATION).parent.mkdir(parents=True, exist_ok=True)
        (files / ORDER_CONFIRMATION).write_bytes(confirmation_mail(start))
        mail = f"\nfile = {q(ORDER_CONFIRMATION)}"
    statuses = "".join(
        f"""
[[orders.status]]
at = {day(number, 12)}
text = "en cours de traitement"{mail if number == ORDER_STATUS_DAYS[0] else ""}
"""
        for number in ORDER_STATUS_DAYS
    )
    watchdog = f"\nwatchdog = [{q(apprise_json_url(watchdog_url))}]" if watchdog_url else ""
    return f"""
[[orders]]
id = "machine-a-cafe"
retailer = "demo-shop"
product = {q(base_url.rstrip("/") + scenario("a").path)}
ordered_at = {day(ORDER_DAY, 9, 30)}
price_paid = "499.00"
reference = "DS-2026-118734"
promise = {q(ORDER_PROMISE)}
[orders.notify]
url = {q(apprise_json_url(consumer_url))}
language = "fr"{watchdog}
{statuses}"""


def demo_watchlist(
    base_url: str,
    hook_url: str,
    watchdog_hook_url: str | None = None,
    order_hook_url: str | None = None,
    files: Path | None = None,
) -> str:
    """Watchlist TOML for a running :class:`~promowatch.demo.shop.DemoShop` at ``base_url``.

    Both subscriptions post to ``hook_url`` (``http://...`` or an Apprise URL) unless ``watchdog_hook_url``
    gives the watchdog its own endpoint; with ``order_hook_url``, the bait order (:func:`bait_order`) is
    there too and its consumer is told at that URL (``files``: the watchlist's directory, for its e-mail).
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
""" + (bait_order(base, order_hook_url, files=files) if order_hook_url else "")


def both_watchlist(demo_url: str, elektro_url: str, inbox_url: str, files: Path | None = None) -> str:
    """Watchlist TOML for both demo retailers, crawled in one run; each retailer's consumer and watchdog post
    to their own path under ``inbox_url`` (``/{slug}/consumer``, ``/{slug}/watchdog``) so the truth tables
    can score them; the bait order's consumer and watchdog to ``/demo-shop/order`` and ``/demo-shop/order-watchdog``
    (``files``: the watchlist's directory, for the order's confirmation e-mail)."""
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
""" + bait_order(first, inbox + "/demo-shop/order", inbox + "/demo-shop/order-watchdog", files=files)
