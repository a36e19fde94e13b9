"""Scrapy settings of the promowatch project (``scrapy.cfg`` points here)."""

from promowatch import __version__

BOT_NAME = "promowatch"
SPIDER_MODULES = ["spiders"]
NEWSPIDER_MODULE = "spiders"

# An honest User-Agent; crawl.py appends the operator's contact from the watchlist.
USER_AGENT = f"promowatch/{__version__} (+https://github.com/promowatch/promowatch)"

# Polite by default (design.md invariant 8).
ROBOTSTXT_OBEY = True
AUTOTHROTTLE_ENABLED = True
AUTOTHROTTLE_START_DELAY = 0.0
AUTOTHROTTLE_TARGET_CONCURRENCY = 1.0
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
DOWNLOAD_DELAY = 0
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
COOKIES_ENABLED = True
TELNETCONSOLE_ENABLED = False
LOG_LEVEL = "INFO"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.evidence.EvidencePipeline": 200,
    "pipelines.persist.PersistPipeline": 300,
}

# promowatch's own settings, read once by promowatch.runconfig.RunConfig.from_settings:
# PROMOWATCH_WATCHLIST  path of the watchlist TOML
# PROMOWATCH_DATA_DIR   data directory (evidence, lock, default SQLite database)
# PROMOWATCH_DB         SQLAlchemy URL of the database
# PROMOWATCH_NOW        ISO time of a simulated clock's origin (demo, tests); empty: the wall clock
# PROMOWATCH_RETAILERS  comma-separated retailer slugs to crawl; empty: all of the watchlist
PROMOWATCH_WATCHLIST = ""
PROMOWATCH_DATA_DIR = ""
PROMOWATCH_DB = ""
PROMOWATCH_NOW = ""
PROMOWATCH_RETAILERS = ""
