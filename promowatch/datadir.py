"""Where a run keeps its database, evidence and lock: one data directory."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class DataDir:
    root: Path
    db_url: str

    @property
    def blobs(self) -> Path:
        return self.root / "evidence" / "blobs"

    @property
    def warcs(self) -> Path:
        return self.root / "evidence" / "warc"

    @property
    def lock(self) -> Path:
        return self.root / "promowatch.lock"

    @staticmethod
    def default_root(data_dir: str | None = None) -> Path:
        """``--data-dir``, else $PROMOWATCH_DATA, else the platform's user data dir."""
        return Path(data_dir or os.environ.get("PROMOWATCH_DATA") or platformdirs.user_data_dir("promowatch"))

    @classmethod
    def resolve(cls, data_dir: str | None = None, db_url: str | None = None) -> DataDir:
        """The data directory (created when missing) and the database: ``--db`` / $PROMOWATCH_DB, else SQLite
        inside the directory."""
        root = cls.default_root(data_dir)
        try:
            root.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise NotADirectoryError(errno.ENOTDIR, "is a file, not a data directory", str(root)) from None
        if not os.access(root, os.W_OK | os.X_OK):
            raise PermissionError(errno.EACCES, "data directory not writable", str(root))
        return cls(
            root=root,
            db_url=db_url or os.environ.get("PROMOWATCH_DB") or f"sqlite:///{root / 'promowatch.db'}",
        )
