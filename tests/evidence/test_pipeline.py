"""The evidence pipeline built from real Scrapy settings: bytes stored once, hashes set, WARC records written."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from scrapy.utils.misc import build_from_crawler
from scrapy.utils.test import get_crawler
from warcio.archiveiterator import ArchiveIterator

from pipelines.evidence import FILING_BYTES_IN_FLIGHT, FILINGS_IN_FLIGHT, EvidencePipeline
from promowatch.domain import Offer
from promowatch.evidence.warc import find_records, read_index
from promowatch.items import Capture, OfferItem, StoreStockItem
from tests.evidence.builder import tiny_png

AT = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
URL = "http://127.0.0.1:8765/p/1"


def make_pipeline(tmp_path: Path) -> EvidencePipeline:
    crawler = get_crawler(
        settings_dict={
            "PROMOWATCH_DATA_DIR": str(tmp_path / "data"),
            "PROMOWATCH_DB": f"sqlite:///{tmp_path}/p.db",
        }
    )
    pipeline = build_from_crawler(EvidencePipeline, crawler)
    pipeline.open_spider()
    return pipeline


def offer_item(
    body: bytes, screenshot: bytes | None = None, headers: dict[str, list[str]] | None = None
) -> OfferItem:
    capture = Capture(
        url=URL,
        status=200,
        headers=headers or {"Content-Type": ["text/html"]},
        body=body,
        media_type="text/html",
        screenshot=screenshot,
    )
    return OfferItem("demo-shop", URL, AT, Offer(url=URL), "browser" if screenshot else "http", capture)


def test_unchanged_bytes_are_stored_once(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    items = [offer_item(b"<html>same</html>") for _ in range(3)] + [offer_item(b"<html>other</html>")]
    for item in items:
        assert pipeline.file(item) is item
    pipeline.close_spider()
    shas = [i.capture.body_sha256 for i in items if i.capture]
    assert shas[0] == shas[1] == shas[2] == hashlib.sha256(b"<html>same</html>").hexdigest()
    assert len(list(pipeline.blobs_root.rglob("*"))) == 2 + 2  # two blobs in two fan-out folders
    types = [r.record_type for r in read_index(pipeline.warc_dir)]
    assert types == [
        "warcinfo",
        *("response", "request", "revisit", "request", "revisit", "request", "response", "request"),
    ]


@pytest.mark.parametrize(
    ("headers", "archived"),
    [
        # Scrapy's HttpCompressionMiddleware hands over the decoded body with the original headers
        pytest.param(
            {"Content-Encoding": ["gzip"], "Content-Length": ["31"]},
            "X-Archive-Orig-Content-Encoding",
            id="gzip-body-already-decoded",
        ),
        pytest.param({"Transfer-Encoding": ["chunked"]}, "X-Archive-Orig-Transfer-Encoding", id="chunked"),
    ],
)
def test_warc_response_reads_back_as_the_body(
    tmp_path: Path, headers: dict[str, list[str]], archived: str
) -> None:
    pipeline = make_pipeline(tmp_path)
    body = b"<html>" + b"x" * 500 + b"</html>"
    pipeline.file(offer_item(body, headers={"Content-Type": ["text/html"], **headers}))
    pipeline.close_spider()
    with pipeline.warc_path.open("rb") as stream:
        records = list(
            (r.rec_type, r.rec_headers, r.http_headers, r.content_stream().read())
            for r in ArchiveIterator(stream)
        )
    (info_kind, info, _, _), (kind, rec, http, payload), (req_kind, req_rec, req_http, _) = records
    assert (info_kind, kind, req_kind) == ("warcinfo", "response", "request")
    assert rec.get_header("WARC-Warcinfo-ID") == info.get_header("WARC-Record-ID")
    assert payload == body
    assert http.get_header(archived) is not None
    assert http.get_header("Content-Length") == str(len(body))
    assert rec.get_header("WARC-Payload-Digest") == f"sha256:{hashlib.sha256(body).hexdigest()}"
    assert req_rec.get_header("WARC-Target-URI") == rec.get_header("WARC-Target-URI") == URL
    assert req_rec.get_header("WARC-Concurrent-To") == rec.get_header("WARC-Record-ID")
    assert req_http.protocol == "GET"


def test_screenshot_is_a_resource_record_and_indexed(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    shot = tiny_png(7)
    item = offer_item(b"<html>b</html>", screenshot=shot)
    pipeline.file(item)
    pipeline.close_spider()
    assert item.capture is not None and item.capture.screenshot_sha256 == hashlib.sha256(shot).hexdigest()
    found = find_records(pipeline.warc_dir, [item.capture.screenshot_sha256])
    (ref,) = found[item.capture.screenshot_sha256]
    assert (ref.record_type, ref.uri, ref.media_type) == ("resource", f"urn:fullPage:{URL}", "image/png")
    with pipeline.warc_path.open("rb") as stream:
        stream.seek(ref.offset)
        record = next(iter(ArchiveIterator(stream)))
        assert record.content_stream().read() == shot
    index_lines = Path(str(pipeline.warc_path) + ".idx.jsonl").read_text().splitlines()
    assert all(json.loads(x)["warc"] == pipeline.warc_path.name for x in index_lines)


def test_every_record_is_its_own_gzip_member_at_its_indexed_place(tmp_path: Path) -> None:
    # a case bundle copies a record out by (offset, length) alone: each must decompress on its own
    pipeline = make_pipeline(tmp_path)
    for n in range(3):
        pipeline.file(offer_item(b"<html>" + bytes([65 + n]) * 2000 + b"</html>", screenshot=tiny_png(n)))
    pipeline.close_spider()
    data = pipeline.warc_path.read_bytes()
    refs = list(read_index(pipeline.warc_dir))
    assert sorted(r.record_type for r in refs) == ["request"] * 3 + ["resource"] * 3 + ["response"] * 3 + [
        "warcinfo"
    ]
    assert sum(r.length for r in refs) == len(data)
    for ref in refs:
        record = gzip.decompress(data[ref.offset : ref.offset + ref.length])
        assert record.startswith(b"WARC/1.")
        assert f"WARC-Type: {ref.record_type}\r\n".encode() in record


def test_items_without_capture_pass_through(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    item = StoreStockItem("demo-shop", URL, AT, [], None, reason="timeout")
    assert pipeline.file(item) is item
    pipeline.close_spider()
    assert list(read_index(pipeline.warc_dir)) == []


def slow_disk(pipeline: EvidencePipeline, seconds: float) -> tuple[list[int], list[int], set[str]]:
    """Each group the filing thread stores takes ``seconds`` longer. Returns the captures in flight seen at each
    group, each group's size, and the hashes of the blobs stored so far (``put_all`` has made them durable)."""
    in_flight: list[int] = []
    sizes: list[int] = []
    durable: set[str] = set()
    store = pipeline.blobs.put_all

    def put_all(blobs: Sequence[bytes]) -> list[tuple[str, bool]]:
        in_flight.append(pipeline.in_flight)
        sizes.append(len(blobs))
        time.sleep(seconds)
        stored = store(blobs)
        durable.update(sha for sha, _ in stored)
        return stored

    pipeline.blobs.put_all = put_all  # type: ignore[method-assign]
    return in_flight, sizes, durable


