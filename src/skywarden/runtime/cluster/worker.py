"""``skywarden worker``: one process of the pool that tracks sites fed into JetStream.

Every ``tick_s`` a worker (1) writes its heartbeat to ``sw_workers``, (2) renews each of its
leases by compare-and-set, dropping at once a site whose lease it lost or whose runner was
fenced, (3) computes its fair share ``ceil(sites / live workers)`` and claims free sites up to
it or, once settled, hands back the excess (final frame and snapshot first, then the lease).
A site whose worker died has its lease expire after ``lease_ttl_s``; a survivor claims it
and the :class:`SiteRunner` restores and replays (see ``site_runner``). The claims and
restores of a take-over run concurrently, beside the tick loop (``_claim_all``).

Take-over time, from the kill: the lease expires ``lease_ttl_s`` after its last renewal
(``0..tick_s`` before the kill), then claim, restore and the first frame. A survivor does
not wait for its next regular tick to notice: a worker whose heartbeat is older than
``2 * tick_s`` is suspect, and the loop wakes just after each of its leases is due to
expire (:meth:`Worker._wait_s`). Before, the loop ticked every ``tick_s`` and counted a
worker dead only ``1.25 * lease_ttl_s`` after its last heartbeat, which added up to
``0.25 * lease_ttl_s + tick_s`` (3 s at a 6 s TTL) to every take-over. Claiming a lease
that is not yet expired only fails (``kv.create``), so waking early costs a round trip.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field

import nats
from nats.aio.client import Client

from skywarden.core.clock import WallClock
from skywarden.core.counters import Counters
from skywarden.core.site import Site, site_from_skybench_header
from skywarden.runtime.cluster.connect import NatsAccess, connect
from skywarden.runtime.cluster.leases import KvView, LeaseKeeper, Leases, owner_of
from skywarden.runtime.cluster.site_runner import SiteRunner
from skywarden.runtime.cluster.topology import (
    LEASES_BUCKET,
    SITES_BUCKET,
    SNAPSHOTS_BUCKET,
    WORKERS_BUCKET,
    TopologyConfig,
    ensure_topology_retrying,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: str
    lease_ttl_s: float = 5.0
    flush_s: float = 0.2
    snapshot_s: float = 5.0
    health_s: float = 2.0
    claim_batch: int = 64
    claim_parallel: int = 8
    topology: TopologyConfig = field(default_factory=TopologyConfig)

    @property
    def tick_s(self) -> float:
        return self.lease_ttl_s / 4.0


def site_from_registry(value: bytes) -> Site:
    """A ``sw_sites`` value: ``{"v": 1, "header": <skybench/1 header>}``."""
    d = json.loads(value)
    return site_from_skybench_header(d["header"])


class Worker:
    def __init__(
        self,
        nc: Client,
        cfg: WorkerConfig,
        wall: Callable[[], float] | None = None,
        urls: list[str] | NatsAccess | None = None,
    ) -> None:
        """With ``urls`` the leases are kept by a :class:`LeaseKeeper` thread on its own
        connection (the production path); without, they are renewed from the main loop."""
        self.nc = nc
        self.urls = urls
        self.keeper: LeaseKeeper | None = None
        self.js = nc.jetstream(timeout=5.0)
        self.cfg = cfg
        self.wall = wall or WallClock().now
        self.runners: dict[str, SiteRunner] = {}
        self.counters = Counters()
        self._sites: dict[str, Site] = {}
        self._last_tick = 0.0
        self._claiming: asyncio.Task[None] | None = None
        self._wake_at = math.inf  # loop time a suspect worker's lease is due to expire
        self.takeover_s_last: float | None = None  # claim to restored, seconds (this clock)

    async def _setup(self) -> None:
        cfg = self.cfg
        topo = TopologyConfig(**{**cfg.topology.__dict__, "lease_ttl_s": cfg.lease_ttl_s})
        await ensure_topology_retrying(self.js, topo)
        self.kv_sites = await self.js.key_value(SITES_BUCKET)
        self.kv_leases = await self.js.key_value(LEASES_BUCKET)
        self.kv_workers = await self.js.key_value(WORKERS_BUCKET)
        self.kv_snap = await self.js.key_value(SNAPSHOTS_BUCKET)
        self.leases = Leases(self.kv_leases, cfg.worker_id)
        self.v_sites = KvView(self.kv_sites)
        self.v_leases = KvView(self.kv_leases)
        self.v_workers = KvView(self.kv_workers)
        for v in (self.v_sites, self.v_leases, self.v_workers):
            await v.start()
        if self.urls:
            clock = WallClock()
            self.keeper = LeaseKeeper(
                self.urls, cfg.worker_id, cfg.tick_s, 4 * cfg.lease_ttl_s, clock.monotonic
            )
            await asyncio.to_thread(self.keeper.start)

    async def run(self, stop: asyncio.Event) -> None:
        await self._setup()
        loop = asyncio.get_running_loop()
        settle_until = loop.time() + 2 * self.cfg.lease_ttl_s
        try:
            while not stop.is_set():
                try:
                    await self._tick(loop.time() >= settle_until)
                except (TimeoutError, nats.errors.Error) as e:
                    self.counters.inc("tick_error")
                    log.warning("worker %s: tick failed: %s", self.cfg.worker_id, e)
                with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), self._wait_s(loop.time()))
        finally:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.shutdown(), 30.0)

    async def shutdown(self) -> None:
        """Graceful: final frame and snapshot for every site, then give the leases back."""
        if self._claiming is not None:
            self._claiming.cancel()
            await asyncio.wait({self._claiming}, timeout=10.0)
        for sid in list(self.runners):
            await self._drop(sid, graceful=True)
        for v in (self.v_sites, self.v_leases, self.v_workers):
            await v.stop()
        if self.keeper is not None:
            await asyncio.to_thread(self.keeper.stop)
        with contextlib.suppress(Exception):
            await self.kv_workers.delete(self.cfg.worker_id)

    def _wait_s(self, now: float) -> float:
        """Until the next tick: ``tick_s``, or less when a suspect worker's lease is due to
        expire sooner (then just after it: the claim is tried as soon as it can succeed)."""
        return max(0.05, min(self.cfg.tick_s, self._wake_at + 0.1 - now))

    def _view_fresh(self, now: float) -> bool:
        """Is the view of ``sw_workers`` current? Only if this worker's own heartbeat (its
        keeper writes one every ``tick_s``) came back through the watcher lately. While the
        bucket elects a leader nobody's heartbeat arrives, and every other worker would look
        dead: claiming then would race the owners' keepers re-creating their leases (a
        node kill could cost leases), so no one is counted dead on a stale view."""
        at = self.v_workers.written_at().get(self.cfg.worker_id, -math.inf)
        return now - at <= 2 * self.cfg.tick_s

    def _alive(self, now: float) -> set[str]:
        """Workers counted for the fair share: a heartbeat within ``lease_ttl_s`` (silent that
        long, a worker has lost its leases too: one keeper writes both), or any worker with
        a heartbeat key at all while the view is stale."""
        window = self.cfg.lease_ttl_s if self._view_fresh(now) else math.inf
        beats = self.v_workers.written_at()
        return {w for w, at in beats.items() if now - at <= window} | {self.cfg.worker_id}

    def _suspect_expiries(self, now: float) -> float:
        """The earliest future expiry of a lease held by a worker whose heartbeat is late
        (older than ``2 * tick_s``, on a fresh view); infinity when there is none."""
        cfg = self.cfg
        if not self._view_fresh(now):
            return math.inf
        beats = self.v_workers.written_at()
        holders = self.v_leases.live(math.inf)
        due = math.inf
        for sid, at in self.v_leases.written_at().items():
            owner = owner_of(holders.get(sid, b""))
            if owner == cfg.worker_id or sid in self.runners:
                continue
            if now - beats.get(owner, -math.inf) > 2 * cfg.tick_s and at + cfg.lease_ttl_s > now:
                due = min(due, at + cfg.lease_ttl_s)
        return due

    def owned(self) -> list[str]:
        return sorted(self.runners)

    async def _drop(self, sid: str, graceful: bool) -> None:
        r = self.runners.pop(sid, None)
        log.info("worker %s: drops site %s (graceful=%s)", self.cfg.worker_id, sid, graceful)
        if r is not None:
            await r.stop(snapshot=graceful and not r.fenced.is_set())
        if self.keeper is not None:
            rev = self.keeper.forget(sid)
            if rev is not None:
                self.leases.revisions[sid] = rev
        if graceful:
            await self.leases.release(sid)
        else:
            self.leases.revisions.pop(sid, None)

    async def _tick(self, settled: bool) -> None:
        cfg = self.cfg
        t0 = asyncio.get_running_loop().time()
        if self._last_tick and t0 - self._last_tick > 2 * cfg.tick_s:
            log.warning("worker %s: tick late by %.2f s", cfg.worker_id, t0 - self._last_tick)
        self._last_tick = t0
        hb = json.dumps(
            {
                "worker": cfg.worker_id,
                "sites": len(self.runners),
                "t": self.wall(),
                "counters": self.counters.snapshot(),
                "takeover_s_last": self.takeover_s_last,
                "backlog": sum(len(r.batch) for r in self.runners.values()),
            }
        )
        fenced = [sid for sid, r in self.runners.items() if r.fenced.is_set()]
        for sid in fenced:
            self.counters.inc("fenced")
            log.warning("worker %s: site %s fenced", cfg.worker_id, sid)
            await self._drop(sid, graceful=False)
        if self.keeper is not None:
            self.keeper.tick(hb.encode())
            lost = sorted(self.keeper.take_lost() & set(self.runners))
        else:  # renew concurrently: one round trip for all leases
            held = list(self.runners)
            _, *renewed = await asyncio.gather(
                self.kv_workers.put(cfg.worker_id, hb.encode()),
                *(self.leases.renew(sid) for sid in held),
            )
            lost = [sid for sid, ok in zip(held, renewed, strict=True) if not ok]
        for sid in lost:
            self.counters.inc("lease_lost")
            log.warning("worker %s: lease of %s lost", cfg.worker_id, sid)
            await self._drop(sid, graceful=False)
        if self._claiming is not None and not self._claiming.done():
            return  # a take-over is still restoring sites; the loop keeps ticking meanwhile
        sites = self.v_sites.live(math.inf)
        alive = self._alive(t0)
        share = math.ceil(len(sites) / len(alive)) if sites else 0
        mine = len(self.runners)
        self._wake_at = self._suspect_expiries(t0) if mine < len(sites) else math.inf
        if mine < share:
            leased = self.v_leases.live(cfg.lease_ttl_s)
            free = [s for s in sites if s not in self.runners and s not in leased]
            # spread workers over different sites so simultaneous claims rarely collide
            free.sort(key=lambda s: zlib.crc32(f"{cfg.worker_id}/{s}".encode()))
            todo = [(sid, sites[sid]) for sid in free[: min(share - mine, cfg.claim_batch)]]
            if todo:
                self._claiming = asyncio.create_task(self._claim_all(todo))
        elif settled and mine > share:
            for sid in sorted(self.runners)[: mine - share]:
                self.counters.inc("handed_over")
                await self._drop(sid, graceful=True)

    async def _claim_all(self, todo: list[tuple[str, bytes]]) -> None:
        """Claim sites, then restore them concurrently, in a task beside the tick loop.

        Claiming one site after another inside the tick took a survivor's loop 24.5 s once
        (30 sites, each restoring a snapshot and replaying its tail): its lease keeper's
        watchdog saw no tick, stopped renewing, and the worker lost 28 of its own leases.
        Here the tick loop goes on renewing and proving it is alive meanwhile. All claims
        go out at once (one round trip each); only the restores are limited to
        ``claim_parallel`` at a time. Claiming inside the limit put the second half of a
        take-over's 15 claims behind the first half's restores: restored 6.2-8.9 s after
        the kill at load 13 (``bench_cluster_failover.py``), for leases free at 6 s; with
        the claims first all 15 were claimed 5.75 s after the kill. Restoring all 15 at
        once (limit 16) was not faster at load 14: each restore's consumer creation took
        1.1 s median instead of 0.17 s, first frames 3.6 s after the claim instead of 2.4
        s (one run each), so the first half restores first."""
        gate = asyncio.Semaphore(self.cfg.claim_parallel)
        t0 = asyncio.get_running_loop().time()

        async def one(sid: str, value: bytes) -> None:
            try:
                if not await self.leases.claim(sid):
                    return
                if self.keeper is not None:
                    self.keeper.adopt(sid, self.leases.revisions[sid])
                log.info("worker %s: claimed site %s", self.cfg.worker_id, sid)
                async with gate:
                    await self._start(sid, value)
            except (TimeoutError, nats.errors.Error) as e:
                self.counters.inc("claim_error")
                log.warning("worker %s: claim of %s failed: %s", self.cfg.worker_id, sid, e)

        await asyncio.gather(*(one(sid, value) for sid, value in todo))
        self.takeover_s_last = asyncio.get_running_loop().time() - t0

    async def _start(self, sid: str, value: bytes) -> None:
        site = self._sites.get(sid)
        if site is None:
            site = self._sites[sid] = site_from_registry(value)
        cfg = self.cfg
        r = SiteRunner(
            self.js,
            self.kv_snap,
            sid,
            site,
            cfg.worker_id,
            self.wall,
            flush_s=cfg.flush_s,
            snapshot_s=cfg.snapshot_s,
            health_s=cfg.health_s,
            live=self.nc,
        )
        try:
            await r.start()
        except Exception:
            if self.keeper is not None:
                self.keeper.forget(sid)
            await self.leases.release(sid)
            raise
        self.runners[sid] = r
        self.counters.inc("claimed")
        log.info(
            "worker %s: took site %s: snapshot at raw seq %d, frames up to %d; restore %s",
            cfg.worker_id,
            sid,
            r.state.covered,
            r.published,
            json.dumps({k: round(v, 3) for k, v in r.timing.items()}),
        )


async def run_worker(
    access: list[str] | NatsAccess, cfg: WorkerConfig, stop: asyncio.Event
) -> None:
    if not isinstance(access, NatsAccess):
        access = NatsAccess(tuple(access))
    nc = await connect(access, reconnect_time_wait=0.5)
    try:
        await Worker(nc, cfg, urls=access).run(stop)
    finally:
        await nc.drain()
