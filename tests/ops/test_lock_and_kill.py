"""Cron safety: runs never overlap (exit 3), and SIGKILL mid-crawl loses nothing committed.

Source: promowatch run/crawl as subprocesses against the scripted fault server (tests/ops/faultserver.py).
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from promowatch.db.engine import open_database
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.chain import verify_chain
from tests.ops.conftest import PYTHON, ROOT, run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer


def promowatch(*args: str) -> list[str]:
    return [str(Path(PYTHON).parent / "promowatch"), *args]


def test_second_run_exits_3_while_the_first_holds_the_lock(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/slow"])
    data = tmp_path / "data"
    first = subprocess.Popen(
        promowatch("run", "-w", str(watchlist), "--data-dir", str(data)),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while fault_server.hits["/p/slow"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert fault_server.hits["/p/slow"] == 1, "the first run never reached the shop"
        second = subprocess.run(
            promowatch("run", "-w", str(watchlist), "--data-dir", str(data)),
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert first.poll() is None, "the first run should still be crawling"
    finally:
        first.kill()
        first.wait()
    assert second.returncode == 3, second.stderr
    message = (second.stderr + second.stdout).strip()
    assert f"is in use by pid {first.pid}" in message
    assert len(message.splitlines()) == 1, message  # one clear line for cron mail, no traceback


def count(db: Path) -> int:
    """Committed offer observations; 0 while the crawl has not yet migrated the new database."""
    try:
        with sqlite3.connect(db) as connection:
            return int(connection.execute("select count(*) from offer_observations").fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def test_sigkill_mid_crawl_loses_nothing_committed(tmp_path: Path, fault_server: FaultServer) -> None:
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(400)]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages, concurrency=1)
    data = tmp_path / "data"
    db = data / "promowatch.db"
    command = [
        PYTHON,
        "-m",
        "tests.ops.runner",
        str(watchlist),
        str(data),
        "--spiders",
        "offers",
        "--set",
        "AUTOTHROTTLE_ENABLED=false",
        "--set",
        "DOWNLOAD_DELAY=0.01",
    ]
    crawl = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if db.exists() and count(db) >= 30:
                break
            time.sleep(0.05)
    finally:
        os.kill(crawl.pid, signal.SIGKILL)
        crawl.wait()
    committed = count(db)
    assert 30 <= committed < len(pages), "kill the crawl while it is running"

    sessions = open_database(f"sqlite:///{db}")
    with sessions() as session:
        report = verify_chain(session)
    assert report.ok, report.message
    assert report.entries >= committed
    blobs = BlobStore(data / "evidence" / "blobs")
    with sqlite3.connect(db) as connection:
        shas = [row[0] for row in connection.execute("select evidence_sha256 from offer_observations")]
    assert all(sha and blobs.path(sha).exists() for sha in shas), "an observation points at missing evidence"

    result, _ = run_crawl_process(
        watchlist,
        data,
        spiders="offers",
        overrides={"AUTOTHROTTLE_ENABLED": False, "CONCURRENT_REQUESTS_PER_DOMAIN": 8},
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert count(db) == committed + len(pages)  # the next run checks every page again and keeps the old looks
    with sessions() as session:
        assert verify_chain(session).ok