def test_items_filed_at_once_are_archived_in_their_order(tmp_path: Path) -> None:
    # Scrapy awaits process_item: the filing thread takes the captures as they come while the event loop goes
    # on, and an item moves on to persistence only once its bytes are durable on disk and hashed (persistence
    # indexes them in the item's own transaction)
    pipeline = make_pipeline(tmp_path)
    _, sizes, durable = slow_disk(pipeline, 0.005)
    bodies = [f"<html>page {n}</html>".encode() for n in range(6)]
    items = [offer_item(body) for body in bodies]

    async def handed_on(item: OfferItem) -> OfferItem:
        filed = await pipeline.process_item(item)
        assert filed.capture is not None and filed.capture.body_sha256 in durable
        assert pipeline.blobs.exists(filed.capture.body_sha256)
        return filed

    async def crawl_hands_them_over() -> list[OfferItem]:
        return list(await asyncio.gather(*(handed_on(item) for item in items)))

    assert asyncio.run(crawl_hands_them_over()) == items
    pipeline.close_spider()
    assert sum(sizes) == len(bodies)
    assert [i.capture.body_sha256 for i in items if i.capture] == [
        hashlib.sha256(b).hexdigest() for b in bodies
    ]
    with gzip.open(pipeline.warc_path) as warc:
        archived = [r.content_stream().read() for r in ArchiveIterator(warc) if r.rec_type == "response"]
    assert [a.split(b"\r\n\r\n", 1)[-1] for a in archived] == bodies


