"""Redis and scrapy-redis are the optional 'distributed' extra: without them promowatch loads its spiders and
crawls, and `promowatch worker` says in one line how to install what it needs.

Source: promowatch's own commands in subprocesses, the packages made unimportable as if never installed.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from promowatch.distributed import MISSING_EXTRA
from promowatch.run import EXIT_BAD_INPUT
from tests.ops.conftest import ROOT, write_watchlist

# None in sys.modules: `import redis` raises ImportError, as in an environment without the extra
WITHOUT_EXTRA = "import sys; sys.modules['redis'] = sys.modules['scrapy_redis'] = None; "


def run_python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", WITHOUT_EXTRA + code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def test_a_worker_without_the_distributed_extra_says_how_to_install_it(tmp_path: Path) -> None:
    watchlist = write_watchlist(tmp_path, "http://127.0.0.1:9", ["http://127.0.0.1:9/p/1"])
    argv = [
        "worker",
        "-w",
        str(watchlist),
        "--data-dir",
        str(tmp_path / "data"),
        "--redis",
        "redis://127.0.0.1:9/0",
    ]
    result = run_python(f"from promowatch.cli import main; sys.exit(main({argv!r}))")
    assert result.returncode == EXIT_BAD_INPUT, result.stderr[-2000:]
    assert result.stderr.strip() == f"promowatch: error: {MISSING_EXTRA}"


def test_scrapy_loads_the_spiders_without_the_distributed_extra() -> None:
    # Scrapy imports every module of spiders/, the worker's too
    result = run_python("from scrapy.cmdline import execute; execute(['scrapy', 'list'])")
    assert result.returncode == 0, result.stderr[-2000:]
    assert {"offers", "stores", "promotions"} <= set(result.stdout.split())


def test_a_postgresql_database_without_the_postgres_extra_says_how_to_install_it(tmp_path: Path) -> None:
    watchlist = write_watchlist(tmp_path, "http://127.0.0.1:9", ["http://127.0.0.1:9/p/1"])
    argv = ["evaluate", "-w", str(watchlist), "--data-dir", str(tmp_path / "data")]
    argv += ["--db", "postgresql+psycopg://promowatch:secret@127.0.0.1:9/promowatch"]
    code = "sys.modules['psycopg'] = None; from promowatch.cli import main; "
    result = run_python(code + f"sys.exit(main({argv!r}))")
    assert result.returncode == EXIT_BAD_INPUT, result.stderr[-2000:]
    (line,) = result.stderr.strip().splitlines()  # one line, no traceback
    assert "pip install 'promowatch[postgres]'" in line and "secret" not in line
