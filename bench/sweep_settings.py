"""Scrapy settings of bench/sweep.py's crawls: promowatch's own, plus one download slot for the shops' host.

The bench's shops differ by port on 127.0.0.1, while real shops differ by host name. Scrapy keys the slot of a
request without a ``download_slot`` (robots.txt) by host name only, so here every shop's robots.txt would wait
in one slot behind the other shops'. Giving that slot one request per shop restores what distinct hosts have:
each shop's robots.txt fetched once, at once. Page requests keep their retailer's own slot.
"""

import os

from promowatch.settings import *  # noqa: F403 - a settings module that starts from the project's

DOWNLOAD_SLOTS = {"127.0.0.1": {"concurrency": int(os.environ.get("SWEEP_SHOPS", "1")), "delay": 0.0}}
