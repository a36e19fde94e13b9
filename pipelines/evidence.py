"""Evidence pipeline: every capture's bytes go into the blob store and the run's WARC before persistence.

Blob files are written (atomically) before the item moves on. Their index rows are the persistence pipeline's
work, in the transaction of the item (or its group): one commit per observation rather than two, and two
connections of one process writing SQLite at once would lock each other out.

Filing (hashing, compressing, writing) happens in one thread of its own while the crawl's event loop fetches and
reads the next pages: zlib, SHA-256 and disk writes release the GIL. The thread files the captures waiting for it
as one group, behind one durability barrier (``BlobStore.put_all``): with a barrier per capture, two flushes of
the disk per check, the crawl waited for the filing thread."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Mapping
from concurrent.futures import Future
from datetime import UTC, datetime
from pathlib import Path
from queue import Empty, SimpleQueue
from typing import Any, Self

from scrapy.crawler import Crawler

from promowatch.datadir import DataDir
from promowatch.domain import utcnow
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.capture import StoredBlob, file_capture, file_captures
from promowatch.evidence.warc import WarcRun, warcinfo_fields
from promowatch.items import Capture

# captures handed to the filing thread and not yet on disk, and their bytes: beyond these an item waits for room,
# so that fetched pages (and full-page screenshots) do not pile up in memory waiting for a slow disk, and a stop
# files at most these; one group is at most these too
FILINGS_IN_FLIGHT = 32
FILING_BYTES_IN_FLIGHT = 32 * 1024 * 1024

_Filing = tuple[Any, "Future[None]"]


class EvidencePipeline:
    """Stores capture bytes once, sets their SHA-256 on the item, and writes one WARC per crawl run."""

    def __init__(
        self, blobs_root: Path, warc_dir: Path, run_name: str, warcinfo: Mapping[str, str] | None = None
    ) -> None:
        self.blobs_root, self.warc_dir = blobs_root, warc_dir
        self.run_name = run_name
        self.warcinfo = warcinfo  # the fields of the warcinfo record each run's WARC begins with
        self.blobs = BlobStore(self.blobs_root)
        self.warc: WarcRun | None = None
        self.waiting: SimpleQueue[_Filing | None] = SimpleQueue()
        self.filing: threading.Thread | None = None
        self.room: asyncio.Condition | None = None
        # captures handed to the filing thread and not yet back, and their bytes (counted on the event loop)
        self.in_flight = 0
        self.bytes_in_flight = 0

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        settings = crawler.settings
        data = DataDir.resolve(
            settings.get("PROMOWATCH_DATA_DIR") or None, settings.get("PROMOWATCH_DB") or None
        )
        spider = crawler.spidercls.name if crawler.spidercls is not None else "crawl"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return cls(data.blobs, data.warcs, f"{spider}-{stamp}", crawl_warcinfo(settings))

    @property
    def warc_path(self) -> Path:
        return self.warc_dir / f"{self.run_name}.warc.gz"

    def open_spider(self) -> None:
        self.close_spider()  # opened again (under another run name): what was open is finished first
        self.warc = WarcRun(self.warc_path, self.warcinfo)
        self.filing = threading.Thread(target=self._file_groups, name="evidence-filing", daemon=True)
        self.filing.start()

    def close_spider(self) -> None:
        if self.filing is not None:
            self.waiting.put(None)  # after the captures already waiting: they are filed first
            self.filing.join()
            self.filing = None
        if self.warc is not None:
            self.warc.close()
            self.warc = None

    async def process_item(self, item: Any) -> Any:
        if getattr(item, "capture", None) is None:
            return item
        if self.filing is None:  # open_spider starts it, with the WARC
            self.open_spider()
        if self.room is None:  # made on the event loop that awaits it
            self.room = asyncio.Condition()
        size = capture_bytes(item.capture)
        async with self.room:
            # a capture larger than the whole budget goes alone
            await self.room.wait_for(
                lambda: (
                    self.in_flight == 0
                    or (
                        self.in_flight < FILINGS_IN_FLIGHT
                        and self.bytes_in_flight + size <= FILING_BYTES_IN_FLIGHT
                    )
                )
            )
            self.in_flight += 1
            self.bytes_in_flight += size
        try:
            filed: Future[None] = Future()
            self.waiting.put((item, filed))
            await asyncio.wrap_future(filed)
        finally:
            async with self.room:
                self.in_flight -= 1
                self.bytes_in_flight -= size
                self.room.notify_all()
        return item

    def file(self, item: Any) -> Any:
        """What ``process_item`` does, all in the caller's thread (for tools and tests)."""
        if getattr(item, "capture", None) is not None:
            if self.warc is None:
                self.warc = WarcRun(self.warc_path, self.warcinfo)
            file_capture(item.capture, self.blobs, self.warc, fetched_at(item))
        return item

    def _file_groups(self) -> None:
        """The filing thread: file what waits as one group, until ``close_spider`` says stop."""
        while True:
            first = self.waiting.get()
            if first is None:
                return
            group = [first]
            stop = False
            while True:  # the room on the event loop keeps these to FILINGS_IN_FLIGHT
                try:
                    following = self.waiting.get_nowait()
                except Empty:
                    break
                if following is None:
                    stop = True
                    break
                group.append(following)
            # a filing the crawl gave up on (a cancelled item) is left out; the others can no longer be cancelled
            self._file_group([(item, filed) for item, filed in group if filed.set_running_or_notify_cancel()])
            if stop:
                return

    def _file_group(self, group: list[_Filing]) -> None:
        try:
            failures = file_captures(
                [(item.capture, fetched_at(item)) for item, _ in group], self.blobs, self.warc
            )
        except Exception as error:
            if len(group) > 1:
                # the blob store refused the group (a capture that cannot be stored, the disk): each capture
                # on its own, so that one that cannot be filed costs only itself
                for one in group:
                    self._file_group([one])
                return
            failures = [error]
        except BaseException as error:
            # a SystemExit or the like from a library must not end this thread and leave the items waiting for it,
            # nor reach the crawl's event loop through their futures
            failures = [RuntimeError(f"the evidence could not be filed: {error!r}") for _ in group]
        for (_, filed), failure in zip(group, failures, strict=True):
            if failure is None:
                filed.set_result(None)
            else:
                filed.set_exception(failure)


