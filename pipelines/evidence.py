"""Evidence pipeline: every capture's bytes go into the blob store and the run's WARC before persistence.

Blob files are written (atomically) before the item moves on. Their index rows go in with the item: here in a
transaction of their own, or, when observations are committed in groups (``PROMOWATCH_COMMIT_EVERY`` > 1), in
the persistence pipeline's group transaction (two connections of one process writing SQLite at once would
lock each other out).

Filing (hashing, compressing, writing and fsyncing) happens in one thread of its own, in the order items
arrive, while the crawl's event loop fetches and reads the next pages: zlib, SHA-256 and fsync release the GIL,
so on a crawl that reads its pages in its own process this is about a tenth more checks per second. The index
rows stay on the event loop's thread, with the rest of the database work."""

from __future__ import annotations

import asyncio
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor, wait
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Self

from scrapy.crawler import Crawler
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from promowatch.datadir import DataDir
from promowatch.db.engine import open_database
from promowatch.db.models import EvidenceBlob
from promowatch.db.queries import insert_new
from promowatch.domain import utcnow
from promowatch.evidence.blobs import BlobStore, sha256_hex
from promowatch.evidence.capture import StoredBlob, file_capture
from promowatch.evidence.warc import WarcRun
from promowatch.items import Capture


def record_blobs(session: Session, stored: list[StoredBlob], created_at: datetime) -> None:
    """Add index rows for blobs not yet indexed (a blob already on disk may predate its row after a crash)."""
    wanted = {b.sha256: b for b in stored}
    known = set(session.scalars(select(EvidenceBlob.sha256).where(EvidenceBlob.sha256.in_(wanted))))
    rows = [
        {"sha256": sha, "size": blob.size, "media_type": blob.media_type, "created_at": created_at}
        for sha, blob in wanted.items()
        if sha not in known
    ]
    # another crawl process may index the same bytes at the same moment
    insert_new(session, EvidenceBlob, rows, ["sha256"])


# captures handed to the filing thread and not yet on disk; beyond these the crawl waits for the disk
FILINGS_IN_FLIGHT = 4


class EvidencePipeline:
    """Stores capture bytes once, sets their SHA-256 on the item, and writes one WARC per crawl run."""

    def __init__(
        self, blobs_root: Path, warc_dir: Path, db_url: str, run_name: str, commit_every: int = 1
    ) -> None:
        self.blobs_root, self.warc_dir = blobs_root, warc_dir
        self.db_url = db_url
        self.run_name = run_name
        self.blobs = BlobStore(self.blobs_root)
        self.sessions: sessionmaker[Session] | None = None
        self.warc: WarcRun | None = None
        self.index_here = commit_every <= 1
        self.filing: ThreadPoolExecutor | None = None
        self.in_flight: deque[Future[list[StoredBlob]]] = deque()

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
            data.db_url,
            f"{spider}-{stamp}",
            commit_every=settings.getint("PROMOWATCH_COMMIT_EVERY", 1),
        )

    @property
    def warc_path(self) -> Path:
        return self.warc_dir / f"{self.run_name}.warc.gz"

    def open_spider(self) -> None:
        self.sessions = open_database(self.db_url)
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
        if self.filing is None:  # open_spider makes it, with the WARC and the database sessions
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
        self.index(await asyncio.wrap_future(filed))
        return item

    def file(self, item: Any) -> Any:
        """What ``process_item`` does, all in the caller's thread (for tools and tests)."""
        if getattr(item, "capture", None) is not None:
            if self.filing is None:
                self.open_spider()
            self.index(self.file_capture(item))
        return item

    def file_capture(self, item: Any) -> list[StoredBlob]:
        """The item's capture into the blob store and the WARC; its hashes onto it."""
        fetched_at = getattr(item, "observed_at", None) or utcnow()
        stored, _refs = file_capture(item.capture, self.blobs, self.warc, fetched_at)
        return stored

    def index(self, stored: list[StoredBlob]) -> None:
        if self.index_here:
            assert self.sessions is not None
            with self.sessions.begin() as session:
                record_blobs(session, stored, utcnow())


def filed_blobs(capture: Capture) -> list[StoredBlob]:
    """The blobs ``file_capture`` stored for a capture (after the evidence pipeline saw it), for their index."""
    stored = []
    if capture.body_sha256:
        stored.append(StoredBlob(capture.body_sha256, len(capture.body), capture.media_type, False))
    if capture.screenshot is not None and capture.screenshot_sha256:
        stored.append(StoredBlob(capture.screenshot_sha256, len(capture.screenshot), "image/png", False))
    if capture.rendered_html is not None:
        html = capture.rendered_html
        stored.append(StoredBlob(sha256_hex(html), len(html), "text/html", False))
    return stored
