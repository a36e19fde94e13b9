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
from promowatch.evidence.head import TIMESTAMP_DIR
from promowatch.evidence.recompute import recompute_finding
from promowatch.evidence.timestamp import (
    TimestampError,
    imprint_of,
    time_of,
    verify_digest_timestamp,
    verify_timestamp,
)
from promowatch.evidence.wacz import BUNDLE_WACZ, check_wacz

CHUNK = 1 << 20
# entries the checks parse; every other entry is only hashed
PARSED = ("case.json", "observations.jsonl", "chain.jsonl", MANIFEST, TIMESTAMP_REPLY, BUNDLE_WACZ)
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
        keep = info.filename in PARSED or info.filename.startswith(TIMESTAMP_DIR)
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
    for finding in dossier_findings(case):
        cited = finding.get("observation_ids") or {}
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


def _check_chain_timestamps(
    case: Mapping[str, Any],
    lines: list[dict[str, Any]],
    chain: list[dict[str, Any]],
    entries: _Entries,
    report: CaseReport,
    tsa_ca_file: Path | None,
) -> None:
    """Each run's token names a head entry of chain.jsonl (whose links the chain check followed) and stamps that
    entry's hash; a chain rebuilt after the run leads to another hash."""
    tokens = case.get("chain_timestamps") or []
    if not tokens:
        report.note("no run timestamps over the chain head in this bundle")
        return
    by_seq = {entry["seq"]: entry for entry in chain}
    before = len(report.problems)
    for token in tokens:
        seq, head = token["seq"], token["head_sha256"]
        reply = entries.parsed.get(token["path"])
        if reply is None or not token["path"].startswith(TIMESTAMP_DIR):
            report.failed(f"run timestamp of chain entry {seq}: {token['path']} is missing")
            continue
        entry = by_seq.get(seq)
        if entry is None or entry["entry_sha256"] != head:
            report.failed(
                f"run timestamp of chain entry {seq}: chain.jsonl does not lead to the stamped head"
            )
            continue
        try:
            if imprint_of(reply) != head:
                report.failed(
                    f"run timestamp of chain entry {seq}: the token does not cover that entry's hash"
                )
            elif tsa_ca_file is not None:
                verify_digest_timestamp(head, reply, tsa_ca_file)
        except TimestampError as error:
            report.failed(f"run timestamp of chain entry {seq}: {error}")
    if len(report.problems) > before:
        return
    # observations chained after the newest token were not stamped yet when the bundle was made
    newest = max(token["seq"] for token in tokens)
    keys = {(line["kind"], line["id"]) for line in lines}
    later = sum(1 for e in chain if e["seq"] > newest and (e["record_kind"], e["record_id"]) in keys)
    signed = (
        f"signatures verified against {tsa_ca_file.name}"
        if tsa_ca_file
        else "signatures not checked: no CA given"
    )
    report.passed(f"run timestamps: {len(tokens)} tokens cover their chain heads ({signed})")
    if later:
        report.note(f"{later} observations were chained after the newest run timestamp")


def _check_orders(
    case: Mapping[str, Any], chain: list[dict[str, Any]], entries: _Entries, report: CaseReport
) -> None:
    """Each order's and status's record against its chain entry, and each status's file against the hash the
    status record chained: a file swapped, or a status edited to cite another, shows here."""
    orders = case.get("orders") or []
    if not orders:
        return
    by_key = {(e["record_kind"], e["record_id"]): e for e in chain}
    before, files, unchained = len(report.problems), 0, 0
    for order in orders:
        name = order["id"]
        for record in [order["record"], *(s["record"] for s in order["statuses"])]:
            entry = by_key.get((record["kind"], record["id"]))
            if entry is None:
                unchained += 1
            elif canonical_sha256(record) != entry["record_sha256"]:
                report.failed(
                    f"order {name}: {record['kind']} {record['id']} differs from chain entry {entry['seq']}"
                )
        for status in order["statuses"]:
            exhibit = status.get("exhibit")
            digest = status["record"].get("evidence_sha256")
            if exhibit is None:
                if digest:
                    report.failed(f"order {name}: the file of status {status['record']['id']} is not listed")
                continue
            if exhibit.get("sha256") != digest:
                report.failed(
                    f"order {name}: status {status['record']['id']} lists another file than it chained"
                )
            elif not exhibit.get("path"):
                report.failed(
                    f"order {name}: the file of status {status['record']['id']} is missing from the bundle"
                )
            elif entries.digests.get(exhibit["path"]) != digest:
                report.failed(
                    f"order {name}: {exhibit['path']} does not match the SHA-256 its status chained"
                )
            else:
                files += 1
    if len(report.problems) == before:
        report.passed(
            f"orders: {len(orders)} orders, {files} status files match the hashes their statuses chained"
        )
    if unchained:
        report.note(f"orders: {unchained} order records have no entry in chain.jsonl (outside its excerpt)")