def test_a_slow_disk_holds_the_crawl_back_instead_of_a_backlog(tmp_path: Path) -> None:
    # fetched pages must not pile up in memory waiting for the disk, nor make a stop file them all first
    pipeline = make_pipeline(tmp_path)
    in_flight, sizes, _ = slow_disk(pipeline, 0.01)
    items = [offer_item(f"<html>page {n}</html>".encode()) for n in range(3 * FILINGS_IN_FLIGHT)]

    async def crawl_hands_them_over() -> None:
        await asyncio.gather(*(pipeline.process_item(item) for item in items))

    asyncio.run(crawl_hands_them_over())
    pipeline.close_spider()
    assert sum(sizes) == len(items)
    assert max(in_flight) == FILINGS_IN_FLIGHT


def handed_over_at_once(pipeline: EvidencePipeline, items: list[OfferItem]) -> list[object]:
    """What the pipeline hands on for items the crawl gives it all at once (or the error of each), once closed."""

    async def crawl_hands_them_over() -> list[object]:
        return list(
            await asyncio.gather(*(pipeline.process_item(item) for item in items), return_exceptions=True)
        )

    results = asyncio.run(crawl_hands_them_over())
    pipeline.close_spider()
    return results


def test_large_captures_wait_for_room_in_the_bytes_in_flight(tmp_path: Path) -> None:
    # full-page screenshots of a few MB each: a slow disk must not pin FILINGS_IN_FLIGHT of them in memory
    pipeline = make_pipeline(tmp_path)
    held: list[int] = []
    store = pipeline.blobs.put_all

    def put_all(blobs: Sequence[bytes]) -> list[tuple[str, bool]]:
        held.append(pipeline.bytes_in_flight)
        time.sleep(0.01)
        return store(blobs)

    pipeline.blobs.put_all = put_all  # type: ignore[method-assign]
    shot = FILING_BYTES_IN_FLIGHT // 5  # five fit in the budget
    items = [offer_item(f"<html>page {n}</html>".encode(), screenshot=bytes([n]) * shot) for n in range(12)]
    huge = offer_item(b"<html>huge</html>", screenshot=b"\0" * (FILING_BYTES_IN_FLIGHT + 1))  # goes alone
    assert handed_over_at_once(pipeline, [*items, huge]) == [*items, huge]
    assert max(held) == FILING_BYTES_IN_FLIGHT + 1 + len(b"<html>huge</html>")  # the huge one, alone
    assert sorted(held)[-2] <= FILING_BYTES_IN_FLIGHT  # the others: never more than the budget
    assert pipeline.bytes_in_flight == 0 and pipeline.in_flight == 0


def test_captures_waiting_together_share_one_durability_barrier(tmp_path: Path) -> None:
    # each barrier flushes the disk: one per capture held a crawl to the disk's flush rate
    pipeline = make_pipeline(tmp_path)
    _, sizes, _ = slow_disk(pipeline, 0.01)
    barriers: list[int] = []
    make_durable = pipeline.blobs._make_durable

    def counted(paths: list[Path]) -> None:
        barriers.append(len(paths))
        make_durable(paths)

    pipeline.blobs._make_durable = counted  # type: ignore[method-assign]
    items = [offer_item(f"<html>page {n}</html>".encode()) for n in range(40)]

    async def crawl_hands_them_over() -> None:
        await asyncio.gather(*(pipeline.process_item(item) for item in items))

    asyncio.run(crawl_hands_them_over())
    pipeline.close_spider()
    # the captures that wait while a group is filed go in the next group, up to FILINGS_IN_FLIGHT at once
    assert max(sizes) == FILINGS_IN_FLIGHT and sum(sizes) == 40
    # per group, one barrier for the blobs' bytes and one for their names; and one for the names of the
    # directories the new store created
    assert len(barriers) == 2 * len(sizes) + 1 < 2 * 40


