"""Fixtures of the operations tests: local servers, watchlists, subprocess crawls, PostgreSQL and Redis."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest

from tests.ops.countingshop import CountingShop, counting_shops, stop_shops
from tests.ops.faultserver import FaultServer

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable

PROFILE = """slug = "{slug}"
name = "Fault shop"
country = "CH"
currency = "CHF"
language = "de"
base_url = "{base_url}"
concurrency = {concurrency}
"""


def write_watchlist(
    where: Path,
    base_url: str,
    products: list[str],
    *,
    slug: str = "faulty",
    canary: str | None = None,
    concurrency: int = 4,
    profile: str = "",
) -> Path:
    """A watchlist with one retailer watching ``products`` (paths on ``base_url``); ``profile``: more of the
    site profile's TOML."""
    (where / "sites").mkdir(parents=True, exist_ok=True)
    (where / "sites" / f"{slug}.toml").write_text(
        PROFILE.format(slug=slug, base_url=base_url, concurrency=concurrency) + profile
    )
    lines = ["[[retailers]]", f'slug = "{slug}"', f"products = {json.dumps(products)}"]
    if canary:
        lines.append(f'canary = "{canary}"')
    path = where / "watchlist.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def crawl_command(
    watchlist: Path,
    data_dir: Path,
    *,
    db: str | None = None,
    overrides: Mapping[str, object] | None = None,
    spiders: str = "offers,stores",
    now: str | None = None,
) -> list[str]:
    """The command line of a crawl in its own process (tests/ops/runner.py); ``overrides`` are Scrapy settings,
    ``now`` the run's simulated time (ISO 8601)."""
    command = [PYTHON, "-m", "tests.ops.runner", str(watchlist), str(data_dir), "--spiders", spiders]
    if db:
        command += ["--db", db]
    if now:
        command += ["--now", now]
    for key, value in (overrides or {}).items():
        command += ["--set", f"{key}={json.dumps(value)}"]
    return command


def run_crawl_process(
    watchlist: Path,
    data_dir: Path,
    *,
    db: str | None = None,
    overrides: Mapping[str, object] | None = None,
    timeout: float = 300,
    spiders: str = "offers,stores",
    now: str | None = None,
) -> tuple[subprocess.CompletedProcess[str], dict[str, object]]:
    """Crawl in a subprocess (the reactor runs once per process); the runner's JSON summary."""
    command = crawl_command(watchlist, data_dir, db=db, overrides=overrides, spiders=spiders, now=now)
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    summary = json.loads(result.stdout.strip().splitlines()[-1]) if result.returncode == 0 else {}
    return result, summary


@pytest.fixture
def shops() -> Iterator[dict[str, CountingShop]]:
    """Two shops that count the requests they serve at once (tests/ops/countingshop.py)."""
    running = counting_shops("kaffee-ag", "elektro-sa")
    yield running
    stop_shops(running)


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    server = FaultServer(slow_seconds=6.0).start()
    yield server
    server.stop()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _missing(variable: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(
            f"{variable} is not set in CI: run the suite through scripts/with-services.sh (make pytest)"
        )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """$PROMOWATCH_TEST_PG, or a throw-away server started here from Debian's binaries."""
    if os.environ.get("PROMOWATCH_TEST_PG"):
        yield os.environ["PROMOWATCH_TEST_PG"]
        return
    _missing("PROMOWATCH_TEST_PG")
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin"))
    if not bins:
        pytest.fail(
            "PostgreSQL is not installed (/usr/lib/postgresql/*/bin) and PROMOWATCH_TEST_PG is not set"
        )
    pg_bin = bins[-1]
    work = Path(tempfile.mkdtemp(prefix="promowatch-pg-"))
    work.chmod(0o777)
    as_postgres = ["su", "postgres", "-s", "/bin/sh", "-c"] if os.geteuid() == 0 else ["sh", "-c"]
    port = _free_port()
    data = work / "pg"
    data.mkdir()
    if os.geteuid() == 0:
        shutil.chown(data, "postgres")
    subprocess.run(
        [*as_postgres, f"{pg_bin}/initdb -D {data} -A trust -U promowatch"], check=True, capture_output=True
    )
    subprocess.run(
        [
            *as_postgres,
            f"{pg_bin}/pg_ctl -D {data} -l {work}/pg.log -o '-p {port} -k {work} "
            f"-c listen_addresses=127.0.0.1' -w start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield f"postgresql+psycopg://promowatch@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, f"{pg_bin}/pg_ctl -D {data} -m immediate stop"], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """$PROMOWATCH_TEST_REDIS, or a throw-away redis-server started here."""
    if os.environ.get("PROMOWATCH_TEST_REDIS"):
        yield os.environ["PROMOWATCH_TEST_REDIS"]
        return
    _missing("PROMOWATCH_TEST_REDIS")
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("redis-server is not installed and PROMOWATCH_TEST_REDIS is not set")
    port = _free_port()
    work = Path(tempfile.mkdtemp(prefix="promowatch-redis-"))
    process = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(work),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def pg_database(postgres_url: str, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database on the test PostgreSQL server, dropped afterwards."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = (
        "pw_" + "".join(c if c.isalnum() else "_" for c in request.node.name.lower())[:40] + f"_{os.getpid()}"
    )
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
