"""Evidence pipeline: every capture's bytes go into the blob store and the run's WARC before persistence.

Blob files are written (atomically) before the item moves on. Their index rows are the persistence pipeline's
work, in the transaction of the item (or its group): one commit per observation rather than two, and two
connections of one process writing SQLite at once would lock each other out.

Filing (hashing, compressing, writing and fsyncing) happens in one thread of its own, in the order items
arrive, while the crawl's event loop fetches and reads the next pages: zlib, SHA-256 and fsync release the GIL,
so on a crawl that reads its pages in its own process this is about a tenth more checks per second."""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler

from promowatch.datadir import DataDir
from promowatch.domain import utcnow
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.capture import StoredBlob, file_capture
from promowatch.evidence.warc import WarcRun
from promowatch.items import Capture

# captures handed to the filing thread and not yet on disk; beyond these the crawl waits for the disk
FILINGS_IN_FLIGHT = 4


class EvidencePipeline:
    """Stores capture bytes once, sets their SHA-256 on the item, and writes one WARC per crawl run."""

    def __init__(self, blobs_root: Path, warc_dir: Path, run_name: str) -> None:
        self.blobs_root, self.warc_dir = blobs_root, warc_dir
        self.run_name = run_name
        self.blobs = BlobStore(self.blobs_root)
        self.warc: WarcRun | None = None
        self.filing: ThreadPoolExecutor | None = None
        self.in_flight: deque[Future[None]] = deque()

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        data = DataDir.resolve(
            settings.get("PROMOWATCH_DATA_DIR") or None, settings.get("PROMOWATCH_DB") or None
        )
        spider = crawler.spidercls.name if crawler.spidercls is not None else "crawl"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return cls(
            data.blobs,
            data.warcs,
            f"{spider}-{stamp}",
        )

    @property
    def warc_path(self) -> Path:
        return self.warc_dir / f"{self.run_name}.warc.gz"

    def open_spider(self) -> None:
        self.warc = WarcRun(self.warc_path)
        self.filing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="evidence")

    def close_spider(self) -> None:
        if self.filing is not None:
            self.filing.shutdown(wait=True)
            self.filing = None
        self.in_flight.clear()
        if self.warc is not None:
            self.warc.close()
            self.warc = None

    async def process_item(self, item: Any) -> Any:
        if getattr(item, "capture", None) is None:
            return item
        if self.filing is None:  # open_spider makes it, with the WARC
            self.open_spider()
        assert self.filing is not None
        while self.in_flight and self.in_flight[0].done():
            self.in_flight.popleft()
        if len(self.in_flight) >= FILINGS_IN_FLIGHT:
            # the disk is slower than the crawl: wait here, as a synchronous pipeline would, so that fetched
            # pages do not pile up in memory, and a stop does not have to file a backlog first
            wait([self.in_flight.popleft()])
        filed = self.filing.submit(self.file_capture, item)
        self.in_flight.append(filed)
        await asyncio.wrap_future(filed)
        return item

    def file(self, item: Any) -> Any:
        """What ``process_item`` does, all in the caller's thread (for tools and tests)."""
        if getattr(item, "capture", None) is not None:
            if self.filing is None:
                self.open_spider()
            self.file_capture(item)
        return item

    def file_capture(self, item: Any) -> None:
        """The item's capture into the blob store and the WARC; its hashes onto it."""
        fetched_at = getattr(item, "observed_at", None) or utcnow()
        file_capture(item.capture, self.blobs, self.warc, fetched_at)


def filed_blobs(capture: Capture) -> list[StoredBlob]:
    """The blobs ``file_capture`` stored for a capture (after the evidence pipeline saw it), for their index:
    named by the hashes it set on the capture."""
    stored = []
    if capture.body_sha256:
        stored.append(StoredBlob(capture.body_sha256, len(capture.body), capture.media_type, False))
    if capture.screenshot is not None and capture.screenshot_sha256:
        stored.append(StoredBlob(capture.screenshot_sha256, len(capture.screenshot), "image/png", False))
    if capture.rendered_html is not None and capture.rendered_sha256:
        stored.append(StoredBlob(capture.rendered_sha256, len(capture.rendered_html), "text/html", False))
    return stored
