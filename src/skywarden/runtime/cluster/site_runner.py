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
   in no stream: picture only) and queued; a storer task stores the queue in order, so
   stepping never waits for an election of the output stream (it did: 11 s per-site gaps
   when the node leading ``SKYWARDEN_SITES`` was killed). A stored frame lists the report
   sequences it covers and carries ``Nats-Expected-Last-Subject-Sequence: out_seq``: the
   stream appends it only if no one else wrote a frame for the site since, which fences out
   a worker that lost its lease without knowing. ``Nats-Msg-Id`` (site and tick sequence)
   makes a retried publish one message. Alert transitions go first, each with its own
   message id, so a take-over that replays them produces no duplicates.
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
import logging
from collections import deque
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.site_engine import Item, OutFrame, SiteEngine
from skywarden.runtime.cluster.snapshot import SiteState, dump_state, load_state
from skywarden.runtime.cluster.topology import (
    CONSUMER_HEARTBEAT_S,
    CONTROL,
    SITES_STREAM,
    control_subject,
    live_subject,
    out_subject,
    raw_filter,
)
from skywarden.runtime.engine.pipeline import PipelineConfig
from skywarden.store.records import TickRecord

log = logging.getLogger(__name__)

WRONG_LAST_SEQ = (10071, 10164)


# A queued output: ("alert", data, msg id, None) | ("frame", data, upto, frame) | ("snap", blob)
Stored = tuple[str, bytes, Any, OutFrame | None]


