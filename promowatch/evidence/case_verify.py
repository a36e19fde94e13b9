"""Checking a case bundle offline: manifest, chain excerpt, WARC records, timestamp, and the finding itself."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from promowatch.evidence.canonical import canonical_sha256
from promowatch.evidence.case import BUNDLE_WARC, MANIFEST, TIMESTAMP_REPLY, UNLISTED
from promowatch.evidence.chain import EXTENSION_SUFFIX, check_links, evidence_hashes
from promowatch.evidence.recompute import recompute_finding
from promowatch.evidence.timestamp import TimestampError, imprint_of, time_of, verify_timestamp


@dataclass
class CaseReport:
    ok: bool = True
    first_problem: str | None = None
    checks: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def passed(self, check: str) -> None:
        self.checks.append(f"ok: {check}")

    def failed(self, problem: str) -> None:
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


def _check_manifest(files: Mapping[str, bytes], report: CaseReport) -> None:
    if MANIFEST not in files:
        report.failed(f"{MANIFEST} is missing")
        return
    listed: dict[str, str] = {}
    for number, line in enumerate(files[MANIFEST].decode(errors="replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or len(digest) != 64:
            report.failed(f"{MANIFEST} line {number} is malformed")
            continue
        listed[name] = digest
    bad = 0
    for name, digest in sorted(listed.items()):
        if name not in files:
            report.failed(f"{name} is listed in the manifest but missing from the bundle")
            bad += 1
        elif hashlib.sha256(files[name]).hexdigest() != digest:
            report.failed(f"{name} does not match its SHA-256 in the manifest")
            bad += 1
    for name in sorted(set(files) - set(listed) - set(UNLISTED)):
        report.failed(f"{name} is in the bundle but not in the manifest")
        bad += 1
    if not bad:
        report.passed(f"manifest: {len(listed)} files, every hash matches, none missing or extra")


def _check_timestamp(files: Mapping[str, bytes], report: CaseReport, tsa_ca_file: Path | None) -> None:
    reply = files.get(TIMESTAMP_REPLY)
    if reply is None:
        report.checks.append("note: no trusted timestamp in this bundle")
        return
    try:
        if imprint_of(reply) != hashlib.sha256(files.get(MANIFEST, b"")).hexdigest():
            report.failed("the timestamp reply does not cover this manifest")
            return
        if tsa_ca_file is not None:
            verify_timestamp(files[MANIFEST], reply, tsa_ca_file)
            report.passed(f"timestamp {time_of(reply)}: signature verified against {tsa_ca_file.name}")
        else:
            report.passed(
                f"timestamp {time_of(reply)} covers the manifest (signature not checked: no CA given)"
            )
    except TimestampError as error:
        report.failed(f"timestamp: {error}")


def _lines(files: Mapping[str, bytes], report: CaseReport) -> list[dict[str, Any]]:
    try:
        return [
            json.loads(line) for line in files.get("observations.jsonl", b"").decode().splitlines() if line
        ]
    except (ValueError, UnicodeDecodeError) as error:
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


def _check_warc(
    case: Mapping[str, Any], lines: list[dict[str, Any]], files: Mapping[str, bytes], report: CaseReport
) -> None:
    before = len(report.problems)
    index: Mapping[str, Mapping[str, Any]] = case.get("evidence") or {}
    at_offset: dict[int, str] = {}
    if BUNDLE_WARC in files:
        try:
            records = ArchiveIterator(io.BytesIO(files[BUNDLE_WARC]))
            for record in records:
                if record.rec_type != "response":
                    continue
                payload = record.content_stream().read()
                digest = hashlib.sha256(payload).hexdigest()
                stated = record.rec_headers.get_header("WARC-Payload-Digest") or ""
                if stated != f"sha256:{digest}":
                    report.failed(
                        f"WARC response for {record.rec_headers.get_header('WARC-Target-URI')} does "
                        "not match its payload digest"
                    )
                at_offset[records.get_record_offset()] = digest
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
            elif entry["file"] not in files or hashlib.sha256(files[entry["file"]]).hexdigest() != sha:
                report.failed(
                    f"{line['kind']} observation {line['id']}: {entry['file']} does not hold capture {sha[:12]}"
                )
    if declared_missing:
        report.checks.append(
            f"note: {len(declared_missing)} captures were not found at export (see case.json)"
        )
    if len(report.problems) == before:
        report.passed(
            f"captures: {len(at_offset)} WARC responses and {len(index) - len(at_offset)} files match "
            "the hashes the observations cite"
        )


def verify_case(path: Path, *, tsa_ca_file: Path | None = None) -> CaseReport:
    """Check a case bundle offline; every problem is named, the first one in ``first_problem``."""
    report = CaseReport()
    try:
        with zipfile.ZipFile(path) as bundle:
            files = {info.filename: bundle.read(info) for info in bundle.infolist() if not info.is_dir()}
    except (OSError, zipfile.BadZipFile) as error:
        report.failed(f"{path.name} is not a readable zip: {error}")
        return report
    _check_manifest(files, report)
    _check_timestamp(files, report, tsa_ca_file)
    try:
        case = json.loads(files["case.json"])
        chain = [json.loads(line) for line in files["chain.jsonl"].decode().splitlines() if line]
    except (KeyError, ValueError, UnicodeDecodeError) as error:
        report.failed(f"case.json or chain.jsonl unreadable: {error}")
        return report
    lines = _lines(files, report)
    _check_chain(case, lines, chain, report)
    _check_warc(case, lines, files, report)
    result = recompute_finding(case, lines)
    if result.ok:
        report.passed(result.message)
    else:
        report.failed(result.message)
    return report
