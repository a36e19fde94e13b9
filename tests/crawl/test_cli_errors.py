"""Bad input and unreachable shops: one clear line on stderr, a non-zero exit, nothing stored before lost."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from promowatch.db.engine import open_database
from promowatch.db.models import Retailer


def promowatch(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *args], capture_output=True, text=True, cwd=cwd, timeout=120
    )


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens there once the probe is closed


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


def test_broken_watchlist(tmp_path: Path) -> None:
    (tmp_path / "watchlist.toml").write_text(
        '[[retailers]]\nslug = "demo-shop"\nbase_url = "http://127.0.0.1:9"\n\n'
        '[[promotions]]\nretailer = "demo-shop"\nproduct_url = "http://127.0.0.1:9/p/1"\n'
        'title = "De\'Longhi ESAM"\nadvertised_price = "cheap"\n'
    )
    result = promowatch("check-config", "-w", "watchlist.toml", cwd=tmp_path)
    assert result.returncode == 2
    assert one_line(result.stderr) == (
        'promowatch: error: watchlist.toml: promotion 1 ("De\'Longhi ESAM"): '
        'advertised_price must be a positive amount, got "cheap"'
    )


@pytest.mark.parametrize(
    "command",
    [
        pytest.param(["extract", "page.html"], id="extract"),
        pytest.param(["check", "http://127.0.0.1:9/p/1"], id="check"),
        pytest.param(["check-config", "-w", "watchlist.toml"], id="check-config"),
    ],
)
def test_a_broken_phrase_file_is_named_in_one_line(tmp_path: Path, command: list[str]) -> None:
    # the README's example pasted with its line break inside the quotes
    phrases = tmp_path / "phrases"
    phrases.mkdir()
    (phrases / "fr.toml").write_text('out_of_stock = ["plus de\nmachines chez nous"]\n')
    (tmp_path / "page.html").write_text("<html><body><h1>ESAM</h1></body></html>")
    (tmp_path / "watchlist.toml").write_text(
        '[[retailers]]\nslug = "demo-shop"\nbase_url = "http://127.0.0.1:9"\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**os.environ, "PROMOWATCH_PHRASES": str(phrases)},
    )
    assert result.returncode == 2
    assert one_line(result.stderr).startswith(f"promowatch: error: {phrases / 'fr.toml'}: not valid TOML")


def test_unknown_profile(tmp_path: Path) -> None:
    (tmp_path / "watchlist.toml").write_text(
        '[[retailers]]\nslug = "nosuchshop"\nbase_url = "http://127.0.0.1:9"\n'
    )
    result = promowatch("crawl", "-w", "watchlist.toml", "--data-dir", "data", cwd=tmp_path)
    assert result.returncode == 2
    line = one_line(result.stderr)
    assert "retailer 1 (\"nosuchshop\"): profile cannot be used: unknown site profile 'nosuchshop'" in line
    assert "demo-shop" in line  # the known profiles are listed


def test_unreachable_shop_keeps_what_was_stored(tmp_path: Path) -> None:
    port = closed_port()
    (tmp_path / "watchlist.toml").write_text(
        f'[[retailers]]\nslug = "demo-shop"\nbase_url = "http://127.0.0.1:{port}"\nproducts = ["/p/x"]\n'
    )
    data = tmp_path / "data"
    data.mkdir()
    sessions = open_database(f"sqlite:///{data / 'promowatch.db'}")
    with sessions.begin() as session:
        session.add(Retailer(slug="kept", name="Stored before"))
    result = promowatch("crawl", "-w", "watchlist.toml", "--data-dir", str(data), "--quiet", cwd=tmp_path)
    assert result.returncode == 1
    assert one_line(result.stderr) == (
        f"promowatch: error: demo-shop: unreachable at http://127.0.0.1:{port} (every request failed)"
    )
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Retailer).where(Retailer.slug == "kept")) == 1


def test_demo_port_in_use(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = promowatch("demo", "--port", str(port), "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    assert result.returncode == 1
    assert f"127.0.0.1:{port}" in one_line(result.stderr)