def _check_exhibits(
    case: Mapping[str, Any], chain: list[dict[str, Any]], entries: _Entries, report: CaseReport
) -> None:
    """Each numbered exhibit's file against its stated SHA-256, and an ad's scan against the hash its sighting
    chained: a scan swapped for another, with case.json and the manifest rewritten to match, shows here."""
    exhibits = case.get("exhibits") or []
    if not exhibits:
        return
    evidence_of = {(e["record_kind"], e["record_id"]): set(e.get("evidence", [])) for e in chain}
    sighting_of = {
        ad.get("exhibit"): ad.get("id") for ad in case.get("advertised") or [] if ad.get("exhibit")
    }
    before, unchained = len(report.problems), 0
    for exhibit in exhibits:
        number, path, digest = exhibit.get("number"), exhibit.get("path"), exhibit.get("sha256")
        if path != BUNDLE_WARC and entries.digests.get(path) != digest:
            report.failed(f"exhibit {number}: {path} is missing or does not match its SHA-256")
        if exhibit.get("kind") == "ad_scan":
            chained = evidence_of.get(("ad", sighting_of.get(number)))
            if chained is None:
                unchained += 1
            elif digest not in chained:
                report.failed(f"exhibit {number}: not the file its ad sighting chained")
    if len(report.problems) == before:
        report.passed(f"exhibits: {len(exhibits)} numbered files match their SHA-256")
    if unchained:
        report.note(
            f"exhibits: {unchained} ad scans' sightings have no entry in chain.jsonl (outside its excerpt)"
        )


def _check_wacz(
    case: Mapping[str, Any], bundle: zipfile.ZipFile, entries: _Entries, report: CaseReport
) -> None:
    data = entries.parsed.get(BUNDLE_WACZ)
    if data is None:
        if case.get("wacz"):
            report.failed(f"case.json declares {BUNDLE_WACZ} but it is missing")
        return
    warc = entries.digests.get(BUNDLE_WARC)
    ends_with = (warc, bundle.getinfo(BUNDLE_WARC).file_size) if warc else None
    result = check_wacz(data, ends_with)
    for problem in result.problems:
        report.failed(f"{BUNDLE_WACZ}: {problem}")
    if not result.problems:
        report.passed(
            f"{BUNDLE_WACZ}: {result.resources} resources match datapackage.json, "
            f"{result.records} index lines point at their records"
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
            _check_chain_timestamps(case, lines, chain, entries, report, tsa_ca_file)
            _check_wacz(case, bundle, entries, report)
            _check_warc(case, lines, bundle, entries, limits, report)
            _check_orders(case, chain, entries, report)
            _check_exhibits(case, chain, entries, report)
            results = [recompute_finding({**case, "finding": f}, lines) for f in dossier_findings(case)]
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ArithmeticError) as error:
            # valid JSON in an unexpected shape: a forgery or damage, named rather than a traceback
            report.failed(f"case.json, chain.jsonl or observations.jsonl has an unexpected shape: {error!r}")
            return report
    for result in results:
        if result.ok:
            report.passed(result.message)
        else:
            report.failed(result.message)
    return report


def dossier_findings(case: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Every finding a bundle states, as the rule recomputes it (``opened_at`` the episode's start); a bundle
    of one finding states only ``finding``."""
    lead = case["finding"]
    stated = [lead]
    for row in case.get("findings") or []:
        finding = {**row, "opened_at": row.get("episode_opened_at", row["opened_at"])}
        # the lead finding is stated twice: either copy may be forged, so each is checked unless they agree
        if {k: finding.get(k) for k in lead} != lead:
            stated.append(finding)
    return stated
