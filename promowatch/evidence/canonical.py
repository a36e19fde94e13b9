"""Canonical JSON: one byte string per record, so a third party can re-hash it with any JSON library."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from promowatch.domain import as_utc, money_str


def iso_utc(moment: datetime | None) -> str | None:
    """A UTC time as ``2026-11-26T06:38:22.123456Z``: fixed precision so re-reads hash the same."""
    if moment is None:
        return None
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# values JSON writes as they are; told by exact type first, since a record holds mostly these and an
# isinstance test against an abstract class (Mapping) costs more than the rest of the hash
_AS_IS = frozenset({str, int, float, bool, type(None)})


def _plain(value: Any) -> Any:
    kind = type(value)
    if kind in _AS_IS:
        return value
    if kind is dict:
        return {str(k): _plain(v) for k, v in value.items()}
    if kind is list:
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def canonical_json(record: Mapping[str, Any]) -> bytes:
    """Sorted keys, no spaces, UTF-8, Decimals as two-decimal strings, times as ISO UTC with ``Z``."""
    return json.dumps(_plain(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def canonical_sha256(record: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``record``."""
    return hashlib.sha256(canonical_json(record)).hexdigest()
