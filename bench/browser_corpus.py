"""HTTP, browser and auto modes side by side on the real saved product pages of the development corpus.

Each labelled page of ``../shared/corpus`` is served from 127.0.0.1 twice: under ``/declared/ID`` with its charset
in the Content-Type header, under ``/bare/ID`` with none (the page's markup may still declare one). Each mode is a
real ``promowatch crawl`` in a subprocess with a watchlist whose only profile sets ``render`` (and the browser's
screenshot), ``block_third_party = true``, and Scrapy settings (bench/browser_corpus_settings.py) under which no
request leaves the machine: the requests aborted that way are counted. Printed per mode: price, availability and
orderable accuracy against the labels, false out-of-stock, unknown availability, wall time per page (start-up
included) and the peak of the summed RSS of the crawl, Node and Chromium (psutil, the whole process tree).

    .venv/bin/python bench/browser_corpus.py [--modes http,browser,browser+shot,auto] [--serve bare,declared]
        [--pages N] [--concurrency 2] [--errors]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import http.server
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
from w3lib.encoding import html_to_unicode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from promowatch.domain import Availability
from tests.browser.crawling import crawl_command, observations

CORPUS = Path(__file__).resolve().parents[1].parent / "shared" / "corpus"
NOW = "2026-11-23T08:00:00+00:00"
SAME_CLASS = {"limited": "in_stock"}
MODES = {  # name -> (render, screenshot)
    "http": ("http", False),
    "browser": ("browser", False),
    "browser+shot": ("browser", True),
    "auto": ("auto", False),
}
PROFILE = """slug = "{slug}"
render = "{render}"
concurrency = {concurrency}
download_delay = 0.0

[browser]
screenshot = {screenshot}
block_third_party = true
"""


def load_corpus(
    corpus: Path, limit: int | None, only: list[str] | None = None
) -> tuple[list[dict[str, str]], dict[str, bytes]]:
    with (corpus / "labels.tsv").open(encoding="utf-8") as handle:
        labels = [row for row in csv.DictReader(handle, delimiter="\t") if only is None or row["id"] in only]
    labels = labels[:limit]
    pages = {
        row["id"]: gzip.decompress((corpus / "pages" / f"{row['id']}.html.gz").read_bytes()) for row in labels
    }
    return labels, pages


class CorpusServer(http.server.ThreadingHTTPServer):
    """The corpus pages on 127.0.0.1: ``/declared/ID`` with the charset in the header, ``/bare/ID`` without."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        # the charset a reader of the bytes decides (BOM, markup, else UTF-8): what the header declares
        self.charsets = {key: html_to_unicode(None, body)[0] for key, body in pages.items()}
        super().__init__(("127.0.0.1", 0), CorpusHandler)
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class CorpusHandler(http.server.BaseHTTPRequestHandler):
    server: CorpusServer

    def do_GET(self) -> None:
        _, kind, key = [*self.path.split("?")[0].split("/"), "", ""][:3]
        body = self.server.pages.get(key)
        if kind not in ("declared", "bare") or body is None:
            self.send_error(404)
            return
        self.send_response(200)
        charset = f"; charset={self.server.charsets[key]}" if kind == "declared" else ""
        self.send_header("Content-Type", f"text/html{charset}")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def write_watchlist(
    root: Path, base_url: str, slug: str, render: str, shot: bool, paths: list[str], conc: int
) -> Path:
    (root / "sites").mkdir(parents=True, exist_ok=True)
    profile = PROFILE.format(slug=slug, render=render, concurrency=conc, screenshot=str(shot).lower())
    (root / "sites" / f"{slug}.toml").write_text(profile)
    urls = ", ".join(f'"{base_url}{path}"' for path in paths)
    path = root / "watchlist.toml"
    path.write_text(
        f'[[retailers]]\nslug = "{slug}"\nprofile = "{slug}"\nbase_url = "{base_url}"\nsweep = false\n'
        f"products = [{urls}]\n"
    )
    return path


def tree_rss(root: psutil.Process) -> int:
    total = 0
    try:
        members = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0
    for member in members:
        try:
            total += member.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


@dataclass
class Result:
    mode: str
    serve: str
    scores: dict[str, int]
    pages: int
    seconds: float
    peak_rss: int
    aborted: int
    screenshots: int
    exit_code: int
    errors: list[str]


def amount(text: str) -> Decimal | None:
    return Decimal(text).quantize(Decimal("0.01")) if text.strip() else None


