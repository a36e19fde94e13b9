"""The time a run observes: the wall clock, or a simulated one that the demo and tests move (never sleep)."""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from promowatch.domain import as_utc, utcnow


class Clock:
    """``now()`` is the wall clock, or ``origin`` plus the real time elapsed since the clock was made."""

    def __init__(self, origin: datetime | None = None) -> None:
        self.origin = as_utc(origin) if origin else None
        self._started = time.monotonic()

    def now(self) -> datetime:
        if self.origin is None:
            return utcnow()
        return self.origin + timedelta(seconds=time.monotonic() - self._started)

    @classmethod
    def parse(cls, value: str | None) -> Clock:
        """A clock from an ISO 8601 string (the ``--now`` option), or the wall clock for None/empty."""
        if not value:
            return cls()
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        return cls(as_utc(moment))
