"""Content-addressed blob store: bytes are written once under their SHA-256, atomically, never rewritten."""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import cached_property
from pathlib import Path
from typing import cast


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Local filesystems whose syncfs flushes what an fsync of each file would. Elsewhere (NFS, FUSE) each file is
# fsynced: a FUSE filesystem may ignore syncfs.
SYNCFS_FILESYSTEMS = frozenset(
    {"ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "zfs", "overlay", "tmpfs"}
)


def filesystem_type(path: Path, mountinfo: str) -> str | None:
    """The type of the filesystem that holds ``path`` (resolved), read from ``/proc/self/mountinfo`` text."""
    best, kind = -1, None
    for line in mountinfo.splitlines():
        fields, _, tail = line.partition(" - ")
        parts = fields.split()
        if len(parts) < 5 or not tail:
            continue
        mount = Path(parts[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\"))
        # ">=": of two mounts on one point, the later one (listed after) is the one seen
        if (path == mount or mount in path.parents) and len(mount.parts) >= best:
            best, kind = len(mount.parts), tail.split()[0]
    return kind


def syncfs_call(root: Path) -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)`` when ``root`` lies on a local filesystem it flushes, else None."""
    try:
        kind = filesystem_type(root.resolve(), Path("/proc/self/mountinfo").read_text())
        if kind not in SYNCFS_FILESYSTEMS:
            return None
        return cast(Callable[[int], int], ctypes.CDLL(None, use_errno=True).syncfs)
    except (AttributeError, OSError, TypeError):  # no mountinfo, no such symbol, no C library (Windows)
        return None


class BlobStore:
    """Blobs live at ``root/ab/cdef...``; a put of bytes already stored writes nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @cached_property
    def _syncfs(self) -> Callable[[int], int] | None:
        # looked up at the first barrier: the store's directory exists by then
        return syncfs_call(self.root)

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
        stored: list[tuple[str, bool]] = []
        pending: dict[str, tuple[Path, Path]] = {}  # sha256 -> (temp file, its name)
        try:
            for data in blobs:
                digest = sha256_hex(data)
                target = self.path(digest)
                if digest in pending or target.exists():
                    stored.append((digest, False))
                    continue
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                pending[digest] = (Path(temp_name), target)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                stored.append((digest, True))
            if pending:
                self._make_durable([temp for temp, _ in pending.values()])
                for temp, target in pending.values():
                    os.replace(temp, target)
                # a rename is durable only once its directory is
                self._make_durable(list(dict.fromkeys(target.parent for _, target in pending.values())))
        except BaseException:
            for temp, _ in pending.values():
                temp.unlink(missing_ok=True)
            raise
        return stored

    def _make_durable(self, paths: list[Path]) -> None:
        # One syncfs covers every file of the store's filesystem: one device flush for the group. An fsync of
        # each file flushes the device once per file, the better part of a check's filing time on a crawl.
        if self._syncfs is not None:
            fd = os.open(self.root, os.O_RDONLY)
            try:
                if self._syncfs(fd) != 0:
                    error = ctypes.get_errno()
                    raise OSError(error, os.strerror(error), str(self.root))
            finally:
                os.close(fd)
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
