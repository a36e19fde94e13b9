"""Case export: one dossier (zip) per promotion, holding all its findings, that a third party can read, check
and re-derive offline.

Bundle layout (every file but the manifest and the timestamp reply is listed in the manifest)::

    case.json  observations.jsonl  chain.jsonl  timeline.csv  timeline.png  summary.html  summary.pdf
    evidence.warc.gz  screenshots/<sha256>.png  ads/<sha256>.<ext>  blobs/<sha256>  VERIFY.md
    manifest-sha256.txt  [manifest-sha256.txt.tsr]
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select, tuple_
from sqlalchemy.orm import Session, selectinload, sessionmaker

import promowatch
from promowatch.db.models import (
    ChainEntry,
    Event,
    EvidenceBlob,
    Finding,
    OfferObservation,
    Promotion,
    Retailer,
    Store,
    StoreObservation,
)
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
from promowatch.evidence.dossier import number_exhibits, shop_showed, store_grid, threshold_rows, zone_of
from promowatch.evidence.head import add_chain_timestamps
from promowatch.evidence.timestamp import authority_of, request_timestamp
from promowatch.evidence.verify_guide import verify_guide
from promowatch.evidence.wacz import add_wacz
from promowatch.evidence.warc import copy_record, find_rechecks, find_records
from promowatch.extract.delivery import promise_json
from promowatch.orders import order_case_section
from promowatch.report.summary import render_html, render_pdf
from promowatch.report.texts import label
from promowatch.report.timeline import (
    ChartLabels,
    FindingMark,
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


def _dossier_window(promotion: Promotion, findings: Sequence[Finding]) -> tuple[datetime, datetime]:
    """From before the earliest of the findings and sightings to after the latest: one span for the dossier."""
    starts = [f.opened_at for f in findings] + [s.seen_at for s in promotion.sightings]
    ends = [f.closed_at or f.evaluated_at for f in findings] + [s.last_seen for s in promotion.sightings]
    if promotion.valid_from is not None:
        starts.append(promotion.valid_from)
    if promotion.valid_until is not None:
        ends.append(promotion.valid_until)
    margin = max((HISTORY_MARGIN.get(f.rule, CONTEXT_MARGIN) for f in findings), default=CONTEXT_MARGIN)
    return min(starts) - margin, max(ends) + CONTEXT_MARGIN


def _observation_lines(
    session: Session, promotion: Promotion, findings: Sequence[Finding]
) -> list[dict[str, Any]]:
    """The observations of the promoted product around the findings, and every cited one, as JSON lines."""
    start, end = _dossier_window(promotion, findings)
    product_id = promotion.product_id
    cited_offer: set[int] = set()
    cited_store: set[int] = set()
    for finding in findings:
        cited = finding.observation_ids or {}
        cited_offer.update(cited.get("offer", []))
        cited_store.update(cited.get("store", []))
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
        s.id: s for s in session.scalars(select(Store).where(Store.retailer_id == promotion.retailer_id))
    }
    lines: list[dict[str, Any]] = []
    for o in sorted(offers.values(), key=lambda o: (o.observed_at, o.id)):
        lines.append(
            {
                "kind": "offer",
                "id": o.id,
                "cited": o.id in cited_offer,
                "record": observation_record(o),
                # the stored delivery text read as at its observation: recomputed the same from the record
                "delivery_promise": promise_json(o.delivery, o.observed_at),
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
    for a in promotion.sightings:
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


def _promotion_json(p: Promotion, session: Session) -> dict[str, Any]:
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


def finding_row(f: Finding) -> dict[str, Any]:
    """A finding as stored, JSON-ready (the dashboard's API, a dossier's findings)."""
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


def _finding_json(f: Finding, detected_at: datetime | None = None) -> dict[str, Any]:
    """The finding as stored (``opened_at`` is the episode's start, which the rule recomputes), and the two
    times it stands for kept apart: ``detected_at`` (when promowatch raised it) and ``window_start`` (when the
    measured condition began, e.g. the reduction start)."""
    inputs = f.inputs or {}
    facts = inputs.get("facts") or {}
    started = inputs.get("reduction_start") or facts.get("first")
    window_start = iso_utc(as_utc(parse_time(started))) if started else iso_utc(f.opened_at)
    return {
        **finding_row(f),
        "detected_at": iso_utc(detected_at or f.opened_at),
        "window_start": window_start,
        "thresholds": threshold_rows(f.rule, inputs.get("thresholds")),
    }


def _evidence(
    lines: Sequence[Mapping[str, Any]],
    blobs: BlobStore,
    warc_dir: Path,
    files: dict[str, bytes],
    ad_files: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], list[str], dict[str, Any]]:
    """Put each cited capture in the bundle once: responses as WARC records, screenshots and orphans as files,
    and the ad files a user gave (``ad_files``: hash -> media type) under ``ads/`` with their extension."""
    ad_files = ad_files or {}
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
        elif sha in ad_files and blobs.exists(sha):
            name = f"ads/{sha}{_extension(ad_files[sha])}"
            files[name] = blobs.get(sha)
            index[sha] = {"file": name, "record_type": "ad_file", "media_type": ad_files[sha]}
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


@dataclass(frozen=True)
class DossierContext:
    """What the watchlist adds to a dossier: who runs promowatch, and each retailer's time zone."""

    operator: Mapping[str, str | None] = field(default_factory=dict)
    zones: Mapping[str, str] = field(default_factory=dict)  # retailer slug -> IANA zone

    @classmethod
    def from_watchlist(cls, watchlist: Any) -> DossierContext:
        operator = getattr(watchlist, "operator", None) or {}
        zones = {
            r.slug: zone
            for r in watchlist.retailers
            if (zone := getattr(r.profile, "timezone", None) or getattr(r, "timezone", None))
        }
        return cls(dict(operator), zones)


def dossier_reference(slug: str, promotion_id: int) -> str:
    """The case reference printed on every page: stable for a promotion, whatever is exported when."""
    return f"PW-{slug.upper()}-P{promotion_id}"


def _detection_times(session: Session, findings: Sequence[Finding]) -> dict[int, datetime]:
    """When each finding was raised: its ``finding_opened`` event's creation (the evaluation that found it)."""
    ids = [f.id for f in findings]
    rows = session.execute(
        select(Event.finding_id, func.min(Event.created_at))
        .where(Event.kind == "finding_opened", Event.finding_id.in_(ids))
        .group_by(Event.finding_id)
    ).all()
    return {fid: as_utc(at) for fid, at in rows if fid is not None}


def _ad_files(session: Session, lines: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """hash -> media type of the files users gave for ads (scans, photos): the ad evidence not fetched online."""
    shas = sorted(
        {
            line["record"]["evidence_sha256"]
            for line in lines
            if line["kind"] == "ad" and line["record"].get("evidence_sha256")
        }
    )
    found: dict[str, str] = {}
    for chunk in chunks(shas):
        for sha, media_type in session.execute(
            select(EvidenceBlob.sha256, EvidenceBlob.media_type).where(EvidenceBlob.sha256.in_(chunk))
        ):
            found[sha] = media_type
    return found


_EXTENSIONS = {
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "image/tiff": ".tif",
    "application/pdf": ".pdf",
    "audio/mpeg": ".mp3",
    "video/mp4": ".mp4",
    "text/html": ".html",
    "text/plain": ".txt",
}


def _extension(media_type: str) -> str:
    return _EXTENSIONS.get(media_type.split(";")[0].strip().lower(), ".bin")


def _exhibit_place(entry: Mapping[str, Any]) -> dict[str, Any]:
    place: dict[str, Any] = {"path": entry["file"]}
    if entry["file"] == BUNDLE_WARC:  # a record inside the WARC: where it starts
        place["offset"] = entry["offset"]
    return place


def _exhibits(
    ads: list[dict[str, Any]],
    shown: list[dict[str, Any]],
    index: Mapping[str, Any],
    orders: Sequence[Mapping[str, Any]] = (),
) -> list[dict[str, Any]]:
    """Number the ads' scans and captures first, then what the shop showed (its screenshot, else the page),
    then the consumers' order files, each once; the ad, shop and order status rows get their exhibit's number."""
    candidates: list[dict[str, Any]] = []
    for ad in ads:
        entry = index.get(ad["evidence_sha256"] or "")
        if entry is None:
            continue
        candidates.append(
            {
                # a user's file of a print or TV ad; a page the crawl fetched is a capture wherever it is kept
                "kind": "ad_scan"
                if entry["record_type"] == "ad_file" and entry.get("media_type") != "text/html"
                else "ad_capture",
                **_exhibit_place(entry),
                "sha256": ad["evidence_sha256"],
                "caption": ad["source_url"],
                "note": ad["note"],
                "taken_at": ad["seen_at"],
            }
        )
    for row in shown:
        sha = row["screenshot_sha256"] if row["screenshot_sha256"] in index else row["evidence_sha256"]
        entry = index.get(sha or "")
        if entry is None:
            continue
        candidates.append(
            {
                "kind": "screenshot" if entry["record_type"] == "screenshot" else "page_capture",
                **_exhibit_place(entry),
                "sha256": sha,
                "caption": row["url"],
                "note": None,
                "taken_at": row["observed_at"],
            }
        )
    statuses = [s for order in orders for s in order.get("statuses") or []]
    for status in statuses:
        filed = status.get("exhibit") or {}
        if filed.get("path"):
            candidates.append(
                {
                    "kind": "order_file",
                    "path": filed["path"],
                    "sha256": filed["sha256"],
                    "caption": None,
                    "note": status.get("text"),
                    "taken_at": status.get("at"),
                }
            )
    exhibits = number_exhibits(candidates)
    number = {e["sha256"]: e["number"] for e in exhibits}
    for status in statuses:
        if status.get("exhibit"):
            status["exhibit"]["number"] = number.get(status["exhibit"]["sha256"])
    for ad in ads:
        ad["exhibit"] = number.get(ad.pop("evidence_sha256") or "")
    for row in shown:
        shot = row.pop("screenshot_sha256")
        page = row.pop("evidence_sha256")
        row["exhibit"] = number.get(shot or "") or number.get(page or "")
    return exhibits


def _advertised(lines: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    rows = []
    for line in lines:
        if line["kind"] != "ad":
            continue
        record, extension = line["record"], line["extension"] or {}
        rows.append(
            {
                "id": record["id"],
                "kind": record["ad_kind"],
                "seen_at": record["seen_at"],
                "last_seen": extension.get("last_seen") or record["seen_at"],
                "source_url": record["source_url"],
                "note": record["note"],
                "evidence_sha256": record["evidence_sha256"],
                "exhibit": None,
            }
        )
    return sorted(rows, key=lambda r: (r["seen_at"], r["id"]))


def _attestation(
    lines: Sequence[Mapping[str, Any]], context: DossierContext, country: str | None
) -> dict[str, Any]:
    """Who captured, from where and by which clock, as far as the observations record it (None where not)."""
    vantages = [line["record"].get("vantage") or {} for line in lines if line["kind"] == "offer"]
    agents = sorted({v["user_agent"] for v in vantages if v.get("user_agent")})
    addresses = sorted({v["ip"] for v in vantages if v.get("ip")})
    countries = sorted({v["country"] for v in vantages if v.get("country")})
    seen: list[dict[str, Any]] = []
    for v in vantages:
        view = {k: v.get(k) for k in ("accept_language", "store", "postcode", "logged_in")}
        if view not in seen:
            seen.append(view)
    return {
        "operator": {"name": context.operator.get("name"), "contact": context.operator.get("contact")},
        "vantage": seen,
        "user_agent": agents,
        "capture_address": addresses or None,
        "country": countries or None,
        "retailer_country": country,
        # the capturing machine's clock unless a run records a trusted time source
        "time_source": sorted({v["time_source"] for v in vantages if v.get("time_source")}) or "system_clock",
    }


def _order_findings(findings: Sequence[Finding], lead: int | None, rule: str | None) -> list[Finding]:
    chosen = [f for f in findings if rule is None or f.rule == rule or f.id == lead]
    return sorted(chosen, key=lambda f: (f.id != lead, f.opened_at, f.id))


def export_case(
    sessions: sessionmaker[Session],
    blobs_root: Path,
    warc_dir: Path,
    finding_id: int,
    out: Path,
    *,
    language: str = "fr",
    tsa_url: str | None = None,
    context: DossierContext | None = None,
) -> Path:
    """The dossier of a finding's promotion with that finding first; ``out`` is the zip path, or a directory
    to put ``case-<id>.zip`` in."""
    with sessions() as session:
        finding = session.get(Finding, finding_id)
        if finding is None:
            raise LookupError(f"no finding {finding_id}")
        promotion_id = finding.promotion_id
    target = out / f"case-{finding_id}.zip" if out.is_dir() else out
    return export_dossier(
        sessions,
        blobs_root,
        warc_dir,
        promotion_id,
        target,
        lead=finding_id,
        language=language,
        tsa_url=tsa_url,
        context=context,
    )


def export_selected(
    sessions: sessionmaker[Session],
    blobs_root: Path,
    warc_dir: Path,
    out: Path,
    *,
    finding: int | None = None,
    promotion: int | None = None,
    retailer: str | None = None,
    rule: str | None = None,
    language: str = "fr",
    tsa_url: str | None = None,
    context: DossierContext | None = None,
) -> list[tuple[str, Path]]:
    """The dossiers ``case export`` writes, as (what, path): a finding's promotion's, a promotion's, or one per
    promotion of a retailer with findings; a retailer's go into the directory ``out``, one zip per promotion
    (each is filed on its own, and a zip of zips would hide their manifests from ``case verify``)."""
    common: dict[str, Any] = {"language": language, "tsa_url": tsa_url, "context": context}
    if finding is not None:
        path = export_case(sessions, blobs_root, warc_dir, finding, out, **common)
        return [(f"finding {finding}", path)]
    if promotion is not None:
        path = export_dossier(sessions, blobs_root, warc_dir, promotion, out, rule=rule, **common)
        return [(f"promotion {promotion}", path)]
    assert retailer is not None
    ids = promotions_with_findings(sessions, retailer, rule)
    if not ids:
        raise LookupError(f"no promotion of {retailer!r} has findings" + (f" of {rule}" if rule else ""))
    out.mkdir(parents=True, exist_ok=True)
    return [
        (f"promotion {pid}", export_dossier(sessions, blobs_root, warc_dir, pid, out, rule=rule, **common))
        for pid in ids
    ]


def open_summary(bundle: Path) -> Path:
    """Put the dossier's summary PDF beside its zip and open it with ``xdg-open`` when there is one."""
    target = bundle.with_name(bundle.stem + "-summary.pdf")
    with zipfile.ZipFile(bundle) as z:
        target.write_bytes(z.read("summary.pdf"))
    opener = shutil.which("xdg-open")
    if opener:
        subprocess.Popen([opener, str(target)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return target


def promotions_with_findings(
    sessions: sessionmaker[Session], retailer: str, rule: str | None = None
) -> list[int]:
    """The ids of a retailer's promotions that have findings (of ``rule``, when given)."""
    query = (
        select(Finding.promotion_id)
        .join(Promotion, Promotion.id == Finding.promotion_id)
        .join(Retailer, Retailer.id == Promotion.retailer_id)
        .where(Retailer.slug == retailer)
        .distinct()
        .order_by(Finding.promotion_id)
    )
    if rule is not None:
        query = query.where(Finding.rule == rule)
    with sessions() as session:
        return list(session.scalars(query))


def export_dossier(
    sessions: sessionmaker[Session],
    blobs_root: Path,
    warc_dir: Path,
    promotion_id: int,
    out: Path,
    *,
    lead: int | None = None,
    rule: str | None = None,
    language: str = "fr",
    tsa_url: str | None = None,
    context: DossierContext | None = None,
) -> Path:
    """Write one promotion's dossier: all its findings (of ``rule``; ``lead`` first), their observations and
    captures, exhibits numbered once. ``out`` is the zip path, or a directory to put
    ``dossier-<reference>.zip`` in. Raises LookupError without such a promotion or without findings."""
    context = context or DossierContext()
    with sessions() as session:
        promotion = session.get(Promotion, promotion_id)
        if promotion is None:
            raise LookupError(f"no promotion {promotion_id}")
        session.refresh(promotion)
        findings = _order_findings(
            session.scalars(select(Finding).where(Finding.promotion_id == promotion_id)).all(), lead, rule
        )
        if not findings:
            raise LookupError(f"promotion {promotion_id} has no findings" + (f" of {rule}" if rule else ""))
        lines = _observation_lines(session, promotion, findings)
        chain = _chain_excerpt(session, lines)
        promotion_data = _promotion_json(promotion, session)
        detected = _detection_times(session, findings)
        findings_data = [_finding_json(f, detected.get(f.id)) for f in findings]
        crawls = _store_crawls(session, promotion.retailer.slug, lines)
        ad_files = _ad_files(session, lines)
        # consumers' orders placed under the promotion, with their status files (promowatch/orders.py)
        orders, order_files = order_case_section(session, promotion_id, BlobStore(blobs_root))
        head = session.scalars(select(ChainEntry).order_by(ChainEntry.seq.desc()).limit(1)).first()
        chain_head = None if head is None else {"seq": head.seq, "entry_sha256": head.entry_sha256}
    slug = promotion_data["retailer"]["slug"]
    reference = dossier_reference(slug, promotion_id)
    zone = zone_of(promotion_data["retailer"]["country"], context.zones.get(slug))
    files: dict[str, bytes] = dict(order_files)
    evidence_index, missing, rechecks = _evidence(lines, BlobStore(blobs_root), warc_dir, files, ad_files)
    chain_timestamps = add_chain_timestamps(sessions, BlobStore(blobs_root), lines, chain, files)
    finding_data = findings_data[0]
    inputs = finding_data["inputs"] or {}
    # the store share is charted over the scope of the dossier's store finding, when it has one
    scope = next(
        (f["inputs"]["scope_store_ids"] for f in findings_data if "scope_store_ids" in (f["inputs"] or {})),
        None,
    )
    timeline = build_timeline(
        lines,
        {**promotion_data, "window": inputs.get("window")},
        scope=scope,
        crawls=[Crawl(start, end) for start, end in crawls] if crawls else None,
        thresholds=parse_thresholds(inputs.get("thresholds") or {}, "finding thresholds"),
    )
    for row in findings_data:
        row["headline_share"] = _headline_share(row, timeline)
    ad_sightings = [
        dict(line["record"], **(line["extension"] or {})) for line in lines if line["kind"] == "ad"
    ]
    advertised = _advertised(lines)
    shown = shop_showed(lines)
    exhibits = _exhibits(advertised, shown, evidence_index, orders)
    generated_at = utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
    wacz = add_wacz(files, warc_dir, BUNDLE_WARC, title=reference, created=generated_at)
    case: dict[str, Any] = {
        "format": FORMAT,
        "software": {"name": "promowatch", "version": promowatch.__version__},
        "reference": reference,
        "generated_at": generated_at,
        "language": language,
        "timezone": zone,
        # the first finding, as a single-finding bundle states it (case verify recomputes every one)
        "finding": {k: v for k, v in finding_data.items() if k not in _DOSSIER_ONLY},
        "findings": [
            {
                **{k: v for k, v in row.items() if k != "detected_at"},
                "opened_at": row["detected_at"],
                "episode_opened_at": row["opened_at"],
            }
            for row in findings_data
        ],
        "rule": {
            "name": finding_data["rule"],
            "inputs": finding_data["inputs"],
            "thresholds": inputs.get("thresholds"),
        },
        "promotion": promotion_data,
        "orders": orders,
        "ad_sightings": ad_sightings,
        "advertised": advertised,
        "exhibits": exhibits,
        "shop_showed": shown,
        "store_grid": store_grid(lines, promotion_data["stores"], zone),
        "attestation": _attestation(lines, context, promotion_data["retailer"]["country"]),
        "coverage": _coverage(lines),
        "figures": {"max_store_zero_share": finding_data["headline_share"]},
        # the stores crawls the store rules sample by (case verify recomputes with the same ones)
        "store_crawls": [[iso_utc(start), iso_utc(end)] for start, end in crawls] if crawls else None,
        "limitations": _limitations(language, lines, missing),
        "evidence": evidence_index,
        "missing_evidence": missing,
        # offer observation id -> the shop's 304 to its conditional request, in evidence.warc.gz
        "not_modified": rechecks,
        "chain": {"excerpt": "chain.jsonl", "entries": len(chain), "head_at_export": chain_head},
        "timestamp": {"authority": authority_of(tsa_url), "file": TIMESTAMP_REPLY} if tsa_url else None,
        # the runs' RFC 3161 tokens over the chain head that cover the observations (promowatch.evidence.head)
        "chain_timestamps": chain_timestamps,
        "wacz": wacz,
    }
    marks = [
        FindingMark(f["rule"], _time(f["opened_at"]), _time(f["confirmed_at"]), _time(f["closed_at"]))
        for f in case["findings"]
    ]
    chart = ChartLabels(
        title=f"{promotion_data['title']} · {promotion_data['retailer']['name']}",
        zone=zone,
        marks=marks,
        rules=[f["rule"] for f in findings_data],
        share_threshold=_share_threshold(findings_data),
    )
    files["case.json"] = json.dumps(case, ensure_ascii=False, indent=2, sort_keys=True).encode()
    files["observations.jsonl"] = _jsonl(lines)
    files["chain.jsonl"] = _jsonl(chain)
    files["timeline.csv"] = timeline_csv(timeline).encode()
    files["timeline.png"] = render_timeline_png(timeline, language, chart)
    files["summary.html"] = render_html(case, lines, language).encode()
    files["summary.pdf"] = render_pdf(case, lines, timeline, language, files=files)
    files["VERIFY.md"] = verify_guide(case).encode()
    manifest = manifest_text(files).encode()
    files[MANIFEST] = manifest
    if tsa_url:
        files[TIMESTAMP_REPLY] = request_timestamp(manifest, tsa_url)
    target = out / f"dossier-{reference}.zip" if out.is_dir() else out
    target.parent.mkdir(parents=True, exist_ok=True)
    temp = target.with_name(target.name + ".partial")
    with zipfile.ZipFile(temp, "w") as bundle:
        for name, data in sorted(files.items()):
            packed = name.endswith((".gz", ".png", ".pdf", ".tsr", ".jpg", ".wacz"))
            info = zipfile.ZipInfo(name, date_time=_zip_time(generated_at))
            info.compress_type = zipfile.ZIP_STORED if packed else zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            bundle.writestr(info, data)
    temp.replace(target)
    return target


# keys of a dossier's finding rows that the single ``finding`` of older bundles did not have
_DOSSIER_ONLY = ("detected_at", "window_start", "thresholds", "headline_share")


def _share_threshold(findings: Sequence[Mapping[str, Any]]) -> float | None:
    """The share of stores at zero stock the dossier's first store finding fires at."""
    for finding in findings:
        if finding["rule"] in STORE_RULES:
            name = "stockout_share" if finding["rule"] == "store_stockout" else "sellout_share"
            value = ((finding["inputs"] or {}).get("thresholds") or {}).get(name)
            return None if value is None else float(value)
    return None


def _time(value: str | None) -> datetime | None:
    return None if value is None else parse_time(value)


def _zip_time(iso: str) -> tuple[int, int, int, int, int, int]:
    moment = as_utc(datetime.fromisoformat(iso.replace("Z", "+00:00")))
    return (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
