"""The hash chain over observations: editing, deleting or reordering a chained record breaks a link.

Each entry hashes a canonical JSON preimage of (seq, created_at, record_kind, record_id, record_sha256,
prev_sha256, evidence) where ``evidence`` is the sorted list of evidence SHA-256s inside the record.

Intervals (store observations, ad sightings) are extended by re-checks. The chain handles that with two
kinds of entries: the first sighting (``store`` / ``ad``) chains the fields that never change, and every
extension appends a ``store_ext`` / ``ad_ext`` entry chaining ``last_seen`` and ``checks`` as they are
after the extension. Verification demands that a row's current ``last_seen``/``checks`` equal its latest
extension entry (or ``first_seen``/1 when it has none), so a silent edit of an interval is detected while
legitimate extensions stay cheap (one small row per re-check, no observation row).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, insert, select, text
from sqlalchemy.orm import Session, selectinload

from promowatch.db.models import (
    AdSighting,
    ChainEntry,
    OfferObservation,
    Order,
    OrderStatus,
    StoreObservation,
)
from promowatch.domain import money_str
from promowatch.evidence.canonical import canonical_sha256, iso_utc

GENESIS = "0" * 64
EXTENSION_SUFFIX = "_ext"
# an arbitrary constant: the PostgreSQL advisory lock that serialises appends across processes
_PG_CHAIN_LOCK = 7_262_001

Observation = OfferObservation | StoreObservation | AdSighting | Order | OrderStatus


# the columns of an offer observation its chained record holds (its validators, etag and last_modified, are not)
OFFER_RECORD_COLUMNS = (
    "id",
    "product_id",
    "run_id",
    "observed_at",
    "price",
    "regular_price",
    "currency",
    "availability",
    "orderable",
    "delivery",
    "reason",
    "http_status",
    "final_url",
    "render",
    "evidence_sha256",
    "screenshot_sha256",
    "vantage",
)


def offer_record(columns: Mapping[str, Any], signals: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The canonical record of an offer observation from its column values and its signals' (field, source,
    raw, value) in order: the same whether read from a row or about to be inserted in bulk."""
    record = {"kind": "offer", **{name: columns[name] for name in OFFER_RECORD_COLUMNS}}
    record["observed_at"] = iso_utc(columns["observed_at"])
    record["price"] = money_str(columns["price"])
    record["regular_price"] = money_str(columns["regular_price"])
    record["signals"] = [
        {"field": s["field"], "source": s["source"], "raw": s["raw"], "value": s["value"]} for s in signals
    ]
    return record


# the columns of a store observation its chained record holds: the first sighting's (last_seen and checks move)
STORE_RECORD_COLUMNS = (
    "id",
    "product_id",
    "store_id",
    "run_id",
    "first_seen",
    "availability",
    "quantity",
    "source_time",
    "evidence_sha256",
)


def store_record(columns: Mapping[str, Any]) -> dict[str, Any]:
    """The canonical record of a store observation from its column values: the same whether read from a row or
    about to be inserted in bulk."""
    record = {"kind": "store", **{name: columns[name] for name in STORE_RECORD_COLUMNS}}
    record["first_seen"] = iso_utc(columns["first_seen"])
    record["source_time"] = iso_utc(columns["source_time"])
    return record


def observation_record(obs: Observation) -> dict[str, Any]:
    """The canonical record of an observation as chained: for intervals, the fields of the first sighting."""
    if isinstance(obs, OfferObservation):
        return offer_record(
            {name: getattr(obs, name) for name in OFFER_RECORD_COLUMNS},
            [{"field": s.field, "source": s.source, "raw": s.raw, "value": s.value} for s in obs.signals],
        )
    if isinstance(obs, Order | OrderStatus):
        return order_record(obs)
    if isinstance(obs, StoreObservation):
        return store_record({name: getattr(obs, name) for name in STORE_RECORD_COLUMNS})
    return {
        "kind": "ad",
        "id": obs.id,
        "promotion_id": obs.promotion_id,
        "ad_kind": obs.kind,
        "source_url": obs.source_url,
        "note": obs.note,
        "seen_at": iso_utc(obs.seen_at),
        "evidence_sha256": obs.evidence_sha256,
    }


