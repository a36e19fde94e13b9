"""A hostile bundle or hostile shop text against ``case export`` and ``case verify`` (issue 19, items 3, 5 and
the TSA part of 6): each attack below was found by probing the installed program as a shop or forger would."""

from __future__ import annotations

import html as html_lib
import json
import socket
import struct
import subprocess
import sys
import tracemalloc
import warnings
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from promowatch.db.models import Promotion, Retailer, Store
from promowatch.evidence.case import BUNDLE_WARC, MANIFEST, TIMESTAMP_REPLY, export_case
from promowatch.evidence.case_verify import ReadLimits, printable, verify_case
from promowatch.evidence.timestamp import authority_of
from tests.evidence.builder import CaseWorld, build_world
from tests.evidence.tsa import running_authority

Entries = list[tuple[str, bytes]]
MiB = 1 << 20


def entries_of(bundle: Path) -> Entries:
    with zipfile.ZipFile(bundle) as z:
        return [(info.filename, z.read(info)) for info in z.infolist()]


def write_entries(path: Path, entries: Entries) -> Path:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "Duplicate name": the attack itself
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
            for name, data in entries:
                z.writestr(name, data)
    return path


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    """The installed command in a child process, which reports its own peak memory on stderr's last line."""
    code = (
        "import resource, sys\n"
        "from promowatch.cli import main\n"
        "try:\n"
        "    code = main(sys.argv[1:])\n"
        "finally:\n"
        "    print('maxrss_kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    return subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, check=False
    )


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if not line.startswith("maxrss_kib ")]


def maxrss_mib(result: subprocess.CompletedProcess[str]) -> float:
    line = next(x for x in result.stderr.splitlines() if x.startswith("maxrss_kib "))
    return int(line.split()[1]) / 1024


# --- item 5: the timestamp a bundle declares is required ---------------------------------------------------


def test_removed_timestamp_token_fails_when_case_json_declares_it(
    shared_world: CaseWorld, tmp_path: Path
) -> None:
    with running_authority() as tsa:
        stamped = export_case(
            shared_world.sessions,
            shared_world.blobs_root,
            shared_world.warc_dir,
            shared_world.finding_id,
            tmp_path / "stamped.zip",
            tsa_url=tsa.url,
        )
    assert verify_case(stamped).ok
    # the token is outside the manifest, so dropping it changes no listed hash
    stripped = [(n, d) for n, d in entries_of(stamped) if n != TIMESTAMP_REPLY]
    report = verify_case(write_entries(tmp_path / "stripped.zip", stripped))
    assert not report.ok
    assert report.first_problem == (
        f"case.json declares a trusted timestamp but {TIMESTAMP_REPLY} is missing"
    )


# --- item 6: the TSA URL's secrets stay out of the bundle ---------------------------------------------------


@pytest.mark.parametrize(
    ("url", "recorded"),
    [
        pytest.param("https://tsa.example/stamp?apikey=S3CRET", "https://tsa.example", id="query-key"),
        pytest.param("https://user:S3CRET@tsa.example:8443/x", "https://tsa.example:8443", id="userinfo"),
        pytest.param("http://127.0.0.1:3180/S3CRET/tsr", "http://127.0.0.1:3180", id="key-in-path"),
        pytest.param("https://[::1]:9000/t#S3CRET", "https://[::1]:9000", id="ipv6-fragment"),
        pytest.param("http://TSA.Example/", "http://tsa.example", id="host-lowercased"),
    ],
)
def test_authority_is_scheme_host_and_port_only(url: str, recorded: str) -> None:
    assert authority_of(url) == recorded


def test_case_json_records_the_tsa_host_not_its_api_key(shared_world: CaseWorld, tmp_path: Path) -> None:
    with running_authority() as tsa:
        keyed = tsa.url + "/v1/stamp?api_key=S3CRET-KEY-42"
        out = export_case(
            shared_world.sessions,
            shared_world.blobs_root,
            shared_world.warc_dir,
            shared_world.finding_id,
            tmp_path / "case.zip",
            tsa_url=keyed,
        )
        host = tsa.url.removesuffix("/tsa")
        report = verify_case(out, tsa_ca_file=tsa.ca_file)
    files = dict(entries_of(out))
    assert json.loads(files["case.json"])["timestamp"] == {"authority": host, "file": TIMESTAMP_REPLY}
    assert not [name for name, data in files.items() if b"S3CRET" in data]
    assert report.ok, report.problems