def crawl_warcinfo(settings: Any) -> dict[str, str]:
    """Who captured, from where and how: the warcinfo fields of a crawl with these settings. The operator is the
    watchlist's contact, when the run has a watchlist."""
    from importlib.metadata import version

    import promowatch

    context = settings.get("PROMOWATCH_RUN_CONTEXT")
    return warcinfo_fields(
        software=f"promowatch/{promowatch.__version__} (warcio/{version('warcio')})",
        operator=context.watchlist.contact if context is not None else None,
        hostname=socket.gethostname(),
        user_agent=settings.get("USER_AGENT"),
        robots="obey" if settings.getbool("ROBOTSTXT_OBEY") else "ignore",
    )


def capture_bytes(capture: Capture) -> int:
    """The bytes a capture holds: its body, screenshot and rendered DOM."""
    return len(capture.body) + len(capture.screenshot or b"") + len(capture.rendered_html or b"")


def fetched_at(item: Any) -> datetime:
    """When the item's capture was fetched: its observation time."""
    return getattr(item, "observed_at", None) or utcnow()


def filed_blobs(capture: Capture) -> list[StoredBlob]:
    """The blobs ``file_capture`` stored for a capture (after the evidence pipeline saw it), for their index:
    named by the hashes it set on the capture."""
    stored = []
    if capture.body_sha256:
        stored.append(StoredBlob(capture.body_sha256, len(capture.body), capture.media_type))
    if capture.screenshot is not None and capture.screenshot_sha256:
        stored.append(StoredBlob(capture.screenshot_sha256, len(capture.screenshot), "image/png"))
    if capture.rendered_html is not None and capture.rendered_sha256:
        stored.append(StoredBlob(capture.rendered_sha256, len(capture.rendered_html), "text/html"))
    return stored
