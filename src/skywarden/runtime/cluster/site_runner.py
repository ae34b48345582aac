"""One site tracked by one worker: restore, replay, track, publish fenced frames, snapshot.

Exactly-once in the tracks history, step by step:

1. **Restore.** Load the snapshot (state after raw sequence ``covered``) and read the site's
   last frame on ``skywarden.site.<site>.tracks``: its stream sequence ``out_seq`` and the
   highest raw sequence it covers, ``published``.
2. **Replay.** Consume the raw stream from ``covered + 1`` with an ordered consumer. Reports
   up to ``published`` are folded into the state silently (their frames exist already);
   later ones are collected for the next frame. A raw sequence at or below ``covered`` is
   dropped, so a redelivery is never applied twice.
3. **Publish.** Every ``flush_s`` the collected reports go out as one frame listing their raw
   sequences, published with ``Nats-Expected-Last-Subject-Sequence: out_seq``: the stream
   appends it only if no one else wrote a frame for the site since, which fences out a
   worker that lost its lease without knowing. A ``Nats-Msg-Id`` makes a retried publish
   (after a timeout during a NATS fail-over) one message. Alert transitions go first, each
   with its own message id, so a take-over that replays them produces no duplicates.
4. **Snapshot.** Right after a frame is stored and before anything else is folded in, the
   state covers exactly what the frames cover; only then is it written to KV (itself with
   compare-and-set on the snapshot revision).

Steps are taken per flush (one ``Pipeline.step`` over every report queued since the last
one, at most ``max_batch``): the tracker still takes each scan in time order, so its state
after a replay is the dead worker's state exactly; classification, threat and alert updates
run once per step, so after a take-over their timing may differ by a flush period from what
the dead worker would have produced. Alert transitions carry a message id made of the alert
id, transition and time, so a replayed identical transition is stored once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import APIError, KeyNotFoundError, KeyWrongLastSequenceError, NotFoundError
from nats.js.kv import KeyValue

from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.snapshot import SiteState, dump_state, load_state
from skywarden.runtime.cluster.topology import (
    CONSUMER_HEARTBEAT_S,
    SITES_STREAM,
    out_subject,
    raw_filter,
)
from skywarden.runtime.pipeline import Frame, Pipeline, PipelineConfig

log = logging.getLogger(__name__)

WRONG_LAST_SEQ = (10071, 10164)


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
    ) -> None:
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
        self.pipeline_config = pipeline_config
        self.counters = Counters()
        self.state = SiteState(Pipeline(site, pipeline_config))
        self.snap_rev = 0
        self._snap_unconfirmed: bytes | None = None  # a write whose outcome is unknown
        self.out_seq = 0
        self.published = 0
        self.pending: list[tuple[int, float]] = []
        self.pending_events: list[codec.SiteAlert] = []
        self.frame: Frame | None = None
        self.fenced = asyncio.Event()
        self._sub: Any = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self.batch: list[tuple[int, codec.RawReport | None]] = []
        self.consumed = 0

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        await self._restore()
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
                await asyncio.wait_for(self._flush(snapshot=True), 10.0)

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
            f = codec.decode_frame(last.data or b"")
            self.published = max(f.raw_seqs, default=0)
        except NotFoundError:
            self.out_seq, self.published = 0, 0
        self.published = max(self.published, self.state.covered)
        self.consumed = self.state.covered

    # ------------------------------------------------------------------ consuming

    async def _on_msg(self, msg: Msg) -> None:
        self.on_raw(int(msg.metadata.sequence.stream), msg.data)

    def on_raw(self, seq: int, data: bytes) -> None:
        """Queue one raw message for the next step (decoding is all the callback does)."""
        if seq <= self.consumed:
            self.counters.inc("duplicate")
            return
        self.consumed = seq
        try:
            self.batch.append((seq, codec.decode_raw(data)))
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}")
            self.batch.append((seq, None))

    def step_batch(self) -> int:
        """Fold up to ``max_batch`` queued reports into the pipeline in one step.

        One step per batch, not per report: the tracker still takes every scan in time order,
        while classification, threat and alert updates (most of the cost) run once. A report
        measured before the last stepped time is refused (counted) but accounted for in the
        frame, like an undecodable one. Returns how many reports remain queued.
        """
        if not self.batch:
            return 0
        batch, self.batch = self.batch[: self.max_batch], self.batch[self.max_batch :]
        st = self.state
        scans = []
        for _, rep in batch:
            if rep is None:
                continue
            if rep.t < st.t_last:
                self.counters.inc("rejected.too_late")
                continue
            scans.append(rep.scan())
        new = [
            (q, rep.inbound.received_t if rep else 0.0) for q, rep in batch if q > self.published
        ]
        frame = None
        if scans:
            t = max(s.t for s in scans)
            frame = st.pipeline.step(scans, t)
            st.t_last = t
            self.counters.inc("reports", len(scans))
        st.covered = batch[-1][0]
        self.counters.inc("replayed", len(batch) - len(new))
        # every transition is numbered, also those folded silently during a replay
        numbered = [(ev, st.transitions.next(ev)) for ev in (frame.events if frame else ())]
        if new:
            if frame is not None:
                self.frame = frame
                last = new[-1][0]
                for ev, n in numbered:
                    self.pending_events.append(
                        codec.alert_of(self.site_id, self.worker_id, ev, last, n)
                    )
            self.pending.extend(new)
        return len(self.batch)

    # ------------------------------------------------------------------ publishing

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        next_snap = loop.time() + self.snapshot_s
        next_health = loop.time()
        try:
            while not self._stopping:
                # a backlog (replay after a take-over) is stepped in slices, yielding between
                await asyncio.sleep(0 if self.batch else self.flush_s)
                now = loop.time()
                if await self._flush(snapshot=now >= next_snap):
                    next_snap = now + self.snapshot_s
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
        while True:
            try:
                ack = await self.js.publish(subject, data, headers=headers, timeout=2.0)
                return int(ack.seq)
            except APIError as e:
                if e.err_code in WRONG_LAST_SEQ:
                    raise Fenced(f"{subject}: {e.description}") from None
                if e.code != 503:
                    raise
            except TimeoutError:
                pass
            except Exception as e:  # no responders / reconnecting
                if "NoStreamResponse" not in type(e).__name__ and "Timeout" not in str(e):
                    raise
            self.counters.inc("publish_retry")
            if asyncio.get_running_loop().time() > give_up:
                raise Fenced(f"{subject}: not stored within {self.publish_retry_s} s")
            await asyncio.sleep(delay)
            delay = min(delay * 2, 1.0)

    async def _flush(self, snapshot: bool = False) -> bool:
        """Publish the pending frame; with ``snapshot`` also store the state it leaves.

        The state is encoded synchronously together with taking the pending reports, so the
        snapshot covers exactly the raw sequences the frames cover once this frame is stored;
        it is written only after that. Returns True when a snapshot was written.
        """
        self.step_batch()
        if not self.pending:
            if snapshot and not self.batch and self.state.covered <= self.published:
                return await self._store_snapshot(dump_state(self.state))
            return False
        raw, self.pending = self.pending, []
        events, self.pending_events = self.pending_events, []
        frame = self.frame
        blob = dump_state(self.state) if snapshot and not self.batch else None
        for a in events:
            await self._publish(
                out_subject(self.site_id, "alerts"),
                codec.encode_alert(a),
                {"Nats-Msg-Id": a.msg_id},
            )
        if frame is None:  # only refused reports since the restore: an empty frame
            frame = Frame(self.state.t_last, (), (), ())
        data = codec.encode_frame(self.site_id, self.worker_id, frame, raw, self.wall())
        last = raw[-1][0]
        self.out_seq = await self._publish(
            out_subject(self.site_id, "tracks"),
            data,
            {
                "Nats-Msg-Id": f"{self.site_id}:{last}",
                "Nats-Expected-Last-Subject-Sequence": str(self.out_seq),
            },
        )
        self.published = last
        self.counters.inc("frames")
        return blob is not None and await self._store_snapshot(blob)

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
            "tracks": len(self.frame.tracks) if self.frame else 0,
            "counters": self.counters.snapshot(),
        }
        data = codec.encode_health(self.site_id, self.worker_id, self.wall(), body)
        with contextlib.suppress(Exception):
            await self.js.publish(out_subject(self.site_id, "health"), data, timeout=1.0)
