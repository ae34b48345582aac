"""Counters behind every stage's ``stats()``: accepted, rejected by reason, and so on."""

from __future__ import annotations

from collections import Counter


class Counters:
    """A named bag of monotonically increasing integer counters."""

    def __init__(self) -> None:
        self._c: Counter[str] = Counter()

    def inc(self, name: str, n: int = 1) -> None:
        self._c[name] += n

    def get(self, name: str) -> int:
        return self._c[name]

    def snapshot(self) -> dict[str, int]:
        """A copy, sorted by name, safe to serialise."""
        return dict(sorted(self._c.items()))
