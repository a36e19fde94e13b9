"""End to end: `promowatch run` once per simulated day over both demo retailers' fortnight, scored against
their truth tables (promowatch/demo/truth.py); every finding's case bundle and the evidence store verify.

Issue 18's acceptance test. It takes about as long as `promowatch demo` (under 90 s on 2 cores).
"""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from notify.messages import RULE_LABELS
from promowatch.demo.elektro.shop import ElektroShop
from promowatch.demo.run import CHECK_HOUR, DEMO_START, Inbox, run_day, score_demo
from promowatch.demo.shop import DemoShop
from promowatch.demo.truth import DEMO_SHOP, load_outcome
from promowatch.demo.watchlist import both_watchlist
from promowatch.extract.delivery import promise_json

DAYS = 14


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args], capture_output=True, text=True, check=False
    )


# 14 simulated days of both retailers (about 75 s on 2 idle cores), then an export and a verify per finding
@pytest.mark.timeout(1200)
def test_both_demo_retailers_score_perfectly(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    inbox = Inbox()
    with DemoShop(DEMO_START) as shop, ElektroShop(DEMO_START) as elektro, inbox.serving():
        watchlist = data / "watchlist.toml"
        watchlist.write_text(both_watchlist(shop.url, elektro.url, inbox.url))
        for day in range(DAYS):
            now = DEMO_START + timedelta(days=day) + CHECK_HOUR
            shop.set_clock(now)
            elektro.set_clock(now)
            inbox.day = day
            result = run_day(watchlist, data, now)
            assert result.returncode in (0, 1), result.stderr[-3000:]
        assert elektro.captchas > 0  # the interstitial was really served

    db_url = f"sqlite:///{data / 'promowatch.db'}"
    scored = score_demo(db_url, inbox.messages)
    failed = "\n".join(
        f"{r.retailer}: {r.check}: expected {r.expected}, got {r.observed}" for r in scored.failed()
    )
    problems = [f"score {scored.summary()}:\n{failed}"] if not scored.perfect else []

    findings, _ = load_outcome(db_url, DEMO_START)
    assert findings, "the demo found nothing at all"
    # issue 25: the bait's rolling delivery promise opens delivery_slipping on day 13, told to the watchdog once
    slipping = RULE_LABELS["fr"]["delivery_slipping"]
    assert [(f.opened, f.closed) for f in findings if f.rule == "delivery_slipping"] == [(13, None)]
    told = [
        m["day"] for m in inbox.messages if m["path"] == DEMO_SHOP.watchdog_path() and slipping in m["title"]
    ]
    assert told == [13], told
    ids = cli("findings", "--data-dir", str(data), "--json")
    assert ids.returncode == 0, ids.stderr
    for finding in json.loads(ids.stdout):
        bundle = tmp_path / f"case-{finding['id']}.zip"
        exported = cli("case", "export", str(finding["id"]), "-o", str(bundle), "--data-dir", str(data))
        if exported.returncode != 0:
            problems.append(f"case export {finding['id']} ({finding['rule']}): {exported.stderr.strip()}")
            continue
        verified = cli("case", "verify", str(bundle))
        if verified.returncode != 0:
            problems.append(
                f"case verify {finding['id']} ({finding['rule']}): {verified.stdout.strip()[-500:]}"
            )
        if finding["rule"] == "delivery_slipping":  # each offer line shows its promise, read from its record
            with zipfile.ZipFile(bundle) as archive:
                lines = [json.loads(line) for line in archive.read("observations.jsonl").splitlines()]
            offers = [line for line in lines if line["kind"] == "offer"]
            assert any(line["delivery_promise"] for line in offers)
            for line in offers:
                record = line["record"]
                seen_at = datetime.fromisoformat(record["observed_at"].replace("Z", "+00:00"))
                assert line["delivery_promise"] == promise_json(record["delivery"], seen_at), record
    evidence = cli("evidence", "verify", "--data-dir", str(data))
    if evidence.returncode != 0:
        problems.append(f"evidence verify: {evidence.stdout.strip()[-500:]} {evidence.stderr.strip()[-500:]}")
    assert not problems, "\n".join(problems)
