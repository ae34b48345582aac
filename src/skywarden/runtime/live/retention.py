"""Retention in the running system: the journal keeps what an investigation needs, not everything.

A site records every sensor message; at a busy site that is gigabytes a day, and the disk is
finite. The store already knows how to drop whole sealed segments by age or size while
keeping anything inside an *incident* window (``Journal.apply_retention``). What the live
runtime adds is the policy in action:

- every alert is an incident: the window from ``alert_margin_s`` before it was raised to
  ``alert_margin_s`` after it was resolved (or, while still open, to now) is marked, so the
  evidence of every warning survives retention whatever the age or size limits say;
- operators may mark more (``Journal.mark_incident``);
- every ``every_s`` seconds, in a worker thread (the journal is thread-safe), new alert
  windows are marked and the policy applied. Each drop is itself journaled by the store
  (a ``retention`` record), so the chain stays verifiable and the gap is explained.

Time: ``now`` comes from the injected clock; alert windows use the records' own times.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.store.journal import Journal, RetentionPolicy, RetentionResult
from skywarden.store.records import AlertRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetentionConfig:
    policy: RetentionPolicy
    every_s: float = 600.0
    alert_margin_s: float = 600.0


class RetentionKeeper:
    """Marks alert windows as incidents and applies the retention policy, periodically."""

    def __init__(self, journal: Journal, cfg: RetentionConfig, clock: Clock) -> None:
        self.journal = journal
        self.cfg = cfg
        self.clock = clock
        self.counters = Counters()
        self._seen_seq = 0
        self._open: dict[str, float] = {}  # alert id -> raised time, not yet resolved
        self._task: asyncio.Task[None] | None = None

    def run_once(self) -> RetentionResult:
        """Mark the alert windows journaled since the last run, then apply the policy."""
        now = self.clock.now()
        m = self.cfg.alert_margin_s
        for e in self.journal.read(kinds=("alert",), from_seq=self._seen_seq):
            self._seen_seq = e.seq
            rec = e.record
            if not isinstance(rec, AlertRecord):
                continue
            if rec.from_state is None:
                self._open[rec.alert_id] = rec.t
            elif rec.to_state == "resolved" and rec.alert_id in self._open:
                t0 = self._open.pop(rec.alert_id)
                self.journal.mark_incident(
                    t0 - m, rec.t + m, f"alert {rec.alert_id}", "system", now
                )
                self.counters.inc("incidents.alerts")
        for aid, t0 in self._open.items():  # still open: protect up to now (re-marked later)
            self.journal.mark_incident(t0 - m, now + m, f"alert {aid} (open)", "system", now)
            self.counters.inc("incidents.open_alerts")
        res = self.journal.apply_retention(self.cfg.policy, now)
        self.counters.inc("runs")
        self.counters.inc("segments_dropped", len(res.dropped))
        if res.dropped:
            log.info(
                "retention: dropped %d segments (%d -> %d bytes), kept %d for incidents",
                len(res.dropped),
                res.bytes_before,
                res.bytes_after,
                len(res.kept_for_incidents),
            )
        return res

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="skywarden-retention")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.cfg.every_s)
            try:
                await asyncio.to_thread(self.run_once)
            except Exception as e:  # retention must never take the service down
                self.counters.inc("errors")
                log.error("retention failed: %s", e)
