"""What one crawl run works from, read once from the Scrapy settings (like scrapy-playwright's Config)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from promowatch.clock import Clock
from promowatch.config import WatchedRetailer, Watchlist, load_watchlist
from promowatch.datadir import DataDir


@dataclass(frozen=True)
class RunConfig:
    watchlist: Watchlist
    data: DataDir
    clock: Clock
    retailers: tuple[WatchedRetailer, ...]

    @classmethod
    def from_settings(cls, settings: Any) -> RunConfig:
        watchlist_path = settings.get("PROMOWATCH_WATCHLIST")
        if not watchlist_path:
            raise ValueError("PROMOWATCH_WATCHLIST is not set: promowatch crawls need a watchlist")
        watchlist = load_watchlist(Path(watchlist_path))
        data = DataDir.resolve(
            settings.get("PROMOWATCH_DATA_DIR") or None, settings.get("PROMOWATCH_DB") or None
        )
        wanted = [s for s in (settings.get("PROMOWATCH_RETAILERS") or "").split(",") if s]
        retailers = tuple(r for r in watchlist.retailers if not wanted or r.slug in wanted)
        anchor = settings.getfloat("PROMOWATCH_NOW_ANCHOR") or None
        return cls(watchlist, data, Clock.parse(settings.get("PROMOWATCH_NOW"), anchor), retailers)
