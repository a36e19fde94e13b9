"""Content-addressed blob store: bytes are written once under their SHA-256, atomically, never rewritten."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
import time
from pathlib import Path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class BlobStore:
    """Blobs live at ``root/ab/cdef...``; a put of bytes already stored writes nothing."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:]

    def put(self, data: bytes) -> tuple[str, bool]:
        """Store ``data``; return its SHA-256 and whether it was new."""
        digest = sha256_hex(data)
        target = self.path(digest)
        if target.exists():
            return digest, False
        target.parent.mkdir(parents=True, exist_ok=True)
        # temp file in the same directory + fsync + rename: a crash leaves either nothing or the whole blob
        fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temp, target)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        # the rename is durable only once its directory is: a row committed next may point at this blob
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        return digest, True

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
