"""Case export at scale: a finding backed by 10,000 observations must export in under 20 s.

Builds the coffee-machine scenario (tests/evidence/builder.py) with one offer observation a minute for a week
(10,000 offer observations, a screenshot every 50th, a page that changes every third fetch) through the real
evidence pipeline and chain, then times export_case and verify_case and prints the bundle's size.

    .venv/bin/python bench/case_export.py [--observations 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promowatch.evidence.case import export_case
from promowatch.evidence.case_verify import verify_case
from tests.evidence.builder import build_world


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--observations", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        world = build_world(root, offers=args.observations, every=timedelta(minutes=1), browser_every=50)
        built = time.perf_counter() - started
        started = time.perf_counter()
        bundle = export_case(
            world.sessions, world.blobs_root, world.warc_dir, world.finding_id, root / "case.zip"
        )
        exported = time.perf_counter() - started
        started = time.perf_counter()
        report = verify_case(bundle)
        verified = time.perf_counter() - started
        with zipfile.ZipFile(bundle) as z:
            names = z.namelist()
            lines = z.read("observations.jsonl").count(b"\n")
        crawl_warc = sum(p.stat().st_size for p in world.warc_dir.glob("*.warc.gz"))
        print(f"observations in bundle: {lines} (built in {built:.1f} s)")
        print(f"export_case: {exported:.2f} s  (target < 20 s)")
        print(f"verify_case: {verified:.2f} s  ok={report.ok} {report.first_problem or ''}")
        print(
            f"zip size: {bundle.stat().st_size / 1e6:.2f} MB, {len(names)} files; crawl WARCs {crawl_warc / 1e6:.2f} MB"
        )


if __name__ == "__main__":
    main()
