"""The hash chain in the database: intact after real appends, and each kind of tampering named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from promowatch.db.models import ChainEntry, OfferObservation, OfferSignal, StoreObservation
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.canonical import canonical_json
from promowatch.evidence.chain import verify_chain
from promowatch.evidence.integrity import verify_evidence
from tests.evidence.builder import CaseWorld


def test_chain_of_the_scenario_is_intact(world: CaseWorld) -> None:
    with world.sessions() as session:
        report = verify_chain(session)
    assert report.ok, report.problems
    # 1 ad + 24 offers + 4 store intervals + 7 re-checks x 4 stores
    assert report.entries == 1 + 24 + 4 + 28


def _edit_price(s: Session, w: CaseWorld) -> None:
    s.execute(update(OfferObservation).where(OfferObservation.id == w.offer_ids[3]).values(price=399))


def _delete_offer(s: Session, w: CaseWorld) -> None:
    s.execute(delete(OfferSignal).where(OfferSignal.observation_id == w.offer_ids[5]))
    s.execute(delete(OfferObservation).where(OfferObservation.id == w.offer_ids[5]))


def _edit_entry_time(s: Session, w: CaseWorld) -> None:
    entry = s.scalars(select(ChainEntry).where(ChainEntry.seq == 10)).one()
    entry.created_at = entry.created_at + timedelta(seconds=1)


def _extend_silently(s: Session, w: CaseWorld) -> None:
    interval = s.get_one(StoreObservation, w.store_ids[0])
    interval.last_seen, interval.checks = interval.last_seen + timedelta(days=3), interval.checks + 5


def _edit_evidence_hash(s: Session, w: CaseWorld) -> None:
    s.execute(
        update(OfferObservation).where(OfferObservation.id == w.offer_ids[0]).values(evidence_sha256="0" * 64)
    )


@pytest.mark.parametrize(
    ("tamper", "named"),
    [
        pytest.param(_edit_price, "differs from the chained record", id="offer-price-edited"),
        pytest.param(_delete_offer, "is missing", id="offer-deleted"),
        pytest.param(_edit_entry_time, "chain entry 10: entry hash does not match", id="entry-time-edited"),
        pytest.param(_extend_silently, "last_seen/checks differ", id="interval-extended-without-entry"),
        pytest.param(_edit_evidence_hash, "differs from the chained record", id="evidence-hash-swapped"),
    ],
)
def test_tampering_in_the_database_is_named(
    world: CaseWorld, tamper: Callable[[Session, CaseWorld], None], named: str
) -> None:
    with world.sessions.begin() as session:
        tamper(session, world)
    with world.sessions() as session:
        report = verify_chain(session)
    assert not report.ok
    assert report.first_problem is not None and named in report.first_problem, report.problems


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        # the bytes a third party must reproduce with json.dumps(sort_keys, compact, ensure_ascii=False)
        pytest.param({"b": 1, "a": "é"}, b'{"a":"\xc3\xa9","b":1}', id="sorted-utf8-compact"),
        pytest.param({"p": __import__("decimal").Decimal("499")}, b'{"p":"499.00"}', id="decimal-two-places"),
    ],
)
def test_canonical_json(record: dict[str, object], expected: bytes) -> None:
    assert canonical_json(record) == expected


def test_verify_evidence_rehashes_blobs(world: CaseWorld) -> None:
    blobs = BlobStore(world.blobs_root)
    assert verify_evidence(world.sessions, blobs).ok
    with world.sessions() as session:
        victim = session.get_one(OfferObservation, world.offer_ids[2]).evidence_sha256
    assert victim is not None
    path = blobs.path(victim)
    data = bytearray(path.read_bytes())
    data[10] ^= 0x01
    path.write_bytes(bytes(data))
    report = verify_evidence(world.sessions, blobs)
    assert not report.ok
    assert f"blob {victim[:12]} was altered" in report.message
