"""The crawl log in the data directory is bounded: a cron job that crawls for months must not fill the disk.

Source: a real crawl (tests/ops/runner.py) of the scripted fault server's product pages.
"""

from __future__ import annotations

from pathlib import Path

from promowatch.crawl.runner import LOG_BACKUPS, LOG_MAX_BYTES
from tests.ops.conftest import run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer


def test_a_full_crawl_log_is_rolled_over_and_old_ones_are_dropped(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    logs = tmp_path / "data" / "logs"
    logs.mkdir(parents=True)
    # the logs of earlier runs: a full crawl.log and every backup kept
    full = b"2026-11-23 10:00:00 [scrapy.core.engine] INFO: an earlier run\n" * (LOG_MAX_BYTES // 60)
    (logs / "crawl.log").write_bytes(full)
    for n in range(1, LOG_BACKUPS + 1):
        (logs / f"crawl.log.{n}").write_bytes(b"backup %d\n" % n)
    watchlist = write_watchlist(tmp_path, fault_server.url, [f"{fault_server.url}/p/item-1"])
    result, _ = run_crawl_process(watchlist, tmp_path / "data", spiders="offers")
    assert result.returncode == 0, result.stderr[-3000:]
    assert (logs / "crawl.log.1").read_bytes() == full, "the full log moves to crawl.log.1"
    assert (logs / f"crawl.log.{LOG_BACKUPS}").read_bytes() == b"backup %d\n" % (LOG_BACKUPS - 1)
    assert not (logs / f"crawl.log.{LOG_BACKUPS + 1}").exists(), "the oldest backup is dropped"
    current = (logs / "crawl.log").read_text()
    assert "an earlier run" not in current and "Spider closed" in current
    assert len(current.encode()) < LOG_MAX_BYTES