def order_record(row: Order | OrderStatus) -> dict[str, Any]:
    """The canonical record of a consumer's order or of one of its statuses (its file cited as evidence),
    so that deleting or editing what the consumer recorded breaks the chain like an observation would."""
    if isinstance(row, OrderStatus):
        return {
            "kind": "order_status",
            "id": row.id,
            "order_id": row.order_id,
            "at": iso_utc(row.at),
            "text": row.text,
            "outcome": row.outcome,
            "file_name": row.file_name,
            "evidence_sha256": row.file_sha256,
        }
    return {
        "kind": "order",
        "id": row.id,
        "slug": row.slug,
        "retailer_id": row.retailer_id,
        "product_id": row.product_id,
        "promotion_id": row.promotion_id,
        "ordered_at": iso_utc(row.ordered_at),
        "paid_at": iso_utc(row.paid_at),
        "price_paid": money_str(row.price_paid),
        "currency": row.currency,
        "reference": row.reference,
        "promise": row.promise,
        "origin": row.origin,
    }


def extension_record(obs: StoreObservation | AdSighting) -> dict[str, Any]:
    """The canonical record of an interval's extension: its id, ``last_seen`` and ``checks`` now."""
    kind = "store" if isinstance(obs, StoreObservation) else "ad"
    return interval_extension(kind, obs.id, obs.last_seen, obs.checks)


def interval_extension(kind: str, record_id: int, last_seen: datetime, checks: int) -> dict[str, Any]:
    """The canonical record of the extension of a ``kind`` interval (``store``, ``ad``) to ``last_seen``."""
    return {
        "kind": kind + EXTENSION_SUFFIX,
        "id": record_id,
        "last_seen": iso_utc(last_seen),
        "checks": checks,
    }


def evidence_hashes(record: Mapping[str, Any]) -> list[str]:
    """The evidence SHA-256s a record cites, sorted and de-duplicated."""
    found = {record.get(key) for key in ("evidence_sha256", "screenshot_sha256")}
    return sorted(h for h in found if isinstance(h, str) and h)


def entry_preimage(entry: Mapping[str, Any], evidence: Sequence[str]) -> dict[str, Any]:
    """What an entry's hash covers."""
    return {
        "seq": entry["seq"],
        "created_at": entry["created_at"],
        "record_kind": entry["record_kind"],
        "record_id": entry["record_id"],
        "record_sha256": entry["record_sha256"],
        "prev_sha256": entry["prev_sha256"],
        "evidence": list(evidence),
    }


def entry_sha256(entry: Mapping[str, Any], evidence: Sequence[str]) -> str:
    """The hash of one entry given as plain JSON values (``created_at`` an ISO string)."""
    return canonical_sha256(entry_preimage(entry, evidence))


def entry_json(entry: ChainEntry) -> dict[str, Any]:
    """A stored entry as plain JSON values, the form exported in case bundles."""
    return {
        "seq": entry.seq,
        "created_at": iso_utc(entry.created_at),
        "record_kind": entry.record_kind,
        "record_id": entry.record_id,
        "record_sha256": entry.record_sha256,
        "prev_sha256": entry.prev_sha256,
        "entry_sha256": entry.entry_sha256,
    }


