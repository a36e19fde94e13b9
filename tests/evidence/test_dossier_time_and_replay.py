"""A dossier carries the run timestamps covering its observations and its captures as a WACZ; `case verify`
checks both (the test authority of tests/evidence/tsa.py on 127.0.0.1)."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from warcio.archiveiterator import ArchiveIterator

from promowatch.db.models import ChainEntry, ChainTimestamp, OfferObservation, Product
from promowatch.domain import utcnow
from promowatch.evidence import chain
from promowatch.evidence.blobs import BlobStore
from promowatch.evidence.canonical import canonical_sha256
from promowatch.evidence.case import MANIFEST, export_case, manifest_text
from promowatch.evidence.case_verify import verify_case
from promowatch.evidence.head import stamp_head
from promowatch.evidence.timestamp import authority_of, request_digest_timestamp, stamped_at
from promowatch.evidence.wacz import ARCHIVE, BUNDLE_WACZ, INDEX, check_wacz, surt, wacz_bytes
from tests.evidence.builder import START, CaseWorld, build_world, tiny_png
from tests.evidence.tsa import running_authority

Files = dict[str, bytes]


def read_bundle(path: Path) -> Files:
    with zipfile.ZipFile(path) as z:
        return {name: z.read(name) for name in z.namelist()}


def write_bundle(path: Path, files: Files) -> Path:
    # a forger who also rebuilds the manifest: the deeper checks must still catch it
    files[MANIFEST] = manifest_text(files).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


@dataclass
class Stamped:
    world: CaseWorld
    bundle: Path
    ca_file: Path
    middle: int  # the chain entry stamped by the earlier run
    head: int  # the chain entry stamped by the later run, after another product's observation


@pytest.fixture(scope="module")
def stamped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stamped]:
    tmp = tmp_path_factory.mktemp("stamped")
    world = build_world(tmp, offers=12)
    blobs = BlobStore(world.blobs_root)
    with running_authority() as tsa:
        ca_file = tmp / "ca.pem"
        ca_file.write_bytes(tsa.ca_file.read_bytes())
        with world.sessions() as session:
            middle = session.scalars(select(ChainEntry).where(ChainEntry.seq == 8)).one()
        # an earlier run's token, over entry 8 (as if the run had ended there)
        reply = request_digest_timestamp(middle.entry_sha256, tsa.url)
        ((sha, _),) = blobs.put_all([reply])
        with world.sessions.begin() as session:
            session.add(
                ChainTimestamp(
                    seq=middle.seq,
                    head_sha256=middle.entry_sha256,
                    stamped_at=stamped_at(reply),
                    requested_at=utcnow(),
                    authority=authority_of(tsa.url),
                    token_sha256=sha,
                )
            )
        # another product is observed after this promotion's last entry; then the run stamps its head
        with world.sessions.begin() as session:
            other = Product(retailer_id=1, url="http://127.0.0.1:8765/p/other", sku="O1", name="Other")
            session.add(other)
            session.flush()
            ((shot_sha, _),) = blobs.put_all([tiny_png(250)])
            obs = OfferObservation(
                product_id=other.id,
                observed_at=START + timedelta(days=3),
                price=Decimal("10"),
                currency="CHF",
                availability="in_stock",
                orderable=True,
                render="browser",
                http_status=200,
                final_url=other.url,
                screenshot_sha256=shot_sha,
                vantage={},
            )
            session.add(obs)
            session.flush()
            chain.append_observation(session, obs, obs.observed_at)
        assert "timestamped by" in stamp_head(world.sessions, tsa.url, blobs, utcnow())
        with world.sessions() as session:
            head = session.scalars(select(ChainEntry).order_by(ChainEntry.seq.desc()).limit(1)).one()
    bundle = export_case(
        world.sessions, world.blobs_root, world.warc_dir, world.finding_id, tmp / "case.zip", language="en"
    )
    yield Stamped(world, bundle, ca_file, middle.seq, head.seq)


def test_dossier_carries_the_tokens_covering_its_observations_and_verifies(stamped: Stamped) -> None:
    files = read_bundle(stamped.bundle)
    case = json.loads(files["case.json"])
    listed = case["chain_timestamps"]
    assert [t["seq"] for t in listed] == [stamped.middle, stamped.head]
    assert all(t["path"] == f"timestamps/{t['seq']}.tsr" and t["path"] in files for t in listed)
    assert all(t["tsa"].startswith("http://127.0.0.1:") and t["time"].endswith("Z") for t in listed)
    # the excerpt runs on to the newest stamped head, through the other product's entry
    entries = [json.loads(line) for line in files["chain.jsonl"].splitlines()]
    assert entries[-1]["seq"] == stamped.head
    assert entries[-1]["entry_sha256"] == listed[-1]["head_sha256"]
    report = verify_case(stamped.bundle, tsa_ca_file=stamped.ca_file)
    assert report.ok, report.problems
    assert any(
        "run timestamps: 2 tokens cover their chain heads (signatures verified" in c for c in report.checks
    )
    assert "openssl ts -verify -digest" in files["VERIFY.md"].decode()


def test_the_verify_guide_script_follows_the_chain_to_the_stamped_head(
    stamped: Stamped, tmp_path: Path
) -> None:
    # VERIFY.md's own script, run inside the unpacked bundle: the other product's entry cites a screenshot
    with zipfile.ZipFile(stamped.bundle) as z:
        z.extractall(tmp_path)
    guide = (tmp_path / "VERIFY.md").read_text()
    script = guide.split("```python\n", 1)[1].split("```", 1)[0]
    result = subprocess.run(
        [shutil.which("python3") or "python3", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env={"PYTHONPATH": str(Path(__import__("warcio").__file__).parent.parent)},
    )
    assert result.returncode == 0, result.stderr


def _flip_token_byte(files: Files, case: dict[str, Any]) -> None:
    path = case["chain_timestamps"][0]["path"]
    token = bytearray(files[path])
    token[-20] ^= 0x01  # inside the signature
    files[path] = bytes(token)


def _rebuild_chain(files: Files, case: dict[str, Any]) -> None:
    """Whoever holds the database edits an observation and rebuilds every hash after it consistently."""
    lines = [json.loads(line) for line in files["observations.jsonl"].splitlines()]
    edited = next(line for line in lines if line["kind"] == "offer")
    edited["record"]["price"] = "999.00"
    files["observations.jsonl"] = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    entries = [json.loads(line) for line in files["chain.jsonl"].splitlines()]
    previous = None
    for entry in entries:
        if (entry["record_kind"], entry["record_id"]) == ("offer", edited["id"]):
            entry["record_sha256"] = canonical_sha256(edited["record"])
        if previous is not None:
            entry["prev_sha256"] = previous
        entry["entry_sha256"] = chain.entry_sha256(entry, entry["evidence"])
        previous = entry["entry_sha256"]
    files["chain.jsonl"] = b"".join(json.dumps(e).encode() + b"\n" for e in entries)
    for listed in case["chain_timestamps"]:  # the list in case.json follows the rebuilt chain too
        listed["head_sha256"] = next(e for e in entries if e["seq"] == listed["seq"])["entry_sha256"]
    files["case.json"] = json.dumps(case).encode()


def _drop_token(files: Files, case: dict[str, Any]) -> None:
    del files[case["chain_timestamps"][-1]["path"]]


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        pytest.param(_flip_token_byte, "run timestamp of chain entry", id="tampered-token"),
        pytest.param(_rebuild_chain, "the token does not cover that entry's hash", id="rebuilt-chain"),
        pytest.param(_drop_token, "is missing", id="token-file-removed"),
    ],
)
def test_verify_fails_when_a_run_timestamp_no_longer_holds(
    stamped: Stamped, tmp_path: Path, tamper: Callable[[Files, dict[str, Any]], None], problem: str
) -> None:
    files = read_bundle(stamped.bundle)
    case = json.loads(files["case.json"])
    tamper(files, case)
    report = verify_case(write_bundle(tmp_path / "forged.zip", files), tsa_ca_file=stamped.ca_file)
    assert not report.ok
    assert any(p.startswith("run timestamp of chain entry") and problem in p for p in report.problems), (
        report.problems
    )


def test_dossier_wacz_indexes_every_capture_and_ends_with_the_bundles_warc(stamped: Stamped) -> None:
    files = read_bundle(stamped.bundle)
    case = json.loads(files["case.json"])
    assert case["wacz"] == BUNDLE_WACZ
    with zipfile.ZipFile(io.BytesIO(files[BUNDLE_WACZ])) as wacz:
        names = set(wacz.namelist())
        archive = wacz.read(ARCHIVE)
        index = wacz.read(INDEX).decode().splitlines()
        # a replay reads records at their offsets straight out of the zip
        assert all(i.compress_type == zipfile.ZIP_STORED for i in wacz.infolist())
    assert names == {
        ARCHIVE,
        INDEX,
        "pages/pages.jsonl",
        "datapackage.json",
        "datapackage-digest.json",
    }
    assert archive.endswith(files["evidence.warc.gz"])
    kinds = [r.rec_type for r in ArchiveIterator(io.BytesIO(archive))]
    assert kinds[0] == "warcinfo"  # the run's, ahead of the records it names
    assert len(index) == sum(k in ("response", "revisit", "resource") for k in kinds)
    report = check_wacz(files[BUNDLE_WACZ])
    assert report.problems == [] and report.records == len(index)
    assert any(c.startswith(f"ok: {BUNDLE_WACZ}:") for c in verify_case(stamped.bundle).checks)


def _shift_an_index_line(wacz: dict[str, bytes]) -> None:
    lines = wacz[INDEX].decode().splitlines()
    key, stamp, fields = lines[0].split(" ", 2)
    moved = json.loads(fields)
    moved["offset"] = str(int(moved["offset"]) + 1)
    lines[0] = f"{key} {stamp} {json.dumps(moved)}"
    wacz[INDEX] = ("\n".join(lines) + "\n").encode()


def _change_the_archive(wacz: dict[str, bytes]) -> None:
    wacz[ARCHIVE] = wacz[ARCHIVE][:-1] + bytes([wacz[ARCHIVE][-1] ^ 1])


@pytest.mark.parametrize(
    ("tamper", "problem"),
    [
        pytest.param(_shift_an_index_line, "points at no record", id="index-points-elsewhere"),
        pytest.param(
            _change_the_archive, "does not match its hash in datapackage.json", id="archive-changed"
        ),
    ],
)
def test_verify_fails_on_a_tampered_wacz(
    stamped: Stamped, tmp_path: Path, tamper: Callable[[dict[str, bytes]], None], problem: str
) -> None:
    files = read_bundle(stamped.bundle)
    with zipfile.ZipFile(io.BytesIO(files[BUNDLE_WACZ])) as z:
        wacz = {name: z.read(name) for name in z.namelist()}
    tamper(wacz)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in wacz.items():
            z.writestr(name, data)
    files[BUNDLE_WACZ] = out.getvalue()
    report = verify_case(write_bundle(tmp_path / "forged.zip", files))
    assert any(p.startswith(f"{BUNDLE_WACZ}:") and problem in p for p in report.problems), report.problems


@pytest.mark.parametrize(
    ("url", "key"),
    [
        pytest.param("http://127.0.0.1:8765/p/x1", "1,0,0,127:8765)/p/x1", id="address-and-port"),
        pytest.param(
            "https://www.Galaxus.ch/de/s1/product/9?x=1", "ch,galaxus)/de/s1/product/9?x=1", id="www"
        ),
        pytest.param("urn:fullPage:http://shop.ch/p", "urn:fullpage:http://shop.ch/p", id="screenshot-urn"),
    ],
)
def test_surt_keys(url: str, key: str) -> None:
    assert surt(url) == key


def wacz_tool() -> str:
    """Webrecorder's own checker (the dev extra installs it): beside this Python or on the PATH."""
    beside = Path(sys.executable).parent / "wacz"
    found = str(beside) if beside.exists() else shutil.which("wacz")
    assert found, "the `wacz` tool is missing: pip install -e '.[dev]'"
    return found


def test_the_wacz_tool_validates_the_package(stamped: Stamped, tmp_path: Path) -> None:
    files = read_bundle(stamped.bundle)
    path = tmp_path / "captures.wacz"
    path.write_bytes(files[BUNDLE_WACZ])
    result = subprocess.run(
        [wacz_tool(), "validate", "-f", str(path)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_wacz_bytes_is_deterministic(stamped: Stamped) -> None:
    warc = read_bundle(stamped.bundle)["evidence.warc.gz"]
    first = wacz_bytes(warc, title="t", created="2026-03-02T07:00:00Z")
    assert first == wacz_bytes(warc, title="t", created="2026-03-02T07:00:00Z")
