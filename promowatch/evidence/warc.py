"""WARC files of a crawl run and their sidecar index (which record holds which evidence, at which offset).

One WARC per crawl run, gzip per record, so any record can be copied out by (offset, length) and
concatenated records remain a valid WARC. Each WARC ``X.warc.gz`` has a sidecar ``X.warc.gz.idx.jsonl``
with one line per record: sha256 of the payload, record type, target URI, offset, length, date.

A run's WARC opens with a ``warcinfo`` record (software, operator, host, User-Agent, robots policy) that every
other record names in ``WARC-Warcinfo-ID``: a record copied into a case bundle still says which crawl made it.
Its index line holds the record's ``WARC-Record-ID`` as its URI.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime
from io import BytesIO
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator
from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from promowatch.evidence.canonical import iso_utc

INDEX_SUFFIX = ".idx.jsonl"
WARC_VERSION = "1.1"
WARC_FORMAT = "WARC File Format 1.1"
GZIP_LEVEL = 6  # zlib's default
# Scrapy hands over decoded bodies; keeping these headers would make WARC readers decode them again.
_ENCODING_HEADERS = {"content-encoding", "transfer-encoding", "content-length"}

_REASONS = {
    200: "OK",
    301: "Moved Permanently",
    302: "Found",
    304: "Not Modified",
    403: "Forbidden",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class RecordRef:
    """Where one WARC record lives and what it holds."""

    warc: str  # file name, relative to the WARC directory
    offset: int
    length: int
    record_type: str  # warcinfo, response, request, resource, revisit
    uri: str
    sha256: str  # of the payload (response body, resource bytes; request: the response body it asked for)
    date: str
    media_type: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def http_headers_for_archive(headers: dict[str, list[str]], body_length: int) -> list[tuple[str, str]]:
    """Headers as archived: encoding headers renamed (the body is stored decoded), true Content-Length."""
    out: list[tuple[str, str]] = []
    for name, values in headers.items():
        for value in values:
            if name.lower() in _ENCODING_HEADERS:
                out.append((f"X-Archive-Orig-{name}", value))
            else:
                out.append((name, value))
    out.append(("Content-Length", str(body_length)))
    return out


def warcinfo_fields(
    *,
    software: str,
    operator: str | None,
    hostname: str | None,
    user_agent: str | None,
    robots: str | None,
) -> dict[str, str]:
    """The fields of a run's ``warcinfo`` record (WARC 1.1 annex: ``name: value`` lines); empty ones are left
    out."""
    fields = {
        "software": software,
        "format": WARC_FORMAT,
        "operator": operator,
        "hostname": hostname,
        "http-header-user-agent": user_agent,
        "robots": robots,
    }
    return {name: value for name, value in fields.items() if value}


def warc_date(moment: datetime) -> str:
    """WARC-Date: ISO 8601 UTC, with microseconds only when there are any."""
    return (iso_utc(moment) or "").replace(".000000Z", "Z")


class WarcRun:
    """Appends records to one WARC file and its index; not thread-safe (the evidence pipeline files from one
    thread)."""

    def __init__(self, path: Path, info: Mapping[str, str] | None = None) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # a run's file opened again (a second spider of the run) keeps the warcinfo record it began with
        self.warcinfo_id = _warcinfo_id(path) if path.exists() and path.stat().st_size else None
        # both stay open for the whole run and are closed by close()
        self._handle: IO[bytes] = path.open("ab")
        self._index: IO[str] = Path(str(path) + INDEX_SUFFIX).open("a", encoding="utf-8")  # noqa: SIM115
        # records are built uncompressed here and written as one gzip member each at zlib's default level:
        # warcio's own gzip=True compresses at level 9, about 50 % more CPU than level 6 for 0.5 % fewer bytes
        # (5 ms more on a 300 kB product page)
        self._record = BytesIO()
        self._writer = WARCWriter(self._record, gzip=False, warc_version=WARC_VERSION)
        self._written: dict[str, RecordRef] = {}  # payload sha256 -> first full response in this file
        # written before the first record, so that a run that captured nothing leaves no record
        self._info = dict(info) if info is not None and self.warcinfo_id is None else None

    def close(self) -> None:
        self._handle.close()
        self._index.close()

    def _write(
        self, record: Any, record_type: str, uri: str, sha256: str, date: str, media_type: str
    ) -> RecordRef:
        if record_type != "warcinfo":
            if self._info is not None:
                info, self._info = self._info, None
                warcinfo = self._writer.create_warcinfo_record(self.path.name, info)
                record_id = warcinfo.rec_headers.get_header("WARC-Record-ID")
                written = warcinfo.rec_headers.get_header("WARC-Date")
                self._write(warcinfo, "warcinfo", record_id, "", written, "application/warc-fields")
                self.warcinfo_id = record_id
            if self.warcinfo_id is not None:
                record.rec_headers.add_header("WARC-Warcinfo-ID", self.warcinfo_id)
        self._record.seek(0)
        self._record.truncate()
        self._writer.write_record(record)
        compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, zlib.MAX_WBITS + 16)
        member = compressor.compress(self._record.getbuffer()) + compressor.flush()
        self._handle.seek(0, 2)
        offset = self._handle.tell()
        self._handle.write(member)
        self._handle.flush()
        ref = RecordRef(
            self.path.name, offset, self._handle.tell() - offset, record_type, uri, sha256, date, media_type
        )
        self._index.write(json.dumps(ref.to_json()) + "\n")
        self._index.flush()
        return ref

    def write_exchange(
        self,
        *,
        url: str,
        status: int,
        headers: dict[str, list[str]],
        body: bytes,
        body_sha256: str,
        media_type: str,
        method: str,
        request_headers: dict[str, list[str]],
        fetched_at: datetime,
        archived_before: bool = False,
        ip_address: str | None = None,
    ) -> list[RecordRef]:
        """A response (or a revisit when the same body was captured before) and its request; ``ip_address``: the
        shop's address the response came from, when known.

        A payload ``archived_before`` (its blob existed) was archived by an earlier run: the revisit then refers
        to this URL's earlier capture (``find_records`` locates the full record by its digest across all the runs' WARCs).
        """
        date = warc_date(fetched_at)
        warc_headers = {"WARC-Date": date, "WARC-Payload-Digest": f"sha256:{body_sha256}"}
        address = {"WARC-IP-Address": ip_address} if ip_address else {}
        status_line = f"{status} {_REASONS.get(status, 'Status')}"
        http = StatusAndHeaders(
            status_line, http_headers_for_archive(headers, len(body)), protocol="HTTP/1.1"
        )
        earlier = self._written.get(body_sha256)
        if status != 304 and earlier is None and not archived_before:
            response = self._writer.create_warc_record(
                url,
                "response",
                payload=BytesIO(body),
                length=len(body),
                http_headers=http,
                warc_headers_dict={**warc_headers, **address},
            )
            kind = "response"
        else:
            # an unchanged page re-fetched, or a 304 that vouched for the body held: point at the first copy
            # instead of storing it again
            http = StatusAndHeaders(status_line, http_headers_for_archive(headers, 0), protocol="HTTP/1.1")
            profile = self._writer.REVISIT_PROFILE_1_1  # .../warc/1.1/revisit/identical-payload-digest
            if status == 304:  # the shop said the page had not changed (the WARC revisit profile for a 304)
                profile = profile.replace("identical-payload-digest", "server-not-modified")
            refers = {"WARC-Refers-To-Target-URI": earlier.uri if earlier else url}
            if earlier is not None:
                refers["WARC-Refers-To-Date"] = earlier.date
            response = self._writer.create_warc_record(
                url,
                "revisit",
                http_headers=http,
                warc_headers_dict={
                    "WARC-Date": date,
                    "WARC-Profile": profile,
                    **refers,
                    "WARC-Payload-Digest": f"sha256:{body_sha256}",
                    **address,
                },
            )
            kind = "revisit"
        path = url.split("://", 1)[-1]
        target = "/" + path.split("/", 1)[1] if "/" in path else "/"
        host = path.split("/", 1)[0]
        request_http = StatusAndHeaders(
            f"{method} {target} HTTP/1.1",
            [
                ("Host", host),
                *((n, v) for n, vs in request_headers.items() for v in vs if n.lower() != "host"),
            ],
            protocol="",
            is_http_request=True,
        )
        request = self._writer.create_warc_record(
            url,
            "request",
            payload=BytesIO(b""),
            length=0,
            http_headers=request_http,
            warc_headers_dict={"WARC-Date": date},
        )
        request.rec_headers.add_header(
            "WARC-Concurrent-To", response.rec_headers.get_header("WARC-Record-ID")
        )
        refs = [self._write(response, kind, url, body_sha256, date, media_type)]
        refs.append(self._write(request, "request", url, body_sha256, date, media_type))
        if kind == "response":
            self._written[body_sha256] = refs[0]
        return refs

    def write_resource(
        self, *, uri: str, data: bytes, sha256: str, media_type: str, fetched_at: datetime
    ) -> RecordRef:
        """A screenshot (``urn:fullPage:URL``) or a rendered DOM, as a WARC resource record."""
        date = warc_date(fetched_at)
        record = self._writer.create_warc_record(
            uri,
            "resource",
            payload=BytesIO(data),
            length=len(data),
            warc_content_type=media_type,
            warc_headers_dict={"WARC-Date": date, "WARC-Payload-Digest": f"sha256:{sha256}"},
        )
        return self._write(record, "resource", uri, sha256, date, media_type)


def _warcinfo_id(path: Path) -> str | None:
    """The ``WARC-Record-ID`` of the warcinfo record a WARC file begins with, if it begins with one."""
    try:
        with path.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "warcinfo":
                    return str(record.rec_headers.get_header("WARC-Record-ID"))
                return None
    except Exception:  # a file cut short by a crash: its records go on without a warcinfo reference
        return None
    return None


def read_index(warc_dir: Path) -> Iterator[RecordRef]:
    """Every indexed record of every WARC in ``warc_dir``."""
    for index in sorted(warc_dir.glob("*" + INDEX_SUFFIX)):
        with index.open(encoding="utf-8") as handle:
            for line in handle:
                if line.strip():
                    yield RecordRef(**json.loads(line))


def find_records(warc_dir: Path, wanted: Iterable[str]) -> dict[str, list[RecordRef]]:
    """For each wanted payload sha256, its first full record (response or resource) and, for responses,
    the request that goes with it."""
    want = set(wanted)
    found: dict[str, list[RecordRef]] = {}
    pending_request: set[str] = set()
    for ref in read_index(warc_dir):
        if ref.sha256 not in want:
            continue
        if ref.record_type in ("response", "resource") and ref.sha256 not in found:
            found[ref.sha256] = [ref]
            if ref.record_type == "response":
                pending_request.add(ref.sha256)
        elif ref.record_type == "request" and ref.sha256 in pending_request:
            previous = found[ref.sha256][0]
            if previous.warc == ref.warc and ref.offset == previous.offset + previous.length:
                found[ref.sha256].append(ref)
                pending_request.discard(ref.sha256)
    return found


def find_rechecks(
    warc_dir: Path, wanted: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], list[RecordRef]]:
    """For each (payload sha256, URI, WARC-Date) of a look answered 304, its revisit record and the conditional
    request that goes with it."""
    want = set(wanted)
    found: dict[tuple[str, str, str], list[RecordRef]] = {}
    for ref in read_index(warc_dir):
        key = (ref.sha256, ref.uri, ref.date)
        if key not in want:
            continue
        if ref.record_type == "revisit" and key not in found:
            found[key] = [ref]
        elif ref.record_type == "request" and len(found.get(key, ())) == 1:
            previous = found[key][0]
            if previous.warc == ref.warc and ref.offset == previous.offset + previous.length:
                found[key].append(ref)
    return found


def copy_record(warc_dir: Path, ref: RecordRef, out: IO[bytes]) -> int:
    """Copy one gzip member verbatim; returns the number of bytes copied."""
    with (warc_dir / ref.warc).open("rb") as handle:
        handle.seek(ref.offset)
        data = handle.read(ref.length)
    out.write(data)
    return len(data)
