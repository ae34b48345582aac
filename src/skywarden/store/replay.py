"""Replay support: the recorded raw messages, in recorded order, with their receive times.

``skywarden replay`` (in ``runtime``/``cli``) feeds these through the same pipeline as a
live run, with time taken from the record. This module only reads: it never imports the
runtime. Order is journal ``seq`` order, the order in which messages were accepted; receive
times may step back a little across sensors (they come from different inputs), so a caller
driving a ``ManualClock`` should use :attr:`ReplayItem.t` for the message and
``max(clock, t)`` for the clock if it needs monotonic time (``ReplayCursor`` does that).

Pacing is the caller's business: ``ReplayCursor.due(now)`` hands out every message whose
receive time has come on a replay clock, and ``next_t`` says when the next one is due, so a
runtime can sleep ``(next_t - now) / speed`` in its own loop.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from skywarden.store.journal import Journal, open_journal
from skywarden.store.records import RawMessage


@dataclass(frozen=True)
class ReplayItem:
    """One recorded message: journal seq, receive time and the message itself."""

    seq: int
    t: float
    message: RawMessage


def iter_raw(
    journal: Journal,
    from_t: float | None = None,
    to_t: float | None = None,
    sensors: Iterable[str] | None = None,
) -> Iterator[ReplayItem]:
    """Raw messages with ``from_t <= t <= to_t`` in recorded order (streamed)."""
    for e in journal.read(from_t, to_t, kinds=["raw"], sources=sensors):
        rec = e.record
        if isinstance(rec, RawMessage):
            yield ReplayItem(e.seq, rec.t, rec)


def iter_raw_url(
    url: str, from_t: float | None = None, to_t: float | None = None
) -> Iterator[ReplayItem]:
    """:func:`iter_raw` over a journal opened (and closed at the end) from a URL."""
    j = open_journal(url)
    try:
        yield from iter_raw(j, from_t, to_t)
    finally:
        j.close()


class ReplayCursor:
    """Pull recorded messages against a replay clock.

    ``start_t`` is the first message's receive time (None for an empty window); ``due(now)``
    returns the messages whose time is ``<= now``; ``next_t`` the time of the next one (None
    when exhausted); ``clock_t`` the monotonic replay time reached so far.
    """

    def __init__(self, items: Iterable[ReplayItem]) -> None:
        self._it = iter(items)
        self._next: ReplayItem | None = next(self._it, None)
        self.start_t: float | None = None if self._next is None else self._next.t
        self.clock_t: float | None = self.start_t
        self.delivered = 0

    @property
    def next_t(self) -> float | None:
        return None if self._next is None else self._next.t

    @property
    def exhausted(self) -> bool:
        return self._next is None

    def due(self, now: float) -> list[ReplayItem]:
        out: list[ReplayItem] = []
        while self._next is not None and self._next.t <= now:
            out.append(self._next)
            self._next = next(self._it, None)
        if out:
            self.delivered += len(out)
            last = max(i.t for i in out)
            self.clock_t = last if self.clock_t is None else max(self.clock_t, last)
        return out

    def step(self) -> ReplayItem | None:
        """The next message regardless of time (as fast as possible replay)."""
        item = self._next
        if item is not None:
            self._next = next(self._it, None)
            self.delivered += 1
            self.clock_t = item.t if self.clock_t is None else max(self.clock_t, item.t)
        return item
