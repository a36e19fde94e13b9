"""Last pipeline: observations are committed with their evidence reference and their hash-chain entry, so a
crash mid-crawl leaves every committed observation intact (design.md invariant 2).

The items that reach it in one turn of the crawl's event loop share a transaction, committed at the end of that
turn (a group commit: up to ``PROMOWATCH_COMMIT_EVERY`` items). The evidence pipeline hands items on as its
filing thread files them, a group at a time, so one commit serves many observations, and none waits for a later
page: a crash loses only the turn it interrupts, as it would with a transaction per item.
``PROMOWATCH_COMMIT_SECONDS > 0`` keeps a group open that long across turns (a crash then loses at most that
window, never a committed observation); ``PROMOWATCH_COMMIT_EVERY = 1`` commits each item on its own. An item
that fails rolls back only itself: the items before it in the group are committed on their own first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Self

from scrapy import signals
from scrapy.crawler import Crawler
from scrapy.utils.asyncio import call_later
from sqlalchemy.orm import Session, sessionmaker

from pipelines.evidence import filed_blobs
from promowatch.db.writes import (
    Group,
    Known,
    finish_crawl_run,
    finish_group,
    index_blobs,
    start_crawl_run,
    write_ad_sightings,
    write_offer,
    write_store_list,
    write_store_stock,
)
from promowatch.items import AdItem, Capture, OfferItem, StoreListItem, StoreStockItem
from promowatch.runconfig import RunConfig

logger = logging.getLogger(__name__)
# Scrapy signal sent with the items of each transaction once it is committed (``items``): the item_scraped signal
# comes as an item leaves the pipelines, which can be before the end of the turn that commits it
LOOKS_COMMITTED = object()

# the write function of each kind of item (promowatch.db.writes)
WRITERS: dict[type, Callable[[Session, Any, Group], None]] = {
    OfferItem: write_offer,
    StoreStockItem: write_store_stock,
    StoreListItem: write_store_list,
    AdItem: write_ad_sightings,
}


class PersistPipeline:
    def __init__(
        self,
        config: RunConfig,
        sessions: sessionmaker[Session],
        crawler: Crawler,
        *,
        commit_every: int,
        commit_seconds: float,
    ) -> None:
        self.config = config
        self.sessions = sessions
        self.crawler = crawler
        self.stats = crawler.stats
        self.run_id: int | None = None
        self.commit_every = max(1, commit_every)
        self.commit_seconds = commit_seconds
        self.known = Known(sessions)  # what committed transactions made known (row ids, indexed blobs)
        self.session: Session | None = None  # the open group transaction
        self.group: Group | None = None  # its items' work
        self.pending: list[object] = []  # items in the open group, replayed one by one if one fails
        self.opened_at = 0.0
        self._timer: object | None = None

    @classmethod
    def from_crawler(cls, crawler: Crawler) -> Self:
        config = RunConfig.from_crawler(crawler)
        pipeline = cls(
            config,
            config.context.sessions,
            crawler,
            commit_every=crawler.settings.getint("PROMOWATCH_COMMIT_EVERY"),
            commit_seconds=crawler.settings.getfloat("PROMOWATCH_COMMIT_SECONDS"),
        )
        crawler.signals.connect(pipeline.spider_closed, signal=signals.spider_closed)
        return pipeline

    def open_spider(self) -> None:
        """Record the run, so every observation can say which crawl made it (and a killed one shows)."""
        spider = self.crawler.spider
        with self.sessions.begin() as session:
            self.run_id = start_crawl_run(session, spider.name if spider else "?", self.config.clock.now())
        if self.commit_every > 1 and self.commit_seconds > 0:
            from twisted.internet import task

            # a group is committed within its time window even when no further item arrives
            timer = task.LoopingCall(self.commit_due)
            timer.start(self.commit_seconds, now=False)
            self._timer = timer

    def spider_closed(self, reason: str) -> None:
        if self._timer is not None:
            self._timer.stop()  # type: ignore[attr-defined]
            self._timer = None
        self.commit()
        if self.run_id is None:  # built without a spider run (tests)
            return
        stats = self.stats.get_stats() if self.stats is not None else {}
        with self.sessions.begin() as session:
            finish_crawl_run(session, self.run_id, self.config.clock.now(), reason, stats)

    def process_item(self, item: object) -> object:
        if self.session is None:
            self.session, self.group = self.sessions(), self._new_group()
            self.session.begin()
            self.opened_at = time.monotonic()
            if self.commit_every > 1 and self.commit_seconds <= 0:
                call_later(0, self.commit)  # when this turn of the event loop ends
        assert self.group is not None
        try:
            self._store(self.session, item, self.group)
        except Exception:
            self._rollback()
            replay, self.pending = self.pending, []
            self._replay(replay)  # committed on their own, so one bad item costs only itself
            raise
        self.pending.append(item)
        if (
            len(self.pending) >= self.commit_every
            or 0 < self.commit_seconds <= time.monotonic() - self.opened_at
        ):
            self.commit()
        return item

    def commit_due(self) -> None:
        """Commit the open group when its time window is over."""
        if self.session is not None and time.monotonic() - self.opened_at >= self.commit_seconds:
            self.commit()

    def commit(self) -> None:
        """Commit the open group of items, if any. When the database refuses the group (one bad row), each
        item is stored again on its own: only the item the database refuses again is lost, and logged."""
        session, group, self.session, self.group = self.session, self.group, None, None
        if session is None or group is None:
            return
        try:
            finish_group(session, group)
            session.commit()
        except Exception:
            session.rollback()
            session.close()
            replay, self.pending = self.pending, []
            self._replay(replay)
            return
        session.close()
        stored, self.pending = self.pending, []
        self._committed(group, stored)

    def _new_group(self) -> Group:
        return Group(self.known, self.config.watchlist, self.run_id, self._inc)

    def _replay(self, items: list[object]) -> None:
        """Store each item of a group taken apart in a transaction of its own: an item the database refuses
        again is logged and counted, and the items after it are still stored."""
        for item in items:
            try:
                self._store_alone(item)
            except Exception:
                logger.exception("%s: not stored", getattr(item, "product_url", item))
                if self.stats is not None:
                    self.stats.inc_value("promowatch/persist_failed")
                if isinstance(getattr(item, "retailer", None), str):  # the run summary counts it as failed
                    self._inc(item.retailer, "not_stored")  # type: ignore[attr-defined]

    def _store_alone(self, item: object) -> None:
        """Store one item of a group taken apart in a transaction of its own; a failure leaves nothing of it."""
        group = self._new_group()
        with self.sessions.begin() as session:
            self._store(session, item, group)
            finish_group(session, group)
        self._committed(group, [item])

    def _rollback(self) -> None:
        session, self.session, self.group = self.session, None, None
        if session is not None:
            session.rollback()
            session.close()

    def _committed(self, group: Group, items: list[object]) -> None:
        """``items`` are committed: what their transaction learned is known from now on, and whoever waits for
        them to be stored hears of it (``LOOKS_COMMITTED``)."""
        group.committed()
        self.crawler.signals.send_catch_log(signal=LOOKS_COMMITTED, items=items)

    def _store(self, session: Session, item: object, group: Group) -> None:
        capture = getattr(item, "capture", None)
        if isinstance(capture, Capture):
            index_blobs(group, filed_blobs(capture))
        if isinstance(item, StoreStockItem) and item.reason:
            # counted by the stores spider, which knows an unreadable answer from a failed request
            logger.warning("%s: %s", item.product_url, item.reason)
        write = WRITERS.get(type(item))
        if write is not None:
            write(session, item, group)

    def _inc(self, retailer: str, key: str, count: int = 1) -> None:
        if self.stats is not None:
            self.stats.inc_value(f"promowatch/{retailer}/{key}", count)
