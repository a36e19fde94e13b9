"""Content-addressed blob store: bytes are written once under their SHA-256, atomically, never rewritten."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# statfs(2) magic numbers of local filesystems whose syncfs flushes what an fsync of each file would: ext2/3/4, XFS,
# Btrfs, F2FS, JFS, ZFS, overlay, tmpfs. Elsewhere (NFS, FUSE such as sshfs) each file is fsynced: a FUSE
# filesystem may ignore syncfs.
SYNCFS_FILESYSTEMS = frozenset(
    {0xEF53, 0x58465342, 0x9123683E, 0xF2F52010, 0x3153464A, 0x2FC12FC1, 0x794C7630, 0x01021994}
)
# names a store remembers as durable (about 150 bytes each), so that a long crawl's memory stays flat
DURABLE_REMEMBERED = 100_000


def filesystem_magic(fd: int) -> int | None:
    """The statfs(2) ``f_type`` of the filesystem that holds the open file ``fd`` (Linux), else None."""
    try:
        fstatfs = ctypes.CDLL(None, use_errno=True).fstatfs
    except (AttributeError, OSError, TypeError):  # no such symbol; no C library to load (Windows)
        return None
    buffer = (ctypes.c_byte * 512)()  # struct statfs, whose first member is f_type (a C long)
    if fstatfs(fd, buffer) != 0:
        return None
    return ctypes.c_long.from_buffer(buffer).value & 0xFFFFFFFF


def syncfs_call(fd: int) -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)`` when the open directory ``fd`` lies on a local filesystem it flushes and the kernel
    reports writeback errors through it (5.8 and later), else None."""
    release = platform.release().split(".")
    try:
        if (int(release[0]), int(release[1])) < (5, 8) or filesystem_magic(fd) not in SYNCFS_FILESYSTEMS:
            return None
        return cast(Callable[[int], int], ctypes.CDLL(None, use_errno=True).syncfs)
    except (AttributeError, OSError, TypeError, ValueError, IndexError):
        return None


class BlobStore:
    """Blobs live at ``root/ab/cdef...``; a put of bytes already stored writes nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._syncfs: Callable[[int], int] | None = None
        self._checked = False
        # names made durable by this store: a name that exists but is not among them (a put that failed after
        # its rename, another process between its rename and its barrier) gets a barrier before it is cited
        self._durable: set[str] = set()
        self._renamed_by_failed_put: set[str] = set()

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its SHA-256 and whether it was new."""
        return self.put_all([data])[0]

    def put_all(self, blobs: Sequence[bytes]) -> list[tuple[str, bool]]:
        """Store several blobs behind one durability barrier: each one's SHA-256 and whether it was new.

        Each is written to a temp file in its directory and renamed once the temp files are durable; a second
        barrier makes the new names durable. A crash leaves either nothing or the whole blob under its name,
        and a row committed after this returns may cite any of them."""
        if not blobs:
            return []
        self.root.mkdir(parents=True, exist_ok=True)
        # opened before the writes: syncfs reports the writeback errors seen since its file was opened
        root = os.open(self.root, os.O_RDONLY)
        try:
            return self._put_all(blobs, root)
        finally:
            os.close(root)

    def _put_all(self, blobs: Sequence[bytes], root: int) -> list[tuple[str, bool]]:
        if not self._checked:
            self._syncfs, self._checked = syncfs_call(root), True
        stored: list[tuple[str, bool]] = []
        pending: dict[str, tuple[Path, Path]] = {}  # sha256 -> (temp file, its name)
        unsure: set[Path] = set()  # directories of names that exist but are not known durable
        renamed: list[str] = []
        try:
            for data in blobs:
                digest = sha256_hex(data)
                target = self.path(digest)
                if digest in pending or target.exists():
                    if digest not in pending and digest not in self._durable:
                        unsure.add(target.parent)
                    # new all the same when a failed put of this store renamed it: no one archived it yet
                    stored.append((digest, digest in self._renamed_by_failed_put))
                    continue
                if not target.parent.is_dir():
                    target.parent.mkdir(exist_ok=True)
                    unsure.add(self.root)  # a new directory is durable once its parent is
                fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                pending[digest] = (Path(temp_name), target)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                stored.append((digest, True))
            if pending:
                self._make_durable(root, [temp for temp, _ in pending.values()])
                for digest, (temp, target) in pending.items():
                    os.replace(temp, target)
                    renamed.append(digest)
            directories = unsure | {target.parent for _, target in pending.values()}
            if directories:  # a rename is durable only once its directory is
                self._make_durable(root, sorted(directories))
        except BaseException:
            for temp, _ in pending.values():
                temp.unlink(missing_ok=True)
            self._renamed_by_failed_put.update(renamed)
            raise
        self._renamed_by_failed_put.difference_update(digest for digest, _ in stored)
        if len(self._durable) > DURABLE_REMEMBERED:
            self._durable = set()  # only spares a barrier
        self._durable.update(digest for digest, _ in stored)
        return stored

    def _make_durable(self, root: int, paths: list[Path]) -> None:
        # One syncfs covers every file of the store's filesystem: one device flush for the group. An fsync of
        # each file flushes the device once per file, the better part of a check's filing time on a crawl.
        if self._syncfs is not None:
            if self._syncfs(root) != 0:
                error = ctypes.get_errno()
                raise OSError(error, os.strerror(error), str(self.root))
            return
        for path in paths:
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def get(self, sha256: str) -> bytes:
        return self.path(sha256).read_bytes()

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).exists()

    def set_aside(self, sha256: str) -> None:
        """Move a blob whose bytes no longer match its name to ``root/damaged/`` (kept for inspection), so
        that the right bytes can be stored again under it."""
        damaged = self.root / "damaged"
        damaged.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):  # another process set it aside first
            os.replace(self.path(sha256), damaged / f"{sha256}.{time.time_ns()}")
