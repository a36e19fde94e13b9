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
    store.root.mkdir()  # the barriers counted are the put's own
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
    # its directory made durable this time, and the directory's own name in the store's root
    assert barriers[2] == [store.root, store.path(sha).parent]
    assert store.put_all([b"page one"]) == [(sha, False)]
    assert len(barriers) == 3  # and known durable from then on


def recording(store: BlobStore) -> list[list[Path]]:
    """The paths of each durability barrier the store makes from now on (they still happen)."""
    make_durable, barriers = store._make_durable, []

    def recorded(paths: list[Path]) -> None:
        barriers.append(list(paths))
        make_durable(paths)

    store._make_durable = recorded  # type: ignore[method-assign]
    return barriers


def test_a_new_store_makes_the_names_of_the_directories_it_creates_durable(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "data" / "evidence" / "blobs")
    barriers = recording(store)
    store.put(b"page one")
    flushed = {path for barrier in barriers for path in barrier}
    # each directory created on the way is named in its parent, which must be flushed too
    assert {tmp_path, tmp_path / "data", tmp_path / "data" / "evidence", store.root} <= flushed


def test_a_directory_left_by_a_failed_put_gets_its_name_flushed_by_the_next(tmp_path: Path) -> None:
    store = BlobStore(tmp_path / "blobs")
    store.put(b"first")  # the root exists and is durable
    sha = hashlib.sha256(b"second").hexdigest()
    store.path(sha).parent.mkdir()  # as a put that failed after creating it would leave it
    barriers = recording(store)
    store.put(b"second")
    assert store.root in {path for barrier in barriers for path in barrier}
