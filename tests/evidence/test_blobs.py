"""The content-addressed blob store: bytes under their SHA-256, written once, a group behind one barrier."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from promowatch.evidence.blobs import BlobStore


def files_under(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


def test_a_group_stores_each_new_blob_once_under_its_hash(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    (first,) = store.put_all([b"page one"])
    stored = store.put_all([b"page two", b"page one", b"page two", b"page three"])
    sha = {body: hashlib.sha256(body).hexdigest() for body in (b"page one", b"page two", b"page three")}
    assert first == (sha[b"page one"], True)
    # new only the first time, in the group as across groups
    assert stored == [
        (sha[b"page two"], True),
        (sha[b"page one"], False),
        (sha[b"page two"], False),
        (sha[b"page three"], True),
    ]
    for body, digest in sha.items():
        assert store.get(digest) == body
    assert files_under(tmp_path / "blobs") == sorted(d[2:] for d in sha.values())  # no temp file left


def test_a_group_that_fails_leaves_no_temp_file_and_the_earlier_blobs_intact(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    kept, _ = store.put(b"stored before")
    with pytest.raises(TypeError):
        store.put_all([b"new one", b"new two", None])  # type: ignore[list-item]
    assert files_under(tmp_path / "blobs") == [kept[2:]]
    assert store.put_all([b"new one"]) == [(hashlib.sha256(b"new one").hexdigest(), True)]


def test_a_name_left_without_its_barrier_gets_one_before_it_is_cited_again(tmp_path: Path) -> None:
    # a put whose last barrier failed leaves its names in place; the next put of the same bytes must make them
    # durable before a row cites them, not take them as stored
    store = BlobStore(tmp_path / "blobs")
    make_durable = store._make_durable
    barriers: list[list[Path]] = []

    def failing_once(paths: list[Path]) -> None:
        barriers.append(paths)
        if len(barriers) == 2:
            raise OSError(5, "Input/output error")
        make_durable(paths)

    store._make_durable = failing_once  # type: ignore[method-assign]
    with pytest.raises(OSError, match="Input/output"):
        store.put_all([b"page one", b"page two"])
    sha = hashlib.sha256(b"page one").hexdigest()
    assert store.get(sha) == b"page one"  # renamed before the barrier failed
    # new all the same: the failed put handed it to no one, so no WARC holds it yet
    assert store.put_all([b"page one"]) == [(sha, True)]
    assert barriers[2] == [store.path(sha).parent]  # its directory made durable this time
    assert store.put_all([b"page one"]) == [(sha, False)]
    assert len(barriers) == 3  # and known durable from then on