def exported_entries(session: Session, first: int, last: int) -> list[dict[str, Any]]:
    """Entries ``first``..``last`` as exported: each with the evidence hashes of its record, so that the links
    of the run can be checked without the records of other products that sit between."""
    rows = session.scalars(
        select(ChainEntry).where(ChainEntry.seq.between(first, last)).order_by(ChainEntry.seq)
    ).all()
    evidence: dict[tuple[str, int], list[str]] = {}
    for kind, model in CHAINED_MODELS.items():
        ids = [r.record_id for r in rows if r.record_kind == kind]
        for start in range(0, len(ids), 500):  # under SQLite's limit of bound parameters
            found = cast(
                Sequence[Observation],
                session.scalars(select(model).where(model.id.in_(ids[start : start + 500]))).all(),
            )
            for obs in found:
                evidence[(kind, obs.id)] = evidence_hashes(observation_record(obs))
    return [entry_json(r) | {"evidence": evidence.get((r.record_kind, r.record_id), [])} for r in rows]


def _lock_chain(session: Session) -> None:
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_CHAIN_LOCK})
    # SQLite: two writers that read the same head both try the same seq; the primary key refuses one.


# session.info key of the chain head as this session's open transaction last appended it
_HEAD = "promowatch.chain_head"
# built once: a statement object costs more to build than SQLite takes to run it
_HEAD_QUERY = select(ChainEntry.seq, ChainEntry.entry_sha256).order_by(ChainEntry.seq.desc()).limit(1)
_NEW_ENTRIES = insert(cast(Table, ChainEntry.__table__))


def _head(session: Session) -> tuple[int, str]:
    """(seq, entry_sha256) of the chain's last entry, read once per transaction.

    The first append of a transaction takes the lock (PostgreSQL) or already holds SQLite's write lock (the
    record it chains was flushed before), so no other writer can append until this transaction ends: the
    head this transaction last wrote stays the head, and a batch of appends needs one read, not one each.
    """
    transaction = session.get_transaction()
    cached = session.info.get(_HEAD)
    if cached is not None and transaction is not None and cached[0] is transaction:
        return cached[1], cached[2]
    _lock_chain(session)
    head = session.execute(_HEAD_QUERY).one_or_none()
    return (0, GENESIS) if head is None else (head[0], head[1])


Link = tuple[str, int, Mapping[str, Any], datetime]
"""A record to chain: (record_kind, record_id, canonical record, created_at)."""


def append_all(session: Session, links: Sequence[Link]) -> list[dict[str, Any]]:
    """Append records to the chain in order inside the caller's transaction (the caller commits): one head
    read and one multi-row INSERT for any number of them. Returns the entries' column values."""
    if not links:  # nothing to chain: no need for the chain's lock
        return []
    seq, prev = _head(session)
    rows: list[dict[str, Any]] = []
    for record_kind, record_id, record, created_at in links:
        fields: dict[str, Any] = {
            "seq": seq + 1,
            "created_at": iso_utc(created_at),
            "record_kind": record_kind,
            "record_id": record_id,
            "record_sha256": canonical_sha256(record),
            "prev_sha256": prev,
        }
        seq, prev = seq + 1, entry_sha256(fields, evidence_hashes(record))
        rows.append({**fields, "created_at": created_at, "entry_sha256": prev})
    session.execute(_NEW_ENTRIES, rows)
    # holding the transaction object keeps its identity unique while the cache entry lives
    session.info[_HEAD] = (session.get_transaction(), seq, prev)
    return rows


def append(
    session: Session, record_kind: str, record_id: int, record: Mapping[str, Any], created_at: datetime
) -> dict[str, Any]:
    """Append one record to the chain inside the caller's transaction (the caller commits)."""
    return append_all(session, [(record_kind, record_id, record, created_at)])[0]


def append_observation(session: Session, obs: Observation, created_at: datetime) -> dict[str, Any]:
    """Chain a freshly inserted observation (flushed, so it has an id)."""
    record = observation_record(obs)
    return append(session, record["kind"], obs.id, record, created_at)


def append_extension(
    session: Session, obs: StoreObservation | AdSighting, created_at: datetime
) -> dict[str, Any]:
    """Chain an interval's new ``last_seen``/``checks`` after a re-check extended it."""
    record = extension_record(obs)
    return append(session, record["kind"], obs.id, record, created_at)


