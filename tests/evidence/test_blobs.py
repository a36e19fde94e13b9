"""The content-addressed blob store: bytes under their SHA-256, written once, a group behind one barrier."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest

from promowatch.evidence.blobs import SYNCFS_FILESYSTEMS, BlobStore, filesystem_type


def files_under(root: Path) -> list[str]:
    return sorted(p.name for p in root.rglob("*") if p.is_file())


@pytest.mark.parametrize("syncfs", [True, False], ids=["syncfs", "fsync-each-file"])
def test_a_group_stores_each_new_blob_once_under_its_hash(tmp_path: Path, syncfs: bool) -> None:
    store = BlobStore(tmp_path / "blobs")
    if not syncfs:
        store._syncfs = None  # a C library without syncfs (macOS): each file and directory is flushed
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


# /proc/self/mountinfo lines (proc(5)): the first four from this project's CI machine, the fifth proc(5)'s example,
# the rest made up in that format: a FUSE and an NFS mount, and a disk mounted over /dev/shm
MOUNTINFO = """\
22 27 0:21 / /proc rw,relatime - proc proc rw
25 24 0:23 / /dev/shm rw,relatime - tmpfs tmpfs rw,size=24684092k
27 1 254:0 / / rw,relatime - ext4 /dev/vda rw,discard
28 27 0:25 / /mnt/sandboxing/tools ro,nosuid,nodev,relatime - tmpfs model_tools_unavailable ro,size=4k
36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw,errors=continue
40 27 0:50 / /srv/my\\040data rw,nosuid,nodev,relatime shared:30 - fuse.sshfs user@host:/data rw,user_id=0
41 27 0:51 / /srv/nfs rw,relatime shared:31 - nfs4 host:/export rw,vers=4.2
42 27 0:52 / /dev/shm rw,relatime - ext4 /dev/vdb rw
"""


@pytest.mark.parametrize(
    ("path", "kind"),
    [
        ("/var/lib/promowatch/blobs", "ext4"),
        ("/", "ext4"),
        ("/mnt/parent/promowatch", "ext3"),
        ("/mnt/parentless", "ext4"),  # a prefix of the name is not a parent
        ("/srv/my data/blobs", "fuse.sshfs"),  # octal escapes in the mount point
        ("/srv/nfs/blobs", "nfs4"),
        ("/dev/shm/x", "ext4"),  # mounted over the tmpfs, later in the list
    ],
)
def test_the_filesystem_of_a_path_is_its_deepest_mount(path: str, kind: str) -> None:
    assert filesystem_type(Path(path), MOUNTINFO) == kind


def test_the_store_flushes_its_local_filesystem_with_one_syncfs_on_linux(tmp_path: Path) -> None:
    store = BlobStore(tmp_path)
    if sys.platform.startswith("linux"):
        mountinfo = Path("/proc/self/mountinfo").read_text()
        assert filesystem_type(tmp_path.resolve(), mountinfo) in SYNCFS_FILESYSTEMS  # where the tests run
        assert store._syncfs is not None
    else:
        assert store._syncfs is None
