"""Where a run keeps its database, evidence and lock: one data directory."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from promowatch.db.engine import sqlite_url


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

    @classmethod
    def resolve(cls, data_dir: str | None = None, db_url: str | None = None) -> DataDir:
        """``--data-dir`` / $PROMOWATCH_DATA / the platform's user data dir; ``--db`` / $PROMOWATCH_DB."""
        root = Path(data_dir or os.environ.get("PROMOWATCH_DATA") or platformdirs.user_data_dir("promowatch"))
        root.mkdir(parents=True, exist_ok=True)
        return cls(root=root, db_url=db_url or os.environ.get("PROMOWATCH_DB") or sqlite_url(root))
