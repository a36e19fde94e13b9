"""``promowatch evidence verify``: the hash chain, and every stored blob re-hashed against its name and index."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from sqlalchemy import select, union
from sqlalchemy.orm import Session, sessionmaker

from promowatch.db.models import AdSighting, EvidenceBlob, OfferObservation, OrderStatus, StoreObservation
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.chain import verify_chain


@dataclass
class Report:
    ok: bool
    message: str  # one line for the terminal
    problems: list[str] = field(default_factory=list)
    chain_entries: int = 0
    blobs_checked: int = 0


def _file_sha256(blobs: BlobStore, sha: str) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with blobs.path(sha).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


def _referenced(session: Session) -> set[str]:
    query = union(
        select(OfferObservation.evidence_sha256),
        select(OfferObservation.screenshot_sha256),
        select(StoreObservation.evidence_sha256),
        select(AdSighting.evidence_sha256),
        select(OrderStatus.file_sha256),  # a consumer's confirmation e-mail, PDF or screenshot
    )
    return {sha for sha in session.scalars(query) if sha}


def verify_evidence(sessions: sessionmaker[Session], blobs: BlobStore) -> Report:
    """Walk the chain, re-hash every indexed blob, and check every cited blob is indexed and on disk."""
    problems: list[str] = []
    with sessions() as session:
        chain = verify_chain(session)
        problems += chain.problems
        # cited first: a blob is indexed no later than the row citing it, so a crawl writing meanwhile
        # cannot make a blob look cited but not indexed
        referenced = _referenced(session)
        indexed = {b.sha256: b for b in session.scalars(select(EvidenceBlob))}
    for sha, row in sorted(indexed.items()):
        if not blobs.exists(sha):
            problems.append(f"blob {sha[:12]} is indexed but missing on disk")
            continue
        actual, size = _file_sha256(blobs, sha)
        if actual != sha:
            problems.append(f"blob {sha[:12]} was altered on disk (its bytes hash to {actual[:12]})")
        elif size != row.size:
            problems.append(f"blob {sha[:12]} has {size} bytes, the index says {row.size}")
    for sha in sorted(referenced - indexed.keys()):
        problems.append(f"blob {sha[:12]} is cited by an observation but not indexed")
    if problems:
        message = f"evidence FAILED ({len(problems)} problems): {problems[0]}"
    else:
        message = f"evidence intact: {chain.entries} chain entries, {len(indexed)} blobs re-hashed"
    return Report(not problems, message, problems, chain.entries, len(indexed))
