"""A live view of a crawl for someone at a terminal: one bar per spider and retailer with the looks made (of the
pages due, when the spider knows), the observations stored and the share read as unknown.

A Scrapy extension, on only with ``PROMOWATCH_PROGRESS`` (``promowatch run`` / ``crawl`` set it when stderr is a
terminal and ``--quiet`` is not given); it draws on stderr, so stdout keeps only the summary lines.
"""

from __future__ import annotations

from typing import Self

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from scrapy import Spider, signals
from scrapy.crawler import Crawler
from scrapy.exceptions import NotConfigured


def due_key(retailer: str) -> str:
    """The crawl stat a spider sets to the number of pages it will fetch for a retailer."""
    return f"promowatch/{retailer}/due"


class CrawlProgress:
    def __init__(self, crawler: Crawler, console: Console) -> None:
        self.crawler = crawler
        self.console = console
        self.progress: Progress | None = None
        self.tasks: dict[str, TaskID] = {}

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        if not crawler.settings.getbool("PROMOWATCH_PROGRESS"):
            raise NotConfigured
        extension = cls(crawler, Console(stderr=True))
        crawler.signals.connect(extension.opened, signal=signals.spider_opened)
        crawler.signals.connect(extension.closed, signal=signals.spider_closed)
        # one look per due page, whether read, unknown or failed; a page read twice (HTTP, then in the
        # browser) or retried still makes one
        for signal in (signals.item_scraped, signals.item_dropped, signals.item_error):
            crawler.signals.connect(extension.looked, signal=signal)
        return extension

    def opened(self, spider: Spider) -> None:
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[looks]}"),
            TimeElapsedColumn(),
            console=self.console,
        )
        self.progress.start()

    def closed(self, spider: Spider) -> None:
        if self.progress is None:
            return
        for retailer, task in self.tasks.items():  # the last items were stored after the last response
            self.progress.update(task, looks=self.looks(retailer))
        self.progress.stop()
        self.progress = None

    def looked(self, item: object, spider: Spider) -> None:
        retailer = getattr(item, "retailer", None)
        if self.progress is None or not isinstance(retailer, str):
            return
        task = self.tasks.get(retailer)
        if task is None:
            task = self.tasks[retailer] = self.progress.add_task(
                f"{spider.name} {retailer}", total=None, looks=""
            )
        self.progress.update(
            task, advance=1, total=self.stat(due_key(retailer)) or None, looks=self.looks(retailer)
        )

    def stat(self, key: str) -> int:
        return int(self.crawler.stats.get_value(key, 0)) if self.crawler.stats is not None else 0

    def looks(self, retailer: str) -> str:
        """What the crawl stored so far for the retailer."""
        offers = self.stat(f"promowatch/{retailer}/offer_observations")
        unknown = self.stat(f"promowatch/{retailer}/availability/unknown")
        stores = self.stat(f"promowatch/{retailer}/store_checks")
        parts = [f"{offers} offers ({unknown / offers:.0%} unknown)"] if offers else []
        if stores:
            parts.append(f"{stores} store checks")
        return ", ".join(parts)
