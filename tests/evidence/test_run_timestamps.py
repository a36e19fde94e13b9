"""Trusted time at observation and the run's WARC: real `promowatch run` subprocesses crawl the demo shop on
127.0.0.1 with a local RFC 3161 authority (tests/evidence/tsa.py) configured; then the chain's head is printed
for publishing."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from promowatch.db.engine import open_database
from promowatch.db.models import ChainEntry, ChainTimestamp, EvidenceBlob
from promowatch.demo.run import CHECK_HOUR, DEMO_START, run_day
from promowatch.demo.shop import DemoShop
from promowatch.demo.watchlist import demo_watchlist
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.timestamp import imprint_of, verify_digest_timestamp
from tests.evidence.tsa import running_authority

CONTACT = "mailto:ops@example.org"


def head_of(data: Path) -> tuple[int, str]:
    sessions = open_database(f"sqlite:///{data / 'promowatch.db'}")
    with sessions() as session:
        head = session.scalars(select(ChainEntry).order_by(ChainEntry.seq.desc()).limit(1)).one()
        return head.seq, head.entry_sha256


def tokens_of(data: Path) -> list[ChainTimestamp]:
    sessions = open_database(f"sqlite:///{data / 'promowatch.db'}")
    with sessions() as session:
        return list(session.scalars(select(ChainTimestamp).order_by(ChainTimestamp.id)))


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Day 0 with the authority up, day 1 with it gone, day 2 with it back; what each left behind."""
    data = tmp_path_factory.mktemp("runs")
    seen: dict[str, Any] = {"data": data, "heads": [], "tokens": [], "stderr": []}
    with DemoShop(DEMO_START) as shop, running_authority() as tsa:
        seen["ca"] = Path(data / "ca.pem")
        seen["ca"].write_bytes(tsa.ca_file.read_bytes())
        watchlist = data / "watchlist.toml"

        def day(number: int, url: str) -> None:
            settings = f'[settings]\ncontact = "{CONTACT}"\ntsa_url = "{url}"\n\n'
            watchlist.write_text(settings + demo_watchlist(shop.url, "http://127.0.0.1:9/hook"))
            now = DEMO_START + timedelta(days=number) + CHECK_HOUR
            shop.set_clock(now)
            result = run_day(watchlist, data, now)
            assert result.returncode in (0, 1), result.stderr[-3000:]  # 1: the hook on port 9 is refused
            seen["heads"].append(head_of(data))
            seen["tokens"].append(tokens_of(data))
            seen["stderr"].append(result.stderr)

        day(0, tsa.url)
        with running_authority() as gone:
            closed = gone.url
        day(1, closed)  # nothing listens there any more
        day(2, tsa.url)
    yield seen


def test_each_run_timestamps_its_chain_head_and_stores_the_token(runs: dict[str, Any]) -> None:
    (token,) = runs["tokens"][0]
    seq, head = runs["heads"][0]
    assert (token.seq, token.head_sha256) == (seq, head)
    assert token.authority.startswith("http://127.0.0.1:")
    reply = BlobStore(runs["data"] / "evidence" / "blobs").get(token.token_sha256)
    # the token stamps the head entry's own hash, and the test authority signed it
    assert imprint_of(reply) == head
    verify_digest_timestamp(head, reply, runs["ca"])
    sessions = open_database(f"sqlite:///{runs['data'] / 'promowatch.db'}")
    with sessions() as session:
        blob = session.get(EvidenceBlob, token.token_sha256)
    assert blob is not None and blob.media_type == "application/timestamp-reply"


def test_an_authority_out_of_reach_is_a_warning_and_the_next_run_stamps_the_then_current_head(
    runs: dict[str, Any],
) -> None:
    assert len(runs["tokens"][1]) == 1  # day 1 could not reach the authority: nothing new, the run went on
    assert "chain head not timestamped, asked again at the next run" in runs["stderr"][1]
    assert runs["heads"][1][0] > runs["heads"][0][0]  # day 1 still observed and chained
    latest = runs["tokens"][2][-1]
    assert len(runs["tokens"][2]) == 2
    assert (latest.seq, latest.head_sha256) == runs["heads"][2]


def test_the_runs_warc_starts_with_warcinfo_and_names_the_shops_address(runs: dict[str, Any]) -> None:
    warcs = sorted((runs["data"] / "evidence" / "warc").glob("*.warc.gz"))
    assert warcs
    responses = 0
    for path in warcs:
        with path.open("rb") as stream:
            records = list(
                (r.rec_type, r.rec_headers, r.content_stream().read()) for r in ArchiveIterator(stream)
            )
        kind, info_headers, info = records[0]
        assert kind == "warcinfo"
        assert info_headers.protocol == "WARC/1.1"
        fields = dict(line.split(": ", 1) for line in info.decode().splitlines())
        assert fields["format"] == "WARC File Format 1.1"
        assert fields["software"].startswith("promowatch/")
        assert fields["operator"] == CONTACT
        assert fields["robots"] == "obey"
        assert fields["hostname"]
        assert CONTACT in fields["http-header-user-agent"]
        assert fields["http-header-user-agent"].startswith("promowatch/")
        info_id = info_headers.get_header("WARC-Record-ID")
        for kind, headers, _ in records[1:]:
            assert headers.get_header("WARC-Warcinfo-ID") == info_id
            if kind == "response":
                responses += 1
                assert headers.get_header("WARC-IP-Address") == "127.0.0.1"
    assert responses > 0


def test_publish_head_prints_the_head_and_its_latest_timestamp(runs: dict[str, Any]) -> None:
    def publish(*extra: str) -> str:
        command = [sys.executable, "-m", "promowatch.cli", "evidence", "publish-head"]
        command += ["--data-dir", str(runs["data"]), *extra]
        result = subprocess.run(command, capture_output=True, text=True, check=True)
        return result.stdout

    seq, head = runs["heads"][2]
    text = publish()
    assert f"seq:          {seq}\n" in text
    assert f"entry_sha256: {head}\n" in text
    assert f"timestamp:    entry {seq} ({head})" in text
    published = json.loads(publish("--json"))
    assert (published["seq"], published["entry_sha256"]) == (seq, head)
    assert published["entries"] == seq
    assert published["latest_timestamp"]["seq"] == seq
    assert published["latest_timestamp"]["tsa"].startswith("http://127.0.0.1:")
