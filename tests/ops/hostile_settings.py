"""promowatch's Scrapy settings for `promowatch run` over the hostile shop
(``SCRAPY_SETTINGS_MODULE=tests.ops.hostile_settings``): short timeouts, so a slow page times out in seconds; and
a last guard before the download that stops any request for a host other than 127.0.0.1 or localhost, so that
the tests never contact another address even when promowatch's own refusal (promowatch/crawl/shop_hosts.py) is broken."""

from urllib.parse import urlsplit

from scrapy import Request
from scrapy.exceptions import IgnoreRequest

from promowatch.settings import *  # noqa: F403
from promowatch.settings import DOWNLOADER_MIDDLEWARES

DOWNLOAD_TIMEOUT = 3
AUTOTHROTTLE_ENABLED = False
PROMOWATCH_BACKOFF_BASE = 0.5
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


class LoopbackOnly:
    """Refuses, as the last step before a connection, every request for a host off this machine."""

    def process_request(self, request: Request) -> None:
        host = urlsplit(request.url).hostname
        if host not in LOOPBACK_HOSTS:
            raise IgnoreRequest(f"test guard: {host} is not on this machine, not contacted")


DOWNLOADER_MIDDLEWARES = {**DOWNLOADER_MIDDLEWARES, "tests.ops.hostile_settings.LoopbackOnly": 999}