def test_a_capture_that_cannot_be_filed_fails_only_its_own_item(tmp_path: Path) -> None:
    pipeline = make_pipeline(tmp_path)
    _, sizes, _ = slow_disk(pipeline, 0.01)
    items = [offer_item(f"<html>page {n}</html>".encode()) for n in range(6)]
    broken = items[3]
    assert broken.capture is not None
    broken.capture.body = "<html>page 3</html>"  # type: ignore[assignment]  # not bytes: hashing it fails

    results = handed_over_at_once(pipeline, items)
    assert isinstance(results[3], TypeError)
    assert [r for n, r in enumerate(results) if n != 3] == [i for n, i in enumerate(items) if n != 3]
    for item in items[:3] + items[4:]:
        assert item.capture is not None and pipeline.blobs.exists(item.capture.body_sha256 or "")
    assert sizes[0] == 6  # filed as one group first, then each on its own
    # the run's warcinfo, then a response and a request for each filed one
    assert len(list(read_index(pipeline.warc_dir))) == 1 + 2 * 5


def test_an_exit_in_the_filing_thread_fails_its_items_and_the_crawl_goes_on(tmp_path: Path) -> None:
    # a library's sys.exit() in the filing thread: its items fail (never a SystemExit on the crawl's event loop),
    # the thread lives on and files the next ones
    pipeline = make_pipeline(tmp_path)
    store, calls = pipeline.blobs.put_all, []

    def exits_once(blobs: Sequence[bytes]) -> list[tuple[str, bool]]:
        calls.append(len(blobs))
        if len(calls) == 1:
            raise SystemExit(3)
        return store(blobs)

    pipeline.blobs.put_all = exits_once  # type: ignore[method-assign]
    items = [offer_item(f"<html>page {n}</html>".encode()) for n in range(4)]

    async def crawl_hands_them_over() -> list[object]:
        handed = [pipeline.process_item(item) for item in items]
        first = await asyncio.wait_for(asyncio.gather(handed[0], return_exceptions=True), 10)
        return first + await asyncio.wait_for(asyncio.gather(*handed[1:], return_exceptions=True), 10)

    results = asyncio.run(crawl_hands_them_over())
    pipeline.close_spider()
    assert isinstance(results[0], RuntimeError) and "SystemExit(3)" in str(results[0])
    assert results[1:] == items[1:]


def test_a_capture_the_warc_refuses_fails_only_its_item_and_the_others_keep_their_responses(
    tmp_path: Path,
) -> None:
    # the group's blobs are stored once: filing the others again would find their blobs and archive them as
    # revisits of an earlier run that never held them
    pipeline = make_pipeline(tmp_path)
    _, sizes, _ = slow_disk(pipeline, 0.01)
    assert pipeline.warc is not None
    write_exchange = pipeline.warc.write_exchange

    def refusing_page_2(**record: Any) -> Any:
        if record["body"] == b"<html>page 2</html>":
            raise OSError(28, "No space left on device")
        return write_exchange(**record)

    pipeline.warc.write_exchange = refusing_page_2  # type: ignore[method-assign]
    items = [offer_item(f"<html>page {n}</html>".encode()) for n in range(5)]

    results = handed_over_at_once(pipeline, items)
    assert isinstance(results[2], OSError)
    assert [r for n, r in enumerate(results) if n != 2] == [i for n, i in enumerate(items) if n != 2]
    assert sum(sizes) == 5  # no capture filed twice
    kinds = [ref.record_type for ref in read_index(pipeline.warc_dir)]
    assert kinds.count("response") == 4 and "revisit" not in kinds


def test_the_warcinfo_record_opens_the_run_and_leaves_the_first_records_date_alone(tmp_path: Path) -> None:
    # a 304 re-check is found again by (payload, URL, date): the first record of a run keeps its own fetch time
    pipeline = make_pipeline(tmp_path)
    pipeline.file(offer_item(b"<html>first</html>"))
    pipeline.close_spider()
    info, response, request = read_index(pipeline.warc_dir)
    assert (info.record_type, response.record_type, request.record_type) == (
        "warcinfo",
        "response",
        "request",
    )
    assert response.date == request.date == "2026-03-02T07:00:00Z"
    assert info.offset == 0 and response.offset == info.length
