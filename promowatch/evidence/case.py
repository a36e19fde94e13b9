"""Case export: one zip per finding that a third party can read, check and re-derive offline.

Bundle layout (every file but the manifest and the timestamp reply is listed in the manifest)::

    case.json  observations.jsonl  chain.jsonl  timeline.csv  timeline.png  summary.html  summary.pdf
    evidence.warc.gz  screenshots/<sha256>.png  blobs/<sha256>  VERIFY.md
    manifest-sha256.txt  [manifest-sha256.txt.tsr]
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session, selectinload, sessionmaker

import promowatch
from promowatch.db.models import ChainEntry, Finding, OfferObservation, Store, StoreObservation
from promowatch.db.queries import chunks
from promowatch.domain import as_utc, money_str, utcnow
from promowatch.evaluate import load_store_crawls
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.canonical import iso_utc
from promowatch.evidence.chain import (
    CHAINED_MODELS,
    Observation,
    entry_json,
    evidence_hashes,
    extension_record,
    observation_record,
)
from promowatch.evidence.timestamp import authority_of, request_timestamp
from promowatch.evidence.verify_guide import verify_guide
from promowatch.evidence.warc import copy_record, find_rechecks, find_records
from promowatch.report.summary import render_html, render_pdf
from promowatch.report.texts import label
from promowatch.report.timeline import (
    Timeline,
    build_timeline,
    max_zero_share,
    parse_time,
    render_timeline_png,
    timeline_csv,
)
from promowatch.rules import Crawl, parse_thresholds

FORMAT = "promowatch-case/1"
MANIFEST = "manifest-sha256.txt"
TIMESTAMP_REPLY = MANIFEST + ".tsr"
BUNDLE_WARC = "evidence.warc.gz"
UNLISTED = (MANIFEST, TIMESTAMP_REPLY)
CONTEXT_MARGIN = timedelta(days=2)
STORE_RULES = ("store_stockout", "store_sellout")
# rules that look back before the reduction need the price history of their look-back period
HISTORY_MARGIN = {"reference_price_unsupported": timedelta(days=90)}


def _case_window(finding: Finding) -> tuple[datetime, datetime]:
    promotion = finding.promotion
    starts = [finding.opened_at, *(s.seen_at for s in promotion.sightings)]
    ends = [finding.closed_at or finding.evaluated_at, *(s.last_seen for s in promotion.sightings)]
    if promotion.valid_from is not None:
        starts.append(promotion.valid_from)
    if promotion.valid_until is not None:
        ends.append(promotion.valid_until)
    margin = HISTORY_MARGIN.get(finding.rule, CONTEXT_MARGIN)
    return min(starts) - margin, max(ends) + CONTEXT_MARGIN


def _observation_lines(session: Session, finding: Finding) -> list[dict[str, Any]]:
    """The observations of the promoted product around the finding, and every cited one, as JSON lines."""
    start, end = _case_window(finding)
    product_id = finding.promotion.product_id
    cited = finding.observation_ids or {}
    cited_offer, cited_store = set(cited.get("offer", [])), set(cited.get("store", []))
    offers = {
        o.id: o
        for o in session.scalars(
            select(OfferObservation)
            .options(selectinload(OfferObservation.signals))
            .where(OfferObservation.product_id == product_id)
            .where(OfferObservation.observed_at.between(start, end))
        )
    }
    missing = sorted(cited_offer - offers.keys())
    for chunk in chunks(missing):
        for o in session.scalars(
            select(OfferObservation)
            .options(selectinload(OfferObservation.signals))
            .where(OfferObservation.id.in_(chunk))
        ):
            offers[o.id] = o
    stores = {
        s.id: s
        for s in session.scalars(
            select(StoreObservation)
            .where(StoreObservation.product_id == product_id)
            .where(StoreObservation.last_seen >= start, StoreObservation.first_seen <= end)
        )
    }
    for chunk in chunks(sorted(cited_store - stores.keys())):
        for s in session.scalars(select(StoreObservation).where(StoreObservation.id.in_(chunk))):
            stores[s.id] = s
    store_info = {
        s.id: s
        for s in session.scalars(select(Store).where(Store.retailer_id == finding.promotion.retailer_id))
    }
    lines: list[dict[str, Any]] = []
    for o in sorted(offers.values(), key=lambda o: (o.observed_at, o.id)):
        lines.append(
            {
                "kind": "offer",
                "id": o.id,
                "cited": o.id in cited_offer,
                "record": observation_record(o),
                "extension": None,
                "store": None,
            }
        )
    for s in sorted(stores.values(), key=lambda s: (s.first_seen, s.id)):
        info = store_info.get(s.store_id)
        lines.append(
            {
                "kind": "store",
                "id": s.id,
                "cited": s.id in cited_store,
                "record": observation_record(s),
                "extension": extension_record(s),
                "store": None
                if info is None
                else {
                    "external_id": info.external_id,
                    "name": info.name,
                    "postcode": info.postcode,
                    "city": info.city,
                },
            }
        )
    for a in finding.promotion.sightings:
        lines.append(
            {
                "kind": "ad",
                "id": a.id,
                "cited": True,
                "record": observation_record(a),
                "extension": extension_record(a),
                "store": None,
            }
        )
    return lines


def _store_crawls(
    session: Session, slug: str, lines: Sequence[Mapping[str, Any]]
) -> list[tuple[datetime, datetime | None]]:
    """The retailer's stores crawls over the bundle's store observations (none without store observations)."""
    stores = [line for line in lines if line["kind"] == "store"]
    if not stores:
        return []
    first = as_utc(parse_time(min(line["record"]["first_seen"] for line in stores)))
    last = as_utc(parse_time(max((line["extension"] or line["record"])["last_seen"] for line in stores)))
    # a crawl that began before the first store observation may still have made it
    return [
        (crawl.started_at, crawl.finished_at)
        for crawl in load_store_crawls(session).get(slug, [])
        if crawl.started_at <= last and (crawl.finished_at or crawl.started_at) >= first
    ]


def _headline_share(finding: Mapping[str, Any], timeline: Timeline) -> float | None:
    """The share the summary quotes: a store finding's own worst crawl, else the largest in the window."""
    facts = (finding["inputs"] or {}).get("facts") or {}
    if finding["rule"] in STORE_RULES and facts.get("worst_known"):
        return round(facts["worst_zero_stock"] / facts["worst_known"], 4)
    return max_zero_share(timeline)


