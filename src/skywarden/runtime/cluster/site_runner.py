"""One pooled site tracked by one worker: restore, replay, tick, publish fenced frames, snapshot.

The stepping is :class:`site_engine.SiteEngine` (the record machine, fed in stream order);
this module is its transport. Exactly-once in the tracks history, step by step:

1. **Restore.** Load the snapshot (engine state after raw sequence ``covered``) and read the
   site's last frame on ``skywarden.site.<site>.tracks``: its stream sequence ``out_seq`` and
   the highest raw sequence it accounts for, ``published``.
2. **Replay.** Consume the raw stream from ``covered + 1`` with an ordered consumer. Records
   up to ``published`` are folded in silently (their frames and alerts exist already). A raw
   sequence at or below what was consumed is dropped, so a redelivery is never applied twice.
3. **Tick.** The owner appends a tick record to the site's raw stream every ``flush_s`` while
   reports arrive (at the latest report time), and every ``silent_tick_s`` when none do (site
   time advanced by the elapsed time; only once it has caught up with the stream). The
   engine steps on ticks only, so the steps are records: a worker that takes over replays
   the dead worker's steps exactly, and its frames and alert transitions are the same.
4. **Publish.** Each tick's frame is shown at once on core NATS (``skywarden.live.<site>.*``,
   in no stream: picture only) and queued; a storer task (``site_store``) stores the queue
   in order, so stepping never waits for an election of the output stream (it did: 11 s
   per-site gaps when the node leading ``SKYWARDEN_SITES`` was killed). A stored frame
   lists the report sequences it covers and carries ``Nats-Expected-Last-Subject-Sequence:
   out_seq``: the stream appends it only if no one else wrote a frame for the site since,
   which fences out a worker that lost its lease without knowing. ``Nats-Msg-Id`` (site and
   tick sequence) makes a retried publish one message. Alert transitions go first, each
   with its own message id, so a take-over that replays them produces no duplicates.
5. **Snapshot.** The state (with the reports not yet in a frame, listed) is encoded right
   after the outputs it accounts for are taken, queued behind them and written to KV only
   once they are stored, itself with compare-and-set on the snapshot revision. Fencing is
   thus checked when storing, after showing: a worker fenced out may have shown frames that
   are never stored; the one that took over re-makes them (same ticks, same message ids),
   and the picture never goes back.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import KeyNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.consumers import subscribe_ordered
from skywarden.runtime.cluster.site_engine import Item, OutFrame, SiteEngine
from skywarden.runtime.cluster.site_store import WRONG_LAST_SEQ, Fenced, SiteStore
from skywarden.runtime.cluster.snapshot import SiteState, dump_state, load_state
from skywarden.runtime.cluster.topology import (
    CONSUMER_HEARTBEAT_S,
    CONTROL,
    RAW_STREAM,
    SITES_STREAM,
    control_subject,
    live_subject,
    out_subject,
    raw_filter,
)
from skywarden.runtime.engine.pipeline import PipelineConfig
from skywarden.store.records import TickRecord

log = logging.getLogger(__name__)

__all__ = ["WRONG_LAST_SEQ", "Fenced", "SiteRunner"]


class SiteRunner:
    def __init__(
        self,
        js: JetStreamContext,
        snapshots: KeyValue,
        site_id: str,
        site: Site,
        worker_id: str,
        wall: Callable[[], float],
        flush_s: float = 0.2,
        snapshot_s: float = 5.0,
        health_s: float = 2.0,
        pipeline_config: PipelineConfig | None = None,
        max_batch: int = 50,
        publish_retry_s: float = 30.0,
        silent_tick_s: float = 1.0,
        ticking: bool = True,
        live: Client | None = None,
        max_unstored: int = 500,
        store_wait_s: float = 1.0,
        coast_s: float = 1.5,
    ) -> None:
        """``ticking=False``: write no ticks, step only on ticks already in the stream (a
        replay of a recorded journal, as the equivalence test does). ``live``: the core
        connection the outputs are shown on before they are stored. ``max_unstored``:
        queued outputs beyond which stepping pauses (a stream that stays unwritable must
        not grow the queue without bound). ``store_wait_s``: how long a step waits for the
        previous outputs to be stored before going on without them (see ``_loop``).
        ``coast_s``: with no frame shown for that long, show a provisional coasted copy of
        the last one every ``coast_s`` (``_coast_loop``)."""
        self.coast_s = coast_s
        self._shown: tuple[bytes, float] | None = None  # (last frame shown, loop time)
        self._coast_task: asyncio.Task[None] | None = None
        self.store_wait_s = store_wait_s
        self.live = live
        self.max_unstored = max_unstored
        self._health_task: asyncio.Task[None] | None = None
        self.max_batch = max_batch
        self.js = js
        self.snapshots = snapshots
        self.site_id = site_id
        self.site = site
        self.worker_id = worker_id
        self.wall = wall
        self.flush_s = flush_s
        self.snapshot_s = snapshot_s
        self.health_s = health_s
        self.silent_tick_s = silent_tick_s
        self.ticking = ticking
        self.pipeline_config = pipeline_config
        self.counters = Counters()
        self.state = SiteState.new(site, pipeline_config)
        self.engine = SiteEngine(site_id, worker_id, self.state)
        self.fenced = asyncio.Event()
        self.store = SiteStore(js, snapshots, site_id, self.counters, self.fenced, publish_retry_s)
        # a take-over's cost, seconds by part (restore_timing): see ``start`` and ``_flush``
        self.timing: dict[str, float] = {}
        self._t_start = 0.0
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batch: list[tuple[int, Item | None, bool, float]] = []
        self.consumed = 0
        # ticking: caught up with the stream? when did site time last move?
        self._pending_hint = -1  # num_pending of the last message delivered
        self._last_msg_mono = 0.0
        self._anchor: tuple[float, float] | None = None  # (site t, monotonic) of last data
        self._tick_sent: tuple[float, float] | None = None  # (site t, monotonic) in flight
        self._last_tick_mono = 0.0
        self._control_in = asyncio.Event()  # a control record (a tick) arrived: step it now

    @property
    def published(self) -> int:
        """The highest raw sequence a stored frame accounts for."""
        return self.store.published

    @property
    def frame(self) -> OutFrame | None:
        """The last stored frame."""
        return self.store.frame

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Restore, then consume from the snapshot on. Each part's seconds go to ``timing``
        (``snapshot_get``, ``decode``, ``last_frame``, ``subscribe``; ``caught_up`` and
        ``first_frame`` follow from the loop, all counted from this call): a take-over's
        cost, logged by the worker and read by ``bench_cluster_failover.py``."""
        loop = asyncio.get_running_loop()
        self._t_start = loop.time()
        await self._restore()
        self._last_msg_mono = t = loop.time()
        cfg = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.state.covered + 1,
        )
        # hedged: after a node kill one creation in three or four lands on the dead peer
        # and is never answered (``consumers``); a failed start costs the site a re-claim
        self._sub = await subscribe_ordered(
            self.js,
            raw_filter(self.site_id),
            RAW_STREAM,
            self._on_msg,
            cfg,
            pending_msgs_limit=100_000,
            idle_heartbeat=CONSUMER_HEARTBEAT_S,
        )
        self.timing["subscribe"] = loop.time() - t
        self.store.start()
        if self.live is not None and self.coast_s > 0:
            self._coast_task = asyncio.create_task(self._coast_loop())
        self._task = asyncio.create_task(self._loop())

    async def stop(self, snapshot: bool) -> None:
        """Stop consuming; with ``snapshot`` flush what is pending and write the final state."""
        self._stopping = True
        if self._sub is not None:
            with contextlib.suppress(Exception):
                await self._sub.unsubscribe()
        if self._task is not None:
            self._task.cancel()
            # bounded: a cancellation swallowed inside a library wait must not hang the worker
            await asyncio.wait({self._task}, timeout=5.0)
        if snapshot and not self.fenced.is_set():
            with contextlib.suppress(Fenced, TimeoutError):
                await asyncio.wait_for(self._flush(snapshot=True, force=True), 1.0)
                await asyncio.wait_for(self.store.drain(), 10.0)
        for task in (self._health_task, self._coast_task):
            if task is not None:
                task.cancel()
        await self.store.stop()

    async def drain(self) -> None:
        """Until every queued output is stored (or the storer has stopped)."""
        await self.store.drain()

    async def _restore(self) -> None:
        """Snapshot and last stored frame, read concurrently (two round trips that each took
        0.5 s median at load 13 during a take-over). A writer still storing meanwhile could
        make the snapshot newer than the frame read; the fenced store then refuses this
        runner's first frame and it drops the site: a race that fencing settles either way."""
        clock = asyncio.get_running_loop().time
        t = clock()
        st = self.store

        async def snapshot() -> None:
            try:
                entry = await self.snapshots.get(self.site_id)
                self.timing["snapshot_get"] = (t1 := clock()) - t
                if entry.value:
                    self.state = load_state(entry.value)
                    self.timing["decode"] = clock() - t1
                    st.snap_rev = int(entry.revision or 0)
                    self.counters.inc("restored")
            except KeyNotFoundError:
                pass
            except InputRejected as e:  # unreadable snapshot: rebuild from the stream
                self.counters.inc(f"rejected.{e.reason}")
                log.warning("site %s: snapshot refused (%s); replaying it all", self.site_id, e)

        async def last_frame() -> None:
            subject = out_subject(self.site_id, "tracks")
            try:
                last = await self.js.get_last_msg(SITES_STREAM, subject)
                st.out_seq = int(last.seq or 0)
                st.published = codec.decode_frame(last.data or b"").covers_to
            except NotFoundError:
                st.out_seq, st.published = 0, 0
            self.timing["last_frame"] = clock() - t

        await asyncio.gather(snapshot(), last_frame())
        # reports the snapshot holds unframed stay in the next frame: the engine drops from
        # that list only what stored frames cover
        self.engine = SiteEngine(self.site_id, self.worker_id, self.state, st.published)
        st.published = max(st.published, self.state.covered)
        self.consumed = self.state.covered
        self.engine.counters = self.counters

    # ------------------------------------------------------------------ consuming

    async def _on_msg(self, msg: Msg) -> None:
        md = msg.metadata
        self._pending_hint = int(md.num_pending or 0)
        self._last_msg_mono = asyncio.get_running_loop().time()
        self.on_raw(int(md.sequence.stream), msg.data, msg.subject)

    def on_raw(self, seq: int, data: bytes, subject: str = "") -> None:
        """Queue one raw-stream record for the engine (decoding is all the callback does)."""
        if seq <= self.consumed:
            self.counters.inc("duplicate")
            return
        self.consumed = seq
        report = not subject.endswith("." + CONTROL)
        try:
            if report:
                rep = codec.decode_raw(data)
                self.batch.append((seq, rep, True, rep.inbound.received_t))
            else:
                self.batch.append((seq, codec.decode_control(data), False, 0.0))
                self._control_in.set()
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}")
            self.batch.append((seq, None, report, 0.0))

    def step_batch(self) -> int:
        """Feed up to ``max_batch`` queued records to the engine; how many remain queued."""
        if not self.batch:
            return 0
        batch, self.batch = self.batch[: self.max_batch], self.batch[self.max_batch :]
        for seq, item, report, received_t in batch:
            self.engine.take(seq, item, report, received_t)
        return len(self.batch)

    # ------------------------------------------------------------------ ticking

    async def _tick(self, now: float) -> None:
        """Append a tick record when the site has news or has been silent for a while.

        A silent tick only once caught up with the stream (a worker that replays a backlog
        must not advance site time past reports it has not read yet); one tick in flight."""
        eng = self.engine
        if not self.ticking:
            return
        if self._tick_sent is not None:
            t_sent, at = self._tick_sent
            if eng.tick_t < t_sent and now - at < 5.0:
                return
            self._tick_sent = None
        if self._anchor is None or eng.data_t > self._anchor[0]:
            self._anchor = (eng.data_t, now)
        # a tick at the latest report time seen is always safe: reports stored before it are
        # read before it; advancing site time past the data (silence) only once caught up
        # (under a steady flow the consumer always has messages pending: requiring that for
        # every tick starved the frames, 39 of 150 reports/s reached central)
        caught_up = not self.batch and (self._pending_hint == 0 or now - self._last_msg_mono > 1.0)
        if eng.data_t > eng.tick_t and now - self._last_tick_mono >= self.flush_s:
            t = eng.data_t
        elif (
            caught_up
            and eng.tick_t > float("-inf")
            and now - self._last_tick_mono >= self.silent_tick_s
        ):
            t = max(eng.tick_t, self._anchor[0] + (now - self._anchor[1]))
            if t <= eng.tick_t:
                return
        else:
            return
        rec = TickRecord(t, source=self.worker_id)
        await self.js.publish(
            control_subject(self.site_id),
            codec.encode_control(self.site_id, rec),
            headers={"Nats-Msg-Id": f"{self.site_id}:tick:{self.worker_id}:{t!r}"},
            timeout=2.0,
        )
        self._tick_sent = (t, now)
        self._last_tick_mono = now
        self.counters.inc("ticks_sent")

    # ------------------------------------------------------------------ publishing

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_snap = loop.time() + self.snapshot_s
        next_health = loop.time()
        try:
            while not self._stopping and not self.fenced.is_set():
                # a backlog (replay after a take-over) is stepped in slices, yielding between;
                # otherwise the loop wakes when a tick arrives, so its frame is shown at once
                # rather than up to ``flush_s`` later (ticks stay one per ``flush_s``: _tick)
                if self.batch:
                    await asyncio.sleep(0)
                else:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._control_in.wait(), self.flush_s)
                    self._control_in.clear()
                now = loop.time()
                if await self._flush(snapshot=now >= next_snap):
                    next_snap = now + self.snapshot_s
                if "caught_up" not in self.timing and not self.batch and self._pending_hint == 0:
                    self.timing["caught_up"] = loop.time() - self._t_start
                # normally wait until stored, as before the queue: not waiting made frames
                # smaller and more numerous, and the serial fenced stores fell behind (30
                # sites, one worker: 72 instead of 130 reports/s reached central); during an
                # election stop waiting after ``store_wait_s`` and go on showing frames
                if self.store.q:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.store.drained.wait(), self.store_wait_s)
                try:
                    await self._tick(now)
                except (TimeoutError, nats.errors.Error) as e:  # next period
                    self.counters.inc("tick_failed")
                    log.warning("site %s: tick not stored: %s", self.site_id, e)
                if now >= next_health:
                    await self._health()
                    next_health = now + self.health_s
        except Fenced as e:
            log.warning("site %s: fenced (%s)", self.site_id, e)
            self.fenced.set()
        except Exception:  # anything else: give the site up without a snapshot (see Worker)
            self.counters.inc("runner_failed")
            log.exception(
                "site %s: runner failed; the site is dropped for a take-over", self.site_id
            )
            self.fenced.set()

    async def _flush(self, snapshot: bool = False, force: bool = False) -> bool:
        """Step, show the engine's pending alerts and frames, and queue them for storing;
        with ``snapshot`` also queue the state they leave, behind them.

        The state is encoded synchronously together with taking the outbox, so the snapshot
        covers exactly what the queued outputs and its ``unframed`` list account for. Returns
        True when a snapshot was queued (or one still waits to be written). While more than
        ``max_unstored`` outputs wait (the output stream electing a leader), nothing is
        stepped: the raw records wait in the consumer, as before this queue existed.
        """
        st = self.store
        if len(st.q) >= self.max_unstored and not force:
            self.counters.inc("store_behind")
            return False
        self.step_batch()
        out = self.engine.take_outbox()
        # also with records still queued: the state is that after ``covered`` and a restore
        # reads from ``covered + 1`` either way (waiting for an empty queue left a loaded
        # worker's snapshots seconds stale, and its successor replayed all of that)
        take_snap = snapshot and not st.snap_queued
        blob = dump_state(self.state) if take_snap else None
        for o in out:
            if isinstance(o, codec.SiteAlert):
                data = codec.encode_alert(o)
                await self._show("alerts", data)
                st.put(("alert", data, o.msg_id, None))
                continue
            data = codec.encode_frame(
                self.site_id, self.worker_id, o.frame, o.raw, self.wall(), o.upto
            )
            # the coast loop's basis before the publish's await: a coast of the frame before
            # must not be shown after this one (the picture would step back in time)
            self._shown = (data, asyncio.get_running_loop().time())
            await self._show("tracks", data)
            st.put(("frame", data, o.upto, o))
            if "first_frame" not in self.timing:
                self.timing["first_frame"] = asyncio.get_running_loop().time() - self._t_start
                log.info("site %s: first frame; restore_timing %s", self.site_id, self._timed())
        if blob is not None:
            st.put(("snap", blob, None, None))
        return blob is not None or (snapshot and st.snap_queued)

    async def _coast_loop(self) -> None:
        """While no frame has been shown for ``coast_s``, show the last one coasted on the
        live subject ``coast``, provisional, every ``coast_s``.

        No frame can be made while the site's raw stream elects a leader: reports cannot
        be journaled (so they are not acknowledged) and neither can ticks, and stepping on
        a tick that is not journaled would break replay. Tracks still move, so the picture
        keeps them moving at their last velocity, marked provisional, never stored, and
        replaced by the next real frame. This loop touches no engine state."""
        loop = asyncio.get_running_loop()
        last = 0.0
        while not self._stopping and not self.fenced.is_set():
            await asyncio.sleep(self.coast_s / 3)
            now = loop.time()
            if self._shown is None or self.live is None:
                continue
            data, at = self._shown
            if now - at < self.coast_s or now - last < self.coast_s:
                continue
            try:
                coasted = codec.coast_frame(data, now - at, self.wall())
                await self.live.publish(live_subject(self.site_id, "coast"), coasted)
                self.counters.inc("coasted")
            except Exception:  # picture only
                self.counters.inc("coast_failed")
            last = now

    def _timed(self) -> str:
        return json.dumps(
            {
                "worker": self.worker_id,
                **{k: round(v, 3) for k, v in self.timing.items()},
                "replayed": self.counters.get("replayed"),
            }
        )

    async def _show(self, kind: str, data: bytes) -> None:
        """Core publish for the live picture; a loss (reconnecting, buffer full) is counted
        and otherwise harmless: the stored copy follows."""
        if self.live is None:
            return
        try:
            await self.live.publish(live_subject(self.site_id, kind), data)
            self.counters.inc("shown")
        except Exception:  # picture only
            self.counters.inc("show_failed")

    async def _health(self) -> None:
        body = {
            "covered_seq": self.state.covered,
            "published_seq": self.published,
            "tracks": len(self.frame.frame.tracks) if self.frame else 0,
            "unframed": len(self.state.unframed),
            "counters": self.counters.snapshot(),
        }
        data = codec.encode_health(self.site_id, self.worker_id, self.wall(), body)
        if self._health_task is not None and not self._health_task.done():
            return  # the last one still waits for the stream (an election): skip this one

        async def send() -> None:
            with contextlib.suppress(Exception):
                await self.js.publish(out_subject(self.site_id, "health"), data, timeout=1.0)

        # in the background: awaiting it stalled stepping 1 s in every 2 during an election
        self._health_task = asyncio.create_task(send())
