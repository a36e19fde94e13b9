"""`promowatch demo --serve DAY`: the demo shop alone, for crawling it yourself (the README's tour).

Source: the real command in a subprocess on a free port of 127.0.0.1, stopped with Ctrl+C (SIGINT).
"""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import urllib.request


def test_serve_prints_the_scenario_pages_and_serves_them_until_ctrl_c() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    shop = subprocess.Popen(
        [sys.executable, "-m", "promowatch.cli", "demo", "--serve", "3", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert shop.stdout is not None
        first = shop.stdout.readline()
        assert first.startswith(f"demo shop at http://127.0.0.1:{port} on simulated day 3"), first
        bait = shop.stdout.readline().split()[1]  # "(a) URL  title"
        with urllib.request.urlopen(bait, timeout=10) as page:
            html = page.read().decode("utf-8")
        assert "De'Longhi" in html or "De&#x27;Longhi" in html or "De&#39;Longhi" in html
    finally:
        shop.send_signal(signal.SIGINT)
        _, stderr = shop.communicate(timeout=30)
    assert shop.returncode == 0, stderr
    assert "Traceback" not in stderr


def test_serve_on_a_taken_port_says_so_in_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "promowatch.cli", "demo", "--serve", "3", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"promowatch: error: demo shop cannot listen on 127.0.0.1:{port}: the port is already in use "
        "(stop the other program or choose another port)"
    )
