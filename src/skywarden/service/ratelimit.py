"""Token buckets per client key: login attempts per address, ingest requests per sensor.

A bucket holds up to ``capacity`` tokens and refills at ``rate_per_s``; a request takes one
or is refused (HTTP 429 with ``Retry-After``). Time is passed in (the app's ``Clock.now()``;
a clock stepping back only delays the refill). The set of buckets is bounded: the least
recently used key is forgotten first, so a flood of spoofed keys costs bounded memory (a
forgotten key starts full, which is what a new client would get anyway).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass


@dataclass
class TokenBucket:
    capacity: float
    rate_per_s: float
    tokens: float
    last_t: float

    def take(self, now: float, n: float = 1.0) -> float:
        """0.0 if ``n`` tokens were taken, else the seconds until they would be available."""
        elapsed = max(0.0, now - self.last_t)
        self.tokens = min(self.capacity, self.tokens + elapsed * self.rate_per_s)
        self.last_t = now
        if self.tokens >= n:
            self.tokens -= n
            return 0.0
        if self.rate_per_s <= 0:
            return math.inf
        return (n - self.tokens) / self.rate_per_s


class RateLimiter:
    def __init__(self, capacity: float, rate_per_s: float, max_keys: int = 10_000) -> None:
        if capacity < 1 or rate_per_s < 0:
            raise ValueError("capacity must be >= 1 and rate_per_s >= 0")
        self.capacity = capacity
        self.rate_per_s = rate_per_s
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()
        self.refused = 0

    def __len__(self) -> int:
        return len(self._buckets)

    def take(self, key: str, now: float, n: float = 1.0) -> float:
        """0.0 when allowed; otherwise the wait in seconds (for ``Retry-After``)."""
        b = self._buckets.get(key)
        if b is None:
            b = TokenBucket(self.capacity, self.rate_per_s, self.capacity, now)
            self._buckets[key] = b
            while len(self._buckets) > self.max_keys:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(key)
        wait = b.take(now, n)
        if wait > 0:
            self.refused += 1
        return wait
