"""The time a run observes: the wall clock, or a simulated one that the demo and tests move (never sleep)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from promowatch.domain import as_utc, utcnow


class Clock:
    """``now()`` is the wall clock, or ``origin`` plus the real time elapsed since ``anchor`` (a wall-clock epoch).

    The anchor travels with the origin to the crawl's components, so every step of one run, in any process,
    reads the same simulated time.
    """

    def __init__(self, origin: datetime | None = None, anchor: float | None = None) -> None:
        self.origin = as_utc(origin) if origin else None
        self.anchor = time.time() if anchor is None else anchor

    def now(self) -> datetime:
        if self.origin is None:
            return utcnow()
        return self.origin + timedelta(seconds=max(0.0, time.time() - self.anchor))

    @classmethod
    def parse(cls, value: str | None, anchor: float | None = None) -> Clock:
        """A clock from an ISO 8601 string (the ``--now`` option), or the wall clock for None/empty."""
        if not value:
            return cls()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return cls(as_utc(moment), anchor)
