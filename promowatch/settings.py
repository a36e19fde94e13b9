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
# the floor: promowatch.crawl.crawl_settings raises it to the sum of the watched shops' own concurrency, so
# the total never holds one shop's request back while another shop waits (each shop's slot keeps its own limit)
CONCURRENT_REQUESTS = 16
CONCURRENT_REQUESTS_PER_DOMAIN = 1
# Scrapy starts this many asyncio tasks for every response's output, however few items it holds; a product
# page gives one offer, and only the evidence pipeline waits (for its filing thread), so 100 (the default) only
# costs: about 1.7 CPU ms per offer check (measured by a one-shop bench since replaced by bench/sweep.py)
CONCURRENT_ITEMS = 4
# The least gap between two requests to one shop, whatever its profile says. Scrapy 2.19's downloader counts a
# request against its slot's concurrency only once the request's task runs, so a slot whose delay is 0 hands
# every request queued for it to the network at once (7 at once to a "concurrency 1" slot, measured); with any
# delay it hands over one at a time and the limit holds. AutoThrottle never goes below it.
DOWNLOAD_DELAY = 0.01
DOWNLOAD_TIMEOUT = 30
DOWNLOAD_MAXSIZE = 20 * 1024 * 1024
DOWNLOAD_WARNSIZE = 5 * 1024 * 1024
RETRY_ENABLED = True
RETRY_TIMES = 2
RETRY_HTTP_CODES = [500, 502, 503, 504, 522, 524, 408, 429]
REDIRECT_MAX_TIMES = 5
# re-check a product page with If-None-Match / If-Modified-Since from its last full response (HTTP reads only)
PROMOWATCH_CONDITIONAL_REQUESTS = True
# 403/429/503 answers are retried this many times, waiting Retry-After or BASE * 2^n seconds (at most MAX) with the
# shop's download slot; a block or captcha page that came with a 200 is asked for again later in the same run
# at most PROMOWATCH_BLOCKED_RETRIES times, with the same backoff
PROMOWATCH_BACKOFF_HTTP_CODES = [403, 429, 503]
PROMOWATCH_BACKOFF_TIMES = 3
PROMOWATCH_BACKOFF_BASE = 1.0
PROMOWATCH_BACKOFF_MAX = 120.0
PROMOWATCH_BLOCKED_RETRIES = 2
# a scrapy-redis worker (promowatch worker) claims retailers whose profiles' concurrency adds up to at most this
# many requests at once, leaving the others to other workers (promowatch/distributed.py)
PROMOWATCH_WORKER_CAPACITY = 16
COOKIES_ENABLED = True
# Scrapy's telnet console and its remote-control HTTP endpoint both run Python inside the crawl, and the latter
# leaves a token file behind when a crawl is killed: off unless a run asks for them
TELNETCONSOLE_ENABLED = False
REMOTE_CONTROL_ENABLED = False
LOG_LEVEL = "INFO"

TWISTED_REACTOR = "twisted.internet.asyncioreactor.AsyncioSelectorReactor"

# Response processing runs from the highest number down: a 304 becomes the stored page it vouches for (580),
# which Scrapy's meta-refresh middleware then reads (575);
# backoff (560) sees 403/429/503 before Scrapy's retry (550); the block-page check (540) sees only what both
# finally let through.
DOWNLOADER_MIDDLEWARES = {
    # a redirect or robots.txt request that leaves the shop is refused before offsite (50) and robots.txt (100)
    # see it, so not even the target's robots.txt is asked for
    "promowatch.crawl.shop_hosts.ShopHostsMiddleware": 30,
    "promowatch.crawl.middlewares.RevalidationMiddleware": 580,
    "promowatch.crawl.middlewares.BackoffMiddleware": 560,
    "promowatch.crawl.middlewares.BlockPageMiddleware": 540,
    # Scrapy's meta-refresh redirects after the 304 became the page it stands for (580 runs first)
    "scrapy.downloadermiddlewares.redirect.MetaRefreshMiddleware": 575,
}
# Each spider middleware costs an async generator per page. These do nothing for promowatch's spiders: the
# promotions spider bounds its own pages (depth), URLs come from the watchlist and the shop (length), the spiders
# copy no meta (the meta-copy warning), and a shop needs no Referer from a crawler.
SPIDER_MIDDLEWARES = {
    "scrapy.spidermiddlewares.depth.DepthMiddleware": None,
    "scrapy.spidermiddlewares.urllength.UrlLengthMiddleware": None,
    "scrapy.spidermiddlewares.metacopy.MetaCopyDetectionMiddleware": None,
    "scrapy.spidermiddlewares.referer.RefererMiddleware": None,
}

# a live progress view on stderr for people at a terminal (PROMOWATCH_PROGRESS, set by the CLI)
EXTENSIONS = {"promowatch.crawl.progress.CrawlProgress": 500}
PROMOWATCH_PROGRESS = False

