"""Extraction accuracy and speed over the labelled corpus (../shared/corpus by default).

    .venv/bin/python bench/extraction.py [--corpus DIR] [--errors]

Prints price / reference price / availability / orderable accuracy, false and missed out-of-stock, pages per
second on one core (extraction only; pages are read and decompressed beforehand) and peak RSS, then the same
fields per language of the pages (the corpus's ``language`` column).
"""

from __future__ import annotations

import argparse
import csv
import resource
import sys
import time
from collections import Counter, defaultdict
from decimal import Decimal
from pathlib import Path

from promowatch.domain import Availability, Offer
from promowatch.extract import extract_offer
from promowatch.extract.page import read_page

_SAME_CLASS = {"limited": "in_stock"}
_UNAVAILABLE = {"out_of_stock", "discontinued"}


def _amount(text: str) -> Decimal | None:
    return Decimal(text).quantize(Decimal("0.01")) if text.strip() else None


def _orderable(label: str) -> bool | None:
    return {"yes": True, "no": False}.get(label)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
    parser.add_argument("--corpus", type=Path, default=default)
    parser.add_argument("--errors", action="store_true", help="list the pages it gets wrong")
    parser.add_argument("--repeat", type=int, default=3, help="timing passes over the corpus")
    args = parser.parse_args()

    with (args.corpus / "labels.tsv").open(encoding="utf-8") as handle:
        labels = list(csv.DictReader(handle, delimiter="\t"))
    pages = {row["id"]: read_page(args.corpus / "pages" / f"{row['id']}.html.gz") for row in labels}

    results: dict[str, Offer] = {}
    started = time.perf_counter()
    cpu_started = time.process_time()
    for _ in range(args.repeat):
        for row in labels:
            results[row["id"]] = extract_offer(
                pages[row["id"]], row["page_url"] or f"https://example.invalid/{row['id']}"
            )
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    per_second = len(labels) * args.repeat / elapsed
    per_cpu_second = len(labels) * args.repeat / cpu

    counts = dict.fromkeys(
        ("price", "regular", "availability", "orderable", "false_oos", "missed_oos", "oos_total", "currency"),
        0,
    )
    errors: list[str] = []
    by_language: dict[str, Counter[str]] = defaultdict(Counter)
    for row in labels:
        offer = results[row["id"]]
        wrong = []
        if offer.price == _amount(row["price"]):
            counts["price"] += 1
        else:
            wrong.append(f"price {offer.price} != {row['price'] or '-'}")
        if not row["price"] or offer.currency == (row["currency"] or None):
            counts["currency"] += 1
        else:
            wrong.append(f"currency {offer.currency} != {row['currency']}")
        if offer.regular_price == _amount(row["regular_price"]):
            counts["regular"] += 1
        else:
            wrong.append(f"regular {offer.regular_price} != {row['regular_price'] or '-'}")
        label = row["availability"]
        got = str(offer.availability)
        if _SAME_CLASS.get(got, got) == _SAME_CLASS.get(label, label):
            counts["availability"] += 1
        else:
            wrong.append(f"availability {got} != {label} ({offer.reason or ''})")
        if label in ("in_stock", "limited") and Availability(got).unavailable:
            counts["false_oos"] += 1
            wrong.append("FALSE OUT-OF-STOCK")
        if label in _UNAVAILABLE:
            counts["oos_total"] += 1
            if not Availability(got).unavailable:
                counts["missed_oos"] += 1
        if offer.orderable == _orderable(row["orderable_online"]):
            counts["orderable"] += 1
        else:
            wrong.append(f"orderable {offer.orderable} != {row['orderable_online']}")
        language = by_language[row["language"] or "?"]
        language["pages"] += 1
        for field in ("price", "regular", "availability", "orderable"):
            language[field] += not any(w.startswith(field) for w in wrong)
        if wrong:
            errors.append(f"{row['id']}: " + "; ".join(wrong) + f"\n    label notes: {row['notes'][:160]}")

    total = len(labels)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    def pct(key: str) -> str:
        return f"{counts[key]}/{total} = {100 * counts[key] / total:.1f} %"

    print(f"pages                    {total}")
    print(f"price correct            {pct('price')}")
    print(f"currency correct         {pct('currency')}  (pages with a price label)")
    print(f"reference price correct  {pct('regular')}")
    print(f"availability correct     {pct('availability')}  (limited = in_stock; unknown only by unknown)")
    print(f"false out-of-stock       {counts['false_oos']}  (must be 0)")
    print(f"missed out-of-stock      {counts['missed_oos']}/{counts['oos_total']}")
    print(f"orderable correct        {pct('orderable')}")
    print(f"pages per CPU second     {per_cpu_second:.1f}  (one core, {args.repeat} passes, extraction only)")
    print(f"pages per wall second    {per_second:.1f}  (depends on what else the machine runs)")
    print(f"peak RSS                 {peak_mb:.0f} MB  (corpus held in memory)")
    print("\nper language       pages   price  reference  availability  orderable")
    for code, figures in sorted(by_language.items(), key=lambda item: (-item[1]["pages"], item[0])):
        shares = [f"{figures[f] / figures['pages']:>{w}.0%}" for f, w in (("price", 6), ("regular", 10))]
        shares += [
            f"{figures[f] / figures['pages']:>{w}.0%}" for f, w in (("availability", 13), ("orderable", 10))
        ]
        print(f"  {code:<16} {figures['pages']:>5}  {'  '.join(shares)}")
    if args.errors:
        print("\nerrors:")
        for line in errors:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
