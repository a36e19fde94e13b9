"""Sending through Apprise 2.x: one Apprise object per run, each target under its own tag.

A target is one URL of one subscription, named ``<subscription>-<8 hex of the URL's SHA-256>``; the URL itself
is a secret and never appears in logs, exceptions, reports or the database.
"""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import apprise
from apprise import AppriseResultStatus

from notify.messages import Message, format_message

HTML_SCHEMAS = ("mailto", "mailtos")


def target_id(subscription: str, url: str) -> str:
    """The stored name of a target: the subscription's name and a short hash of its URL."""
    digest = hashlib.sha256(url.encode()).hexdigest()[:8]
    return f"{subscription[:110]}-{digest}"


def _tag(target: str) -> str:
    return "pw-" + hashlib.sha256(target.encode()).hexdigest()[:12]


def schema_of(url: str) -> str:
    return url.split("://", 1)[0].lower() if "://" in url else ""


def secrets_of(url: str) -> list[str]:
    """The parts of an Apprise URL that may be secret: everything after the schema, piece by piece."""
    rest = url.split("://", 1)[-1]
    pieces = {url, rest}
    try:
        parts = urlsplit(url)
        pieces |= {parts.username or "", parts.password or "", parts.hostname or "", parts.netloc, parts.path}
        pieces |= set(re.split(r"[/@:]", parts.path + "/" + parts.netloc))
        pieces |= {value for _, value in parse_qsl(parts.query)}
    except ValueError:
        pass
    # short pieces ("json", "80") are not secrets and masking them would garble every message
    return sorted((p for p in pieces if len(p) >= 4), key=len, reverse=True)


def mask(text: str, urls: Iterable[str]) -> str:
    """``text`` with every secret piece of ``urls`` replaced by ***."""
    for url in urls:
        for piece in secrets_of(url):
            text = text.replace(piece, "***")
    return text


def masked_url(url: str) -> str:
    """What may be shown of a URL: its schema only."""
    return f"{schema_of(url) or '?'}://***"


class _MaskFilter(logging.Filter):
    def __init__(self, urls: list[str]) -> None:
        super().__init__()
        self.urls = urls

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = mask(record.getMessage(), self.urls)
        record.args = None
        return True


@contextmanager
def masked_logs(urls: list[str]) -> Iterator[None]:
    """Mask the URLs' secrets in whatever Apprise logs meanwhile."""
    log = logging.getLogger("apprise")
    masker = _MaskFilter(urls)
    log.addFilter(masker)
    try:
        yield
    finally:
        log.removeFilter(masker)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    status: str  # SUCCESS, FAILURE, NOMATCH, PARTIAL, TIMEOUT, INVALID
    error: str | None  # masked


class Sender:
    """The run's Apprise object; each target is added under its own tag plus the subscription's tags."""

    def __init__(self, timeout: float = 30.0) -> None:
        self.apprise = apprise.Apprise()
        self.urls: dict[str, str] = {}
        self.valid: dict[str, bool] = {}
        self.timeout = timeout

    def add(self, target: str, url: str, tags: Iterable[str] = ()) -> bool:
        self.urls[target] = url
        with masked_logs([url]):
            self.valid[target] = self.apprise.add(url, tag=[_tag(target), *tags])
        return self.valid[target]

    def html(self, target: str) -> bool:
        return schema_of(self.urls[target]) in HTML_SCHEMAS

    def send(self, target: str, message: Message, attachment: tuple[bytes, str] | None = None) -> SendResult:
        """Send to one target; ok only when Apprise reports SUCCESS."""
        url = self.urls[target]
        if not self.valid.get(target):
            return SendResult(False, "INVALID", f"not a usable Apprise URL ({masked_url(url)})")
        with tempfile.TemporaryDirectory(prefix="promowatch-attach-") as temp, masked_logs([url]):
            attach = None
            if attachment is not None:
                path = Path(temp) / attachment[1]
                path.write_bytes(attachment[0])
                attach = str(path)
            try:
                result = self.apprise.notify(
                    body=message.body,
                    title=message.title,
                    body_format=message.body_format,
                    tag=_tag(target),
                    attach=attach,
                    timeout=self.timeout,
                )
            except Exception as error:  # a plugin may raise on odd input; never let the URL out
                return SendResult(False, "FAILURE", mask(f"{type(error).__name__}: {error}", [url]))
            with result:
                status = AppriseResultStatus(result.status)
                if status == AppriseResultStatus.SUCCESS:
                    return SendResult(True, status.name, None)
                lines = [entry.message for entry in result.logs() if entry.level in ("WARNING", "ERROR")]
                detail = mask("; ".join(lines[-2:]), [url])[:300]
                return SendResult(False, status.name, f"{status.name}" + (f": {detail}" if detail else ""))


def send_test(url: str, language: str = "en") -> tuple[bool, str]:
    """Send a test notification to ``url``; returns (ok, a message without secrets)."""
    sender = Sender()
    target = target_id("test", url)
    if not sender.add(target, url):
        return False, f"not a valid Apprise URL: {masked_url(url)}"
    message = format_message("test", {}, language, as_html=sender.html(target))
    result = sender.send(target, message)
    if result.ok:
        return True, f"delivered to {masked_url(url)} ({target})"
    return False, f"not delivered to {masked_url(url)} ({target}): {result.error}"