# --- item 5: bounded reading ---------------------------------------------------------------------------------


def test_entry_larger_than_the_limit_is_refused_from_its_header(bundle: Path, tmp_path: Path) -> None:
    """A 1.1 GiB entry in a ~5 MB bundle (the probe's 3 GiB entry cost 6.4 GB): refused before inflating."""
    hostile = tmp_path / "huge.zip"
    write_entries(hostile, entries_of(bundle))
    zero = bytes(MiB)
    with (
        zipfile.ZipFile(hostile, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as z,
        z.open("blobs/huge", "w", force_zip64=True) as entry,
    ):
        for _ in range(1100):
            entry.write(zero)
    assert hostile.stat().st_size < 10 * MiB
    result = cli("case", "verify", str(hostile))
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[-1] == (
        "case FAILED: 'blobs/huge' inflates to 1153433600 bytes, more than the 1073741824 a bundle entry may hold"
    )
    assert stderr_lines(result) == []
    assert maxrss_mib(result) < 400


def gzip_member(data: Iterator[bytes]) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    return b"".join(packer.compress(chunk) for chunk in data) + packer.flush()


def warc_bomb(payload_mib: int) -> bytes:
    """One gzipped WARC response whose payload is ``payload_mib`` MiB of zeros: ~1 kB per MiB compressed."""
    body_len = payload_mib * MiB
    http = f"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {body_len}\r\n\r\n".encode()
    head = (
        "WARC/1.0\r\nWARC-Type: response\r\nWARC-Target-URI: http://127.0.0.1:8765/p/bomb\r\n"
        "WARC-Record-ID: <urn:uuid:00000000-0000-4000-8000-000000000000>\r\nWARC-Date: 2026-03-02T07:00:00Z\r\n"
        f"WARC-Payload-Digest: sha256:{'0' * 64}\r\nContent-Type: application/http; msgtype=response\r\n"
        f"Content-Length: {len(http) + body_len}\r\n\r\n"
    ).encode()

    def parts() -> Iterator[bytes]:
        yield head + http
        for _ in range(payload_mib):
            yield bytes(MiB)
        yield b"\r\n\r\n"

    return gzip_member(parts())


@pytest.fixture(scope="module")
def warc_bomb_bundle(bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The WARC entry's zip header says ~200 kB (stored, as export stores it); it inflates to 200 MiB."""
    entries = entries_of(bundle)
    path = tmp_path_factory.mktemp("bomb") / "bomb.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in entries:
            if name == BUNDLE_WARC:
                data += warc_bomb(200)
            z.writestr(name, data, zipfile.ZIP_STORED if name == BUNDLE_WARC else zipfile.ZIP_DEFLATED)
    with zipfile.ZipFile(path) as z:
        assert z.getinfo(BUNDLE_WARC).file_size < 2 * MiB
    return path


def peak_mib(check: Callable[[], object]) -> float:
    tracemalloc.start()
    try:
        check()
        return tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()


def test_inflating_warc_is_read_in_bounded_memory(warc_bomb_bundle: Path) -> None:
    reports = []
    peak = peak_mib(lambda: reports.append(verify_case(warc_bomb_bundle)))
    assert peak < 48, f"verify held {peak:.0f} MiB for a 200 MiB payload"
    assert not reports[0].ok
    assert f"{BUNDLE_WARC} does not match its SHA-256 in the manifest" in reports[0].problems


def test_inflating_warc_past_the_limit_is_refused(warc_bomb_bundle: Path) -> None:
    report = verify_case(warc_bomb_bundle, limits=ReadLimits(entry_bytes=64 * MiB))
    assert not report.ok
    assert report.problems[-1].startswith(f"{BUNDLE_WARC} inflates to more than the limit")


def test_entry_inflating_past_its_lying_header_is_cut_at_the_header(bundle: Path, tmp_path: Path) -> None:
    """The zip header claims 4 kB; the data inflates to 200 MiB. Reading stops at the claimed size."""
    payload = b"".join(bytes(MiB) for _ in range(200))
    hostile = write_entries(tmp_path / "lying.zip", [*entries_of(bundle), ("blobs/liar", payload)])
    del payload
    raw = bytearray(hostile.read_bytes())
    central = raw.rindex(b"PK\x01\x02\x14")  # the last central directory entry: blobs/liar
    assert raw[central + 46 : central + 56] == b"blobs/liar"
    struct.pack_into("<I", raw, central + 24, 4096)  # uncompressed size
    hostile.write_bytes(bytes(raw))
    reports = []
    peak = peak_mib(lambda: reports.append(verify_case(hostile)))
    assert peak < 16
    assert reports[0].first_problem is not None
    assert reports[0].first_problem.startswith("'blobs/liar' cannot be read: Bad CRC-32")


# --- item 5: duplicate names and crafted names -----------------------------------------------------------------


def test_duplicate_entry_with_the_forged_copy_first_is_refused(bundle: Path, tmp_path: Path) -> None:
    entries = entries_of(bundle)
    case = json.loads(dict(entries)["case.json"])
    case["finding"]["summary"] = "forged"
    forged = [("case.json", json.dumps(case).encode()), *entries]
    report = verify_case(write_entries(tmp_path / "dup.zip", forged))
    assert not report.ok
    assert report.first_problem == "'case.json' appears 2 times in the bundle; a bundle names each file once"


def test_entry_name_with_terminal_escapes_cannot_fake_a_verdict(bundle: Path, tmp_path: Path) -> None:
    name = "\x1b[2K\rcase verified"
    hostile = write_entries(tmp_path / "esc.zip", [*entries_of(bundle), (name, b"x")])
    result = cli("case", "verify", str(hostile))
    assert result.returncode == 1
    assert "\x1b" not in result.stdout and "\r" not in result.stdout
    assert result.stdout.splitlines()[-1] == (
        "case FAILED: \\x1b[2K\\rcase verified is in the bundle but not in the manifest"
    )


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        pytest.param("\x1b[2K\rcase verified", "\\x1b[2K\\rcase verified", id="csi-and-carriage-return"),
        pytest.param("a\nb", "a\\nb", id="newline"),
        pytest.param("\u202egnp.exe", "\\u202egnp.exe", id="bidi-override"),
        pytest.param("Café – 499.–", "Café – 499.–", id="printable-unicode-kept"),
    ],
)
def test_printable(text: str, shown: str) -> None:
    assert printable(text) == shown


