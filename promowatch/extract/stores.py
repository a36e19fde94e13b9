"""Store list and store stock from a retailer's JSON API, as the profile's ``[stores]`` table describes it."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import regex

from promowatch.config import StoreApi
from promowatch.domain import Availability, StoreInfo, StoreStock
from promowatch.extract.jsonpath import ROOT, lookup


class StoreDataError(ValueError):
    """The API answer is not what the profile says it is: the look is ``unknown``, never "out of stock"."""


def _decode(body: bytes, path: str) -> list[Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StoreDataError(f"not JSON: {error}") from None
    return _list_at(data, path, "list_path")


def _list_at(data: Any, path: str, key: str) -> list[Any]:
    items = lookup(data, path)
    if isinstance(items, list):
        return items
    if isinstance(data, list):  # a bare array read through a path meant for an object
        raise StoreDataError(f'no list at {path!r}: the answer is a top-level array (write {key} = "$")')
    raise StoreDataError(f"no list at {'the top level' if path in ('', ROOT) else repr(path)}")


def _text(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _float(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return None


def parse_store_list(body: bytes, api: StoreApi) -> list[StoreInfo]:
    """Every store the list endpoint names; entries without an id are skipped."""
    stores = []
    for entry in _decode(body, api.list_path):
        store_id = _text(lookup(entry, api.id))
        if store_id is None:
            continue
        stores.append(
            StoreInfo(
                store_id=store_id,
                name=_text(lookup(entry, api.name)) or store_id,
                postcode=_text(lookup(entry, api.postcode)) if api.postcode else None,
                city=_text(lookup(entry, api.city)) if api.city else None,
                latitude=_float(lookup(entry, api.latitude)) if api.latitude else None,
                longitude=_float(lookup(entry, api.longitude)) if api.longitude else None,
            )
        )
    return stores


def _source_time(data: Any, path: str | None) -> datetime | None:
    value = lookup(data, path) if path else None
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


# a status word is short; a shop's API may send anything, and a profile pattern may backtrack without end, so a
# match is cut short after STATUS_SECONDS
STATUS_CHARS = 200
STATUS_SECONDS = 0.1


def stock_state(status: Any, quantity: int | None, api: StoreApi) -> Availability:
    """A store's state from its status word (``status_map``: regexes matching the whole word, any case) or,
    failing that, its quantity."""
    word = "" if status is None else str(status).strip()
    if 0 < len(word) <= STATUS_CHARS:  # a longer "status" is no status word
        for pattern, state in api.status_map.items():
            try:
                if regex.fullmatch(pattern, word, regex.IGNORECASE, timeout=STATUS_SECONDS):
                    return state
            except TimeoutError:
                break  # a pattern that backtracks without end says nothing; the quantity still may

    if quantity is not None:
        return Availability.IN_STOCK if quantity > 0 else Availability.OUT_OF_STOCK
    return Availability.UNKNOWN


def parse_store_stock(body: bytes, api: StoreApi) -> list[StoreStock]:
    """One StoreStock per store entry; a status the profile does not map and no quantity is ``unknown``."""
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise StoreDataError(f"not JSON: {error}") from None
    entries = _list_at(data, api.stock_path, "stock_path")
    data_time = _source_time(data, api.stock_time)
    stocks = []
    for entry in entries:
        store_id = _text(lookup(entry, api.stock_store_id))
        if store_id is None:
            continue
        raw_quantity = lookup(entry, api.stock_quantity) if api.stock_quantity else None
        quantity = (
            raw_quantity if isinstance(raw_quantity, int) and not isinstance(raw_quantity, bool) else None
        )
        status = lookup(entry, api.stock_status) if api.stock_status else None
        stocks.append(
            StoreStock(
                store_id=store_id,
                availability=stock_state(status, quantity, api),
                quantity=quantity,
                source_time=data_time,
                raw=_text(status),
            )
        )
    return stocks
