"""Extraction time of hostile pages by size: the cost must grow with the page, not with its square.

    .venv/bin/python bench/hostile.py [--sizes 2000,4000,...]

For each generated page shape (``tests/extract/hostile_pages.py``) and size, prints the extraction seconds
(fastest of two runs, one core), the seconds per 1,000 units (flat when linear) and what was read.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promowatch.extract import extract_offer
from tests.extract import hostile_pages

# shape, the unit of its size, how many units per size step (huge text: characters, 50 per element)
SHAPES = (
    ("price_elements", "price elements", 1),
    ("flat_price_elements", "price elements", 1),
    ("buttons", "buttons", 1),
    ("huge_text", "characters", 50),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="2000,4000,8000,16000,32000,64000")
    args = parser.parse_args()
    sizes = [int(size) for size in args.sizes.split(",")]
    extract_offer(hostile_pages.price_elements(10), hostile_pages.URL)  # phrase tables compiled once
    print(f"{'page':<22}{'size':>10}  {'MB':>6}  {'seconds':>8}  {'s per 1k':>8}  read")
    for name, unit, scale in SHAPES:
        build = getattr(hostile_pages, name)
        for size in sizes:
            body = build(size * scale)
            best = float("inf")
            for _ in range(2):
                started = time.process_time()
                offer = extract_offer(body, hostile_pages.URL)
                best = min(best, time.process_time() - started)
            read = f"{offer.price} {offer.availability}" + (f" ({offer.reason})" if offer.reason else "")
            print(
                f"{name:<22}{size:>10}  {len(body) / 1e6:>6.2f}  {best:>8.2f}  {1000 * best / size:>8.3f}  "
                f"{read[:70]}"
            )
        print(f"{'':<22}(size in {unit if scale == 1 else f'units of {scale} {unit}'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
