"""Re-deriving a finding from a case bundle's observations with the same rule code that raised it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

from promowatch import rules
from promowatch.domain import Availability
from promowatch.rules import OfferPoint, PromotionFacts, Sighting, StoreInterval, Verdict


@dataclass(frozen=True, slots=True)
class Recomputation:
    ok: bool
    message: str


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _time(value: str | None) -> datetime | None:
    return None if value is None else _at(value)


def _money(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _availability(value: str) -> Availability:
    try:
        return Availability(value)
    except ValueError:
        return Availability.UNKNOWN


def _facts(promotion: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> PromotionFacts:
    sightings = tuple(
        Sighting(_at(line["record"]["seen_at"]), _at(line["extension"]["last_seen"]))
        for line in lines
        if line["kind"] == "ad"
    )
    return PromotionFacts(
        id=promotion["id"],
        title=promotion["title"],
        advertised_price=Decimal(promotion["advertised_price"]),
        reference_price=_money(promotion["reference_price"]),
        currency=promotion["currency"],
        valid_from=_time(promotion["valid_from"]),
        valid_until=_time(promotion["valid_until"]),
        created_at=_at(promotion["created_at"]),
        sightings=tuple(sorted(sightings, key=lambda s: s.seen_at)),
        origin=promotion.get("origin") or "sweep",
        window_basis=promotion.get("window_basis"),
    )


def _offers(lines: Sequence[Mapping[str, Any]]) -> list[OfferPoint]:
    points = [
        OfferPoint(
            r["id"],
            _at(r["observed_at"]),
            _availability(r["availability"]),
            r["orderable"],
            _money(r["price"]),
            _money(r["regular_price"]),
            r["currency"],
            r["screenshot_sha256"],
            r.get("delivery"),
        )
        for r in (line["record"] for line in lines if line["kind"] == "offer")
    ]
    return sorted(points, key=lambda p: (p.observed_at, p.id))


def store_intervals(lines: Sequence[Mapping[str, Any]]) -> list[StoreInterval]:
    """The store observations of ``observations.jsonl`` lines as the store rules read them, oldest first."""
    out = []
    for line in lines:
        if line["kind"] != "store":
            continue
        r, ext = line["record"], line["extension"]
        out.append(
            StoreInterval(
                r["id"],
                r["store_id"],
                _at(r["first_seen"]),
                _at(ext["last_seen"]),
                ext["checks"] or 1,
                _availability(r["availability"]),
                r["quantity"],
            )
        )
    return sorted(out, key=lambda i: (i.first_seen, i.id))


def _scope(case: Mapping[str, Any]) -> tuple[set[int], str]:
    inputs = case["finding"]["inputs"] or {}
    if "scope_store_ids" in inputs:
        return set(inputs["scope_store_ids"]), inputs.get("scope", "retailer")
    from promowatch.evaluate import store_scope

    stores = [SimpleNamespace(**s) for s in case["promotion"]["stores"]]
    return store_scope(stores, case["promotion"]["region"], ())  # type: ignore[arg-type]


def run_rule(case: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> Verdict:
    """The verdict of the finding's rule over the bundle's observations at the finding's evaluation time."""
    finding = case["finding"]
    inputs = finding["inputs"] or {}
    thresholds = rules.parse_thresholds(inputs.get("thresholds") or {}, "case.json finding.inputs.thresholds")
    now = _time(finding["evaluated_at"])
    if now is None:
        raise ValueError("finding.evaluated_at is missing")
    facts = _facts(case["promotion"], lines)
    rule = finding["rule"]
    if rule == "unorderable_online":
        return rules.unorderable_online(facts, _offers(lines), thresholds, now)
    if rule == "price_mismatch":
        return rules.price_mismatch(facts, _offers(lines), thresholds, now)
    if rule in ("store_stockout", "store_sellout"):
        scope, name = _scope(case)
        crawls = case.get("store_crawls")
        sampled = None if crawls is None else [rules.Crawl(_at(a), _time(b)) for a, b in crawls]
        check = rules.store_stockout if rule == "store_stockout" else rules.store_sellout
        return check(facts, store_intervals(lines), scope, thresholds, now, name, sampled, _offers(lines))
    if rule == "delivery_slipping":
        from promowatch.rules.delivery import delivery_slipping

        scope, name = _scope(case)
        crawls = case.get("store_crawls")
        sampled = None if crawls is None else [rules.Crawl(_at(a), _time(b)) for a, b in crawls]
        return delivery_slipping(
            facts, _offers(lines), store_intervals(lines), scope, thresholds, now, name, sampled
        )
    if rule == "reference_price_unsupported":
        return rules.reference_price_unsupported(
            facts, _offers(lines), thresholds, now, inputs.get("variant", "eu")
        )
    if rule == "delivery_overdue":  # a consumer's order, from the bundle's orders section
        from promowatch.orders import order_verdict_from_case

        scope, _ = _scope(case)
        crawls = case.get("store_crawls")
        sampled = None if crawls is None else [rules.Crawl(_at(a), _time(b)) for a, b in crawls]
        return order_verdict_from_case(
            case, lines, facts, store_intervals(lines), scope, thresholds, now, sampled
        )
    raise LookupError(f"no rule {rule!r} in promowatch {case['software']['version']}")


def recompute_finding(case: Mapping[str, Any], lines: Sequence[Mapping[str, Any]]) -> Recomputation:
    """Apply the rule again and compare: an episode opened at the finding's time, citing the same observations."""
    finding = case["finding"]
    try:
        verdict = run_rule(case, lines)
    except (LookupError, ValueError, ArithmeticError) as error:
        return Recomputation(False, f"finding could not be recomputed: {error}")
    opened = _time(finding["opened_at"])
    episode = next((e for e in verdict.episodes if e.opened_at == opened), None)
    if episode is None:
        return Recomputation(
            False,
            f"recomputed {finding['rule']} ({verdict.status}) has no episode opened at {finding['opened_at']}",
        )
    cited = finding["observation_ids"] or {}
    for kind, ids in (("offer", episode.offer_ids), ("store", episode.store_ids)):
        if sorted(ids) != sorted(cited.get(kind, [])):
            return Recomputation(
                False,
                f"recomputed {finding['rule']} cites other {kind} observations than the finding "
                f"({len(ids)} instead of {len(cited.get(kind, []))})",
            )
    if (episode.closed_at is None) != (finding["closed_at"] is None):
        return Recomputation(False, f"recomputed {finding['rule']} differs on whether the finding is closed")
    return Recomputation(
        True, f"finding recomputed: {finding['rule']} {verdict.status}, episode opened {finding['opened_at']}"
    )