def score(
    labels: list[dict[str, str]], seen: dict[str, dict[str, Any]], serve: str
) -> tuple[dict[str, int], list[str]]:
    counts = dict.fromkeys(("price", "availability", "orderable", "false_oos", "unknown"), 0)
    errors = []
    for row in labels:
        got = seen.get(f"/{serve}/{row['id']}")
        if got is None:
            errors.append(f"{row['id']}: no observation")
            continue
        wrong = []
        price = got["price"]
        if (Decimal(price).quantize(Decimal("0.01")) if price is not None else None) == amount(row["price"]):
            counts["price"] += 1
        else:
            wrong.append(f"price {price} != {row['price'] or '-'}")
        label, availability = row["availability"], got["availability"]
        if SAME_CLASS.get(availability, availability) == SAME_CLASS.get(label, label):
            counts["availability"] += 1
        else:
            wrong.append(f"availability {availability} != {label} ({(got['reason'] or '')[:80]})")
        if availability == "unknown":
            counts["unknown"] += 1
        if label in ("in_stock", "limited") and Availability(availability).unavailable:
            counts["false_oos"] += 1
            wrong.append("FALSE OUT-OF-STOCK")
        if got["orderable"] == {"yes": True, "no": False}.get(row["orderable_online"]):
            counts["orderable"] += 1
        else:
            wrong.append(f"orderable {got['orderable']} != {row['orderable_online']}")
        if wrong:
            errors.append(f"{row['id']}: " + "; ".join(wrong))
    return counts, errors


def run(
    server: CorpusServer,
    labels: list[dict[str, str]],
    mode: str,
    serve: str,
    concurrency: int,
    keep: Path | None = None,
) -> Result:
    render, shot = MODES[mode]
    with tempfile.TemporaryDirectory(prefix="promowatch-browsercorpus-") as tmp:
        root = Path(tmp) if keep is None else keep / f"{mode}-{serve}"
        root.mkdir(parents=True, exist_ok=True)
        paths = [f"/{serve}/{row['id']}" for row in labels]
        watchlist = write_watchlist(root, server.url, "corpus", render, shot, paths, concurrency)
        aborted = root / "aborted.txt"
        env = {
            **os.environ,
            "SCRAPY_SETTINGS_MODULE": "browser_corpus_settings",
            "PYTHONPATH": os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]),
            "PROMOWATCH_BENCH_ABORTED": str(aborted),
        }
        started = time.monotonic()
        process = psutil.Popen(
            crawl_command(watchlist, root / "data", now=NOW),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=open(root / "crawl.log", "w"),  # noqa: SIM115
        )
        peak = 0
        while process.poll() is None:
            peak = max(peak, tree_rss(process))
            time.sleep(0.1)
        seconds = time.monotonic() - started
        seen = observations(root / "data")
        counts, errors = score(labels, seen, serve)
        return Result(
            mode=mode,
            serve=serve,
            scores=counts,
            pages=len(labels),
            seconds=seconds,
            peak_rss=peak,
            aborted=len(aborted.read_text().splitlines()) if aborted.exists() else 0,
            screenshots=sum(1 for s in seen.values() if s["screenshot_sha256"]),
            exit_code=process.returncode,
            errors=errors,
        )


def table(results: list[Result]) -> str:
    lines = [
        "| mode | served | price | availability | orderable | false out-of-stock | unknown | time / page "
        "| peak RSS | screenshots | aborted off-machine requests |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:

        def pct(key: str, r: Result = r) -> str:
            return f"{100 * r.scores[key] / r.pages:.1f} %"

        lines.append(
            f"| {r.mode} | {r.serve} | {pct('price')} | {pct('availability')} | {pct('orderable')} "
            f"| {r.scores['false_oos']} | {r.scores['unknown']} | {r.seconds / r.pages:.2f} s "
            f"| {r.peak_rss / 2**30:.2f} GiB | {r.screenshots} | {r.aborted} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--modes", default="http,browser,browser+shot,auto")
    parser.add_argument(
        "--serve", default="bare,declared", help="bare (no charset header), declared, or both"
    )
    parser.add_argument("--pages", type=int, help="only the first N labelled pages")
    parser.add_argument("--only", help="only these page ids (comma-separated)")
    parser.add_argument(
        "--keep", type=Path, help="keep each crawl's data directory and log under this folder"
    )
    parser.add_argument(
        "--concurrency", type=int, default=2, help="pages at once (the profile's concurrency)"
    )
    parser.add_argument("--errors", action="store_true", help="list each mode's wrong pages")
    args = parser.parse_args()
    labels, pages = load_corpus(args.corpus, args.pages, args.only.split(",") if args.only else None)
    print(f"{len(labels)} pages, {psutil.cpu_count()} cores, concurrency {args.concurrency}", flush=True)
    results = []
    with CorpusServer(pages) as server:
        for serve in args.serve.split(","):
            for mode in args.modes.split(","):
                result = run(server, labels, mode, serve, args.concurrency, args.keep)
                results.append(result)
                print(table([result]).splitlines()[-1] + f" exit {result.exit_code}", flush=True)
                if args.errors:
                    print("\n".join("    " + e for e in result.errors), flush=True)
        server.shutdown()
    print(table(results))


if __name__ == "__main__":
    main()
