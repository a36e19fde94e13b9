"""Evidence bytes for the dashboard: a screenshot from the blob store, a captured page from the blobs or the
run's WARC files (the response record's payload)."""

from __future__ import annotations

import io
from pathlib import Path

from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.warc import copy_record, find_records


def stored_bytes(blobs: Path, warcs: Path, sha256: str) -> bytes | None:
    """The bytes whose SHA-256 is ``sha256``, or None when neither store holds them."""
    if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
        return None
    store = BlobStore(blobs)
    if store.exists(sha256):
        return store.get(sha256)
    if not warcs.exists():
        return None
    found = find_records(warcs, [sha256]).get(sha256)
    if not found:
        return None
    from warcio.archiveiterator import ArchiveIterator

    raw = io.BytesIO()
    copy_record(warcs, found[0], raw)
    raw.seek(0)
    for record in ArchiveIterator(raw):
        return bytes(record.content_stream().read())
    return None
