"""``skywarden central``: every site's tracks and alerts in one picture.

:class:`CentralPicture` is the in-memory view: per site the latest frame (tracks with their
threat level), the alerts with their latest transition, the last health report, and
counters. It is fed by :class:`CentralFeed`, one ordered consumer per stream: the pooled
sites' ``SKYWARDEN_SITES`` and one ``EDGE_<site>`` mirror per edge site. An ordered consumer
needs no durable state on the server and re-creates itself after a node fail-over, so the
picture keeps updating while the cluster heals. With a journal (``store.open_journal``, e.g.
PostgreSQL) every track state and alert transition is also recorded, ``source`` = site id.

Report-to-picture latency is measured here: each frame lists the ingest time of every raw
report it covers, and the picture notes the wall time it applied the frame.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from skywarden.core.clock import WallClock
from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.consumers import subscribe_ordered
from skywarden.runtime.cluster.topology import (
    CONSUMER_HEARTBEAT_S,
    SITES_BUCKET,
    SITES_STREAM,
    WORKERS_BUCKET,
    edge_mirror_name,
    parse_out_subject,
    retrying,
)
from skywarden.store.journal import Journal
from skywarden.store.records import Record, TrackRecord


@dataclass
class SiteView:
    site: str
    region: str = ""
    frame: codec.SiteFrame | None = None
    frames: int = 0
    reports: int = 0
    alerts: dict[str, codec.SiteAlert] = field(default_factory=dict)
    health: dict[str, Any] = field(default_factory=dict)
    updated_t: float = 0.0
    received_mono: float | None = None  # central's monotonic clock at the last frame
    # a provisional (coasted) copy of ``frame`` shown while no new frame can be made; any
    # newer frame replaces it (see ``codec.coast_frame``)
    coast: codec.SiteFrame | None = None


class CentralPicture:
    def __init__(
        self,
        journal: Journal | None = None,
        wall: Callable[[], float] | None = None,
        keep_latencies: int = 1_000_000,
    ) -> None:
        self.sites: dict[str, SiteView] = {}
        self.journal = journal
        self._inflight: asyncio.Future[Any] | None = None
        self.wall = wall or WallClock().now
        self.monotonic = WallClock().monotonic
        self.counters = Counters()
        self.latencies: deque[float] = deque(maxlen=keep_latencies)
        self._records: list[Record] = []
        # worker id -> (central's loop time of its last heartbeat, the heartbeat)
        self.workers: dict[str, tuple[float, dict[str, Any]]] = {}

    def site(self, sid: str) -> SiteView:
        v = self.sites.get(sid)
        if v is None:
            v = self.sites[sid] = SiteView(sid)
        return v

    def apply(self, subject: str, data: bytes, live: bool = False) -> bool:
        """One message from a site or edge subject; a bad one is counted and skipped.

        ``live``: it came on the core subscription (as published, not as stored): it only
        moves the picture forward, never counts, never journals; the stored copy that the
        stream consumer delivers does that, once. Either way the picture never goes back:
        a frame older than the one shown (by the raw sequence it accounts for) or an alert
        transition older than the one shown (by its number) changes nothing. Returns
        whether the picture changed."""
        where = parse_out_subject(subject)
        live = live or subject.startswith("skywarden.live.")  # never counted, never journaled
        if where is None:
            self.counters.inc("rejected.subject" if not live else "live.rejected.subject")
            return False
        sid, kind = where
        now = self.wall()
        try:
            if kind == "tracks":
                f = codec.decode_frame(data)
                v = self.site(sid)
                newer = v.frame is None or f.covers_to > v.frame.covers_to
                if newer:
                    v.frame, v.updated_t, v.coast = f, now, None
                    v.received_mono = self.monotonic()
                if live:
                    self.counters.inc("live.frames" if newer else "live.frames_behind")
                    return newer
                v.frames += 1
                v.reports += len(f.raw)
                self.latencies.extend(now - r for _, r in f.raw if r > 0)
                self.counters.inc("frames")
                if self.journal is not None:
                    self._records += [
                        TrackRecord.from_dict({**t.to_dict(), "source": sid}) for t in f.tracks
                    ]
                return newer
            if kind == "alerts":
                a = codec.decode_alert(data)
                v = self.site(sid)
                shown = v.alerts.get(a.record.alert_id)
                newer = shown is None or a.n >= shown.n
                if newer:
                    v.alerts[a.record.alert_id] = a
                if live:
                    return newer
                self.counters.inc("alerts")
                if self.journal is not None:
                    self._records.append(a.record)
                return newer
            if kind == "coast":  # live only: no stream holds it, nothing counts it
                f = codec.decode_frame(data)
                v = self.site(sid)
                base = v.coast or v.frame
                ahead = (
                    live
                    and f.provisional
                    and v.frame is not None
                    and f.covers_to == v.frame.covers_to
                    and base is not None
                    and f.t > base.t
                )
                if ahead:
                    v.coast = f
                self.counters.inc("live.coast" if ahead else "live.coast_behind")
                return ahead
            if kind == "health":
                self.site(sid).health = codec.decode_health(data)
                if not live:
                    self.counters.inc("health")
                return True
            self.counters.inc("rejected.kind")
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}" if not live else f"live.rejected.{e.reason}")
        return False

    async def flush_journal(self) -> int:
        """Write what arrived since the last call (in a thread: the journal is synchronous).

        A write already under way is awaited first, and the write itself is shielded: a
        cancelled caller (the periodic task at stop) must not leave a thread still appending
        while ``stop`` reports the journal flushed."""
        if self._inflight is not None:
            await asyncio.shield(self._inflight)
            self._inflight = None
        if self.journal is None or not self._records:
            return 0
        recs, self._records = self._records, []
        self._inflight = asyncio.ensure_future(asyncio.to_thread(self.journal.append_many, recs))
        await asyncio.shield(self._inflight)
        self._inflight = None
        return len(recs)

    def view(self, site: str | None = None, region: str | None = None) -> dict[str, Any]:
        """The picture as JSON-ready data, filtered by site and/or region."""
        out = []
        for v in sorted(self.sites.values(), key=lambda v: v.site):
            if site is not None and v.site != site:
                continue
            if region is not None and v.region != region:
                continue
            f = v.coast or v.frame
            out.append(
                {
                    "site": v.site,
                    "region": v.region,
                    "t": f.t if f else None,
                    "provisional": v.coast is not None,
                    "worker": f.worker if f else None,
                    "frames": v.frames,
                    "reports": v.reports,
                    "tracks": [
                        {
                            "id": t.track_id,
                            "t": t.t,
                            "x": list(t.x),
                            "status": t.status,
                            "class": t.best_class,
                            "threat": f.threat.get(t.track_id, "none") if f else "none",
                        }
                        for t in (f.tracks if f else ())
                    ],
                    "alerts": [
                        {
                            "id": a.record.alert_id,
                            "track": a.record.track_id,
                            "zone": a.record.zone_id,
                            "level": a.record.level,
                            "state": a.record.to_state,
                            "t": a.record.t,
                        }
                        for a in v.alerts.values()
                        if a.record.to_state != "resolved"
                    ],
                    "health": v.health,
                }
            )
        return {"sites": out, "counters": self.counters.snapshot()}


class CentralFeed:
    """Ordered consumers from the given streams into a :class:`CentralPicture`.

    With ``nc`` also a core subscription to the same subjects, for the picture only: an
    ordered consumer hosted on a NATS node that dies is re-created through the JetStream
    API, which answers only after the cluster's elections, and meanwhile the picture froze
    for every site (11-14 s in the failover benchmark with central connected to the killed
    node), although the workers went on publishing. Core delivery resumes as soon as the
    client has reconnected. The stored copy still does all counting and journaling."""

    def __init__(
        self,
        js: JetStreamContext,
        picture: CentralPicture,
        start_retry_s: float = 60.0,
        nc: Client | None = None,
    ) -> None:
        self.js = js
        self.nc = nc
        self.picture = picture
        self.start_retry_s = start_retry_s
        self._subs: list[Any] = []
        self._tasks: list[asyncio.Task[None]] = []

    async def add_stream(self, stream: str, subject: str = ">") -> None:
        async def cb(msg: Msg) -> None:
            self.picture.apply(msg.subject, msg.data)

        # a cluster still forming or electing answers with a timeout: retry
        sub = await retrying(
            f"consumer on {stream}",
            lambda: subscribe_ordered(  # hedged: a dead peer may get the placement
                self.js,
                subject,
                stream,
                cb,
                ConsumerConfig(deliver_policy=DeliverPolicy.ALL),
                pending_msgs_limit=1_000_000,
                idle_heartbeat=CONSUMER_HEARTBEAT_S,
            ),
            self.start_retry_s,
        )
        self._subs.append(sub)

    async def start(self, edges: Iterable[str] = ()) -> None:
        if self.nc is not None:

            async def live(msg: Msg) -> None:
                self.picture.apply(msg.subject, msg.data, live=True)

            for subject in ("skywarden.site.*.*", "skywarden.edge.*.*", "skywarden.live.*.*"):
                self._subs.append(
                    await self.nc.subscribe(subject, cb=live, pending_msgs_limit=1_000_000)
                )
        await self.add_stream(SITES_STREAM, "skywarden.site.*.*")
        for site in edges:
            await self.add_stream(edge_mirror_name(site), "skywarden.edge.*.*")
        self._tasks.append(asyncio.create_task(self._regions()))
        self._tasks.append(asyncio.create_task(self._workers()))
        if self.picture.journal is not None:
            self._tasks.append(asyncio.create_task(self._journal()))

    async def _regions(self) -> None:
        """Region of each site from the registry (``{"region": ...}`` next to the header)."""
        with contextlib.suppress(Exception):
            kv = await self.js.key_value(SITES_BUCKET)
            w = await kv.watchall()
            async for e in w:
                if e is None or not e.value:
                    continue
                with contextlib.suppress(ValueError, TypeError, AttributeError):
                    self.picture.site(e.key).region = str(json.loads(e.value).get("region", ""))

    async def _workers(self) -> None:
        """Every worker's heartbeat (sites held, lease and take-over counters) from
        ``sw_workers``, with central's own loop time of the last one: what ``/metrics``
        reports per worker, without comparing clocks across hosts."""
        loop = asyncio.get_running_loop()
        while True:
            with contextlib.suppress(Exception):
                kv = await self.js.key_value(WORKERS_BUCKET)
                w = await kv.watchall()
                async for e in w:
                    if e is None or not e.value:
                        continue
                    with contextlib.suppress(ValueError, TypeError, AttributeError):
                        hb = json.loads(e.value)
                        if isinstance(hb, dict):
                            self.picture.workers[e.key] = (loop.time(), hb)
            await asyncio.sleep(1.0)  # the watcher ended (a node failed over): watch again

    async def _journal(self) -> None:
        while True:
            await asyncio.sleep(0.5)
            await self.picture.flush_journal()

    async def stop(self) -> None:
        for s in self._subs:
            with contextlib.suppress(Exception):
                await s.unsubscribe()
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.picture.flush_journal()
