"""The live loop: journaled inputs in journal order through the engine (``runtime.engine.engine``),
published as a :class:`~skywarden.service.source.Picture` (``live_picture``) after every tick.

It implements the service's ``PictureSource`` Protocol, so ``service.create_app`` serves it
and its lifespan starts and stops it; it owns the runtime's ``IngestPort``
(:class:`~skywarden.runtime.live.ingest.JournalingIngest`), which it hands to ``create_app`` for
the JSON POST route and to the socket adapters.

Three tasks:

* the **journal writer** (inside the ingest port) commits submissions in groups and hands
  them on in journal order;
* the **ticker** (``live_ticker``) submits ``TickRecord`` s, "step up to here", through the
  same port, so the decision *when* to step is itself in the journal (it also pumps the
  simulated feed, if any);
* the **consumer** feeds the delivered inputs in order to the engine: messages into its
  reorder buffer, ticks step it (in a worker thread: numpy work; only this task touches the
  engine, so no lock is needed), operator actions and zone edits applied. It publishes a
  picture after each batch, with the alert events the engine returned since the last one
  (what the outputs hand on), and appends the engine's records (track states, alert
  transitions) to the journal.

Acknowledge/resolve are inputs like any other: journaled (with who) first, applied by the
consumer in order, answered when applied. A refused action (unknown alert, already
resolved) stays in the journal as an attempt.

Restart: the consumer stores a snapshot of its state every ``snapshot_s`` of site time; before
serving, :meth:`LiveSource.start` loads the newest one and feeds what was journaled after it
(``record_restore.restore_latest``: the previous process's exact state, ids and alert states
included), or without a snapshot replays the last ``restore_window_s`` of the journal
(exact when the previous process started inside the window, else tracks rebuilt from the
window and earlier acknowledgements not carried over),
so confirmed tracks and alert states are back before the first request, and journals a
``runtime.start`` ``ConfigChange`` saying what it restored; its seq tags this run's outputs.

Time: the site clock starts at ``max(Clock.now(), last restored step)`` and runs at
``speed`` (the simulated site may run faster than real time; its clock holds while the
consumer is behind); scheduling uses the event loop's clock only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from skywarden.alerts.lifecycle import Alert, AlertEvent
from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.core.site import Site
from skywarden.runtime.cue.controller import PtzDriver
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame, PipelineConfig
from skywarden.runtime.engine.restore import (
    START_KEY,
    Restored,
    code_digest,
    dump_state,
    restore_latest,
)
from skywarden.runtime.engine.site_edits import SITE_EDIT_KEY, site_edit_payload
from skywarden.runtime.live.cue import LiveCue
from skywarden.runtime.live.feeds import Feed, FeedAdapter
from skywarden.runtime.live.ingest import Delivered, JournalingIngest
from skywarden.runtime.live.picture import PictureBuilder
from skywarden.runtime.live.retention import RetentionConfig, RetentionKeeper
from skywarden.runtime.live.ticker import Ticker
from skywarden.sensors.links.health import SensorHealth, SensorStats
from skywarden.service.source import Listener, Picture, Unsubscribe
from skywarden.store.journal import Journal
from skywarden.store.records import ConfigChange, OperatorAction, TickRecord

log = logging.getLogger(__name__)


class LiveSource:
    """The live runtime; a ``PictureSource`` for the service (see the module doc)."""

    def __init__(
        self,
        feed: Feed,
        clock: Clock,
        journal: Journal,
        speed: float = 1.0,
        tick_s: float = 0.5,
        trail_s: float = 120.0,
        trail_step_s: float = 1.0,
        recent_resolved_s: float = 120.0,
        lag_s: float = 0.5,
        restore_window_s: float = 120.0,
        config: PipelineConfig | None = None,
        snapshot_s: float = 10.0,
        retention: RetentionConfig | None = None,
        min_tick_s: float = 0.02,
        cue_drivers: Mapping[str, PtzDriver] | None = None,
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be > 0, got {speed}")
        if tick_s <= 0 or lag_s < 0 or min_tick_s < 0:
            raise ValueError("tick_s must be > 0, lag_s and min_tick_s >= 0")
        self.feed = feed
        self.clock = clock
        self.journal = journal
        self.speed = speed
        self.pictures = PictureBuilder(trail_s, trail_step_s, recent_resolved_s)
        self.restore_window_s = restore_window_s
        self.snapshot_s = snapshot_s
        self._snap_t = float("-inf")
        self.config = config
        self.machine = Engine(feed.site, config)
        self.ingest = JournalingIngest(journal, self._deliver)
        self.counters = Counters()
        self.restored: Restored | None = None
        self.retention = None if retention is None else RetentionKeeper(journal, retention, clock)
        self._listeners: list[Listener] = []
        self._picture: Picture | None = None
        self._events: list[AlertEvent] = []  # the engine's, not yet in a published picture
        self._inq: asyncio.Queue[Sequence[Delivered]] = asyncio.Queue(maxsize=256)
        self.ticker = Ticker(
            self.ingest, self.counters, self._inq.qsize, speed, tick_s, lag_s, min_tick_s
        )
        # the site's PTZ cameras under slew-to-cue (``runtime.live.cue``); ``cue_drivers``:
        # camera id -> its real head (ONVIF, ``[[cue.cameras]]``), sent each of its tasks
        self.cue = LiveCue(feed, drivers=cue_drivers) if feed.cameras else None
        self.ticker.cue = self.cue
        self._waiting: dict[int, asyncio.Future[Alert]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._seq = 0
        self._last_step_ms = 0.0
        self._heard: dict[str, SensorStats] = {}  # per sensor: messages delivered (health)
        # the live loop's own latencies, last 200 of each (``stats``: median and max, ms):
        # a tick's journal commit, a pipeline step, building and offering a picture
        self._timing: dict[str, deque[float]] = {k: deque(maxlen=200) for k in ("step", "publish")}
        self._timing["tick_commit"] = self.ticker.commit_ms  # the ticker's

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
        return await self._act("acknowledge", alert_id, by)

    async def resolve(self, alert_id: str, by: str) -> Alert:
        return await self._act("resolve", alert_id, by)

    def stats(self) -> Mapping[str, float]:
        out: dict[str, float] = {}
        cue = () if self.cue is None else (self.cue.counters,)
        for c in (self.counters, self.machine.counters, self.ingest.counters, *cue):
            out.update({k: float(v) for k, v in c.snapshot().items()})
        if self.adapter is not None:
            out.update({k: float(v) for k, v in self.adapter.counters.snapshot().items()})
            out["live.passes"] = float(self.adapter.lines.passes_started)
        out.update({f"pipeline.{k}": float(v) for k, v in self.machine.pipeline.stats().items()})
        out["live.step_ms_last"] = round(self._last_step_ms, 2)
        for name, xs in self._timing.items():
            if xs:
                srt = sorted(xs)
                out[f"live.{name}_ms_median"] = round(srt[len(srt) // 2], 2)
                out[f"live.{name}_ms_max"] = round(srt[-1], 2)
        return out

    async def start(self) -> None:
        self.restored = await asyncio.to_thread(self._restore)
        await self.ingest.start()
        r = self.restored
        seqs = await self.ingest.append(
            [
                ConfigChange(
                    self.clock.now(),
                    "runtime",
                    START_KEY,
                    None,
                    {
                        "mode": self.mode,
                        "site": self.site.name,
                        "site_ref": dict(self.feed.site_ref),
                        "restore_from_t": r.from_t,
                        "restore_first_seq": r.first_seq,
                        "restore_last_seq": r.last_seq,
                        "restored_records": r.records,
                        "restore_actions_skipped": r.actions_skipped,
                        "restore_snapshot_seq": r.snapshot_seq,
                        "code_digest": code_digest(),
                    },
                    note=self.feed.description,
                )
            ]
        )
        self.machine.set_run(seqs[0])
        if self.machine.pipeline.site is not self.feed.site:  # edits restored from the journal
            self.feed = dataclasses.replace(self.feed, site=self.machine.pipeline.site)
        if self.machine.pipeline.last is not None:
            self._publish(self.machine.pipeline.last)
        self._tasks = [
            asyncio.create_task(self._consume(), name="skywarden-consumer"),
            asyncio.create_task(self._ticker(), name="skywarden-ticker"),
        ]
        if self.retention is not None:
            await self.retention.start()

    async def stop(self) -> None:
        """Stop ticking, let the consumer finish what is journaled, flush outputs, stop."""
        if not self._tasks:
            return
        if self.retention is not None:
            await self.retention.stop()
        consumer, ticker = self._tasks
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await self.ingest.flush()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._inq.join(), 10.0)
        consumer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await consumer
        # late submits are still journaled (and acknowledged) but nobody consumes them now:
        # delivering into the full queue of a stopped consumer would hang the shutdown
        self.ingest.set_deliver(None)
        await self.ingest.stop()
        self._tasks = []

    # -- restore ------------------------------------------------------------------------
    def _restore(self) -> Restored:
        """Worker thread, before serving: the newest snapshot and the journal after it (or the
        recent window when there is none) through the machine."""
        code_digest()  # cached for the start record; reading the sources belongs off the loop
        self.machine, info, extra = restore_latest(
            self.journal, self.site, self.config, self.restore_window_s, self._trail_frames
        )
        trails = extra.get("trails")
        if isinstance(trails, dict):
            self.pictures.trails = {**trails, **self.pictures.trails}
        lastf = self.machine.pipeline.last
        self._snap_t = lastf.t if lastf is not None else float("-inf")
        log.info(
            "restored %s + %d journal records (seq %d..%d, %d steps, %d operator actions of an "
            "earlier run skipped): %d confirmed tracks, %d active alerts",
            f"snapshot at seq {info.snapshot_seq}" if info.snapshot_seq else "no snapshot",
            info.records,
            info.first_seq,
            info.last_seq,
            info.steps,
            info.actions_skipped,
            sum(1 for t in lastf.tracks if t.confirmed) if lastf else 0,
            len(self.machine.pipeline.alerts.active),
        )
        return info

    def _trail_frames(self, frames: Sequence[Frame]) -> None:
        for fr in frames:
            self.pictures.update_trails(fr)

    # -- ticker -------------------------------------------------------------------------
    async def _ticker(self) -> None:
        last = self.machine.pipeline.last
        t_site = max(self.clock.now(), last.t if last is not None else float("-inf"))
        await self.ticker.run(self.feed, t_site)

    @property
    def adapter(self) -> FeedAdapter | None:
        """The simulated feed's adapter (None on a real site or before the ticker runs)."""
        return self.ticker.adapter

    def _heard_from(self, m: Inbound) -> None:
        st = self._heard.get(m.sensor_id)
        if st is None:
            st = SensorStats(m.sensor_id, m.source, "journal", self.clock.now())
            st.state = "receiving"
            self._heard[m.sensor_id] = st
        st.accepted(self.clock.now(), len(m.detections))

    def sensor_health(self) -> dict[str, SensorHealth]:
        """``SensorHealthSource``: per sensor, the messages the journal delivered to the
        pipeline (any adapter, the simulator included), by wall time of delivery. A sensor not
        heard from since start is absent (the service shows it as unknown)."""
        now = self.clock.now()
        return {k: st.snapshot(now) for k, st in self._heard.items()}

    # -- consumer -----------------------------------------------------------------------
    async def _deliver(self, items: Sequence[Delivered]) -> None:
        await self._inq.put(items)

    async def _consume(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            items = await self._inq.get()
            try:
                changed = False
                for _, it in items:
                    if isinstance(it, TickRecord):
                        started = loop.time()
                        frames = await asyncio.to_thread(self._tick, it.t)
                        self._last_step_ms = (loop.time() - started) * 1000.0
                        self._timing["step"].append(self._last_step_ms)
                        changed = changed or bool(frames)
                    elif isinstance(it, OperatorAction):
                        self._apply_action(it)
                        changed = True
                    elif isinstance(it, Inbound):
                        self.machine.inbound(it)
                        self.counters.inc("live.messages")
                        self._heard_from(it)
                        self.ticker.note_due(it)
                    else:
                        self.machine.feed(it)
                events = self.machine.drain_events()
                self._events += events
                last = self.machine.pipeline.last
                if self.cue is not None and changed and last is not None:
                    self.ingest.append_nowait(self.cue.on_frame(last, events, last.t))
                if changed and self.machine.pipeline.last is not None:
                    started = loop.time()
                    self._publish(self.machine.pipeline.last)
                    self._timing["publish"].append((loop.time() - started) * 1000.0)
                outputs = self.machine.drain()
                if outputs:
                    self.ingest.append_nowait(outputs)
                last = self.machine.pipeline.last
                if (
                    self.snapshot_s > 0
                    and last is not None
                    and last.t - self._snap_t >= (self.snapshot_s)
                ):
                    await self._snapshot(items[-1][0], last.t)
            except Exception:
                self.counters.inc("live.consumer_errors")
                log.exception("live consumer failed on a batch of %d inputs", len(items))
            finally:
                self._inq.task_done()

    async def _snapshot(self, seq: int, t: float) -> None:
        """The state after every input up to ``seq``, for a fast exact restart."""
        self._snap_t = t
        trails = {k: deque(v) for k, v in self.pictures.trails.items()}
        try:
            data = await asyncio.to_thread(dump_state, self.machine, {"trails": trails})
            await asyncio.to_thread(self.journal.save_snapshot, seq, t, data)
            self.counters.inc("live.snapshots")
        except Exception as e:  # a cache: failing to write one costs restart time, nothing else
            self.counters.inc("live.snapshot_errors")
            log.error("snapshot at seq %d failed: %s", seq, e)

    def _tick(self, t: float) -> list[Frame]:
        frames = self.machine.tick(t)
        for fr in frames:
            self.pictures.update_trails(fr)
        self.counters.inc("live.steps", len(frames))
        return frames

    def _apply_action(self, action: OperatorAction) -> None:
        fut = self._waiting.pop(id(action), None)
        try:
            ev = self.machine.act(action)
        except Exception as e:
            self.counters.inc("live.operator_refused")
            if fut is not None and not fut.done():
                fut.set_exception(e)
            return
        log.info("alert %s %s by %s", ev.alert.id, ev.kind, action.operator)
        if fut is not None and not fut.done():
            fut.set_result(ev.alert)

    async def update_site(self, site: Site) -> None:
        """``SiteEditable``: journal the new zones and whitelist as an input (the record
        machine applies it in order, live and on replay), then serve the new site."""
        rec = ConfigChange(
            self.clock.now(), "service", SITE_EDIT_KEY, None, site_edit_payload(site)
        )
        await self.ingest.submit_records([rec])
        self.feed = dataclasses.replace(self.feed, site=site)
        self.counters.inc("live.site_edits")

    async def _act(self, action: str, alert_id: str, by: str) -> Alert:
        rec = OperatorAction(self.clock.now(), by, action, alert_id)
        fut: asyncio.Future[Alert] = asyncio.get_running_loop().create_future()
        self._waiting[id(rec)] = fut
        try:
            await self.ingest.submit_records([rec])
        except Exception:
            self._waiting.pop(id(rec), None)
            raise
        return await fut

    def track_chip(self, track_id: str) -> Mapping[str, Any] | None:
        """``ChipSource``: the cued track's image chip journaled last (``runtime.live.cue``)."""
        return None if self.cue is None else self.cue.chips.get(track_id)

    # -- picture ------------------------------------------------------------------------
    def _publish(self, frame: Frame) -> None:
        events, self._events = self._events, []
        pic = self.pictures.build(frame, self.machine, self.clock.now(), events)
        self._picture = pic
        for fn in list(self._listeners):
            fn(pic)
