"""The live loop: plays a :class:`~skywarden.runtime.feeds.Feed` in real time through the Pipeline
and publishes a :class:`~skywarden.service.source.Picture` after every tick.

It implements the service's ``PictureSource`` Protocol, so ``service.create_app`` serves it
and its lifespan starts and stops it.

Time: the first scan of the feed is pinned to the wall clock at start (``Clock.now()``), and
every scan keeps its offset from it divided by ``speed``; a new pass of the feed continues
where the previous one ended. The pipeline therefore runs in UNIX seconds, as it will with
real sensors. Scheduling uses the event loop's clock only.

Concurrency: ``Pipeline.step`` is synchronous numpy work and runs in a worker thread so the
event loop keeps serving; one ``asyncio.Lock`` serialises it with acknowledge/resolve, which
mutate the same alert manager. Listeners are called on the loop thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Iterator, Mapping
from itertools import groupby

from skywarden.alerts.lifecycle import Alert, AlertState
from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.site import Site
from skywarden.core.track import TrackStatus
from skywarden.runtime.feeds import Feed
from skywarden.runtime.pipeline import Frame, Pipeline
from skywarden.sensors.skybench import Scan
from skywarden.service.source import Listener, Picture, TrailPoint, UnknownAlertError, Unsubscribe

log = logging.getLogger(__name__)


def retime(scan: Scan, offset: float) -> Scan:
    """The same scan ``offset`` seconds later (its detections too)."""
    dets = tuple(dataclasses.replace(d, t=d.t + offset) for d in scan.detections)
    return dataclasses.replace(scan, t=scan.t + offset, detections=dets)


class ScanClock:
    """Hands out the feed's scans, shifted onto the site clock, up to a given time."""

    def __init__(self, feed: Feed, t0: float) -> None:
        self._feed = feed
        self._t0 = t0
        self._pass = 0
        self._it: Iterator[Scan] | None = feed.passes(0) if feed.passes else None
        self._next: Scan | None = None
        self.passes_started = 1 if self._it else 0

    def _peek(self) -> Scan | None:
        while self._next is None and self._it is not None:
            raw = next(self._it, None)
            if raw is not None:
                self._next = retime(raw, self._t0 + self._pass * self._feed.pass_duration_s)
                return self._next
            if self._feed.pass_duration_s <= 0 or self._feed.passes is None:
                self._it = None  # a feed without a duration plays once
                return None
            self._pass += 1
            self.passes_started += 1
            self._it = self._feed.passes(self._pass)
        return self._next

    def take_until(self, t: float) -> list[Scan]:
        out: list[Scan] = []
        while (s := self._peek()) is not None and s.t <= t:
            out.append(s)
            self._next = None
        return out


