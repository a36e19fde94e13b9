"""The hash chain in the database: intact after real appends, and each kind of tampering named."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, event, select, update
from sqlalchemy.orm import ORMExecuteState, Session

from promowatch.db.models import ChainEntry, OfferObservation, OfferSignal, StoreObservation
from promowatch.evidence import chain
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


# The scenario's chain, seq by seq: 1 ad, 2-25 offers, 26-29 the first store intervals, 30-57 their re-checks.
# With batches of 7 the batches end on offers (7, 14, 21), a store interval (28) and re-checks (35 ... 56).
SCENARIO_ENTRIES = 57


@pytest.mark.parametrize("batch", [1, 2, 6, 7, 28, 56, 57, 58, 5000])
def test_untouched_chain_verifies_whatever_the_batch_size(world: CaseWorld, batch: int) -> None:
    # issue 18 item 6: each batch's last entry was re-hashed with the next batch's evidence map
    with world.sessions() as session:
        report = verify_chain(session, batch=batch)
    assert report.ok, report.problems
    assert report.entries == SCENARIO_ENTRIES


def _record_id_at(s: Session, seq: int) -> int:
    return s.scalars(select(ChainEntry.record_id).where(ChainEntry.seq == seq)).one()


def _edit_time_at_14(s: Session, w: CaseWorld) -> None:
    entry = s.scalars(select(ChainEntry).where(ChainEntry.seq == 14)).one()
    entry.created_at = entry.created_at + timedelta(seconds=1)


def _break_link_at_8(s: Session, w: CaseWorld) -> None:
    s.execute(update(ChainEntry).where(ChainEntry.seq == 8).values(prev_sha256="f" * 64))


def _delete_entry_15(s: Session, w: CaseWorld) -> None:
    s.execute(delete(ChainEntry).where(ChainEntry.seq == 15))


def _edit_price_at_21(s: Session, w: CaseWorld) -> None:
    offer = _record_id_at(s, 21)
    s.execute(update(OfferObservation).where(OfferObservation.id == offer).values(price=399))


def _swap_evidence_at_28(s: Session, w: CaseWorld) -> None:
    interval = _record_id_at(s, 28)
    s.execute(
        update(StoreObservation).where(StoreObservation.id == interval).values(evidence_sha256="0" * 64)
    )


def _extend_silently_at_35(s: Session, w: CaseWorld) -> None:
    interval = s.get_one(StoreObservation, _record_id_at(s, 35))
    interval.last_seen, interval.checks = interval.last_seen + timedelta(days=3), interval.checks + 5


@pytest.mark.parametrize(
    ("tamper", "expected"),
    [
        pytest.param(
            _edit_time_at_14, ["chain entry 14: entry hash does not match its content"], id="last-of-a-batch"
        ),
        pytest.param(
            _break_link_at_8,
            [
                "chain entry 8: prev_sha256 does not match entry 7",
                "chain entry 8: entry hash does not match its content",
            ],
            id="first-of-a-batch-unlinked",
        ),
        pytest.param(
            _delete_entry_15,
            [
                "chain entry 16: follows entry 14 (entries missing)",
                "chain entry 16: prev_sha256 does not match entry 14",
                "1 offer observations are not in the chain",
            ],
            id="first-of-a-batch-deleted",
        ),
        pytest.param(_edit_price_at_21, ["differs from the chained record"], id="offer-at-boundary-edited"),
        pytest.param(
            _swap_evidence_at_28,
            # the entry's hash covers the evidence its record cites
            ["chain entry 28: store observation", "chain entry 28: entry hash does not match"],
            id="store-at-boundary-evidence-swapped",
        ),
        pytest.param(
            _extend_silently_at_35, ["last_seen/checks differ"], id="re-check-at-boundary-edited-silently"
        ),
    ],
)
def test_tampering_at_a_batch_boundary_is_named_the_same_whatever_the_batch_size(
    world: CaseWorld, tamper: Callable[[Session, CaseWorld], None], expected: list[str]
) -> None:
    """The scenario's boundaries of batches of 7 are tampered with: each is named, and nothing else is."""
    with world.sessions.begin() as session:
        tamper(session, world)
    for batch in (7, 1, 5000):
        with world.sessions() as session:
            report = verify_chain(session, batch=batch)
        assert len(report.problems) == len(expected), (batch, report.problems)
        for problem, named in zip(report.problems, expected, strict=True):
            assert named in problem, (batch, report.problems)


