"""More crawl processes, each owning whole retailers.

A shop's politeness (its download slot: one request at a time, its delay) lives inside one Scrapy process, so it
holds whatever the number of processes as long as no two processes crawl the same retailer. One process is the
default; ``--processes N`` uses more cores when one process's CPU, not the shops' pace, bounds the crawl
(``bench/sweep.py --processes N`` measures it).
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Mapping, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from promowatch.clock import Clock
from promowatch.crawl.runner import SPIDERS, CrawlReport, crawl_settings, run_crawl
from promowatch.datadir import DataDir


def partition(work: Mapping[str, int], parts: int) -> list[tuple[str, ...]]:
    """Retailers split into at most ``parts`` groups of about equal work (``work``: pages per retailer): the
    largest first, each into the group with the least work so far."""
    groups: list[list[str]] = [[] for _ in range(max(1, min(parts, len(work))))]
    loads = [0] * len(groups)
    for slug in sorted(work, key=lambda s: (-work[s], s)):
        lightest = loads.index(min(loads))
        groups[lightest].append(slug)
        loads[lightest] += max(1, work[slug])
    return [tuple(group) for group in groups if group]


def _crawl_part(
    watchlist_path: str,
    data: DataDir,
    clock: Clock,
    retailers: tuple[str, ...],
    overrides: dict[str, Any],
    spiders: tuple[str, ...],
    log_name: str,
    results: Connection,
) -> None:
    """One process's crawl of its retailers; its stats go back over ``results``."""
    from promowatch.config import load_watchlist

    # out of the terminal's process group: a Ctrl+C reaches the parent only, which passes each stop on once
    os.setpgrp()
    settings = crawl_settings(
        load_watchlist(Path(watchlist_path)), data, clock=clock, retailers=retailers, overrides=overrides
    )
    settings.set("LOG_FILE", str(data.root / "logs" / log_name), priority="cmdline")
    report = run_crawl(settings, spiders)
    results.send((report.stats, report.interrupted))
    results.close()


def run_parallel(
    watchlist_path: Path,
    data: DataDir,
    clock: Clock,
    groups: Sequence[tuple[str, ...]],
    *,
    overrides: dict[str, Any] | None = None,
    spiders: tuple[str, ...] = SPIDERS,
) -> CrawlReport:
    """Crawl each group of retailers in its own process at once and merge their reports."""
    # spawn: a fresh interpreter per part, as the Twisted reactor runs once per process and must not be forked
    context = multiprocessing.get_context("spawn")
    # a live view from several processes at once would interleave on one terminal
    part_overrides = {**(overrides or {}), "PROMOWATCH_PROGRESS": False}
    parts = []
    for number, group in enumerate(groups, start=1):
        receiving, sending = context.Pipe(duplex=False)
        log_name = "crawl.log" if number == 1 else f"crawl.{number}.log"
        process = context.Process(
            target=_crawl_part,
            args=(str(watchlist_path), data, clock, group, part_overrides, spiders, log_name, sending),
            name=f"promowatch-crawl-{number}",
        )
        process.start()
        sending.close()
        parts.append((number, process, receiving))

    def forward(number: int, frame: object) -> None:
        for _, process, _ in parts:
            if process.pid is not None and process.is_alive():
                process.terminate()  # SIGTERM: the part stores what it looked at and stops

    previous = {each: signal.signal(each, forward) for each in (signal.SIGINT, signal.SIGTERM)}
    report = CrawlReport()
    failed: list[str] = []
    try:
        for number, process, receiving in parts:
            try:
                stats, interrupted = receiving.recv()
            except EOFError:  # the part ended without a report: killed, or it raised
                stats, interrupted = {}, False
                failed.append(f"crawl process {number} ({', '.join(groups[number - 1])})")
            process.join()
            report.interrupted |= interrupted
            for spider, values in stats.items():
                report.stats[f"{spider}@{number}"] = values
    finally:
        for each, handler in previous.items():
            signal.signal(each, handler)
    if failed and not report.interrupted:
        raise RuntimeError(f"{'; '.join(failed)} ended without a report (see logs/crawl*.log)")
    return report
