"""When the live loop steps: the ticker, whose ticks are journaled inputs like any report.

Every ``tick_s`` of loop time the :class:`Ticker` lets the simulated feed (if any) submit
the lines due on the site clock, then submits ``TickRecord(t_site - lag_s)`` ("step up to
here") through the ingest port, so the decision *when* to step is itself in the journal and
a replay steps at the same times. On a real site (no simulated feed) it also ticks as soon
as newly delivered reports leave the reorder window (site time = their measurement time +
``lag_s``, at most one extra tick per ``min_tick_s``): an operator sees a report ``lag_s``
plus the processing after it was measured, not up to a whole ``tick_s`` later.

The site clock starts where the caller says (``max(Clock.now(), last restored step)``) and
runs at ``speed``; a simulated site's clock holds while the consumer is behind (``backlog``
batches waiting), a real site's never does. Scheduling uses the event loop's clock only.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING

from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.runtime.live.feeds import Feed, FeedAdapter
from skywarden.runtime.live.ingest import JournalingIngest
from skywarden.store.records import TickRecord

if TYPE_CHECKING:
    from skywarden.runtime.live.cue import LiveCue

log = logging.getLogger(__name__)


class Ticker:
    """Submits the live loop's ticks (see the module doc)."""

    def __init__(
        self,
        ingest: JournalingIngest,
        counters: Counters,
        backlog: Callable[[], int],
        speed: float,
        tick_s: float,
        lag_s: float,
        min_tick_s: float,
    ) -> None:
        self.ingest = ingest
        self.counters = counters
        self.backlog = backlog
        self.speed = speed
        self.tick_s = tick_s
        self.lag_s = lag_s
        self.min_tick_s = min_tick_s
        self.adapter: FeedAdapter | None = None  # the simulated feed's, once running
        self.cue: LiveCue | None = None  # the simulated PTZ cameras (slew-to-cue), if any
        self.commit_ms: deque[float] = deque(maxlen=200)  # a tick's journal commit
        self._due: list[float] = []  # heap: site times at which delivered reports are releasable
        self._wake = asyncio.Event()

    async def run(self, feed: Feed, t_site: float) -> None:
        """Tick until cancelled, the site clock starting at ``t_site``."""
        loop = asyncio.get_running_loop()
        if feed.passes is not None:
            self.adapter = FeedAdapter(feed, self.ingest, t_site)
            if self.cue is not None:
                self.cue.start(t_site)
        log.info("live: %s", feed.description)
        prev = loop.time()
        while True:
            started = loop.time()
            # the simulated clock waits while the consumer is behind (a sim faster than the
            # pipeline would only pile up lines); a real site's clock never waits
            if self.adapter is None or self.backlog() <= 2:
                t_site += (started - prev) * self.speed
            else:
                self.counters.inc("live.sim_clock_held")
            prev = started
            try:
                if self.adapter is not None:
                    await self.adapter.pump(t_site)
                if self.cue is not None:  # the cameras' reports, journaled like the feed's
                    await self.ingest.submit(self.cue.observe(t_site))
                before = loop.time()
                await self.ingest.submit_records([TickRecord(t_site - self.lag_s)])
                self.commit_ms.append((loop.time() - before) * 1000.0)
            except Exception as e:  # a journal failure must not end the loop
                self.counters.inc("live.tick_errors")
                log.error("tick at %.3f failed: %s", t_site, e)
            while self._due and self._due[0] <= t_site:
                heapq.heappop(self._due)
            await self._sleep_until_next_tick(loop, started, t_site)

    async def _sleep_until_next_tick(
        self, loop: asyncio.AbstractEventLoop, started: float, t_site: float
    ) -> None:
        """Until ``tick_s`` after ``started``; on a real site earlier, once a delivered
        report's reorder window closes (``_due``), but not before ``min_tick_s``."""
        deadline = started + self.tick_s
        while True:
            now = loop.time()
            wake = deadline
            if self.adapter is None and self._due:
                due = started + (self._due[0] - t_site) / self.speed
                wake = min(wake, max(due, started + self.min_tick_s))
            if wake <= now:
                if wake < deadline:
                    self.counters.inc("live.early_ticks")
                return
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), wake - now)

    def note_due(self, m: Inbound) -> None:
        """A report was delivered: it can be stepped at site time (its time + ``lag_s``)."""
        if self.adapter is not None:
            return
        t = max((float(d.t) for d in m.detections), default=m.received_t)
        heapq.heappush(self._due, t + self.lag_s)
        self._wake.set()
