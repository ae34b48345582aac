"""Site ownership: one worker per site at a time, by leases in JetStream KV.

A lease is the key ``<site>`` in bucket ``sw_leases`` whose value names the owner. The
bucket's max age is the lease TTL: a key that is not rewritten within the TTL disappears, so
a dead worker's sites become free without anyone having to notice the death.

- **claim** is ``kv.create``: succeeds only when the key is absent (or deleted), atomically on
  the stream leader, so two workers racing for a site cannot both win;
- **renew** is ``kv.update(last=revision)``: compare-and-set on the revision this worker
  wrote last. A refusal is not yet a loss: an update whose acknowledgement was lost in a
  leader election was stored all the same, and the next renewal then names a stale
  revision. So a refused renewal re-reads the key (:func:`renew_or_reread`): if it still
  names this worker, its current revision is adopted and renewed; if the key is gone (the
  lease expired while the bucket had no leader) it is re-created, which succeeds only when
  nobody else claimed it meanwhile. Only a key that names another worker, or a re-creation
  that loses the race, drops the site;
- **release** is ``kv.delete(last=revision)`` after the final snapshot, for a graceful
  hand-over when the pool rebalances.

The lease alone cannot stop a worker that was paused past its TTL from writing once more
before its next renew notices; that is closed by the tracks stream itself: every frame is
published with ``Nats-Expected-Last-Subject-Sequence`` (see ``worker``), so only the worker
that saw the latest frame can append the next one.

:class:`KvView` keeps a local picture of a bucket from a KV watcher (puts and deletes as they
happen, plus the loop time each key was last written), which is only a hint for choosing
what to try to claim; correctness rests on the compare-and-set operations.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass

from nats.js.errors import APIError, KeyNotFoundError, KeyWrongLastSequenceError
from nats.js.kv import KeyValue

from skywarden.runtime.cluster.connect import NatsAccess


@dataclass
class _Seen:
    value: bytes
    deleted: bool
    at: float


class KvView:
    """A watcher-fed view of a bucket: which keys exist and when each was last written."""

    def __init__(self, kv: KeyValue) -> None:
        self._kv = kv
        self._seen: dict[str, _Seen] = {}
        self._task: asyncio.Task[None] | None = None
        self.ready = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())
        await asyncio.wait_for(self.ready.wait(), 10.0)

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            try:
                w = await self._kv.watchall()
                async for e in w:
                    if e is None:
                        self.ready.set()
                        continue
                    deleted = e.operation in ("DEL", "PURGE")
                    self._seen[e.key] = _Seen(e.value or b"", deleted, loop.time())
                    if e.delta == 0:
                        self.ready.set()
            except asyncio.CancelledError:
                raise
            except Exception:  # a node failed over: watch again from the current values
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def written_at(self) -> dict[str, float]:
        """The loop time each existing (not deleted) key was last seen written."""
        return {k: s.at for k, s in self._seen.items() if not s.deleted}

    def live(self, ttl: float) -> dict[str, bytes]:
        """Keys written within ``ttl`` seconds and not deleted, with their values."""
        now = asyncio.get_running_loop().time()
        return {k: s.value for k, s in self._seen.items() if not s.deleted and now - s.at <= ttl}


class Leases:
    """The leases this worker holds, with the revision each was last written at."""

    def __init__(self, kv: KeyValue, worker_id: str) -> None:
        self._kv = kv
        self.worker_id = worker_id
        self.revisions: dict[str, int] = {}

    def _value(self) -> bytes:
        return json.dumps({"worker": self.worker_id}).encode()

    async def claim(self, site: str) -> bool:
        try:
            self.revisions[site] = await self._kv.create(site, self._value())
            return True
        except KeyWrongLastSequenceError:
            return False

    async def renew(self, site: str) -> bool:
        """False when the lease is lost (taken by another worker); transport errors propagate."""
        rev = await renew_or_reread(self._kv, site, self._value(), self.revisions[site])
        if rev is None:
            self.revisions.pop(site, None)
            return False
        self.revisions[site] = rev
        return True

    async def release(self, site: str) -> None:
        rev = self.revisions.pop(site, None)
        if rev is not None:
            try:
                await self._kv.delete(site, last=rev)
            except APIError as e:  # expired or taken meanwhile: nothing of ours to give back
                if e.err_code not in (10071, 10164):
                    raise


async def renew_or_reread(kv: KeyValue, site: str, value: bytes, rev: int) -> int | None:
    """Renew the lease on ``site`` held at revision ``rev``; the new revision, or None when it
    is lost. A refused compare-and-set is checked against the key as stored before giving up
    (see the module docstring); transport errors propagate to the caller, who retries."""
    try:
        return int(await kv.update(site, value, last=rev))
    except (KeyWrongLastSequenceError, KeyNotFoundError):
        pass
    try:
        entry = await kv.get(site)
    except KeyNotFoundError:  # expired (or deleted): take it again unless someone else did
        try:
            return int(await kv.create(site, value))
        except KeyWrongLastSequenceError:
            return None
    if entry.value is None or owner_of(entry.value) != owner_of(value):
        return None
    try:  # still ours at a revision whose acknowledgement we missed: adopt and renew it
        return int(await kv.update(site, value, last=int(entry.revision or 0)))
    except (KeyWrongLastSequenceError, KeyNotFoundError):
        return None


def owner_of(value: bytes) -> str:
    try:
        return str(json.loads(value)["worker"])
    except (ValueError, KeyError, TypeError):
        return ""


class LeaseKeeper:
    """Renews a worker's leases and heartbeat from its own thread, event loop and connection.

    Tracking is CPU-bound work on the worker's main event loop; when a worker is overloaded
    that loop can fall many seconds behind, and leases renewed from it would expire although
    the worker is alive and merely late, so sites would churn between workers exactly when
    the pool is busiest. The keeper runs beside it (the GIL hands it the interpreter every
    few milliseconds), so a lease expires only when the process is dead, partitioned, or its
    main loop has not ticked for ``wedged_s`` (a watchdog: a wedged worker must let go).
    """

    def __init__(
        self,
        urls: list[str] | NatsAccess,
        worker_id: str,
        period_s: float,
        wedged_s: float,
        monotonic: Callable[[], float],
    ) -> None:
        self.access = urls if isinstance(urls, NatsAccess) else NatsAccess(tuple(urls))
        self.worker_id = worker_id
        self.period_s = period_s
        self.wedged_s = wedged_s
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._revisions: dict[str, int] = {}
        self._lost: set[str] = set()
        self._alive_at = monotonic()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
        self.heartbeat = b"{}"

    def start(self) -> None:
        self._thread.start()
        if not self._ready.wait(15.0):
            raise TimeoutError("lease keeper did not connect")

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10.0)

    def tick(self, heartbeat: bytes) -> None:
        """Called by the main loop each tick: proves it is alive, publishes its state."""
        with self._lock:
            self._alive_at = self.monotonic()
            self.heartbeat = heartbeat

    def adopt(self, site: str, revision: int) -> None:
        with self._lock:
            self._revisions[site] = revision
            self._lost.discard(site)

    def forget(self, site: str) -> int | None:
        with self._lock:
            return self._revisions.pop(site, None)

    def take_lost(self) -> set[str]:
        with self._lock:
            lost, self._lost = self._lost, set()
            return lost

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        import nats

        from skywarden.runtime.cluster.topology import LEASES_BUCKET, WORKERS_BUCKET

        nc = await nats.connect(**self.access.options(max_reconnect_attempts=-1))
        js = nc.jetstream(timeout=max(1.0, self.period_s))
        leases = await js.key_value(LEASES_BUCKET)
        workers = await js.key_value(WORKERS_BUCKET)
        self._ready.set()
        value = json.dumps({"worker": self.worker_id}).encode()
        try:
            while not self._stop.is_set():
                with self._lock:
                    held = dict(self._revisions)
                    alive = self.monotonic() - self._alive_at < self.wedged_s
                    hb = self.heartbeat
                if alive:
                    await self._renew_all(leases, workers, held, value, hb)
                await asyncio.sleep(self.period_s)
        finally:
            await nc.close()

    async def _renew_all(
        self, leases: KeyValue, workers: KeyValue, held: dict[str, int], value: bytes, hb: bytes
    ) -> None:
        async def one(site: str, rev: int) -> None:
            try:
                new = await renew_or_reread(leases, site, value, rev)
            except Exception:  # transient (fail-over): try again next period
                return
            with self._lock:
                if self._revisions.get(site) != rev:
                    return
                if new is None:
                    self._revisions.pop(site, None)
                    self._lost.add(site)
                else:
                    self._revisions[site] = new

        with contextlib.suppress(Exception):
            await workers.put(self.worker_id, hb)
        await asyncio.gather(*(one(s, r) for s, r in held.items()))
