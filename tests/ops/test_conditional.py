"""Conditional re-checks: a page whose shop sends validators is re-checked with If-None-Match; a 304 is read
from the body already held (same evidence, no new bytes), archived as a server-not-modified revisit, and a
missing or damaged stored body falls back to a full fetch.

Source of the page: tests/ops/faultserver.py ``/p/versioned`` (ETag + Last-Modified, 304 on a matching ETag),
crawled for real in subprocesses, one per run as cron would.
"""

from __future__ import annotations

import sqlite3
import subprocess
from pathlib import Path

import pytest
from warcio.archiveiterator import ArchiveIterator

from promowatch.datadir import DataDir
from promowatch.evidence.blobs import BlobStore
from promowatch.revalidation import (
    ETAG_MAX,
    LAST_MODIFIED_MAX,
    Validators,
    conditional_headers,
    header_value,
)
from tests.ops.conftest import PYTHON, ROOT, run_crawl_process, write_watchlist
from tests.ops.faultserver import FaultServer

OVERRIDES = {"AUTOTHROTTLE_ENABLED": False}
PAGE = "http://127.0.0.1:8000/p/versioned"


def looks(data: Path) -> list[tuple[int | None, str | None, str, str | None, str | None]]:
    with sqlite3.connect(data / "promowatch.db") as db:
        return db.execute(
            "select http_status, evidence_sha256, availability, etag, last_modified"
            " from offer_observations order by id"
        ).fetchall()


def blob_path(data: Path, sha: str) -> Path:
    return BlobStore(DataDir.resolve(str(data), None).blobs).path(sha)


def blob_files(data: Path) -> int:
    root = DataDir.resolve(str(data), None).blobs
    return sum(1 for p in root.rglob("*") if p.is_file() and not p.name.startswith(".tmp"))


def revisit_profiles(data: Path) -> list[str]:
    profiles = []
    warcs = sorted(DataDir.resolve(str(data), None).warcs.glob("*.warc.gz"))
    assert warcs
    for warc in warcs:
        with warc.open("rb") as handle:
            for record in ArchiveIterator(handle):
                if record.rec_type == "revisit":
                    profiles.append(record.rec_headers.get_header("WARC-Profile"))
    return profiles


def crawl(watchlist: Path, data: Path) -> None:
    result, _ = run_crawl_process(watchlist, data, overrides=OVERRIDES, spiders="offers")
    assert result.returncode == 0, result.stderr[-3000:]