@dataclass
class ChainReport:
    ok: bool
    entries: int
    first_problem: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def message(self) -> str:
        if self.ok:
            return f"hash chain intact: {self.entries} entries"
        return f"hash chain broken ({len(self.problems)} problems): {self.first_problem}"


def check_links(
    entries: Iterable[Mapping[str, Any]],
    evidence_of: Mapping[tuple[str, int], list[str]],
    *,
    previous: Mapping[str, Any] | None = None,
) -> list[str]:
    """Problems in a run of consecutive entries: seq gaps, broken prev links, entry hashes that differ.

    ``evidence_of`` gives the evidence hashes of each (kind, id) record; records absent from it are
    taken to cite no evidence (extensions) — a wrong guess shows up as a hash mismatch. ``previous`` is
    the entry just before the run, already checked: only its link to the run's first entry is checked
    here, since ``evidence_of`` need not know its record.
    """
    problems: list[str] = []
    for entry in entries:
        seq = entry["seq"]
        if previous is not None:
            if seq != previous["seq"] + 1:
                problems.append(f"chain entry {seq}: follows entry {previous['seq']} (entries missing)")
            if entry["prev_sha256"] != previous["entry_sha256"]:
                problems.append(f"chain entry {seq}: prev_sha256 does not match entry {previous['seq']}")
        elif seq == 1 and entry["prev_sha256"] != GENESIS:
            problems.append("chain entry 1: does not start from the genesis hash")
        evidence = evidence_of.get((entry["record_kind"], entry["record_id"]), [])
        if entry_sha256(entry, evidence) != entry["entry_sha256"]:
            problems.append(f"chain entry {seq}: entry hash does not match its content")
        previous = entry
    return problems


CHAINED_MODELS: dict[
    str,
    type[OfferObservation] | type[StoreObservation] | type[AdSighting] | type[Order] | type[OrderStatus],
] = {
    "offer": OfferObservation,
    "store": StoreObservation,
    "ad": AdSighting,
    "order": Order,
    "order_status": OrderStatus,
}


def verify_chain(session: Session, *, batch: int = 5000) -> ChainReport:
    """Walk the whole chain: links, entry hashes, each record against its row, intervals against extensions.

    The walk reads the chain in batches of ``batch`` entries up to the head it finds as it starts, so a
    crawl may go on writing meanwhile: what was committed after the start is left to the next walk.
    """
    problems: list[str] = []
    head = session.scalar(select(func.max(ChainEntry.seq))) or 0
    # an entry before the first: the chain must start at seq 1 from the genesis hash
    previous: dict[str, Any] = {"seq": 0, "entry_sha256": GENESIS}
    latest_extension: dict[tuple[str, int], str] = {}
    chained: set[tuple[str, int]] = set()
    count = 0
    while previous["seq"] < head:
        rows = session.scalars(
            select(ChainEntry)
            .where(ChainEntry.seq > previous["seq"], ChainEntry.seq <= head)
            .order_by(ChainEntry.seq)
            .limit(batch)
        ).all()
        if not rows:  # the head's entry went missing while walking
            problems.append(f"chain entry {head}: missing (the chain ends at entry {previous['seq']})")
            break
        records = _load_records(session, rows)
        evidence_of: dict[tuple[str, int], list[str]] = {}
        for row in rows:
            key = (row.record_kind, row.record_id)
            if row.record_kind.endswith(EXTENSION_SUFFIX):
                latest_extension[(row.record_kind.removesuffix(EXTENSION_SUFFIX), row.record_id)] = (
                    row.record_sha256
                )
                continue
            record = records.get(key)
            if record is None:
                problems.append(
                    f"chain entry {row.seq}: {row.record_kind} observation {row.record_id} is missing"
                )
                continue
            chained.add(key)
            evidence_of[key] = evidence_hashes(record)
            if canonical_sha256(record) != row.record_sha256:
                problems.append(
                    f"chain entry {row.seq}: {row.record_kind} observation {row.record_id} differs from the "
                    "chained record"
                )
        run = [entry_json(r) for r in rows]
        problems.extend(check_links(run, evidence_of, previous=previous))
        previous = run[-1]
        count += len(rows)
    intervals = _read_intervals(session)
    unchained = _read_unchained(session, chained)
    # read after the rows above, so it holds the entries of every row committed after the head that they saw
    later = _chained_after(session, head)
    problems.extend(_check_intervals(intervals, latest_extension, later))
    problems.extend(_check_unchained(unchained, later))
    return ChainReport(
        ok=not problems, entries=count, first_problem=problems[0] if problems else None, problems=problems
    )


