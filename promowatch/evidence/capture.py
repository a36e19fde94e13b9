"""Filing one capture: bytes into the blob store, records into the run's WARC, hashes onto the capture."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.warc import RecordRef, WarcRun
from promowatch.items import Capture


@dataclass(frozen=True, slots=True)
class StoredBlob:
    sha256: str
    size: int
    media_type: str
    new: bool


def screenshot_uri(url: str) -> str:
    return f"urn:fullPage:{url}"


def rendered_dom_uri(url: str) -> str:
    return f"urn:renderedDom:{url}"


def file_capture(
    capture: Capture, blobs: BlobStore, warc: WarcRun | None, fetched_at: datetime
) -> tuple[list[StoredBlob], list[RecordRef]]:
    """Store the capture's body, screenshot and rendered DOM; set ``body_sha256``/``screenshot_sha256``/
    ``rendered_sha256``;
    append the WARC records. Returns the blobs (for the blob index) and the WARC records written."""
    stored: list[StoredBlob] = []
    refs: list[RecordRef] = []
    body_sha, new = blobs.put(capture.body)
    capture.body_sha256 = body_sha
    stored.append(StoredBlob(body_sha, len(capture.body), capture.media_type, new))
    if warc is not None:
        # bytes whose blob existed were archived already (by an earlier run, or another worker): the WARC
        # gets a revisit record that refers to that capture
        warc.captured_before = set() if new else {body_sha}
        refs.extend(
            warc.write_exchange(
                url=capture.url,
                status=capture.status,
                headers=capture.headers,
                body=capture.body,
                body_sha256=body_sha,
                media_type=capture.media_type,
                method=capture.request_method,
                request_headers=capture.request_headers,
                fetched_at=fetched_at,
            )
        )
    extras = (
        (capture.screenshot, "image/png", screenshot_uri(capture.url)),
        (capture.rendered_html, "text/html", rendered_dom_uri(capture.url)),
    )
    for data, media_type, uri in extras:
        if data is None:
            continue
        sha, new = blobs.put(data)
        if media_type == "image/png":
            capture.screenshot_sha256 = sha
        else:
            capture.rendered_sha256 = sha
        stored.append(StoredBlob(sha, len(data), media_type, new))
        if warc is not None:
            refs.append(
                warc.write_resource(
                    uri=uri, data=data, sha256=sha, media_type=media_type, fetched_at=fetched_at
                )
            )
    return stored, refs
