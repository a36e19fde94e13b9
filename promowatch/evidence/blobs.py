"""Content-addressed blob store: bytes are written once under their SHA-256, atomically, never rewritten."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# names a store remembers as durable (about 150 bytes each), so that a long crawl's memory stays flat
DURABLE_REMEMBERED = 100_000
# the fsyncs of a group run side by side: the filesystem's journal then commits them together, where one
# after the other each would wait for its own flush of the disk
FLUSHING_THREADS = 16


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BlobStore:
    """Blobs live at ``root/ab/cdef...``; a put of bytes already stored writes nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root
        # names made durable by this store: a name that exists but is not among them (a put that failed after
        # its rename, another process between its rename and its barrier) gets a barrier before it is cited
        self._durable: set[str] = set()
        # blob directories whose own name is known durable (made by a put of this store that completed): any
        # other, even one that exists, may have been made by a put that failed before its parent's barrier
        self._durable_dirs: set[str] = set()
        self._renamed_by_failed_put: set[str] = set()
        self._flushing: ThreadPoolExecutor | None = None

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
        self._make_root()
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
                        if target.parent.name not in self._durable_dirs:
                            unsure.add(self.root)
                    # new all the same when a failed put of this store renamed it: no one archived it yet
                    stored.append((digest, digest in self._renamed_by_failed_put))
                    continue
                if not target.parent.is_dir():
                    target.parent.mkdir(exist_ok=True)
                if target.parent.name not in self._durable_dirs:
                    unsure.add(self.root)  # a new directory is durable once its parent is
                fd, temp_name = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
                pending[digest] = (Path(temp_name), target)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                stored.append((digest, True))
            if pending:
                self._make_durable([temp for temp, _ in pending.values()])
                for digest, (temp, target) in pending.items():
                    os.replace(temp, target)
                    renamed.append(digest)
            directories = unsure | {target.parent for _, target in pending.values()}
            if directories:  # a rename is durable only once its directory is
                self._make_durable(sorted(directories))
        except BaseException:
            for temp, _ in pending.values():
                temp.unlink(missing_ok=True)
            self._renamed_by_failed_put.update(renamed)
            raise
        self._renamed_by_failed_put.difference_update(digest for digest, _ in stored)
        if len(self._durable) > DURABLE_REMEMBERED:
            self._durable = set()  # only spares a barrier
        self._durable.update(digest for digest, _ in stored)
        self._durable_dirs.update(digest[:2] for digest, _ in stored)
        return stored

    def _make_root(self) -> None:
        """Create the store's directory and any missing parent, each name made durable in its parent: a
        blob is only as durable as every directory on its path."""
        if self.root.is_dir():
            return
        missing = [self.root, *(p for p in self.root.parents if not p.exists())]
        self.root.mkdir(parents=True, exist_ok=True)
        self._make_durable(sorted({directory.parent for directory in missing}))

    def _make_durable(self, paths: list[Path]) -> None:
        """Flush each file's bytes, or each directory's names, to the disk (``os.fsync``)."""
        if len(paths) == 1:
            _fsync(paths[0])
            return
        if self._flushing is None:
            self._flushing = ThreadPoolExecutor(FLUSHING_THREADS, thread_name_prefix="blob-fsync")
        for _ in self._flushing.map(_fsync, paths):  # raises the first failure
            pass

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
