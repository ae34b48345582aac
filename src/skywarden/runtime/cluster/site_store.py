"""The storing half of a pooled site: its outputs written in order, fenced, after showing.

A :class:`~skywarden.runtime.cluster.site_runner.SiteRunner` steps the engine and shows each
output on core NATS at once; it queues the same output here, and one storer task per site
writes the queue in order to ``SKYWARDEN_SITES`` and the snapshot bucket. Stepping and
storing are separate because stepping must not wait for an election of the output stream
(it did: 11 s per-site gaps when the node leading ``SKYWARDEN_SITES`` was killed), while
storing must keep the order and the fencing:

- a frame carries ``Nats-Expected-Last-Subject-Sequence: out_seq``: the stream appends it
  only if no one else wrote a frame for the site since, which fences out a worker that lost
  its lease without knowing; ``Nats-Msg-Id`` (site and tick sequence) makes a retried
  publish one message, and a retry refused for the last sequence is checked against the
  subject's last message (:meth:`SiteStore.landed`) before it is taken for another writer;
- an alert transition carries its own message id (numbered per alert), so a take-over that
  replays it produces no duplicate;
- a snapshot is written with compare-and-set on the revision, queued behind the outputs it
  accounts for, so it is never ahead of the stored frames.

A refusal raises :class:`Fenced` in the storer; it sets the runner's ``fenced`` event and
the worker drops the site without a snapshot, for the lease holder to go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from typing import Any

import nats.errors
from nats.js import JetStreamContext
from nats.js.errors import APIError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from skywarden.core.counters import Counters
from skywarden.runtime.cluster.site_engine import OutFrame
from skywarden.runtime.cluster.topology import SITES_STREAM, out_subject

log = logging.getLogger(__name__)

WRONG_LAST_SEQ = (10071, 10164)

# A queued output: ("alert", data, msg id, None) | ("frame", data, upto, frame) | ("snap", blob)
Stored = tuple[str, bytes, Any, OutFrame | None]


class Fenced(Exception):
    """Another worker wrote this site's frames or snapshot: this runner must stop."""


class SiteStore:
    """The queue of a site's unstored outputs and the task that stores them in order."""

    def __init__(
        self,
        js: JetStreamContext,
        snapshots: KeyValue,
        site_id: str,
        counters: Counters,
        fenced: asyncio.Event,
        publish_retry_s: float = 30.0,
    ) -> None:
        self.js = js
        self.snapshots = snapshots
        self.site_id = site_id
        self.counters = counters
        self.fenced = fenced
        self.publish_retry_s = publish_retry_s
        self.q: deque[Stored] = deque()
        self.drained = asyncio.Event()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.snap_queued = False
        self.snap_rev = 0
        self._snap_unconfirmed: bytes | None = None  # a write whose outcome is unknown
        self.out_seq = 0
        self.published = 0  # the highest raw sequence a stored frame accounts for
        self.frame: OutFrame | None = None  # the last stored frame

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task}, timeout=5.0)

    def put(self, item: Stored) -> None:
        self.q.append(item)
        if item[0] == "snap":
            self.snap_queued = True
        self.drained.clear()
        self._wake.set()

    async def drain(self) -> None:
        """Until every queued output is stored (or the storer has stopped)."""
        while self.q and self._task is not None and not self._task.done():
            await asyncio.sleep(0.05)

    async def _loop(self) -> None:
        """Store the queued outputs in order; the runner stops when fenced or failed."""
        try:
            while True:
                while not self.q:
                    self._wake.clear()
                    await self._wake.wait()
                await self._store_one(self.q[0])
                self.q.popleft()
                if not self.q:
                    self.drained.set()
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
            await self.publish(out_subject(self.site_id, "alerts"), data, {"Nats-Msg-Id": key})
        elif kind == "frame":
            self.out_seq = await self.publish(
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
                await self.store_snapshot(data)
            finally:
                self.snap_queued = False

    async def publish(self, subject: str, data: bytes, headers: dict[str, str]) -> int:
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
                    mine = await self.landed(subject, headers) if retried else None
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

    async def landed(self, subject: str, headers: dict[str, str]) -> int | None:
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

    async def store_snapshot(self, blob: bytes) -> bool:
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
