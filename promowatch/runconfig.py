"""What one run works from: the watchlist parsed once, the data directory, the clock and one database engine.

A :class:`RunContext` is built once per process by whoever runs the steps (``promowatch run``: the CLI) and passed
down; the crawl's components find it in the Scrapy settings (``PROMOWATCH_RUN_CONTEXT``), the way
scrapy-playwright reads its ``Config`` once. Closing it disposes of the engine, so SQLite's write-ahead log is
folded back when the run ends.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self
from weakref import WeakKeyDictionary

from promowatch.clock import Clock
from promowatch.config import WatchedRetailer, Watchlist, load_watchlist
from promowatch.datadir import DataDir

if TYPE_CHECKING:
    from scrapy.crawler import Crawler
    from sqlalchemy.orm import Session, sessionmaker


@dataclass(eq=False)
class RunContext:
    """The run's watchlist, data directory and clock, and its database, opened on first use."""

    watchlist: Watchlist
    data: DataDir
    clock: Clock
    _sessions: sessionmaker[Session] | None = field(default=None, repr=False)

    @property
    def sessions(self) -> sessionmaker[Session]:
        """The session factory over the run's one engine (created and migrated on first use)."""
        if self._sessions is None:
            from promowatch.db.engine import open_database

            self._sessions = open_database(self.data.db_url)
        return self._sessions

    def close(self) -> None:
        """Dispose of the engine: its pooled connections are closed now, not whenever the process ends."""
        if self._sessions is not None:
            from promowatch.db.engine import close_database

            close_database(self._sessions)
            self._sessions = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def __deepcopy__(self, memo: dict[int, Any]) -> Self:
        # Scrapy copies its settings for each crawler: the run's context is shared by them, not copied
        return self

    @classmethod
    def from_settings(cls, settings: Any) -> RunContext:
        """A context from the crawl's settings, for a crawl started without one (``scrapy crawl``, workers)."""
        watchlist_path = settings.get("PROMOWATCH_WATCHLIST")
        if not watchlist_path:
            raise ValueError("PROMOWATCH_WATCHLIST is not set: promowatch crawls need a watchlist")
        data = DataDir.resolve(
            settings.get("PROMOWATCH_DATA_DIR") or None, settings.get("PROMOWATCH_DB") or None
        )
        anchor = settings.getfloat("PROMOWATCH_NOW_ANCHOR") or None
        clock = Clock.parse(settings.get("PROMOWATCH_NOW"), anchor)
        return cls(load_watchlist(Path(watchlist_path)), data, clock)


# contexts made for crawlers that were given none, so that their spider and pipelines share one
_BUILT_FOR: WeakKeyDictionary[Crawler, RunContext] = WeakKeyDictionary()


def crawl_context(crawler: Crawler) -> RunContext:
    """The run's context: the one in the settings, else one built once for this crawler and closed when its
    engine stops."""
    given = crawler.settings.get("PROMOWATCH_RUN_CONTEXT")
    if given is not None:
        return given
    if crawler not in _BUILT_FOR:
        from scrapy import signals

        context = _BUILT_FOR[crawler] = RunContext.from_settings(crawler.settings)
        crawler.signals.connect(context.close, signal=signals.engine_stopped, weak=False)
    return _BUILT_FOR[crawler]


@dataclass(frozen=True)
class RunConfig:
    """A crawl's view of the run: its context and the retailers it crawls (``PROMOWATCH_RETAILERS``)."""

    context: RunContext
    retailers: tuple[WatchedRetailer, ...]

    @property
    def watchlist(self) -> Watchlist:
        return self.context.watchlist

    @property
    def data(self) -> DataDir:
        return self.context.data

    @property
    def clock(self) -> Clock:
        return self.context.clock

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> RunConfig:
        context = crawl_context(crawler)
        wanted = [s for s in (crawler.settings.get("PROMOWATCH_RETAILERS") or "").split(",") if s]
        retailers = tuple(r for r in context.watchlist.retailers if not wanted or r.slug in wanted)
        return cls(context, retailers)
