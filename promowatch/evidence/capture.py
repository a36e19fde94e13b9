"""Filing one capture: bytes into the blob store, records into the run's WARC, hashes onto the capture."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.warc import WarcRun
from promowatch.items import Capture


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str


def screenshot_uri(url: str) -> str:
    return f"urn:fullPage:{url}"


def rendered_dom_uri(url: str) -> str:
    return f"urn:renderedDom:{url}"


def file_captures(
    captures: Sequence[tuple[Capture, datetime]], blobs: BlobStore, warc: WarcRun | None
) -> list[Exception | None]:
    """File captures (each with its fetch time): store their bodies, screenshots and rendered DOMs behind one
    durability barrier, set ``body_sha256``/``screenshot_sha256``/``rendered_sha256`` on them, and append
    their WARC records in the order given. For each capture, None or the error that kept its records out of the
    WARC (it costs no other capture); an error of the blob store raises, and then no capture is filed."""
    parts = [(capture, fetched_at, list(_blobs_of(capture))) for capture, fetched_at in captures]
    stored = iter(blobs.put_all([data for _, _, blobs_of in parts for _, data, _ in blobs_of]))
    failures: list[Exception | None] = []
    for capture, fetched_at, blobs_of in parts:
        filed = [(kind, data, media_type, *next(stored)) for kind, data, media_type in blobs_of]
        try:
            _archive(capture, fetched_at, filed, warc)
        except Exception as error:
            failures.append(error)
        else:
            failures.append(None)
    return failures


def _archive(
    capture: Capture,
    fetched_at: datetime,
    filed: list[tuple[str, bytes, str, str, bool]],
    warc: WarcRun | None,
) -> None:
    """Set a capture's hashes and append its WARC records, from its stored blobs (kind, bytes, type, hash, new)."""
    for kind, data, media_type, sha, new in filed:
        if kind == "body":
            capture.body_sha256 = sha
            if warc is not None:
                # bytes whose blob existed were archived already (by an earlier run, or another worker): the
                # WARC gets a revisit record that refers to that capture
                warc.write_exchange(
                    url=capture.url,
                    status=capture.status,
                    headers=capture.headers,
                    body=data,
                    body_sha256=sha,
                    media_type=media_type,
                    method=capture.request_method,
                    request_headers=capture.request_headers,
                    fetched_at=fetched_at,
                    archived_before=not new,
                    ip_address=capture.ip_address,
                )
            continue
        if kind == "screenshot":
            capture.screenshot_sha256, uri = sha, screenshot_uri(capture.url)
        else:
            capture.rendered_sha256, uri = sha, rendered_dom_uri(capture.url)
        if warc is not None:
            warc.write_resource(uri=uri, data=data, sha256=sha, media_type=media_type, fetched_at=fetched_at)


def file_capture(capture: Capture, blobs: BlobStore, warc: WarcRun | None, fetched_at: datetime) -> None:
    """File one capture (``file_captures`` of one); its error raises."""
    (failure,) = file_captures([(capture, fetched_at)], blobs, warc)
    if failure is not None:
        raise failure


def _blobs_of(capture: Capture) -> Iterator[tuple[str, bytes, str]]:
    """(kind, bytes, media type) of each blob a capture holds: its body, screenshot and rendered DOM."""
    yield "body", capture.body, capture.media_type
    if capture.screenshot is not None:
        yield "screenshot", capture.screenshot, "image/png"
    if capture.rendered_html is not None:
        yield "rendered", capture.rendered_html, "text/html"