class Fenced(Exception):
    """Another worker wrote this site's frames or snapshot: this runner must stop."""


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
    ) -> None:
        """``ticking=False``: write no ticks, step only on ticks already in the stream (a
        replay of a recorded journal, as the equivalence test does). ``live``: the core
        connection the outputs are shown on before they are stored. ``max_unstored``:
        queued outputs beyond which stepping pauses (a stream that stays unwritable must
        not grow the queue without bound). ``store_wait_s``: how long a step waits for the
        previous outputs to be stored before going on without them (see ``_loop``)."""
        self.store_wait_s = store_wait_s
        self._drained = asyncio.Event()
        self.live = live
        self.max_unstored = max_unstored
        self._store_q: deque[Stored] = deque()
        self._store_wake = asyncio.Event()
        self._storer: asyncio.Task[None] | None = None
        self._snap_queued = False
        self._health_task: asyncio.Task[None] | None = None
        self.publish_retry_s = publish_retry_s
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
        self.snap_rev = 0
        self._snap_unconfirmed: bytes | None = None  # a write whose outcome is unknown
        self.out_seq = 0
        self.published = 0
        self.frame: OutFrame | None = None
        self.fenced = asyncio.Event()
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

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self._restore()
        self._last_msg_mono = asyncio.get_running_loop().time()
        cfg = ConsumerConfig(
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=self.state.covered + 1,
        )
        self._sub = await self.js.subscribe(
            raw_filter(self.site_id),
            cb=self._on_msg,
            ordered_consumer=True,
            config=cfg,
            pending_msgs_limit=100_000,
            idle_heartbeat=CONSUMER_HEARTBEAT_S,
        )
        self._storer = asyncio.create_task(self._store_loop())
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
                await asyncio.wait_for(self.drain(), 10.0)
        if self._health_task is not None:
            self._health_task.cancel()
        if self._storer is not None:
            self._storer.cancel()
            await asyncio.wait({self._storer}, timeout=5.0)

    async def drain(self) -> None:
        """Until every queued output is stored (or the storer has stopped)."""
        while self._store_q and self._storer is not None and not self._storer.done():
            await asyncio.sleep(0.05)

    async def _restore(self) -> None:
        try:
            entry = await self.snapshots.get(self.site_id)
            if entry.value:
                self.state = load_state(entry.value)
                self.snap_rev = int(entry.revision or 0)
                self.counters.inc("restored")
        except KeyNotFoundError:
            pass
        except InputRejected as e:  # unreadable snapshot: rebuild from the retained stream
            self.counters.inc(f"rejected.{e.reason}")
            log.warning("site %s: snapshot refused (%s); replaying from the start", self.site_id, e)
        try:
            last = await self.js.get_last_msg(SITES_STREAM, out_subject(self.site_id, "tracks"))
            self.out_seq = int(last.seq or 0)
            self.published = codec.decode_frame(last.data or b"").covers_to
        except NotFoundError:
            self.out_seq, self.published = 0, 0
        # reports the snapshot holds unframed stay in the next frame: the engine drops from
        # that list only what stored frames cover
        self.engine = SiteEngine(self.site_id, self.worker_id, self.state, self.published)
        self.published = max(self.published, self.state.covered)
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
        if eng.data_t > eng.tick_t:
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
                # a backlog (replay after a take-over) is stepped in slices, yielding between
                await asyncio.sleep(0 if self.batch else self.flush_s)
                now = loop.time()
                if await self._flush(snapshot=now >= next_snap):
                    next_snap = now + self.snapshot_s
                # normally wait until stored, as before the queue: not waiting made frames
                # smaller and more numerous, and the serial fenced stores fell behind (30
                # sites, one worker: 72 instead of 130 reports/s reached central); during an
                # election stop waiting after ``store_wait_s`` and go on showing frames
                if self._store_q:
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._drained.wait(), self.store_wait_s)
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

    async def _publish(self, subject: str, data: bytes, headers: dict[str, str]) -> int:
        """Publish until stored: timeouts during a fail-over are retried with the same id
        (for ``publish_retry_s`` at most; then the error propagates and the site is dropped
        without a snapshot, to be taken over from the last good one)."""
        delay = 0.1
        give_up = asyncio.get_running_loop().time() + self.publish_retry_s
        retried = False
        while True:
            try:
                ack = await self.js.publish(subject, data, headers=headers, timeout=2.0)
                return int(ack.seq)
            except APIError as e:
                if e.err_code in WRONG_LAST_SEQ:
                    mine = await self._landed(subject, headers) if retried else None
                    if mine is None:
                        raise Fenced(f"{subject}: {e.description}") from None
                    self.counters.inc("publish_landed_before")
                    return mine
                if e.code != 503:
                    raise
            except TimeoutError:
                pass
            except Exception as e:  # no responders / reconnecting
                if "NoStreamResponse" not in type(e).__name__ and "Timeout" not in str(e):
                    raise
            self.counters.inc("publish_retry")
            retried = True
            if asyncio.get_running_loop().time() > give_up:
                raise Fenced(f"{subject}: not stored within {self.publish_retry_s} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _landed(self, subject: str, headers: dict[str, str]) -> int | None:
        """After a retried publish was refused for the subject's last sequence: did the first
        attempt land (its acknowledgement lost to a timeout on a loaded or electing cluster)?
        Then the subject's last message is ours and its sequence is the one to go on from;
        otherwise another worker wrote, and this one is fenced. (Under load 15-17 this
        fenced a survivor out of its own sites during a take-over.)"""
        want = headers.get("Nats-Msg-Id")
        if want is None:
            return None
        for attempt in range(3):  # the first attempt may still be being applied
            if attempt:
                await asyncio.sleep(0.3)
            try:
                last = await self.js.get_last_msg(SITES_STREAM, subject)
            except (TimeoutError, nats.errors.Error, APIError):
                continue
            if (last.headers or {}).get("Nats-Msg-Id") == want and last.seq:
                return int(last.seq)
        return None

    async def _flush(self, snapshot: bool = False, force: bool = False) -> bool:
        """Step, show the engine's pending alerts and frames, and queue them for storing;
        with ``snapshot`` also queue the state they leave, behind them.

        The state is encoded synchronously together with taking the outbox, so the snapshot
        covers exactly what the queued outputs and its ``unframed`` list account for. Returns
        True when a snapshot was queued (or one still waits to be written). While more than
        ``max_unstored`` outputs wait (the output stream electing a leader), nothing is
        stepped: the raw records wait in the consumer, as before this queue existed.
        """
        if len(self._store_q) >= self.max_unstored and not force:
            self.counters.inc("store_behind")
            return False
        self.step_batch()
        out = self.engine.take_outbox()
        take_snap = snapshot and not self.batch and not self._snap_queued
        blob = dump_state(self.state) if take_snap else None
        for o in out:
            if isinstance(o, codec.SiteAlert):
                data = codec.encode_alert(o)
                await self._show("alerts", data)
                self._store_q.append(("alert", data, o.msg_id, None))
                continue
            data = codec.encode_frame(
                self.site_id, self.worker_id, o.frame, o.raw, self.wall(), o.upto
            )
            await self._show("tracks", data)
            self._store_q.append(("frame", data, o.upto, o))
        if blob is not None:
            self._store_q.append(("snap", blob, None, None))
            self._snap_queued = True
        if self._store_q:
            self._drained.clear()
            self._store_wake.set()
        return blob is not None or (snapshot and self._snap_queued)

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

    async def _store_loop(self) -> None:
        """Store the queued outputs in order; the runner stops when fenced or failed."""
        try:
            while True:
                while not self._store_q:
                    self._store_wake.clear()
                    await self._store_wake.wait()
                await self._store_one(self._store_q[0])
                self._store_q.popleft()
                if not self._store_q:
                    self._drained.set()
        except Fenced as e:
            log.warning("site %s: fenced (%s)", self.site_id, e)
            self.fenced.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            self.counters.inc("runner_failed")
            log.exception(
                "site %s: storer failed; the site is dropped for a take-over", self.site_id
            )
            self.fenced.set()

    async def _store_one(self, item: Stored) -> None:
        kind, data, key, frame = item
        if kind == "alert":
            await self._publish(out_subject(self.site_id, "alerts"), data, {"Nats-Msg-Id": key})
        elif kind == "frame":
            self.out_seq = await self._publish(
                out_subject(self.site_id, "tracks"),
                data,
                {
                    "Nats-Msg-Id": f"{self.site_id}:{key}",
                    "Nats-Expected-Last-Subject-Sequence": str(self.out_seq),
                },
            )
            self.published = key
            self.frame = frame
            self.counters.inc("frames")
        else:
            try:
                await self._store_snapshot(data)
            finally:
                self._snap_queued = False

    async def _store_snapshot(self, blob: bytes) -> bool:
        """Write the state with compare-and-set on the revision. A snapshot is a cache: a
        write that fails in transit (a stream leader lost mid fail-over) is counted and tried
        again next period. Its outcome is then unknown, so the next write first reads the key:
        if it holds this runner's last blob, that write did land and its revision is ours."""
        try:
            if self._snap_unconfirmed is not None:
                with contextlib.suppress(KeyNotFoundError):
                    entry = await self.snapshots.get(self.site_id)
                    if entry.value == self._snap_unconfirmed:
                        self.snap_rev = int(entry.revision or 0)
                self._snap_unconfirmed = None
            if self.snap_rev:
                self.snap_rev = await self.snapshots.update(self.site_id, blob, last=self.snap_rev)
            else:
                self.snap_rev = await self.snapshots.create(self.site_id, blob)
            self.counters.inc("snapshots")
            return True
        except KeyWrongLastSequenceError as e:
            raise Fenced(f"snapshot: {e}") from None
        except APIError as e:  # too large for the bucket: keep going, replay is longer
            self.counters.inc("snapshot_failed")
            log.warning("site %s: snapshot of %d bytes refused: %s", self.site_id, len(blob), e)
            return False
        except (TimeoutError, nats.errors.Error) as e:  # no stream response, no responders
            self.counters.inc("snapshot_failed")
            self._snap_unconfirmed = blob
            log.warning("site %s: snapshot not confirmed (%s); next period", self.site_id, e)
            return False

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