def _load_records(session: Session, rows: Sequence[ChainEntry]) -> dict[tuple[str, int], dict[str, Any]]:
    records: dict[tuple[str, int], dict[str, Any]] = {}
    for kind, model in CHAINED_MODELS.items():
        ids = [r.record_id for r in rows if r.record_kind == kind]
        if ids:
            query = select(model).where(model.id.in_(ids))
            if model is OfferObservation:  # an offer's record holds its signals: load them all at once
                query = query.options(selectinload(OfferObservation.signals))
            found = cast(Sequence[Observation], session.scalars(query).all())
            for obs in found:
                records[(kind, obs.id)] = observation_record(obs)
    return records


Intervals = list[tuple[str, Sequence[StoreObservation | AdSighting]]]


def _read_intervals(session: Session) -> Intervals:
    # populate_existing: a row the walk loaded earlier may have been extended since
    fresh = {"populate_existing": True}
    return [
        (
            "store",
            session.scalars(
                select(StoreObservation).order_by(StoreObservation.id), execution_options=fresh
            ).all(),
        ),
        ("ad", session.scalars(select(AdSighting).order_by(AdSighting.id), execution_options=fresh).all()),
    ]


def _read_unchained(session: Session, chained: set[tuple[str, int]]) -> list[tuple[str, int]]:
    """The (kind, id) of the rows the walk did not find in the chain."""
    found: list[tuple[str, int]] = []
    for kind, model in CHAINED_MODELS.items():
        found += [
            (kind, i)
            for i in session.scalars(select(model.id).order_by(model.id))
            if (kind, i) not in chained
        ]
    return found


def _chained_after(session: Session, head: int) -> set[tuple[str, int]]:
    """The (kind, id) of the records chained or extended after entry ``head``."""
    rows = session.execute(
        select(ChainEntry.record_kind, ChainEntry.record_id).where(ChainEntry.seq > head)
    ).all()
    return {(kind.removesuffix(EXTENSION_SUFFIX), record_id) for kind, record_id in rows}


def _check_intervals(
    intervals: Intervals,
    latest_extension: Mapping[tuple[str, int], str],
    later: set[tuple[str, int]],
) -> list[str]:
    problems: list[str] = []
    for kind, rows in intervals:
        for obs in rows:
            if (kind, obs.id) in later:  # extended after the walk's head: the next walk checks it
                continue
            expected = latest_extension.get((kind, obs.id))
            start = obs.first_seen if isinstance(obs, StoreObservation) else obs.seen_at
            if expected is None:
                if obs.checks != 1 or obs.last_seen != start:
                    problems.append(f"{kind} observation {obs.id}: extended without a chain entry")
            elif canonical_sha256(extension_record(obs)) != expected:
                problems.append(
                    f"{kind} observation {obs.id}: last_seen/checks differ from its last chain entry"
                )
    return problems


def _check_unchained(unchained: Sequence[tuple[str, int]], later: set[tuple[str, int]]) -> list[str]:
    missing: dict[str, int] = {}
    for key in unchained:
        if key not in later:  # otherwise committed after the walk's head
            missing[key[0]] = missing.get(key[0], 0) + 1
    return [f"{n} {kind} observations are not in the chain" for kind, n in missing.items()]