def _chain_excerpt(session: Session, lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The contiguous run of chain entries from the first to the last entry touching an exported record."""
    keys = [(line["kind"], line["id"]) for line in lines]
    keys += [(line["kind"] + "_ext", line["id"]) for line in lines if line["extension"] is not None]
    seqs: list[int] = []
    for chunk in chunks(keys, per_item=2):  # (kind, id) pairs
        seqs += session.scalars(
            select(ChainEntry.seq).where(tuple_(ChainEntry.record_kind, ChainEntry.record_id).in_(chunk))
        ).all()
    if not seqs:
        return []
    rows = session.scalars(
        select(ChainEntry).where(ChainEntry.seq.between(min(seqs), max(seqs))).order_by(ChainEntry.seq)
    ).all()
    # other products' entries sit between ours: their evidence hashes (part of each entry hash) travel with
    # them, so the links can be checked without their records
    evidence: dict[tuple[str, int], list[str]] = {}
    for kind, model in CHAINED_MODELS.items():
        ids = [r.record_id for r in rows if r.record_kind == kind]
        for chunk in chunks(ids):
            found = cast(
                Sequence[Observation], session.scalars(select(model).where(model.id.in_(chunk))).all()
            )
            for obs in found:
                evidence[(kind, obs.id)] = evidence_hashes(observation_record(obs))
    return [entry_json(r) | {"evidence": evidence.get((r.record_kind, r.record_id), [])} for r in rows]


def _times(values: Iterable[str | None]) -> tuple[str | None, str | None]:
    present = sorted(v for v in values if v)
    return (present[0], present[-1]) if present else (None, None)


def _coverage(lines: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    def channel(kind: str, start: str, end: str) -> dict[str, Any]:
        mine = [line for line in lines if line["kind"] == kind]
        first, _ = _times(line["record"][start] for line in mine)
        _, last = _times(
            (line["extension"] or line["record"]).get(end) or line["record"][start] for line in mine
        )
        unknown = sum(1 for line in mine if line["record"].get("availability") == "unknown")
        checks = sum((line["extension"] or {}).get("checks", 1) for line in mine)
        return {
            "first": first,
            "last": last,
            "count": len(mine),
            "checks": checks,
            "unknown_share": round(unknown / len(mine), 4) if mine and kind != "ad" else None,
        }

    cited_times = [
        line["record"].get("observed_at") or line["record"].get("first_seen")
        for line in lines
        if line["cited"] and line["kind"] != "ad"
    ]
    first, last = _times(cited_times)
    return {
        "online": channel("offer", "observed_at", "observed_at"),
        "stores": channel("store", "first_seen", "last_seen"),
        "ads": channel("ad", "seen_at", "last_seen"),
        "cited_first": first,
        "cited_last": last,
    }


def _limitations(language: str, lines: Sequence[Mapping[str, Any]], missing: Sequence[str]) -> list[str]:
    notes = [label("lim_sampling", language), label("lim_unknown", language), label("lim_context", language)]
    if missing:
        notes.append(f"{label('lim_missing', language)} {len(missing)}")
    if not any(line["kind"] == "store" for line in lines):
        notes.append(label("lim_no_stores", language))
    return notes


def _promotion_json(finding: Finding, session: Session) -> dict[str, Any]:
    p = finding.promotion
    stores = session.scalars(select(Store).where(Store.retailer_id == p.retailer_id).order_by(Store.id))
    return {
        "id": p.id,
        "key": p.key,
        "title": p.title,
        "advertised_price": money_str(p.advertised_price),
        "reference_price": money_str(p.reference_price),
        "currency": p.currency,
        "valid_from": iso_utc(p.valid_from),
        "valid_until": iso_utc(p.valid_until),
        "origin": p.origin,
        "window_basis": p.window_basis,
        "region": p.region,
        "created_at": iso_utc(p.created_at),
        "product": {
            "id": p.product.id,
            "url": p.product.url,
            "sku": p.product.sku,
            "gtin": p.product.gtin,
            "name": p.product.name,
        },
        "retailer": {
            "id": p.retailer.id,
            "slug": p.retailer.slug,
            "name": p.retailer.name,
            "country": p.retailer.country,
            "currency": p.retailer.currency,
        },
        "stores": [
            {"id": s.id, "external_id": s.external_id, "name": s.name, "postcode": s.postcode, "city": s.city}
            for s in stores
        ],
    }


def _finding_json(f: Finding) -> dict[str, Any]:
    return {
        "id": f.id,
        "promotion_id": f.promotion_id,
        "rule": f.rule,
        "state": f.state,
        "opened_at": iso_utc(f.opened_at),
        "confirmed_at": iso_utc(f.confirmed_at),
        "closed_at": iso_utc(f.closed_at),
        "evaluated_at": iso_utc(f.evaluated_at),
        "summary": f.summary,
        "inputs": f.inputs,
        "observation_ids": f.observation_ids,
    }


def _evidence(
    lines: Sequence[Mapping[str, Any]], blobs: BlobStore, warc_dir: Path, files: dict[str, bytes]
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Put each cited capture in the bundle once: responses as WARC records, screenshots and orphans as files."""
    bodies = sorted(
        {line["record"]["evidence_sha256"] for line in lines if line["record"].get("evidence_sha256")}
    )
    shots = sorted(
        {line["record"]["screenshot_sha256"] for line in lines if line["record"].get("screenshot_sha256")}
    )
    refs = find_records(warc_dir, bodies) if warc_dir.exists() else {}
    index: dict[str, Any] = {}
    missing: list[str] = []
    warc = io.BytesIO()
    for sha in bodies:
        found = refs.get(sha)
        if found and found[0].record_type == "response":
            first = found[0]
            offset = warc.tell()
            for ref in found:
                copy_record(warc_dir, ref, warc)
            index[sha] = {
                "file": BUNDLE_WARC,
                "offset": offset,
                "length": warc.tell() - offset,
                "record_type": "response",
                "uri": first.uri,
                "date": first.date,
                "media_type": first.media_type,
                "source": {"warc": first.warc, "offset": first.offset},
            }
        elif blobs.exists(sha):
            files[f"blobs/{sha}"] = blobs.get(sha)
            index[sha] = {"file": f"blobs/{sha}", "record_type": "blob"}
        else:
            missing.append(sha)
    for sha in shots:
        if blobs.exists(sha):
            files[f"screenshots/{sha}.png"] = blobs.get(sha)
            index[sha] = {"file": f"screenshots/{sha}.png", "record_type": "screenshot"}
        else:
            missing.append(sha)
    rechecks = _rechecks(lines, warc_dir, warc)
    if warc.tell():
        files[BUNDLE_WARC] = warc.getvalue()
    return index, missing, rechecks


def _rechecks(lines: Sequence[Mapping[str, Any]], warc_dir: Path, warc: io.BytesIO) -> dict[str, Any]:
    """The shop's 304 answers (revisit record and conditional request) behind the looks that cite a body fetched
    earlier: the exchange that shows the shop vouched for that body at the look's time."""
    wanted = {
        (r["evidence_sha256"], r["final_url"], (r["observed_at"] or "").replace(".000000Z", "Z")): r["id"]
        for r in (line["record"] for line in lines if line["kind"] == "offer")
        if r.get("http_status") == 304 and r.get("evidence_sha256") and r.get("final_url")
    }
    found: dict[str, Any] = {}
    if not wanted or not warc_dir.exists():
        return found
    for key, refs in sorted(find_rechecks(warc_dir, wanted).items(), key=lambda item: wanted[item[0]]):
        offset = warc.tell()
        for ref in refs:
            copy_record(warc_dir, ref, warc)
        found[str(wanted[key])] = {
            "file": BUNDLE_WARC,
            "offset": offset,
            "length": warc.tell() - offset,
            "record_type": "revisit",
            "uri": key[1],
            "date": key[2],
        }
    return found


def manifest_text(files: Mapping[str, bytes]) -> str:
    """``sha256sum`` format, sorted by name, over every file except the manifest and its timestamp."""
    return "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n"
        for name, data in sorted(files.items())
        if name not in UNLISTED
    )