def _chain_copies_of_an_offer(world: CaseWorld, copies: int) -> None:
    """``copies`` more offer observations like the scenario's first, each citing its evidence, chained in one
    transaction as a crawl's grouped commit chains them."""
    with world.sessions.begin() as s:
        model = s.get_one(OfferObservation, world.offer_ids[0])
        fresh = []
        for n in range(copies):
            offer = OfferObservation(
                product_id=model.product_id,
                observed_at=model.observed_at + timedelta(days=3, minutes=n),
                price=model.price,
                regular_price=model.regular_price,
                currency=model.currency,
                availability=model.availability,
                orderable=model.orderable,
                http_status=200,
                final_url=model.final_url,
                render=model.render,
                evidence_sha256=model.evidence_sha256,
                screenshot_sha256=model.screenshot_sha256,
            )
            offer.signals.append(
                OfferSignal(field="availability", source="text", raw="Nicht lieferbar", value="out_of_stock")
            )
            fresh.append(offer)
        s.add_all(fresh)
        s.flush()
        links = [("offer", o.id, chain.observation_record(o), o.observed_at) for o in fresh]
        chain.append_all(s, links)


def test_a_chain_of_several_default_batches_verifies(world: CaseWorld) -> None:
    # 5,000 is the default batch: entry 5,000 ends one and cites evidence
    _chain_copies_of_an_offer(world, 5_050 - SCENARIO_ENTRIES)
    with world.sessions() as session:
        report = verify_chain(session)
    assert report.ok, report.problems[:3]
    assert report.entries == 5_050
    assert verify_evidence(world.sessions, BlobStore(world.blobs_root)).ok


def _write_meanwhile(world: CaseWorld) -> None:
    """What a crawl commits meanwhile: a new offer, a new store interval and a re-check of an open one."""
    _chain_copies_of_an_offer(world, 1)
    with world.sessions.begin() as s:
        last = s.get_one(StoreObservation, world.store_ids[-1])
        last.last_seen, last.checks = last.last_seen + timedelta(hours=2), last.checks + 1
        s.flush()
        chain.append_extension(s, last, last.last_seen)
        interval = StoreObservation(
            product_id=last.product_id,
            store_id=last.store_id,
            first_seen=last.last_seen + timedelta(hours=2),
            last_seen=last.last_seen + timedelta(hours=2),
            checks=1,
            availability="limited",
            quantity=3,
            evidence_sha256=last.evidence_sha256,
        )
        s.add(interval)
        s.flush()
        chain.append_observation(s, interval, interval.first_seen)


def _selects(state: ORMExecuteState, model: type) -> bool:
    described = state.statement.column_descriptions if state.is_select else []  # type: ignore[attr-defined]
    return bool(described) and described[0]["entity"] is model and described[0]["expr"] is model


def _while_walking(state: ORMExecuteState) -> bool:
    return _selects(state, ChainEntry)


def _after_walking(state: ORMExecuteState) -> bool:
    # reading every interval: the walk is over
    return _selects(state, StoreObservation) and state.statement.whereclause is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "moment",
    [pytest.param(_while_walking, id="while-walking"), pytest.param(_after_walking, id="after-walking")],
)
def test_a_crawl_writing_during_the_verify_raises_no_false_problem(
    world: CaseWorld, moment: Callable[[ORMExecuteState], bool], tmp_path: Path
) -> None:
    written: list[bool] = []
    with world.sessions() as session:

        @event.listens_for(session, "do_orm_execute")
        def crawl_commits(state: ORMExecuteState) -> None:
            # another connection commits just before the verify's statement runs, as a crawl process would
            if not written and moment(state):
                _write_meanwhile(world)
                written.append(True)

        report = verify_chain(session, batch=7)
    assert written
    assert report.ok, report.problems
    with world.sessions() as session:
        again = verify_chain(session, batch=7)
    assert again.ok, again.problems
    assert again.entries == SCENARIO_ENTRIES + 3