def test_unchanged_page_is_revalidated_not_downloaded(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/versioned"])
    data = tmp_path / "data"
    crawl(watchlist, data)
    blobs_after_first = blob_files(data)
    crawl(watchlist, data)
    crawl(watchlist, data)

    first, second, third = looks(data)
    assert fault_server.conditional[0] is None  # nothing known yet: a plain request
    assert fault_server.conditional[1] == first[3] and first[3] is not None  # the ETag the page sent
    assert first[0] == 200 and first[4] == "Tue, 03 Nov 2026 08:00:00 GMT"
    for look in (second, third):
        assert look[0] == 304
        assert look[1] == first[1]  # the body the shop vouched for is the evidence
        assert look[2] == "in_stock"  # read from that body, not "unknown"
        assert look[3] == first[3] and look[4] == first[4]  # validators carried to the next re-check
    assert blobs_after_first > 0 and blob_files(data) == blobs_after_first
    assert revisit_profiles(data).count("http://netpreserve.org/warc/1.1/revisit/server-not-modified") == 2


def test_changed_page_is_fetched_and_read_anew(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/versioned"])
    data = tmp_path / "data"
    crawl(watchlist, data)
    fault_server.versioned_stock = "Ausverkauft"
    crawl(watchlist, data)

    first, second = looks(data)
    assert fault_server.conditional[1] == first[3]  # asked conditionally; the ETag no longer matched
    assert second[0] == 200 and second[1] != first[1] and second[3] != first[3]
    with sqlite3.connect(data / "promowatch.db") as db:
        read = db.execute(
            "select o.id, group_concat(s.raw, ' | ') from offer_signals s"
            " join offer_observations o on o.id = s.observation_id group by o.id order by o.id"
        ).fetchall()
    assert "ausverkauft" not in read[0][1].lower() and "ausverkauft" in read[1][1].lower()  # the new page


def test_damaged_stored_body_falls_back_to_a_full_fetch(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/versioned"])
    data = tmp_path / "data"
    crawl(watchlist, data)
    sha = looks(data)[0][1]
    assert sha is not None
    blob = blob_path(data, sha)
    assert blob.exists()
    blob.write_bytes(b"<html>not the page</html>")  # damaged on disk after the first run
    crawl(watchlist, data)

    crawl(watchlist, data)

    first, second, third = looks(data)
    # the conditional request got its 304; the stored copy did not match, so the page was asked for in full,
    # and its bytes were stored again: the next run is one conditional request answered 304
    assert fault_server.conditional[1:] == [first[3], None, first[3]]
    assert second[0] == 200 and second[1] == first[1] and second[2] == "in_stock"
    assert third[0] == 304 and third[1] == first[1] and third[2] == "in_stock"
    assert blob.read_bytes() != b"<html>not the page</html>"


def test_validators_are_not_sent_where_a_redirect_leads(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/moving"])
    data = tmp_path / "data"
    crawl(watchlist, data)
    fault_server.moved = True
    crawl(watchlist, data)

    first, second = looks(data)
    # asked conditionally at its own URL; the redirect's new request went without the validators, so the
    # variant's own page was read, not the stored body of the old one
    assert fault_server.conditional == [None, '"moving-1"', None]
    assert second[0] == 200 and second[1] != first[1] and second[3] == '"moving-2"'


def test_missing_stored_body_is_not_asked_for_conditionally(
    tmp_path: Path, fault_server: FaultServer
) -> None:
    watchlist = write_watchlist(tmp_path, fault_server.url, [fault_server.url + "/p/versioned"])
    data = tmp_path / "data"
    crawl(watchlist, data)
    sha = looks(data)[0][1]
    assert sha is not None
    blob_path(data, sha).unlink()
    crawl(watchlist, data)

    assert fault_server.conditional == [None, None]
    assert looks(data)[1][0] == 200


def test_run_summary_counts_pages_not_modified(tmp_path: Path, fault_server: FaultServer) -> None:
    watchlist = write_watchlist(
        tmp_path, fault_server.url, [fault_server.url + "/p/versioned", fault_server.url + "/p/ok"]
    )
    command = [str(Path(PYTHON).parent / "promowatch"), "run", "-w", str(watchlist), "--data-dir"]
    lines = []
    for _ in range(2):
        run = subprocess.run(
            [*command, str(tmp_path / "data")], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        assert run.returncode == 0, run.stderr[-3000:]
        lines.append(next(line for line in run.stdout.splitlines() if line.startswith("faulty:")))
    # /p/ok sends no validators: it is fetched in full both times
    assert "not modified" not in lines[0]
    assert lines[1].startswith("faulty: 2 pages (1 not modified), 2 offer observations"), lines[1]


@pytest.mark.parametrize(
    ("validators", "headers"),
    [
        pytest.param(
            Validators(PAGE, "ab" * 32, "text/html", '"v1"', "Tue, 03 Nov 2026 08:00:00 GMT"),
            {"If-None-Match": '"v1"', "If-Modified-Since": "Tue, 03 Nov 2026 08:00:00 GMT"},
            id="etag-and-last-modified",
        ),
        pytest.param(
            Validators(PAGE, "ab" * 32, "text/html", 'W/"weak"'),
            {"If-None-Match": 'W/"weak"'},
            id="weak-etag-only",
        ),
        pytest.param(
            Validators(PAGE, "ab" * 32, "text/html", None, "Tue, 03 Nov 2026 08:00:00 GMT"),
            {"If-Modified-Since": "Tue, 03 Nov 2026 08:00:00 GMT"},
            id="last-modified-only",
        ),
    ],
)
def test_conditional_headers(validators: Validators, headers: dict[str, str]) -> None:
    # RFC 9110 §13.1.1-13.1.3: a client sends back the validators it was given, unchanged
    assert conditional_headers(validators) == headers


def test_an_overlong_validator_is_not_kept() -> None:
    # a cut validator would never match again: keep none rather than a wrong one
    headers = {"etag": ['"' + "x" * 300 + '"'], "Last-Modified": ["Tue, 03 Nov 2026 08:00:00 GMT"]}
    assert header_value(headers, "ETag", ETAG_MAX) is None
    assert header_value(headers, "last-modified", LAST_MODIFIED_MAX) == "Tue, 03 Nov 2026 08:00:00 GMT"
