"""The only module that reads the wall clock.

Everything else receives time as an argument, which is what makes replay deterministic:
a live run uses ``WallClock``, a replay or a test uses ``ManualClock`` driven by the record.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    def now(self) -> float:
        """Seconds (UNIX epoch for wall clocks, scenario seconds for simulated ones)."""
        ...


class WallClock:
    """Real time, UNIX epoch seconds."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()


class ManualClock:
    """A clock that only moves when told: tests and replay."""

    def __init__(self, t: float = 0.0) -> None:
        self._t = t

    def now(self) -> float:
        return self._t

    def monotonic(self) -> float:
        return self._t

    def set(self, t: float) -> None:
        self._t = t

    def advance(self, dt: float) -> None:
        self._t += dt
