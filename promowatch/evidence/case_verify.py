"""Checking a case bundle offline: manifest, chain excerpt, WARC records, timestamp, and the finding itself.

A bundle comes from a third party and may be hostile: every entry is hashed as a stream in chunks under size
limits checked from the zip headers and again while inflating, only the JSON entries are held in memory (capped),
duplicate or encrypted entries are refused, and every name quoted in the report is made printable.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
import zlib
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from warcio.archiveiterator import ArchiveIterator

from promowatch.evidence.canonical import canonical_sha256
from promowatch.evidence.case import BUNDLE_WARC, MANIFEST, TIMESTAMP_REPLY, UNLISTED
from promowatch.evidence.chain import EXTENSION_SUFFIX, check_links, evidence_hashes
from promowatch.evidence.recompute import recompute_finding
from promowatch.evidence.timestamp import TimestampError, imprint_of, time_of, verify_timestamp

CHUNK = 1 << 20
# entries the checks parse; every other entry is only hashed
PARSED = ("case.json", "observations.jsonl", "chain.jsonl", MANIFEST, TIMESTAMP_REPLY)
# what a zip entry can raise while it is inflated: a bad CRC, a truncated or corrupt deflate stream, an
# unsupported compression method, a password it does not have
_ENTRY_ERRORS = (
    zipfile.BadZipFile,
    OSError,
    EOFError,
    zlib.error,
    NotImplementedError,
    RuntimeError,
    ValueError,
)


@dataclass(frozen=True, slots=True)
class ReadLimits:
    """How much a bundle may make verify inflate: per entry, in all, and per entry held in memory to parse."""

    entry_bytes: int = 1 << 30
    total_bytes: int = 4 << 30
    parsed_bytes: int = 256 << 20


class NotABundle(ValueError):
    """The path is not a zip file at all (bad input, not a failed check)."""


def printable(text: str) -> str:
    """``text`` with control characters, terminal escapes and other invisible characters written as Python
    escapes, so a crafted name cannot move the cursor, clear a line or fake a verdict."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


@dataclass
class CaseReport:
    ok: bool = True
    first_problem: str | None = None
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def passed(self, check: str) -> None:
        self.checks.append(f"ok: {printable(check)}")

    def note(self, text: str) -> None:
        self.checks.append(f"note: {printable(text)}")

    def failed(self, problem: str) -> None:
        problem = printable(problem)
        self.checks.append(f"FAILED: {problem}")
        self.problems.append(problem)
        if self.ok:
            self.ok, self.first_problem = False, problem

    @property
    def message(self) -> str:
        return (
            "case verified: " + str(len(self.checks)) + " checks passed"
            if self.ok
            else f"case FAILED: {self.first_problem}"
        )


@dataclass
class _Entries:
    """What one streaming pass over the bundle learnt: each entry's SHA-256, and the bytes of the parsed ones."""

    digests: dict[str, str] = field(default_factory=dict)
    parsed: dict[str, bytes] = field(default_factory=dict)


def _refused_by_headers(infos: list[zipfile.ZipInfo], limits: ReadLimits, report: CaseReport) -> bool:
    before = len(report.problems)
    for name, count in sorted(Counter(i.filename for i in infos).items()):
        if count > 1:
            # zip readers disagree on which copy they show: a forged copy could pass while the genuine one is read
            report.failed(f"{name!r} appears {count} times in the bundle; a bundle names each file once")
    for info in infos:
        if info.flag_bits & 0x1:
            report.failed(f"{info.filename!r} is encrypted; a case bundle is never encrypted")
        elif info.file_size > limits.entry_bytes:
            report.failed(
                f"{info.filename!r} inflates to {info.file_size} bytes, more than the "
                f"{limits.entry_bytes} a bundle entry may hold"
            )
    total = sum(i.file_size for i in infos)
    if total > limits.total_bytes and len(report.problems) == before:
        report.failed(f"the bundle inflates to {total} bytes, more than the {limits.total_bytes} allowed")
    return len(report.problems) > before


