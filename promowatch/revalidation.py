"""Conditional re-checks (RFC 9110 §13): a page's validators from its last full response, sent back as
If-None-Match / If-Modified-Since. A shop that answers 304 Not Modified vouches that the page is the body
promowatch already holds, so the look is read from that stored body and costs the shop no page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Validators:
    """What the last full response of the page at ``url`` said about its version, and which stored body it
    was. They hold for that URL only: a redirect elsewhere is asked for without them."""

    url: str
    body_sha256: str
    media_type: str
    etag: str | None = None
    last_modified: str | None = None

    def to_json(self) -> dict[str, str | None]:
        return {
            "url": self.url,
            "body_sha256": self.body_sha256,
            "media_type": self.media_type,
            "etag": self.etag,
            "last_modified": self.last_modified,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Validators:
        return cls(
            data["url"], data["body_sha256"], data["media_type"], data.get("etag"), data.get("last_modified")
        )


def conditional_headers(validators: Validators) -> dict[str, str]:
    """The request headers that ask for the page only if it changed."""
    headers = {}
    if validators.etag:
        headers["If-None-Match"] = validators.etag
    if validators.last_modified:
        headers["If-Modified-Since"] = validators.last_modified
    return headers


# what the database keeps of each validator; a longer one (no real server sends one) is not kept, since a cut
# validator would never match again
ETAG_MAX, LAST_MODIFIED_MAX = 200, 64


def header_value(headers: Mapping[str, Sequence[str]], name: str, limit: int | None = None) -> str | None:
    """One header's first value, by case-insensitive name; None when absent or longer than ``limit``."""
    for key, values in headers.items():
        if key.lower() == name.lower() and values:
            return values[0] if limit is None or len(values[0]) <= limit else None
    return None
