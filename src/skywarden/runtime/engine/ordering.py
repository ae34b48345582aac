"""Reports arrive late; the tracker wants them in time order. A reorder buffer does both.

Each report waits until the clock has moved ``window_s`` past its measurement time, then
leaves in measurement-time order. A report whose time is already behind what was released
(later than the window allows) cannot be used correctly; it is refused and counted, never
applied out of order.
"""

from __future__ import annotations

import heapq
import itertools
from typing import Generic, TypeVar

from skywarden.core.counters import Counters

T = TypeVar("T")


class ReorderBuffer(Generic[T]):
    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()
        self.released_t = float("-inf")
        self.counters = Counters()

    def push(self, t: float, item: T) -> bool:
        """Queue a report measured at ``t``; False if it is too late to use."""
        if t < self.released_t:
            self.counters.inc("rejected.too_late")
            return False
        heapq.heappush(self._heap, (t, next(self._seq), item))
        return True

    def release(self, now: float) -> list[T]:
        """Everything measured at or before ``now - window_s``, oldest first."""
        out = []
        limit = now - self.window_s
        while self._heap and self._heap[0][0] <= limit:
            t, _, item = heapq.heappop(self._heap)
            self.released_t = max(self.released_t, t)
            out.append(item)
        return out

    def flush(self) -> list[T]:
        return self.release(float("inf"))

    def __len__(self) -> int:
        return len(self._heap)