def _stream_entry(
    bundle: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, keep: bool
) -> tuple[str, bytes | None, int]:
    """Hash one entry chunk by chunk; stop as soon as it inflates past ``cap`` (headers can lie)."""
    digest = hashlib.sha256()
    parts: list[bytes] = []
    size = 0
    with bundle.open(info) as stream:
        while chunk := stream.read(CHUNK):
            size += len(chunk)
            if size > cap:
                raise _TooLarge(size)
            digest.update(chunk)
            if keep:
                parts.append(chunk)
    return digest.hexdigest(), b"".join(parts) if keep else None, size


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _read_entries(bundle: zipfile.ZipFile, limits: ReadLimits, report: CaseReport) -> _Entries | None:
    infos = [i for i in bundle.infolist() if not i.is_dir()]
    if _refused_by_headers(infos, limits, report):
        return None
    entries = _Entries()
    total = 0
    for info in infos:
        keep = info.filename in PARSED
        cap = min(limits.entry_bytes, limits.total_bytes - total)
        if keep:
            cap = min(cap, limits.parsed_bytes)
        try:
            digest, data, size = _stream_entry(bundle, info, cap, keep)
        except _TooLarge as error:
            report.failed(f"{info.filename!r} inflates to more than {cap} bytes (read {error.size}); refused")
            return None
        except _ENTRY_ERRORS as error:
            report.failed(f"{info.filename!r} cannot be read: {error}")
            return None
        total += size
        entries.digests[info.filename] = digest
        if data is not None:
            entries.parsed[info.filename] = data
    return entries