class LiveSource:
    """Real-time playback through the pipeline; a ``PictureSource`` for the service."""

    def __init__(
        self,
        feed: Feed,
        clock: Clock,
        speed: float = 1.0,
        tick_s: float = 0.5,
        trail_s: float = 120.0,
        recent_resolved_s: float = 120.0,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        self.feed = feed
        self.clock = clock
        self.speed = speed
        self.tick_s = tick_s
        self.trail_s = trail_s
        self.recent_resolved_s = recent_resolved_s
        self.pipeline = Pipeline(feed.site)
        self.counters = Counters()
        self._listeners: list[Listener] = []
        self._picture: Picture | None = None
        self._trails: dict[str, deque[TrailPoint]] = {}
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._seq = 0
        self._last_step_ms = 0.0
        self._passes = 0

    # -- PictureSource ------------------------------------------------------------------
    @property
    def site(self) -> Site:
        return self.feed.site

    @property
    def mode(self) -> str:
        return self.feed.mode

    def current(self) -> Picture | None:
        return self._picture

    def subscribe(self, listener: Listener) -> Unsubscribe:
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener)

    async def acknowledge(self, alert_id: str, by: str) -> Alert:
        return await self._act(alert_id, by, AlertState.ACKNOWLEDGED)

    async def resolve(self, alert_id: str, by: str) -> Alert:
        return await self._act(alert_id, by, AlertState.RESOLVED)

    def stats(self) -> Mapping[str, float]:
        out: dict[str, float] = {k: float(v) for k, v in self.counters.snapshot().items()}
        out.update({f"pipeline.{k}": float(v) for k, v in self.pipeline.stats().items()})
        out["live.step_ms_last"] = round(self._last_step_ms, 2)
        out["live.passes"] = float(self._passes)
        return out

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="skywarden-live")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the loop -----------------------------------------------------------------------
    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        t0_site = self.clock.now()
        t0_loop = loop.time()
        scans = ScanClock(self.feed, t0_site)
        log.info("live: %s", self.feed.description)
        while True:
            t_site = t0_site + (loop.time() - t0_loop) * self.speed
            batch = scans.take_until(t_site)
            self.counters.inc("live.scans", len(batch))
            self.counters.inc("live.detections", sum(len(s.detections) for s in batch))
            started = loop.time()
            async with self._lock:
                frame = await asyncio.to_thread(self._step, batch, t_site)
                self._last_step_ms = (loop.time() - started) * 1000.0
                self._publish(frame)
            self.counters.inc("live.steps")
            self._passes = scans.passes_started
            await asyncio.sleep(max(0.0, self.tick_s - (loop.time() - started)))

    def _step(self, batch: list[Scan], t_site: float) -> Frame:
        """Step once per distinct scan time (as the benchmark path does), or once at ``t_site``
        when no scan is due; trails get a point per step. Runs in a worker thread, under the lock.
        """
        frame: Frame | None = None
        for t, group in groupby(batch, key=lambda s: s.t):
            frame = self.pipeline.step(list(group), t)
            self._update_trails(frame)
        if frame is None:
            frame = self.pipeline.step([], t_site)
            self._update_trails(frame)
        return frame

    def _publish(self, frame: Frame) -> None:
        self._seq += 1
        pic = Picture(
            seq=self._seq,
            t=frame.t,
            wall_t=self.clock.now(),
            tracks=frame.tracks,
            assessments={a.track_id: a for a in frame.assessments},
            alerts=self._visible_alerts(frame.t),
            trails={k: tuple(v) for k, v in self._trails.items()},
        )
        self._picture = pic
        for fn in list(self._listeners):
            fn(pic)

    def _update_trails(self, frame: Frame) -> None:
        live = {tr.id for tr in frame.tracks if tr.confirmed}
        for tid in list(self._trails):
            if tid not in live:
                del self._trails[tid]
        for tr in frame.tracks:
            if not tr.confirmed:
                continue
            trail = self._trails.setdefault(tr.id, deque())
            if trail and trail[-1].t >= tr.t:
                continue
            e, n, u = (float(v) for v in tr.x[:3])
            trail.append(TrailPoint(tr.t, e, n, u, tr.status is TrackStatus.COASTING))
            while trail and trail[0].t < tr.t - self.trail_s:
                trail.popleft()

    def _visible_alerts(self, t: float) -> tuple[Alert, ...]:
        """Active alerts, then the recently resolved ones (newest first)."""
        mgr = self.pipeline.alerts
        active = sorted(mgr.active, key=lambda a: a.raised_t)
        seen = {a.id for a in active}
        resolved: list[Alert] = []
        for ev in reversed(mgr.history[-500:]):
            a = ev.alert
            if (
                a.state is AlertState.RESOLVED
                and a.id not in seen
                and (a.resolved_t or t) >= t - self.recent_resolved_s
            ):
                resolved.append(a)
                seen.add(a.id)
        return (*active, *resolved)

    async def _act(self, alert_id: str, by: str, state: AlertState) -> Alert:
        async with self._lock:
            mgr = self.pipeline.alerts
            if mgr.get(alert_id) is None:
                raise UnknownAlertError(alert_id)
            t = self._picture.t if self._picture else self.clock.now()
            if state is AlertState.ACKNOWLEDGED:
                ev = mgr.acknowledge(alert_id, by, t)
            else:
                ev = mgr.resolve(alert_id, by, t)
            self.counters.inc(f"alerts.{ev.kind}_by_operator")
            log.info("alert %s %s by %s", alert_id, ev.kind, by)
            if self.pipeline.last is not None:
                self._publish(self.pipeline.last)
            return ev.alert