ITEM_PIPELINES = {
    "pipelines.validate.ValidatePipeline": 100,
    "pipelines.evidence.EvidencePipeline": 200,
    "pipelines.persist.PersistPipeline": 300,
}

# promowatch's own settings, read once per run by promowatch.runconfig (RunContext.from_settings, RunConfig):
# PROMOWATCH_RUN_CONTEXT the run's RunContext (parsed watchlist, one database engine), set by promowatch for its
#                       own crawls; None: the crawl builds one from the settings below
# PROMOWATCH_WATCHLIST  path of the watchlist TOML
# PROMOWATCH_DATA_DIR   data directory (evidence, lock, default SQLite database)
# PROMOWATCH_DB         SQLAlchemy URL of the database
# PROMOWATCH_NOW        ISO time of a simulated clock's origin (demo, tests); empty: the wall clock
# PROMOWATCH_NOW_ANCHOR wall-clock epoch at which that origin held, so every component reads the same time
# PROMOWATCH_RETAILERS  comma-separated retailer slugs to crawl; empty: all of the watchlist
PROMOWATCH_RUN_CONTEXT = None
PROMOWATCH_WATCHLIST = ""
PROMOWATCH_DATA_DIR = ""
PROMOWATCH_DB = ""
PROMOWATCH_NOW = ""
PROMOWATCH_NOW_ANCHOR = 0.0
PROMOWATCH_RETAILERS = ""
# observations per transaction: the looks that reach the database in one turn of the event loop are committed
# together as it ends, up to PROMOWATCH_COMMIT_EVERY of them (1: each on its own); PROMOWATCH_COMMIT_SECONDS > 0
# keeps a group open that long (fewer commits; a crash loses at most that window, never a committed look)
PROMOWATCH_COMMIT_EVERY = 100
PROMOWATCH_COMMIT_SECONDS = 0.0

# ---------------------------------------------------------------- browser rendering (scrapy-playwright)
# Browser requests (meta "playwright") go through Chromium; every other request through Scrapy's HTTP handler.
# scrapy-playwright's handler (promowatch.crawl.browser.BrowserDownloadHandler keeps the document as the server sent it);
# promowatch.crawl.browser.LazyChromium starts Playwright and Chromium only at the first browser request, so HTTP-only
# crawls never launch a browser. Debian's Chromium, not a `playwright install` download.
DOWNLOAD_HANDLERS = {
    "http": "promowatch.crawl.browser.BrowserDownloadHandler",
    "https": "promowatch.crawl.browser.BrowserDownloadHandler",
}
PLAYWRIGHT_BROWSER_TYPE = "chromium"
PLAYWRIGHT_BROWSER_PROVIDER = "promowatch.crawl.browser.LazyChromium"
# the profile's resource blocking ([browser] block, block_third_party) for each page
PLAYWRIGHT_ABORT_REQUEST = "promowatch.crawl.browser.should_abort_request"
PLAYWRIGHT_LAUNCH_OPTIONS = {
    # no executable_path: promowatch.crawl.browser.browser_executable finds one at launch ($PROMOWATCH_CHROMIUM, Debian's
    # chromium-headless-shell or chromium, Playwright's download); one set here is used as it is
    "headless": True,
    "args": [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-dev-shm-usage",
        # memory: summed RSS counts every Chromium process, so fewer processes (no zygotes, GPU and network
        # service inside the browser process, one renderer per site) keep a crawl's footprint bounded
        "--no-zygote",
        "--in-process-gpu",
        "--enable-features=NetworkServiceInProcess2",
        "--process-per-site",
        "--renderer-process-limit=2",
        # smaller caches and earlier discards in every process: about 70 MiB less PSS for the same pages/s
        "--enable-low-end-device-mode",
    ],
}
PLAYWRIGHT_MAX_CONTEXTS = 4  # one context per retailer rendered at once
PLAYWRIGHT_MAX_PAGES_PER_CONTEXT = 4  # bounds Chromium's memory: each page is a renderer process
PLAYWRIGHT_DEFAULT_NAVIGATION_TIMEOUT = 30_000  # ms; a profile's [browser] timeout_ms is tighter per page
PLAYWRIGHT_RESTART_DISCONNECTED_BROWSER = True  # a crashed or killed Chromium is relaunched for the next page
# a screenshot shows the page from its top at the viewport's width, at most this many CSS pixels tall (the rest
# is left out and the observation's wait outcome says "clipped at N px"), at most this many bytes of PNG, taken
# within these seconds; one that fails is left out and says why, and the page is read all the same
PROMOWATCH_BROWSER_SCREENSHOT_MAX_HEIGHT = 8000
PROMOWATCH_BROWSER_SCREENSHOT_MAX_BYTES = 16 * 2**20
PROMOWATCH_BROWSER_SCREENSHOT_SECONDS = 10.0
# ---------------------------------------------------------------- end of browser rendering
