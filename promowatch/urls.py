"""Product identity by URL: one product, one URL, whatever link led to it.

Ads link their products with tracking parameters (``?src=weekly``, ``utm_*``), and a page may name its canonical
URL (``<link rel="canonical">``). Both would otherwise make a second product beside the watched one, without its
price history. Pure functions; the crawl strips links before a product row is made and files an observation
under the canonical URL its page gives (pipelines/persist.py, promowatch.db.queries.product_row).
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Iterable
from functools import cache
from urllib.parse import unquote_plus, urljoin, urlsplit, urlunsplit

# Query parameters that say where a visitor came from, never which product: analytics campaigns (utm_*, Matomo's
# mtm_* and pk_*), ad click ids (Google, Microsoft, Meta, TikTok, X, Yandex), newsletter ids (Mailchimp) and the
# shops' own "src"/"ref". A name ending in "*" stands for every name that starts so. Profiles add their own
# (``tracking_params``).
TRACKING_PARAMS = (
    "utm_*",
    "mtm_*",
    "pk_*",
    "src",
    "ref",
    "ref_src",
    "gclid",
    "gclsrc",
    "dclid",
    "gbraid",
    "wbraid",
    "fbclid",
    "msclkid",
    "ttclid",
    "twclid",
    "yclid",
    "igshid",
    "mc_cid",
    "mc_eid",
    "_ga",
    "_gl",
    "srsltid",
)
# a parameter name as a profile may give it: letters, digits, "_", "-", ".", "[]", optionally ending in "*";
# a leading "!" keeps a parameter the built-in list strips
PARAM_NAME = re.compile(r"!?[A-Za-z0-9_.\-\[\]]+\*?")
_CANONICAL_SCAN_BYTES = 64 * 1024  # the <head> of any page
_LINK = re.compile(rb"<link\b[^>]*>", re.IGNORECASE)
_REL_CANONICAL = re.compile(rb"""\brel\s*=\s*["']?\s*canonical\b""", re.IGNORECASE)
_HREF = re.compile(rb"""\bhref\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)
# second-level labels under which a country's registrable domains sit (shop.co.uk, shop.com.au)
_SECOND_LEVEL = frozenset(("co", "com", "net", "org", "gov", "ac", "edu", "or", "ne", "gv", "ltd", "plc"))


@cache
def _matcher(names: tuple[str, ...]) -> re.Pattern[str]:
    parts = [re.escape(n[:-1]) + ".*" if n.endswith("*") else re.escape(n) for n in names]
    return re.compile("(?:" + "|".join(parts) + ")", re.IGNORECASE)


def strip_tracking(url: str, extra: Iterable[str] = ()) -> str:
    """``url`` without its tracking parameters (``TRACKING_PARAMS`` and ``extra``, less those ``extra`` names
    with a leading "!"); everything else as it was written, in its order and encoding.

    >>> strip_tracking("https://shop.ch/p/1?src=weekly&color=red&utm_source=nl")
    'https://shop.ch/p/1?color=red'
    """
    parts = urlsplit(url)
    if not parts.query:
        return url
    names = tuple(extra)
    tracking = _matcher(TRACKING_PARAMS + tuple(n for n in names if not n.startswith("!")))
    # "!ref": a shop whose "ref" names the product (fiche.php?ref=CAF-499) keeps it
    kept_names = tuple(n[1:] for n in names if n.startswith("!"))
    keep = _matcher(kept_names) if kept_names else None

    def tracks(pair: str) -> bool:
        name = unquote_plus(pair.split("=", 1)[0]).strip()
        return tracking.fullmatch(name) is not None and (keep is None or keep.fullmatch(name) is None)

    kept = [pair for pair in parts.query.split("&") if pair and not tracks(pair)]
    query = "&".join(kept)
    if query == parts.query:
        return url
    return urlunsplit(parts._replace(query=query))


def canonical_link(body: bytes) -> str | None:
    """The ``href`` of the page's ``<link rel="canonical">``, as written (entities decoded), or None."""
    for link in _LINK.finditer(body[:_CANONICAL_SCAN_BYTES]):
        tag = link.group()
        if _REL_CANONICAL.search(tag) is None:
            continue
        href = _HREF.search(tag)
        if href is None:
            return None
        raw = next(g for g in href.groups() if g is not None)
        value = html.unescape(raw.decode("utf-8", "replace")).strip()
        return value or None
    return None


def site_of(url: str) -> str | None:
    """The site a URL belongs to: its registrable domain (``www.shop.co.uk`` -> ``shop.co.uk``), or host and
    port for an IP address or a one-label host (``127.0.0.1:8000``)."""
    parts = urlsplit(url)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        return None
    try:
        ipaddress.ip_address(host)
        return parts.netloc.lower()
    except ValueError:
        pass
    labels = host.split(".")
    if len(labels) == 1:
        return parts.netloc.lower()
    keep = 3 if len(labels) >= 3 and len(labels[-1]) == 2 and labels[-2] in _SECOND_LEVEL else 2
    return ".".join(labels[-keep:])


def canonical_url(declared: str | None, page_url: str, extra: Iterable[str] = ()) -> str | None:
    """The product's canonical URL from the page's declared one, tracking parameters stripped; None when the
    page declares none, or one on another site (a canonical may not move a product to another shop)."""
    if not declared:
        return None
    resolved = urljoin(page_url, declared)
    if urlsplit(resolved).scheme not in ("http", "https"):
        return None
    if site_of(resolved) != site_of(page_url):
        return None
    return strip_tracking(resolved, extra)
