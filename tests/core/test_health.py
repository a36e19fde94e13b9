"""When a retailer's crawl is unhealthy (promowatch/health.py, issue 18 item 8 and its review): block pages that
asking again got past, products left blocked, an unknown share that jumps, a canary that stops reading."""

from __future__ import annotations

import pytest

from promowatch.health import LookCounts, judge

CALM = LookCounts(looks=1400, unknown=14, blocked=0, blocked_looks=0)


@pytest.mark.parametrize(
    ("run", "canary", "kinds"),
    [
        # one captcha out of 101 looks, read on the second request: nothing to act on
        pytest.param(LookCounts(101, 1, 0, 1), "in_stock", [], id="one-retried-captcha"),
        # a captcha every 13th request (7.7 %), each read when asked again: the shop challenges us
        pytest.param(LookCounts(130, 10, 0, 10), "in_stock", ["blocked"], id="many-retried-captchas"),
        # one product still blocked after its retries
        pytest.param(LookCounts(101, 3, 1, 3), "in_stock", ["blocked"], id="left-blocked"),
        pytest.param(LookCounts(100, 80, 0, 0), "in_stock", ["unknown"], id="unknown-jump"),
        pytest.param(LookCounts(100, 1, 0, 0), "unknown", ["canary"], id="canary-unreadable"),
    ],
)
def test_what_makes_a_run_unhealthy(run: LookCounts, canary: str, kinds: list[str]) -> None:
    health = judge("acme", run, CALM, canary)
    assert health.kinds == kinds
    assert health.healthy == (not kinds)
