"""The hash chain's head: timestamped after each run, published by whoever watches, carried by case bundles.

Whoever holds the database could rebuild the whole chain before an export. Two things pin it down earlier:
an RFC 3161 token over the head that each run requests from the configured authority (the token's imprint is
the head entry's ``entry_sha256``, which covers its ``seq`` and, through ``prev_sha256``, every entry before),
and the head as ``promowatch evidence publish-head`` prints it, mailed or published by the group. A rebuilt
chain no longer leads to a stamped or published head.

A dossier carries, for each of its observations, the first token whose head is at or after the observation's
chain entry, and the chain up to that head.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from promowatch.db.models import ChainEntry, ChainTimestamp
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.canonical import iso_utc
from promowatch.evidence.capture import StoredBlob
from promowatch.evidence.chain import EXTENSION_SUFFIX, exported_entries
from promowatch.evidence.timestamp import (
    TimestampError,
    authority_of,
    request_digest_timestamp,
    stamped_at,
)

TOKEN_MEDIA_TYPE = "application/timestamp-reply"
TIMESTAMP_DIR = "timestamps/"


@dataclass(frozen=True, slots=True)
class ChainHead:
    """The chain's newest entry and how many entries lead to it."""

    seq: int
    entry_sha256: str
    created_at: datetime
    entries: int


def current_head(session: Session) -> ChainHead | None:
    """The chain's head, or None while the chain is empty."""
    head = session.scalars(select(ChainEntry).order_by(ChainEntry.seq.desc()).limit(1)).first()
    if head is None:
        return None
    count = session.scalar(select(func.count()).select_from(ChainEntry)) or 0
    return ChainHead(head.seq, head.entry_sha256, head.created_at, count)


def latest_token(session: Session) -> ChainTimestamp | None:
    return session.scalars(
        select(ChainTimestamp).order_by(ChainTimestamp.seq.desc(), ChainTimestamp.id.desc()).limit(1)
    ).first()


def stamp_head(sessions: sessionmaker[Session], tsa_url: str, blobs: BlobStore, now: datetime) -> str:
    """Request a token over the current head, unless the latest token already covers it; store its bytes as an
    evidence blob and its row. Returns what was done; raises ``TimestampError`` when the authority cannot be
    reached or refuses (the next run asks again, for the head it then finds)."""
    from promowatch.db.queries import record_blobs

    with sessions() as session:
        head = current_head(session)
        latest = latest_token(session)
    if head is None:
        return "chain head: nothing to timestamp (the chain is empty)"
    if latest is not None and latest.seq >= head.seq:
        return f"chain head {head.seq}: timestamped already ({iso_utc(latest.stamped_at)})"
    reply = request_digest_timestamp(head.entry_sha256, tsa_url)
    moment = stamped_at(reply)
    if moment is None:
        raise TimestampError("the timestamp reply states no time promowatch can read")
    ((sha, _),) = blobs.put_all([reply])
    with sessions.begin() as session:
        record_blobs(session, [StoredBlob(sha, len(reply), TOKEN_MEDIA_TYPE)], now)
        session.add(
            ChainTimestamp(
                seq=head.seq,
                head_sha256=head.entry_sha256,
                stamped_at=moment,
                requested_at=now,
                authority=authority_of(tsa_url),
                token_sha256=sha,
            )
        )
    return f"chain head {head.seq}: timestamped by {authority_of(tsa_url)} at {iso_utc(moment)}"


def published_head(session: Session) -> dict[str, Any] | None:
    """The head as ``publish-head`` prints it: seq, entry hash, time, count and the latest token, if any."""
    head = current_head(session)
    if head is None:
        return None
    token = latest_token(session)
    return {
        "seq": head.seq,
        "entry_sha256": head.entry_sha256,
        "created_at": iso_utc(head.created_at),
        "entries": head.entries,
        "latest_timestamp": None
        if token is None
        else {
            "seq": token.seq,
            "head_sha256": token.head_sha256,
            "time": iso_utc(token.stamped_at),
            "tsa": token.authority,
            "token_sha256": token.token_sha256,
        },
    }


def head_text(head: Mapping[str, Any] | None) -> str:
    """A short plain-text block to publish or mail: enough to compare a later chain or case bundle with."""
    if head is None:
        return "promowatch chain head: the chain is empty\n"
    lines = [
        "promowatch chain head",
        f"seq:          {head['seq']}",
        f"entry_sha256: {head['entry_sha256']}",
        f"created_at:   {head['created_at']}",
        f"entries:      {head['entries']}",
    ]
    token = head["latest_timestamp"]
    if token is None:
        lines.append("timestamp:    none (no timestamp authority configured or reached yet)")
    else:
        lines.append(f"timestamp:    entry {token['seq']} ({token['head_sha256']})")
        lines.append(f"              stamped {token['time']} by {token['tsa']}")
    return "\n".join(lines) + "\n"


def head_json(head: Mapping[str, Any] | None) -> str:
    return json.dumps(head, indent=2, sort_keys=True) + "\n"


def add_chain_timestamps(
    sessions: sessionmaker[Session],
    blobs: BlobStore,
    lines: Sequence[Mapping[str, Any]],
    chain: list[dict[str, Any]],
    files: dict[str, bytes],
) -> list[dict[str, Any]]:
    """Put in a bundle the tokens covering its observations (``timestamps/<seq>.tsr``) and extend the chain
    excerpt up to the newest of their heads; returns the ``chain_timestamps`` list of case.json."""
    keys = {(line["kind"], line["id"]) for line in lines}
    keys |= {(line["kind"] + EXTENSION_SUFFIX, line["id"]) for line in lines if line.get("extension")}
    seqs = [entry["seq"] for entry in chain if (entry["record_kind"], entry["record_id"]) in keys]
    if not seqs:
        return []
    with sessions() as session:
        tokens = session.scalars(
            select(ChainTimestamp)
            .where(ChainTimestamp.seq >= min(seqs))
            .order_by(ChainTimestamp.seq, ChainTimestamp.id)
        ).all()
        chosen: dict[int, ChainTimestamp] = {}
        for seq in sorted(set(seqs)):
            token = next((t for t in tokens if t.seq >= seq), None)
            if token is not None:
                chosen.setdefault(token.seq, token)
        if not chosen:
            return []
        last = chain[-1]["seq"]
        if max(chosen) > last:
            chain.extend(exported_entries(session, last + 1, max(chosen)))
    listed: list[dict[str, Any]] = []
    for seq, token in sorted(chosen.items()):
        path = f"{TIMESTAMP_DIR}{seq}.tsr"
        files[path] = blobs.get(token.token_sha256)
        listed.append(
            {
                "seq": seq,
                "head_sha256": token.head_sha256,
                "time": iso_utc(token.stamped_at),
                "tsa": token.authority,
                "path": path,
            }
        )
    return listed