def _jsonl(rows: Iterable[Mapping[str, Any]]) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n" for r in rows).encode()


def export_case(
    sessions: sessionmaker[Session],
    blobs_root: Path,
    warc_dir: Path,
    finding_id: int,
    out: Path,
    *,
    language: str = "fr",
    tsa_url: str | None = None,
) -> Path:
    """Write the case bundle of one finding; ``out`` is the zip path, or a directory to put ``case-<id>.zip`` in."""
    with sessions() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise LookupError(f"no finding {finding_id}")
        session.refresh(finding.promotion)
        lines = _observation_lines(session, finding)
        chain = _chain_excerpt(session, lines)
        promotion = _promotion_json(finding, session)
        finding_data = _finding_json(finding)
        crawls = _store_crawls(session, finding.promotion.retailer.slug, lines)
        head = session.scalars(select(ChainEntry).order_by(ChainEntry.seq.desc()).limit(1)).first()
        chain_head = None if head is None else {"seq": head.seq, "entry_sha256": head.entry_sha256}
    files: dict[str, bytes] = {}
    evidence_index, missing, rechecks = _evidence(lines, BlobStore(blobs_root), warc_dir, files)
    inputs = finding_data["inputs"] or {}
    timeline = build_timeline(
        lines,
        {**promotion, "window": inputs.get("window")},
        scope=inputs.get("scope_store_ids"),
        crawls=[Crawl(start, end) for start, end in crawls] if crawls else None,
        thresholds=parse_thresholds(inputs.get("thresholds") or {}, "finding thresholds"),
    )
    ad_sightings = [
        dict(line["record"], **(line["extension"] or {})) for line in lines if line["kind"] == "ad"
    ]
    case: dict[str, Any] = {
        "format": FORMAT,
        "software": {"name": "promowatch", "version": promowatch.__version__},
        "generated_at": iso_utc(utcnow()),
        "language": language,
        "finding": finding_data,
        "rule": {
            "name": finding_data["rule"],
            "inputs": finding_data["inputs"],
            "thresholds": (finding_data["inputs"] or {}).get("thresholds"),
        },
        "promotion": promotion,
        "ad_sightings": ad_sightings,
        "coverage": _coverage(lines),
        "figures": {"max_store_zero_share": _headline_share(finding_data, timeline)},
        # the stores crawls the store rules sample by (case verify recomputes with the same ones)
        "store_crawls": [[iso_utc(start), iso_utc(end)] for start, end in crawls] if crawls else None,
        "limitations": _limitations(language, lines, missing),
        "evidence": evidence_index,
        "missing_evidence": missing,
        # offer observation id -> the shop's 304 to its conditional request, in evidence.warc.gz
        "not_modified": rechecks,
        "chain": {"excerpt": "chain.jsonl", "entries": len(chain), "head_at_export": chain_head},
        "timestamp": {"authority": authority_of(tsa_url), "file": TIMESTAMP_REPLY} if tsa_url else None,
    }
    files["case.json"] = json.dumps(case, ensure_ascii=False, indent=2, sort_keys=True).encode()
    files["observations.jsonl"] = _jsonl(lines)
    files["chain.jsonl"] = _jsonl(chain)
    files["timeline.csv"] = timeline_csv(timeline).encode()
    files["timeline.png"] = render_timeline_png(timeline, language)
    files["summary.html"] = render_html(case, lines, language).encode()
    files["summary.pdf"] = render_pdf(case, lines, timeline, language)
    files["VERIFY.md"] = verify_guide(case).encode()
    manifest = manifest_text(files).encode()
    files[MANIFEST] = manifest
    if tsa_url:
        files[TIMESTAMP_REPLY] = request_timestamp(manifest, tsa_url)
    target = out / f"case-{finding_id}.zip" if out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(temp, "w") as bundle:
        for name, data in sorted(files.items()):
            packed = name.endswith((".gz", ".png", ".pdf", ".tsr"))
            info = zipfile.ZipInfo(name, date_time=_zip_time(case["generated_at"]))
            info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, data)
    temp.replace(target)
    return target


def _zip_time(iso: str) -> tuple[int, int, int, int, int, int]:
    moment = as_utc(datetime.fromisoformat(iso.replace("Z", "+00:00")))
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
