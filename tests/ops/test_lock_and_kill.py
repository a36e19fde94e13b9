"""Cron safety: runs never overlap (exit 3), and SIGKILL mid-crawl loses nothing committed.

Source: promowatch run/crawl as subprocesses against the scripted fault server (tests/ops/faultserver.py).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from promowatch.db.engine import open_database
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.chain import verify_chain
from tests.ops.conftest import PYTHON, ROOT, crawl_command, run_crawl_process, write_watchlist
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
    command = crawl_command(
        watchlist, data, spiders="offers", overrides={"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0.01}
    )
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


def test_ctrl_c_mid_crawl_stores_every_look_made(tmp_path: Path, fault_server: FaultServer) -> None:
    # looks are committed in groups of 1,000 or every 10 minutes: without closing the spider on the signal,
    # every look of this crawl would be lost
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(12)] + [f"{fault_server.url}/p/slow"]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages, concurrency=4)
    data = tmp_path / "data"
    settings = {
        "AUTOTHROTTLE_ENABLED": False,
        "PROMOWATCH_COMMIT_EVERY": 1000,
        "PROMOWATCH_COMMIT_SECONDS": 600,
    }
    command = crawl_command(watchlist, data, spiders="offers", overrides=settings)
    crawl = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (
        fault_server.hits["/p/slow"] and all(fault_server.hits[f"/p/item-{i}"] for i in range(12))
    ):
        time.sleep(0.05)
    time.sleep(1.0)  # the twelve pages read while the slow one is still loading
    group = os.getpgid(crawl.pid)
    os.killpg(group, signal.SIGINT)  # what Ctrl+C at a terminal does: the whole foreground group
    stdout, stderr = crawl.communicate(timeout=60)

    assert crawl.returncode == 0, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    summary = json.loads(stdout.strip().splitlines()[-1])
    assert summary["interrupted"] is True
    assert count(data / "promowatch.db") >= 12  # the slow page may be stored as unknown, or not looked at
    # the reading processes leave when they see the crawl gone
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        raise AssertionError("a process of the crawl (a reading process?) outlived it by 10 s")


def test_the_default_commits_each_look_before_the_crawl_waits(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    # Looks share a transaction only with those that reach the database in the same turn of the event loop: while
    # the crawl waits for a slow page, every look made before it is committed, and a SIGKILL then loses none.
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(12)] + [f"{fault_server.url}/p/slow"]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages, concurrency=4)
    data = tmp_path / "data"
    command = crawl_command(watchlist, data, spiders="offers", overrides={"AUTOTHROTTLE_ENABLED": False})
    crawl = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
            fault_server.hits["/p/slow"] and all(fault_server.hits[f"/p/item-{i}"] for i in range(12))
        ):
            time.sleep(0.05)
        time.sleep(1.5)  # the twelve pages read and stored while the slow one is still loading (6 s)
        assert crawl.poll() is None, "the crawl must still wait for the slow page"
        os.kill(crawl.pid, signal.SIGKILL)
    finally:
        crawl.kill()
        crawl.wait()
    assert count(data / "promowatch.db") == 12


def test_the_database_file_alone_holds_every_look_after_a_crawl(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    # once the crawl's process has ended its connections are closed, and SQLite's write-ahead log is folded into
    # promowatch.db: a copy of that one file (handed to an authority, backed up) misses no observation. The
    # spiders and pipelines, made before the crawl set the collector aside from what existed, must not stay
    # frozen out of the collection at exit.
    pages = [f"{fault_server.url}/p/item-{i}" for i in range(40)]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages, concurrency=4)
    result, _ = run_crawl_process(watchlist, tmp_path / "data", spiders="offers")
    assert result.returncode == 0, result.stderr[-2000:]
    copy = tmp_path / "copy.db"
    shutil.copyfile(tmp_path / "data" / "promowatch.db", copy)
    assert count(copy) == len(pages)


def test_a_second_ctrl_c_stops_at_once_and_keeps_what_is_committed(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    # the first Ctrl+C stops the crawl as at its end; a second one while it stops ends it there, as a SIGKILL
    # would (no traceback of a reactor asked to stop twice)
    pages = [f"{fault_server.url}/p/slow"] + [f"{fault_server.url}/p/item-{i}" for i in range(600)]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages, concurrency=4)
    data = tmp_path / "data"
    settings = {"AUTOTHROTTLE_ENABLED": False, "DOWNLOAD_DELAY": 0.01}
    command = crawl_command(watchlist, data, spiders="offers", overrides=settings)
    crawl = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and count(data / "promowatch.db") < 30:
        time.sleep(0.05)
    os.killpg(crawl.pid, signal.SIGINT)
    time.sleep(0.3)  # stopping: the slow page is still loading
    os.killpg(crawl.pid, signal.SIGINT)
    _, stderr = crawl.communicate(timeout=60)

    assert crawl.returncode == -signal.SIGINT, stderr[-3000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    committed = count(data / "promowatch.db")
    assert 30 <= committed < len(pages)
    with open_database(f"sqlite:///{data / 'promowatch.db'}")() as session:
        assert verify_chain(session).ok