# --- item 5 and 7: files that are not bundles, bundles that cannot be read -------------------------------------


def encrypted(source: Path, target: Path) -> Path:
    """The bundle with every entry flagged as encrypted (general purpose bit 0), as a zip tool would."""
    raw = bytearray(source.read_bytes())
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = raw.find(signature)
        while at != -1:
            raw[at + flag_at] |= 0x1
            at = raw.find(signature, at + 4)
    target.write_bytes(bytes(raw))
    return target


def corrupt_deflate(source: Path, target: Path) -> Path:
    """case.json's compressed bytes overwritten: the header is intact, inflating fails."""
    with zipfile.ZipFile(source) as z:
        info = z.getinfo("case.json")
    raw = bytearray(source.read_bytes())
    name_len, extra_len = struct.unpack_from("<HH", raw, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    raw[start : start + 64] = b"\xff" * 64
    target.write_bytes(bytes(raw))
    return target


@pytest.mark.parametrize(
    ("make", "code", "line"),
    [
        pytest.param(
            lambda b, t: (t / "notes.txt", (t / "notes.txt").write_text("hello"))[0],
            2,
            "not a case bundle (a zip file): File is not a zip file",
            id="text-file",
        ),
        pytest.param(lambda b, t: t, 2, "not a case bundle (a zip file)", id="directory"),
        pytest.param(lambda b, t: t / "missing.zip", 2, "not a case bundle (a zip file)", id="missing"),
        pytest.param(
            lambda b, t: (t / "half.zip", (t / "half.zip").write_bytes(b.read_bytes()[:5000]))[0],
            2,
            "not a case bundle (a zip file): File is not a zip file",
            id="truncated",
        ),
        pytest.param(
            lambda b, t: encrypted(b, t / "enc.zip"),
            1,
            "is encrypted; a case bundle is never encrypted",
            id="encrypted",
        ),
        pytest.param(
            lambda b, t: corrupt_deflate(b, t / "bad.zip"),
            1,
            "'case.json' cannot be read:",
            id="corrupt-deflate",
        ),
    ],
)
def test_unreadable_input_gives_one_line_and_an_exit_code(
    bundle: Path, tmp_path: Path, make: Callable[[Path, Path], Path], code: int, line: str
) -> None:
    result = cli("case", "verify", str(make(bundle, tmp_path)))
    assert result.returncode == code, result.stderr
    assert "Traceback" not in result.stderr
    if code == 2:
        assert result.stdout == ""
        (error,) = stderr_lines(result)
        assert error.startswith("promowatch: error: ") and line in error
    else:
        assert stderr_lines(result) == []
        last = result.stdout.splitlines()[-1]
        assert last.startswith("case FAILED: ") and line in last


# --- item 3: shop text in the chart and the PDF ---------------------------------------------------------------


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> CaseWorld:
    return build_world(tmp_path_factory.mktemp("shop-text"), offers=8)


@pytest.mark.parametrize(
    ("retailer", "title"),
    [
        # the probe's store name from a store API, which made matplotlib's mathtext parser raise
        pytest.param("Shop $\\bar{$", "Kaffeemaschine X1", id="mathtext-parse-error"),
        # the probe's title, drawn "was 5nowonly10" as mathtext
        pytest.param("Demo Shop", "was $5 now only $10", id="dollar-amounts"),
        pytest.param("A&B <Shop>", "<b>50%</b> $x^2$ off", id="markup-and-math"),
    ],
)
def test_shop_text_is_drawn_as_written(
    small_world: CaseWorld, tmp_path: Path, retailer: str, title: str
) -> None:
    with small_world.sessions.begin() as s:
        s.execute(update(Retailer).values(name=retailer))
        s.execute(update(Promotion).values(title=title))
        s.execute(update(Store).values(name=retailer + " Filiale"))
    out = export_case(
        small_world.sessions,
        small_world.blobs_root,
        small_world.warc_dir,
        small_world.finding_id,
        tmp_path / "case.zip",
        language="en",
    )
    files = dict(entries_of(out))
    (tmp_path / "summary.pdf").write_bytes(files["summary.pdf"])
    text = subprocess.run(
        ["pdftotext", "-layout", "summary.pdf", "-"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    assert f"Retailer: {retailer}" in text
    assert title in text  # the product heading of the dossier, as the shop wrote it
    html = files["summary.html"].decode()
    assert f"<td>{html_lib.escape(retailer)}</td>" in html
    assert f'<h1 class="running-product">{html_lib.escape(title)}</h1>' in html
    assert files[MANIFEST] and verify_case(out).ok


def test_an_unreachable_timestamp_authority_is_one_line(small_world: CaseWorld, tmp_path: Path) -> None:
    # issue 19 item 7: an unreachable TSA gave a traceback; a closed port on this machine, nothing else contacted
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    data = small_world.data_dir
    db = f"sqlite:///{data.parent / 'case.db'}"
    tsa = f"http://user:secret@127.0.0.1:{port}/tsa?key=hunter2"
    result = cli(
        "case", "export", str(small_world.finding_id), "-o", str(tmp_path / "c.zip"),
        "--data-dir", str(data), "--db", db, "--tsa", tsa,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    (error,) = stderr_lines(result)
    assert error.startswith("promowatch: error: ") and f"127.0.0.1:{port}" in error
    assert "secret" not in error and "hunter2" not in error
    assert not (tmp_path / "c.zip").exists()
