"""Each bad input of issue 19 (item 7) given to the CLI: one line naming what is wrong, exit 2 for bad input and
1 for an outside service that is down, never a traceback. The inputs come from the issue's probe of the
installed program, tried as a careless operator would."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

RETAILER = '[[retailers]]\nslug = "demo-shop"\nbase_url = "http://127.0.0.1:9"\n'


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])  # nothing listens there once the probe is closed


def promotion(price: str) -> str:
    return (
        f'{RETAILER}\n[[promotions]]\nretailer = "demo-shop"\nproduct_url = "http://127.0.0.1:9/p/1"\n'
        f'title = "ESAM"\nadvertised_price = "{price}"\n'
    )


def write(name: str, text: str | bytes) -> Callable[[Path], None]:
    def make(where: Path) -> None:
        path = where / name
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text)

    return make


def directory(name: str) -> Callable[[Path], None]:
    return lambda where: (where / name).mkdir()


@dataclass
class BadInput:
    args: list[str]
    code: int
    says: str  # a piece of the one line
    prepare: list[Callable[[Path], None]] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    secret: str | None = None  # must not be echoed


WATCHLIST = write("watchlist.toml", RETAILER)
CASES = {
    "huge advertised price": BadInput(
        ["check-config", "-w", "w.toml"],
        2,
        "advertised_price must be less than 10,000,000,000",
        [write("w.toml", promotion("1e30"))],
    ),
    "advertised price beyond the database": BadInput(
        ["check-config", "-w", "w.toml"],
        2,
        'advertised_price must be less than 10,000,000,000 (what the database holds), got "10000000000"',
        [write("w.toml", promotion("10000000000"))],
    ),
    "infinite threshold": BadInput(
        ["check-config", "-w", "w.toml"],
        2,
        "min_span_hours must be a number ≥ 0, got inf",
        [write("w.toml", "[settings.thresholds]\nmin_span_hours = inf\n" + RETAILER)],
    ),
    "infinite profile delay": BadInput(
        ["check-config", "-w", "w.toml"],
        2,
        "download_delay must be a finite number",
        [
            lambda where: (where / "sites").mkdir(),
            write(
                "sites/inf-shop.toml",
                'slug = "inf-shop"\nname = "Inf"\ncountry = "CH"\ncurrency = "CHF"\n'
                'base_url = "http://127.0.0.1:9"\ndownload_delay = inf\n',
            ),
            write("w.toml", '[[retailers]]\nslug = "inf-shop"\n'),
        ],
    ),
    "non-UTF-8 watchlist": BadInput(
        ["check-config", "-w", "w.toml"],
        2,
        "w.toml: not UTF-8 text (byte 77)",
        [write("w.toml", RETAILER.encode() + "title = 'Caf\xe9'\n".encode("latin-1"))],
    ),
    "watchlist is a directory": BadInput(
        ["check-config", "-w", "w.toml"], 2, "w.toml: is a directory", [directory("w.toml")]
    ),
    "deeply nested watchlist": BadInput(
        ["check-config", "-w", "w.toml"],
        2,
        "nested too deeply",
        [write("w.toml", "a = " + "[" * 5000 + "]" * 5000 + "\n")],
    ),
    "--now garbage": BadInput(
        ["crawl", "-w", "watchlist.toml", "--data-dir", "data", "--now", "garbage"],
        2,
        "--now 'garbage': not an ISO 8601 time",
        [WATCHLIST],
    ),
    "--db of an unknown dialect": BadInput(
        ["findings", "--db", "nosuch://user:hunter2@127.0.0.1/x"],
        2,
        "database URL nosuch://",
        secret="hunter2",
    ),
    "--db that is not a URL": BadInput(
        ["findings", "--db", "garbage"], 2, "database URL garbage: cannot be used"
    ),
    "--db in a missing directory": BadInput(
        ["crawl", "-w", "watchlist.toml", "--db", "sqlite:////nonexistent/promowatch/x.db"],
        2,
        "cannot be opened: unable to open database file",
        [WATCHLIST],
    ),
    "--db server down": BadInput(
        ["findings", "--db", f"postgresql+psycopg://u:hunter2@127.0.0.1:{closed_port()}/x"],
        1,
        "cannot be opened: connection failed",
        secret="hunter2",
    ),
    "data directory is a file": BadInput(
        ["crawl", "-w", "watchlist.toml", "--data-dir", "data"],
        2,
        "data: is a file, not a data directory",
        [WATCHLIST, write("data", "not a directory\n")],
    ),
    "Redis down (run)": BadInput(
        ["run", "-w", "watchlist.toml", "--data-dir", "data", "--distributed"],
        1,
        "Redis at redis://127.0.0.1:",
        [WATCHLIST],
        env={"PROMOWATCH_REDIS": f"redis://127.0.0.1:{closed_port()}/0"},
    ),
    "Redis down (worker)": BadInput(
        ["worker", "-w", "watchlist.toml", "--data-dir", "data"],
        1,
        "does not answer",
        [WATCHLIST],
        env={"PROMOWATCH_REDIS": f"redis://:hunter2@127.0.0.1:{closed_port()}/0"},
        secret="hunter2",
    ),
    "check not-a-url": BadInput(["check", "not-a-url"], 2, "'not-a-url': not an http(s) URL"),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_bad_input_is_one_line_and_an_exit_code(case: BadInput, tmp_path: Path) -> None:
    for prepare in case.prepare:
        prepare(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PROMOWATCH_")}
    result = subprocess.run(
        [sys.executable, "-m", "promowatch.cli", *case.args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
        env={**env, "PROMOWATCH_DATA": str(tmp_path / "default-data"), **case.env},
    )
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in result.stderr
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("promowatch: error: ")
    assert case.says in lines[0]
    assert result.returncode == case.code, result.stderr
    if case.secret:
        assert case.secret not in result.stderr
