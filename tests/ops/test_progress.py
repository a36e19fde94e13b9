"""The live progress view: a person at a terminal sees each retailer's pages fetched of those due and what was
stored; cron (a pipe, or --quiet) gets none of it.

Source: real crawls of the scripted fault server (tests/ops/faultserver.py) in subprocesses.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.ops.conftest import PYTHON, ROOT, run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer


def test_progress_shows_pages_of_those_due_and_the_looks_stored(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    pages = [fault_server.url + p for p in ("/p/ok", "/p/versioned", "/p/gone")]
    watchlist = write_watchlist(tmp_path, fault_server.url, pages)
    result, _ = run_crawl_process(
        watchlist, tmp_path / "data", overrides={"PROMOWATCH_PROGRESS": True}, spiders="offers"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    final = [line for line in result.stderr.splitlines() if line.startswith("offers faulty")]
    assert final, result.stderr
    # three due, three fetched; the 404 page is the one unknown look
    assert " 3/3 " in final[-1] and "3 offers (33% unknown)" in final[-1], final[-1]


def test_no_progress_when_nobody_watches(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/ok"])
    run = subprocess.run(
        [
            str(Path(PYTHON).parent / "promowatch"),
            "run",
            "-w",
            str(watchlist),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=ROOT,
        capture_output=True,  # a pipe, as under cron
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "offers faulty" not in run.stderr + run.stdout
    assert "faulty: 1 pages, 1 offer observations" in run.stdout


def test_quiet_run_warns_about_watched_pages_that_are_gone(tmp_path: Path, fault_server: FaultServer) -> None:
    # cron mails stderr: a watched product that now answers 404 must not go unnoticed
    watchlist = write_watchlist(
        tmp_path, fault_server.url, [fault_server.url + "/p/ok", fault_server.url + "/p/gone"]
    )
    run = subprocess.run(
        [
            str(Path(PYTHON).parent / "promowatch"),
            "run",
            "-q",
            "-w",
            str(watchlist),
            "--data-dir",
            str(tmp_path / "d"),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == ""
    assert "faulty: 1 watched product page(s) answered 404/410" in run.stderr, run.stderr
