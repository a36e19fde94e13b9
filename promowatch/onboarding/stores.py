"""The ``[stores]`` table drafted from JSON answers the shop's pages fetched (or the URLs given).

An answer holding an array of objects with ids, names, postcodes or coordinates is a store list; one holding
an array of objects with a store's id and a quantity or a status level is per-store stock. Field names are
matched against the words shops use for them, in several languages, and the stock's store ids are checked
against the list's.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

from promowatch.domain import Availability
from promowatch.extract.vocabulary import item_availability
from promowatch.onboarding.draft import Section


@dataclass(frozen=True)
class JsonAnswer:
    url: str
    data: Any


# field words per key: the key's last step, lower case, "_" and "-" removed
_WORDS = {
    "id": (
        "id",
        "storeid",
        "shopid",
        "marktid",
        "filialid",
        "filialeid",
        "branchid",
        "locationid",
        "code",
        "nr",
    ),
    "name": ("name", "title", "label", "displayname", "bezeichnung", "nom", "nome", "nombre"),
    "postcode": ("postcode", "postalcode", "zip", "zipcode", "plz", "npa", "cap", "cp", "postleitzahl"),
    "city": ("city", "town", "ort", "stadt", "ville", "localite", "locality", "citta", "ciudad"),
    "latitude": ("lat", "latitude", "breitengrad"),
    "longitude": ("lon", "lng", "long", "longitude", "laengengrad"),
    "quantity": (
        "quantity",
        "qty",
        "stock",
        "menge",
        "anzahl",
        "bestand",
        "quantite",
        "quantita",
        "count",
        "amount",
    ),
    "status": (
        "status",
        "state",
        "level",
        "availability",
        "ampel",
        "stockstatus",
        "stocklevel",
        "trafficlight",
    ),
    "time": ("updatedat", "updated", "lastupdate", "lastupdated", "timestamp", "stand", "asof", "datatime"),
}
# status words whose meaning is plain, any language the demo and real APIs use (traffic lights included)
_STATUS = {
    Availability.IN_STOCK: (
        "available",
        "instock",
        "high",
        "green",
        "gruen",
        "grün",
        "yes",
        "true",
        "plenty",
        "disponible",
        "verfuegbar",
        "verfügbar",
        "lieferbar",
        "vorraetig",
        "vert",
        "ok",
    ),
    Availability.LIMITED: (
        "low",
        "limited",
        "few",
        "yellow",
        "gelb",
        "orange",
        "medium",
        "lowstock",
        "wenig",
        "faible",
        "jaune",
    ),
    Availability.OUT_OF_STOCK: (
        "none",
        "out",
        "outofstock",
        "soldout",
        "red",
        "rot",
        "no",
        "false",
        "zero",
        "empty",
        "unavailable",
        "indisponible",
        "epuise",
        "épuisé",
        "ausverkauft",
        "rouge",
        "nichtverfuegbar",
    ),
}


# status words that come in sets: a set seen in part is written whole (a store list that answered "gruen" and
# "rot" today will answer "gelb" some day)
_FAMILIES = (
    ("gruen", "gelb", "rot"),
    ("green", "yellow", "red"),
    ("vert", "jaune", "rouge"),
    ("available", "low", "none"),
    ("in_stock", "low_stock", "out_of_stock"),
    ("high", "low", "none"),
)


def _word(key: str) -> str:
    return re.sub(r"[_\-\s]", "", key.rsplit(".", 1)[-1]).lower()


def _arrays(data: Any, path: str = "$") -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Every array of objects in the answer, with its dotted path (``$`` for the answer itself)."""
    if isinstance(data, list) and data and all(isinstance(e, dict) for e in data):
        yield path, data
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _arrays(value, key if path == "$" else f"{path}.{key}")


def _leaves(entry: dict[str, Any], prefix: str = "", depth: int = 2) -> Iterator[tuple[str, Any]]:
    """(dotted path, value) of the scalar fields of one entry, nested objects to ``depth``."""
    for key, value in entry.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and depth > 1:
            yield from _leaves(value, f"{path}.", depth - 1)
        elif not isinstance(value, dict | list):
            yield path, value


def _field(entries: list[dict[str, Any]], kind: str, check: Any = None) -> str | None:
    """The path of the first field named as ``kind`` says whose values pass ``check``."""
    leaves = list(_leaves(entries[0]))
    for word in _WORDS[kind]:
        for path, value in leaves:
            if _word(path) == word and (check is None or check(value)):
                return path
    return None


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    try:
        float(value)
    except (TypeError, ValueError):
        return False
    return True


def _looks_like_list(entries: list[dict[str, Any]]) -> int:
    return sum(_field(entries, k) is not None for k in ("name", "postcode", "city", "latitude", "longitude"))


def status_state(value: str) -> Availability | None:
    """The plain meaning of a status word, or None.

    >>> status_state("gruen"), status_state("LOW"), status_state("maybe")
    (<Availability.IN_STOCK: 'in_stock'>, <Availability.LIMITED: 'limited'>, None)
    """
    word = re.sub(r"[_\-\s]", "", value).lower()
    for state, words in _STATUS.items():
        if word in words:
            return state
    known = item_availability(value)
    return known[0] if known else None


def _relative(url: str, base_host: str | None) -> str:
    parts = urlsplit(url)
    if base_host is not None and parts.netloc != base_host:
        return url
    return parts.path + (f"?{parts.query}" if parts.query else "")


