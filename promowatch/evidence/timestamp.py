"""RFC 3161 trusted timestamps through the ``openssl ts`` command: query, fetch over HTTP, check.

A token covers either bytes (a case's manifest) or a SHA-256 given as hex (the hash chain's head entry, whose
``entry_sha256`` is itself the hash of its canonical preimage): ``openssl ts -verify -digest`` checks the latter
without the preimage.
"""

from __future__ import annotations

import hashlib
import re
import subprocess
import tempfile
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit


class TimestampError(RuntimeError):
    pass


def _openssl(*args: str, data: bytes | None = None) -> bytes:
    result = subprocess.run(["openssl", "ts", *args], input=data, capture_output=True, check=False)
    if result.returncode != 0:
        raise TimestampError(f"openssl ts {args[0]} failed: {result.stderr.decode(errors='replace').strip()}")
    return result.stdout


def timestamp_query(data: bytes) -> bytes:
    """A DER timestamp query over SHA-256 of ``data``, asking for the authority's certificate."""
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "data"
        source.write_bytes(data)
        return _openssl("-query", "-data", str(source), "-sha256", "-cert")


def authority_of(tsa_url: str) -> str:
    """The authority as a case records and messages name it: scheme, host and port only. The path, query and
    user info of a TSA URL can carry an API key, and a case bundle travels to third parties."""
    parts = urlsplit(tsa_url)
    host = parts.hostname or ""
    if ":" in host:  # IPv6
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    return f"{parts.scheme}://{host}" + ("" if port is None else f":{port}")


def digest_query(sha256_hex: str) -> bytes:
    """A DER timestamp query over a SHA-256 given as 64 hex digits, asking for the authority's certificate."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256_hex):
        raise TimestampError(f"not a SHA-256 in hex: {sha256_hex!r}")
    return _openssl("-query", "-digest", sha256_hex, "-sha256", "-cert")


def request_timestamp(data: bytes, tsa_url: str, timeout: float = 30.0) -> bytes:
    """POST a query for ``data`` to the authority; return its DER reply (``.tsr``), checked to be granted."""
    return _request(timestamp_query(data), _sha256(data), tsa_url, timeout)


def request_digest_timestamp(sha256_hex: str, tsa_url: str, timeout: float = 30.0) -> bytes:
    """``request_timestamp`` for a SHA-256 known only as its hex digest."""
    return _request(digest_query(sha256_hex), sha256_hex, tsa_url, timeout)


def _request(query: bytes, imprint: str, tsa_url: str, timeout: float) -> bytes:
    request = urllib.request.Request(
        tsa_url, data=query, headers={"Content-Type": "application/timestamp-query"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            reply: bytes = response.read()
    except (urllib.error.URLError, OSError, ValueError) as error:
        reason = getattr(error, "reason", None) or error
        raise TimestampError(f"timestamp authority {authority_of(tsa_url)} not reachable: {reason}") from None
    status = reply_text(reply)
    if "Status: Granted" not in status:
        raise TimestampError(f"the timestamp authority refused: {status.splitlines()[:3]}")
    if imprint_of(reply) != imprint:
        raise TimestampError("the timestamp reply is for other data")
    return reply


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def reply_text(reply: bytes) -> str:
    """``openssl ts -reply -text`` of a DER reply."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "reply.tsr"
        path.write_bytes(reply)
        return _openssl("-reply", "-in", str(path), "-text").decode(errors="replace")


def imprint_of(reply: bytes) -> str | None:
    """The hex message imprint a reply timestamps, or None when it holds no token."""
    text = reply_text(reply)
    match = re.search(r"Message data:\n((?:\s+[0-9a-f]{4} - .*\n)+)", text)
    if not match:
        return None
    digest = ""
    for line in match.group(1).splitlines():
        # "    0000 - 2c f2 4d ba 5f b0 a3 0e-26 e8 3b 2a c5 b9 e2 9e   ,.M._...": 16 bytes, then their ASCII
        hex_area = line.split(" - ", 1)[1][:47].replace("-", " ")
        digest += "".join(hex_area.split())
    return digest


def time_of(reply: bytes) -> str | None:
    """The time the authority stamped, as it prints it."""
    match = re.search(r"Time stamp: (.+)", reply_text(reply))
    return match.group(1).strip() if match else None


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def stamped_at(reply: bytes) -> datetime | None:
    """The authority's time as a UTC datetime (openssl prints ``Dec  8 01:30:00.5 2026 GMT``)."""
    printed = time_of(reply)
    match = re.fullmatch(r"(\w{3}) +(\d+) (\d+):(\d+):(\d+)(?:\.(\d+))? (\d{4}) GMT", printed or "")
    if match is None or match.group(1) not in _MONTHS:
        return None
    month, day, hour, minute, second, fraction, year = match.groups()
    micros = int((fraction or "0").ljust(6, "0")[:6])
    return datetime(
        int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second), micros, tzinfo=UTC
    )


def verify_digest_timestamp(sha256_hex: str, reply: bytes, ca_file: Path) -> None:
    """Full check of a token over a hex SHA-256 against a trusted CA; raises ``TimestampError`` when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        tsr = Path(tmp) / "reply.tsr"
        tsr.write_bytes(reply)
        _openssl("-verify", "-digest", sha256_hex, "-in", str(tsr), "-CAfile", str(ca_file))


def verify_timestamp(data: bytes, reply: bytes, ca_file: Path, untrusted: Path | None = None) -> None:
    """Full check of the signature chain against a trusted CA; raises ``TimestampError`` when it fails."""
    with tempfile.TemporaryDirectory() as tmp:
        source, tsr = Path(tmp) / "data", Path(tmp) / "reply.tsr"
        source.write_bytes(data)
        tsr.write_bytes(reply)
        args = ["-verify", "-data", str(source), "-in", str(tsr), "-CAfile", str(ca_file)]
        if untrusted is not None:
            args += ["-untrusted", str(untrusted)]
        _openssl(*args)