def _check_manifest(entries: _Entries, report: CaseReport) -> None:
    if MANIFEST not in entries.parsed:
        report.failed(f"{MANIFEST} is missing")
        return
    digests = entries.digests
    listed: dict[str, str] = {}
    for number, line in enumerate(entries.parsed[MANIFEST].decode(errors="replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            report.failed(f"{MANIFEST} line {number} is malformed")
            continue
        listed[name] = digest
    bad = 0
    for name, digest in sorted(listed.items()):
        if name not in digests:
            report.failed(f"{name} is listed in the manifest but missing from the bundle")
            bad += 1
        elif digests[name] != digest:
            report.failed(f"{name} does not match its SHA-256 in the manifest")
            bad += 1
    for name in sorted(set(digests) - set(listed) - set(UNLISTED)):
        report.failed(f"{name} is in the bundle but not in the manifest")
        bad += 1
    if not bad:
        report.passed(f"manifest: {len(listed)} files, every hash matches, none missing or extra")


def _check_timestamp(
    case: Mapping[str, Any], entries: _Entries, report: CaseReport, tsa_ca_file: Path | None
) -> None:
    reply = entries.parsed.get(TIMESTAMP_REPLY)
    declared = case.get("timestamp")
    if reply is None:
        if declared:
            # removing the token must not turn a stamped bundle into an unstamped one that passes
            report.failed(f"case.json declares a trusted timestamp but {TIMESTAMP_REPLY} is missing")
        else:
            report.note("no trusted timestamp in this bundle")
        return
    manifest = entries.parsed.get(MANIFEST, b"")
    try:
        if imprint_of(reply) != hashlib.sha256(manifest).hexdigest():
            report.failed("the timestamp reply does not cover this manifest")
            return
        if tsa_ca_file is not None:
            verify_timestamp(manifest, reply, tsa_ca_file)
            report.passed(f"timestamp {time_of(reply)}: signature verified against {tsa_ca_file.name}")
        else:
            report.passed(
                f"timestamp {time_of(reply)} covers the manifest (signature not checked: no CA given)"
            )
    except TimestampError as error:
        report.failed(f"timestamp: {error}")


def _lines(entries: _Entries, report: CaseReport) -> list[dict[str, Any]]:
    try:
        return [
            json.loads(line)
            for line in entries.parsed.get("observations.jsonl", b"").decode().splitlines()
            if line
        ]
    except (ValueError, UnicodeDecodeError, RecursionError) as error:
        report.failed(f"observations.jsonl is not JSON lines: {error}")
        return []


def _check_chain(
    case: Mapping[str, Any], lines: list[dict[str, Any]], chain: list[dict[str, Any]], report: CaseReport
) -> None:
    records = {(line["kind"], line["id"]): line for line in lines}
    evidence_of = {(e["record_kind"], e["record_id"]): list(e.get("evidence", [])) for e in chain}
    for key, exported in records.items():
        hashes = evidence_hashes(exported["record"])
        if key in evidence_of and evidence_of[key] != hashes:
            report.failed(f"{key[0]} observation {key[1]}: evidence hashes differ from its chain entry")
        evidence_of[key] = hashes
    before = len(report.problems)
    for problem in check_links(chain, evidence_of):
        report.failed(problem)
    chained: set[tuple[str, int]] = set()
    last_extension: dict[tuple[str, int], str] = {}
    for entry in chain:
        kind, rid = entry["record_kind"], entry["record_id"]
        if kind.endswith(EXTENSION_SUFFIX):
            last_extension[(kind.removesuffix(EXTENSION_SUFFIX), rid)] = entry["record_sha256"]
            continue
        line = records.get((kind, rid))
        if line is None:
            continue  # another product's observation: only its link matters here
        chained.add((kind, rid))
        if canonical_sha256(line["record"]) != entry["record_sha256"]:
            report.failed(f"{kind} observation {rid} differs from chain entry {entry['seq']}")
    for key, line in records.items():
        kind, rid = key
        if key not in chained:
            report.failed(f"{kind} observation {rid} has no entry in chain.jsonl")
        ext = line.get("extension")
        if ext is not None:
            expected = last_extension.get(key)
            if expected is None and ext.get("checks") != 1:
                report.failed(f"{kind} observation {rid}: extended without a chain entry")
            elif expected is not None and canonical_sha256(ext) != expected:
                report.failed(f"{kind} observation {rid}: last_seen/checks differ from its last chain entry")
    cited = case["finding"].get("observation_ids") or {}
    for kind in ("offer", "store"):
        for rid in cited.get(kind, []):
            if (kind, rid) not in records:
                report.failed(
                    f"{kind} observation {rid} cited by the finding is missing from observations.jsonl"
                )
    if len(report.problems) == before:
        report.passed(
            f"chain excerpt: {len(chain)} entries linked, {len(chained)} observations match their entries"
        )


class _Bounded:
    """A read-only stream that raises ``_TooLarge`` once more than ``cap`` bytes have been read from it."""

    def __init__(self, stream: IO[bytes], cap: int) -> None:
        self.stream, self.cap, self.size = stream, cap, 0

    def read(self, size: int = -1) -> bytes:
        data = self.stream.read(size)
        self.size += len(data)
        if self.size > self.cap:
            raise _TooLarge(self.size)
        return data


def _sha256_of(stream: _Bounded) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _warc_digests(bundle: zipfile.ZipFile, limits: ReadLimits, report: CaseReport) -> dict[int, str]:
    """Offset -> payload SHA-256 of each response record, the WARC streamed from the zip; its gzip members
    may inflate far beyond the entry, so every record's bytes count against the limits too."""
    at_offset: dict[int, str] = {}
    inflated = 0
    with bundle.open(BUNDLE_WARC) as raw:
        # small compressed blocks: one 16 kB block of a gzip bomb alone inflates to 16 MB
        records = ArchiveIterator(raw, block_size=4096)
        for record in records:
            response = record.rec_type == "response"
            cap = min(limits.entry_bytes, limits.total_bytes - inflated)
            # other records are read here too, in bounded chunks, rather than skipped unread by warcio
            stream = _Bounded(record.content_stream() if response else record.raw_stream, cap)
            digest = _sha256_of(stream)
            inflated += stream.size
            if not response:
                continue
            stated = record.rec_headers.get_header("WARC-Payload-Digest") or ""
            if stated != f"sha256:{digest}":
                report.failed(
                    f"WARC response for {record.rec_headers.get_header('WARC-Target-URI')} does "
                    "not match its payload digest"
                )
            at_offset[records.get_record_offset()] = digest
    return at_offset


def _check_warc(
    case: Mapping[str, Any],
    lines: list[dict[str, Any]],
    bundle: zipfile.ZipFile,
    entries: _Entries,
    limits: ReadLimits,
    report: CaseReport,
) -> None:
    before = len(report.problems)
    index: Mapping[str, Mapping[str, Any]] = case.get("evidence") or {}
    at_offset: dict[int, str] = {}
    if BUNDLE_WARC in entries.digests:
        try:
            at_offset = _warc_digests(bundle, limits, report)
        except _TooLarge as error:
            report.failed(f"{BUNDLE_WARC} inflates to more than the limit (read {error.size} bytes); refused")
            return
        except Exception as error:  # a damaged gzip member or record raises from deep inside warcio
            report.failed(f"{BUNDLE_WARC} cannot be read: {error}")
            return
    declared_missing = set(case.get("missing_evidence") or [])
    for line in lines:
        record = line["record"]
        for key in ("evidence_sha256", "screenshot_sha256"):
            sha = record.get(key)
            if not sha or sha in declared_missing:
                continue
            entry = index.get(sha)
            if entry is None:
                report.failed(
                    f"{line['kind']} observation {line['id']}: capture {sha[:12]} is not in the bundle"
                )
            elif entry["file"] == BUNDLE_WARC:
                if at_offset.get(entry["offset"]) != sha:
                    report.failed(
                        f"{line['kind']} observation {line['id']}: the WARC record at offset "
                        f"{entry['offset']} does not hold capture {sha[:12]}"
                    )
            elif entries.digests.get(entry["file"]) != sha:
                report.failed(
                    f"{line['kind']} observation {line['id']}: {entry['file']} does not hold capture {sha[:12]}"
                )
    if declared_missing:
        report.note(f"{len(declared_missing)} captures were not found at export (see case.json)")
    if len(report.problems) == before:
        report.passed(
            f"captures: {len(at_offset)} WARC responses and {len(index) - len(at_offset)} files match "
            "the hashes the observations cite"
        )


def _json(entries: _Entries, name: str) -> Any:
    return json.loads(entries.parsed[name])


def verify_case(
    path: Path, *, tsa_ca_file: Path | None = None, limits: ReadLimits | None = None
) -> CaseReport:
    """Check a case bundle offline; every problem is named, the first one in ``first_problem``.

    Raises ``NotABundle`` when ``path`` is not a zip file at all."""
    limits = limits or ReadLimits()
    report = CaseReport()
    try:
        bundle = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile, EOFError, ValueError) as error:
        raise NotABundle(printable(f"{path}: not a case bundle (a zip file): {error}")) from None
    with bundle:
        entries = _read_entries(bundle, limits, report)
        if entries is None:
            return report
        _check_manifest(entries, report)
        try:
            case = _json(entries, "case.json")
            chain = [json.loads(line) for line in entries.parsed["chain.jsonl"].decode().splitlines() if line]
        except (KeyError, ValueError, UnicodeDecodeError, RecursionError) as error:
            report.failed(f"case.json or chain.jsonl unreadable: {error}")
            return report
        try:
            _check_timestamp(case, entries, report, tsa_ca_file)
            lines = _lines(entries, report)
            _check_chain(case, lines, chain, report)
            _check_warc(case, lines, bundle, entries, limits, report)
            result = recompute_finding(case, lines)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as error:
            # valid JSON in an unexpected shape: a forgery or damage, named rather than a traceback
            report.failed(f"case.json, chain.jsonl or observations.jsonl has an unexpected shape: {error!r}")
            return report
    if result.ok:
        report.passed(result.message)
    else:
        report.failed(result.message)
    return report
