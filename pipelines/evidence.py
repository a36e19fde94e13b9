"""Evidence pipeline: every capture's bytes go into the blob store and the run's WARC before persistence.

Blob files are written (atomically) before the item moves on. Their index rows go in with the item: here in a
transaction of their own, or, when observations are committed in groups (``PROMOWATCH_COMMIT_EVERY`` > 1), in
the persistence pipeline's group transaction (two connections of one process writing SQLite at once would
lock each other out)."""

from __future__ import annotations

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

    def close_spider(self) -> None:
        if self.warc is not None:
            self.warc.close()
            self.warc = None

    def process_item(self, item: Any) -> Any:
        capture = getattr(item, "capture", None)
        if capture is None:
            return item
        if self.sessions is None:
            self.open_spider()
        assert self.sessions is not None
        fetched_at = getattr(item, "observed_at", None) or utcnow()
        stored, _refs = file_capture(capture, self.blobs, self.warc, fetched_at)
        if self.index_here:
            with self.sessions.begin() as session:
                record_blobs(session, stored, utcnow())
        return item


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
