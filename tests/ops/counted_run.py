"""Runs the ``promowatch`` command in this process, counting what a run should do once: parse the watchlist and
create a database engine; and whether every database connection it opened was closed before it ended.

``python -m tests.ops.counted_run REPORT.json promowatch-args...`` — the counts go to REPORT.json as the process
exits. Counting wraps the real ``load_watchlist`` (installed before the command's modules import it) and listens
to SQLAlchemy's own engine and pool events; nothing is replaced.
"""

from __future__ import annotations

import atexit
import json
import os
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.pool import Pool

import promowatch.config

counts: dict[str, Any] = {"pid": os.getpid(), "watchlist_parses": 0, "connections_opened": 0}
counts["connections_closed"] = 0
engines: dict[int, Engine] = {}  # kept alive so that ids stay distinct
parse = promowatch.config.load_watchlist


def counted_parse(path: Path) -> promowatch.config.Watchlist:
    counts["watchlist_parses"] += 1
    return parse(path)


def engine_used(connection: Any) -> None:
    engines[id(connection.engine)] = connection.engine


def opened(_dbapi_connection: Any, _record: Any) -> None:
    counts["connections_opened"] += 1


def closed(_dbapi_connection: Any, _record: Any) -> None:
    counts["connections_closed"] += 1


def main(argv: list[str]) -> int:
    report = Path(argv[0])
    promowatch.config.load_watchlist = counted_parse  # type: ignore[assignment]
    event.listen(Engine, "engine_connect", engine_used)
    event.listen(Pool, "connect", opened)
    event.listen(Pool, "close", closed)
    event.listen(Pool, "close_detached", closed)

    @atexit.register
    def write() -> None:
        report.write_text(json.dumps({**counts, "engines": len(engines)}))

    from promowatch.cli import main as command

    return command(argv[1:])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
