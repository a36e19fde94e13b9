"""``promowatch serve``: the dashboard under uvicorn, refusing an open address without a token."""

from __future__ import annotations

import os
from pathlib import Path

from promowatch.clock import Clock
from promowatch.datadir import DataDir
from promowatch.web.security import check_bind

TOKEN_ENV = "PROMOWATCH_WEB_TOKEN"


def read_token(token_file: str | None) -> str | None:
    """The dashboard's token: the first line of ``token_file``, else $PROMOWATCH_WEB_TOKEN, else None."""
    if token_file:
        return Path(token_file).read_text(encoding="utf-8").splitlines()[0].strip() or None
    return os.environ.get(TOKEN_ENV) or None


def serve(data: DataDir, host: str, port: int, token: str | None, now: str | None = None) -> None:
    """Serve until interrupted. Raises NotAllowed before listening when the address needs a token."""
    import uvicorn

    from promowatch.web.app import Dashboard, create_app

    check_bind(host, token)
    board = Dashboard(data, token=token, clock=Clock.parse(now))
    try:
        print(
            f"promowatch dashboard on http://{host if ':' not in host else f'[{host}]'}:{port}/ (Ctrl+C stops)"
        )
        uvicorn.run(create_app(board), host=host, port=port, log_level="warning", server_header=False)
    finally:
        board.close()
