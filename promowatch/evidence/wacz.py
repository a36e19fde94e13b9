"""The captures of a case as a WACZ (Web Archive Collection Zipped, 1.1.1), to replay in ReplayWeb.page.

Written to the spec rather than with the ``wacz`` tool, which indexes through pywb's stack: the archive is the
bundle's own ``evidence.warc.gz`` preceded by the ``warcinfo`` records of the runs its records came from, so a
reader can check that the WACZ replays the very records the case cites (its archive ends with those bytes).

Layout::

    archive/data.warc.gz  indexes/index.cdx (CDXJ)  pages/pages.jsonl  datapackage.json  datapackage-digest.json
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warcio.archiveiterator import ArchiveIterator

import promowatch
from promowatch.evidence.warc import copy_record, read_index

WACZ_VERSION = "1.1.1"
ARCHIVE = "archive/data.warc.gz"
INDEX = "indexes/index.cdx"
PAGES = "pages/pages.jsonl"
DATAPACKAGE = "datapackage.json"
DIGEST = "datapackage-digest.json"
BUNDLE_WACZ = "captures.wacz"
# the records a replay looks up by URL; requests and warcinfo are not indexed
_INDEXED = ("response", "revisit", "resource")
_BLOCK = 1 << 16


def surt(url: str) -> str:
    """The sort-friendly form of a URL that CDXJ lines start with: host labels reversed, scheme and ``www.``
    dropped, lower case (``http://www.Shop.ch:8080/p?q=1`` -> ``ch,shop:8080)/p?q=1``).

    >>> surt("http://127.0.0.1:8765/p/x1")
    '1,0,0,127:8765)/p/x1'
    >>> surt("urn:fullPage:http://shop.ch/p")
    'urn:fullpage:http://shop.ch/p'
    """
    if not url.lower().startswith(("http://", "https://")):  # a screenshot's urn:fullPage:URL
        return url.lower()
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().removeprefix("www.")
    key = ",".join(reversed(host.split(".")))
    if parts.port is not None and parts.port not in (80, 443):
        key += f":{parts.port}"
    path = parts.path or "/"
    return (key + ")" + path + (f"?{parts.query}" if parts.query else "")).lower()


def cdx_timestamp(warc_date: str) -> str:
    """``2026-03-02T07:00:00.5Z`` -> ``20260302070000``."""
    return "".join(ch for ch in warc_date if ch.isdigit())[:14]


def gzip_members(data: bytes) -> Iterator[tuple[int, int]]:
    """(offset, length) of each gzip member of a per-record gzipped WARC."""
    view = memoryview(data)
    offset = 0
    while offset < len(data):
        inflater = zlib.decompressobj(zlib.MAX_WBITS + 16)
        read = offset
        # fed in blocks: the member's end is found without copying the rest of the archive for each record
        while not inflater.eof:
            if read >= len(data):
                raise ValueError(f"gzip member at offset {offset} is cut short")
            block = view[read : read + _BLOCK]
            inflater.decompress(block)
            read += len(block)
        length = read - offset - len(inflater.unused_data)
        yield offset, length
        offset += length


@dataclass
class _Entry:
    uri: str
    date: str
    record_type: str
    mime: str
    status: str
    digest: str
    offset: int
    length: int
    title: str | None = None


def _entries(archive: bytes) -> list[_Entry]:
    entries: list[_Entry] = []
    for offset, length in gzip_members(archive):
        for record in ArchiveIterator(io.BytesIO(archive[offset : offset + length])):
            kind = record.rec_type
            if kind not in _INDEXED:
                continue
            headers = record.rec_headers
            http = record.http_headers
            if kind == "resource":
                mime, status = headers.get_header("Content-Type") or "application/octet-stream", "200"
            else:
                content_type = (http.get_header("Content-Type") if http else None) or ""
                mime = "warc/revisit" if kind == "revisit" else content_type.split(";")[0].strip()
                status = http.get_statuscode() if http else "200"
            entries.append(
                _Entry(
                    uri=headers.get_header("WARC-Target-URI") or "",
                    date=headers.get_header("WARC-Date") or "",
                    record_type=kind,
                    mime=mime or "unk",
                    status=status,
                    digest=headers.get_header("WARC-Payload-Digest") or "",
                    offset=offset,
                    length=length,
                )
            )
    return entries


def _cdxj(entries: list[_Entry]) -> bytes:
    lines = []
    for e in entries:
        fields = {
            "url": e.uri,
            "mime": e.mime,
            "status": e.status,
            "digest": e.digest,
            "length": str(e.length),
            "offset": str(e.offset),
            "filename": ARCHIVE.removeprefix("archive/"),
        }
        lines.append(f"{surt(e.uri)} {cdx_timestamp(e.date)} {json.dumps(fields, sort_keys=True)}\n")
    return "".join(sorted(lines)).encode()


def _pages(entries: list[_Entry]) -> bytes:
    rows: list[dict[str, Any]] = [{"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}]
    seen: set[str] = set()
    for e in sorted(entries, key=lambda e: (e.date, e.uri)):
        if e.record_type != "response" or e.mime != "text/html" or e.uri in seen:
            continue
        seen.add(e.uri)
        page_id = hashlib.sha256(f"{e.uri} {e.date}".encode()).hexdigest()[:32]
        rows.append({"id": page_id, "url": e.uri, "ts": e.date, "title": e.uri})
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()


def _sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def wacz_bytes(*warc_records: bytes, title: str, created: str) -> bytes:
    """A WACZ of the given gzip-per-record WARC bytes (in order, concatenated into one archive); ``created``:
    ISO UTC, the package's date. The same input gives the same bytes."""
    archive = b"".join(warc_records)
    entries = _entries(archive)
    contents = {ARCHIVE: archive, INDEX: _cdxj(entries), PAGES: _pages(entries)}
    pages = [json.loads(line) for line in contents[PAGES].splitlines()[1:]]
    package: dict[str, Any] = {
        "profile": "data-package",
        "wacz_version": WACZ_VERSION,
        "title": title,
        "created": created,
        "modified": created,
        "software": f"promowatch {promowatch.__version__}",
        "resources": [
            {"name": Path(path).name, "path": path, "hash": _sha256(data), "bytes": len(data)}
            for path, data in contents.items()
        ],
    }
    if pages:
        package["mainPageUrl"], package["mainPageDate"] = pages[0]["url"], pages[0]["ts"]
    contents[DATAPACKAGE] = json.dumps(package, indent=2, ensure_ascii=False).encode()
    contents[DIGEST] = json.dumps({"path": DATAPACKAGE, "hash": _sha256(contents[DATAPACKAGE])}).encode()
    moment = cdx_timestamp(created).ljust(14, "0")
    date_time = tuple(int(moment[a:b]) for a, b in ((0, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14)))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package_zip:
        for path, data in contents.items():
            # stored, not deflated: a replay reads records by offset straight out of the zip
            info = zipfile.ZipInfo(path, date_time=date_time)  # type: ignore[arg-type]
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            package_zip.writestr(info, data)
    return out.getvalue()


def run_warcinfos(warc: bytes, warc_dir: Path) -> bytes:
    """The warcinfo records (gzip members) of the runs whose records ``warc`` holds, from the runs' WARCs."""
    wanted: set[str] = set()
    for record in ArchiveIterator(io.BytesIO(warc)):
        named = record.rec_headers.get_header("WARC-Warcinfo-ID")
        if named:
            wanted.add(named)
    out = io.BytesIO()
    if wanted and warc_dir.exists():
        for ref in read_index(warc_dir):
            if ref.record_type == "warcinfo" and ref.uri in wanted:
                copy_record(warc_dir, ref, out)
                wanted.discard(ref.uri)
    return out.getvalue()


def add_wacz(
    files: dict[str, bytes], warc_dir: Path, warc_name: str, *, title: str, created: str
) -> str | None:
    """Add ``captures.wacz`` of the bundle's WARC ``warc_name`` to ``files``; its name, or None without one."""
    warc = files.get(warc_name)
    if not warc:
        return None
    files[BUNDLE_WACZ] = wacz_bytes(run_warcinfos(warc, warc_dir), warc, title=title, created=created)
    return BUNDLE_WACZ


@dataclass
class WaczReport:
    problems: list[str] = field(default_factory=list)
    records: int = 0
    resources: int = 0


def check_wacz(data: bytes, ends_with: tuple[str, int] | None = None) -> WaczReport:
    """Check a WACZ: the digest of datapackage.json, each resource's hash and size, every CDXJ line pointing at
    a record of its URL (and payload digest) at its offset. ``ends_with``: (hex SHA-256, size) of the bytes its
    archive must end with (the bundle's WARC)."""
    report = WaczReport()
    problems = report.problems
    try:
        package_zip = zipfile.ZipFile(io.BytesIO(data))
        contents = {i.filename: package_zip.read(i) for i in package_zip.infolist() if not i.is_dir()}
        digest = json.loads(contents[DIGEST])
        package = json.loads(contents[DATAPACKAGE])
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, zlib.error) as error:
        problems.append(f"the WACZ cannot be read: {error!r}")
        return report
    if digest.get("hash") != _sha256(contents[DATAPACKAGE]):
        problems.append("datapackage.json does not match datapackage-digest.json")
    listed = set()
    for resource in package.get("resources", []):
        path = resource.get("path")
        listed.add(path)
        if path not in contents:
            problems.append(f"{path} is listed in datapackage.json but missing")
        elif resource.get("hash") != _sha256(contents[path]) or resource.get("bytes") != len(contents[path]):
            problems.append(f"{path} does not match its hash in datapackage.json")
    for extra in sorted(set(contents) - listed - {DATAPACKAGE, DIGEST}):
        problems.append(f"{extra} is in the WACZ but not in datapackage.json")
    report.resources = len(listed)
    archive = contents.get(ARCHIVE, b"")
    if ends_with is not None:
        sha, size = ends_with
        if size > len(archive) or hashlib.sha256(archive[len(archive) - size :]).hexdigest() != sha:
            problems.append(f"{ARCHIVE} does not hold the bundle's WARC records")
    at_offset = {(e.offset, e.length): e for e in _safe_entries(archive, problems)}
    for number, line in enumerate(contents.get(INDEX, b"").decode(errors="replace").splitlines(), 1):
        try:
            fields = json.loads(line.split(" ", 2)[2])
            place = (int(fields["offset"]), int(fields["length"]))
        except (IndexError, KeyError, ValueError) as error:
            problems.append(f"{INDEX} line {number} is malformed: {error!r}")
            continue
        entry = at_offset.get(place)
        if entry is None:
            problems.append(f"{INDEX} line {number} points at no record ({place[0]}+{place[1]})")
        elif entry.uri != fields.get("url") or (fields.get("digest") or entry.digest) != entry.digest:
            problems.append(f"{INDEX} line {number}: the record at {place[0]} is not {fields.get('url')}")
        else:
            report.records += 1
    return report


def _safe_entries(archive: bytes, problems: list[str]) -> list[_Entry]:
    try:
        return _entries(archive)
    except Exception as error:  # a damaged member raises from deep inside zlib or warcio
        problems.append(f"{ARCHIVE} cannot be read: {error!r}")
        return []