def draft_stores(
    answers: list[JsonAnswer], *, sku: str | None = None, gtin: str | None = None, host: str | None = None
) -> Section:
    """Draft ``[stores]`` from the JSON answers; ``sku``/``gtin`` of the product page put ``{sku}`` into the
    stock URL, ``host`` (``host:port``) makes the shop's own URLs relative to its base URL."""
    section = Section("stores")
    store_list: tuple[JsonAnswer, str, list[dict[str, Any]]] | None = None
    for answer in answers:
        for path, entries in _arrays(answer.data):
            larger = store_list is None or len(entries) > len(store_list[2])
            if larger and _field(entries, "id") and _looks_like_list(entries) >= 2:
                store_list = (answer, path, entries)
    store_ids: set[str] = set()
    if store_list is None:
        section.notes.append(
            "no answer looked like a store list (objects with ids, names, postcodes, coordinates)"
        )
        section.add("list_url", None, "the URL of the shop's store list API (JSON)")
    else:
        answer, path, entries = store_list
        section.add("list_url", _relative(answer.url, host), f"{len(entries)} stores")
        section.add("list_path", path, "the answer itself: a top-level array" if path == "$" else "")
        id_path = _field(entries, "id") or "id"
        store_ids = {str(e.get(id_path)) for e in entries}
        section.add("id", id_path)
        for key in ("name", "postcode", "city"):
            found = _field(entries, key, lambda v: isinstance(v, str | int) and not isinstance(v, bool))
            section.add(key, found, f"e.g. {_example(entries, found)}" if found else "no such field")
        for key in ("latitude", "longitude"):
            found = _field(entries, key, _is_number)
            section.add(key, found, "" if found else "no such field")
    _stock(section, answers, store_list[0] if store_list else None, store_ids, sku, gtin, host)
    return section


def _example(entries: list[dict[str, Any]], path: str) -> str:
    value: Any = entries[0]
    for step in path.split("."):
        value = value.get(step) if isinstance(value, dict) else None
    return repr(value)


def _stock(
    section: Section,
    answers: list[JsonAnswer],
    listing: JsonAnswer | None,
    store_ids: set[str],
    sku: str | None,
    gtin: str | None,
    host: str | None,
) -> None:
    best: tuple[int, JsonAnswer, str, list[dict[str, Any]], str] | None = None
    for answer in answers:
        if answer is listing:
            continue
        for path, entries in _arrays(answer.data):
            id_path = _field(entries, "id")
            if id_path is None:
                continue
            if not (_field(entries, "quantity", _is_number) or _field(entries, "status")):
                continue
            overlap = len({str(e.get(id_path)) for e in entries} & store_ids)
            if best is None or overlap > best[0]:
                best = (overlap, answer, path, entries, id_path)
    if best is None:
        section.add(
            "stock_url", None, "no answer looked like per-store stock (store ids with quantities or levels)"
        )
        return
    overlap, answer, path, entries, id_path = best
    url = _relative(answer.url, host)
    templated = _template(url, sku, gtin)
    section.add(
        "stock_url",
        templated,
        "the product's number in the URL"
        if templated != url
        else "the product's number is not in this URL: check",
        sure=templated != url,
    )
    section.add("stock_path", path, "the answer itself: a top-level array" if path == "$" else "")
    note = f"{overlap} of {len(entries)} ids are the store list's" if store_ids else ""
    section.add("stock_store_id", id_path, note)
    quantity = _field(entries, "quantity", _is_number)
    section.add("stock_quantity", quantity, "" if quantity else "no quantity field")
    status = _field(entries, "status", lambda v: isinstance(v, str))
    section.add("stock_status", status, "" if status else "no status field")
    time_key = (
        next((k for k, v in answer.data.items() if _word(k) in _WORDS["time"] and isinstance(v, str)), None)
        if isinstance(answer.data, dict) and path != "$"
        else None
    )
    if time_key:
        section.add("stock_time", time_key, "the shop's own time of the data")
    if status:
        _status_map(section, entries, status, quantity)


def _template(url: str, sku: str | None, gtin: str | None) -> str:
    for value, name in ((sku, "sku"), (gtin, "gtin")):
        if value and (value in url or quote(value) in url):
            return url.replace(quote(value), "{" + name + "}").replace(value, "{" + name + "}")
    return url


def _status_map(section: Section, entries: list[dict[str, Any]], status: str, quantity: str | None) -> None:
    values: dict[str, list[Any]] = {}
    for entry in entries:
        value: Any = entry
        for step in status.split("."):
            value = value.get(step) if isinstance(value, dict) else None
        if isinstance(value, str):
            values.setdefault(value, []).append(entry.get(quantity) if quantity else None)
    mapped: dict[str, str] = {}
    unsure: list[str] = []
    for value, quantities in values.items():
        state = status_state(value)
        if state is not None:
            mapped[value] = state.value
        else:
            shown = sorted({q for q in quantities if q is not None})[:5]
            unsure.append(f'"{value}" (quantities {shown})' if shown else f'"{value}"')
    added = []
    for family in _FAMILIES:
        if len(set(family) & set(mapped)) >= 2:
            for word in family:
                state = status_state(word)
                if word not in mapped and state is not None:
                    mapped[word] = state.value
                    added.append(word)
    note = f"the values seen: {', '.join(values)}" + (
        f"; not seen, of the same set: {', '.join(added)}" if added else ""
    )
    section.add("status_map", mapped, note if mapped else "", sure=bool(mapped))
    for text in unsure:
        section.notes.append(f"status {text} has no plain meaning: add it to status_map with its state")
