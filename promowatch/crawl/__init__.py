"""The crawl: running the spiders for the due work (runner), and the Scrapy components around them: downloader
middlewares, the shops' own hosts, the browser, the progress view. ``spiders/`` holds the spiders only, since
Scrapy imports every module there when it loads them."""
