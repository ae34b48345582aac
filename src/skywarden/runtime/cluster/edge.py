"""Edge mode: a site with its own compute tracks locally and publishes to its own NATS.

The site's nats-server runs JetStream in its own domain and joins central through a leaf
node connection (``docs/scale.md`` has the two server configurations). :class:`EdgeSite`
steps the site's pipeline on its scans and publishes every frame, alert transition and
health report on ``skywarden.edge.<site>.*``; those land in the local stream
``SKYWARDEN_EDGE`` and the local publish is acknowledged by the local server, so tracking and
alerting never wait for the wide-area link. Central mirrors the edge stream
(``topology.ensure_edge_mirror``); while the link is down the mirror stalls, and when the
leaf connection returns it pulls everything stored meanwhile, in order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence

from nats.js import JetStreamContext

from skywarden.core.clock import WallClock
from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.core.site import Site
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.connect import NatsAccess, connect
from skywarden.runtime.cluster.feed import SimReport
from skywarden.runtime.cluster.topology import (
    TopologyConfig,
    check_token,
    edge_subject,
    ensure_edge_stream,
)
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.pipeline import Frame, Pipeline, PipelineConfig
from skywarden.sensors.skybench import Scan
from skywarden.store.records import AlertRecord, RawMessage, Record, detections_of


class EdgeSite:
    """A site's own engine (:class:`Engine`) publishing to the site's NATS.

    Inputs (reports, operator actions, site edits) go in with :meth:`feed` or :meth:`ingest`;
    :meth:`flush` is a tick: it steps everything measured up to its time (or, with nothing
    buffered, steps anyway so tracks coast and drop and alerts clear when the sensors are
    silent) and publishes the frame and the alert transitions. The edge is the only writer of
    its inputs, so its ticks need no stream of their own to be deterministic: the same inputs
    and ticks give the frames a pooled worker or ``skywarden replay`` gives.
    """

    def __init__(
        self,
        js: JetStreamContext,
        site_id: str,
        site: Site,
        wall: Callable[[], float] | None = None,
        worker_id: str = "edge",
        pipeline_config: PipelineConfig | None = None,
    ) -> None:
        self.js = js
        self.site_id = check_token(site_id)
        self.machine = Engine(site, pipeline_config)
        self.wall = wall or WallClock().now
        self.worker_id = worker_id
        self.counters = Counters()
        self._raw: list[tuple[int, float]] = []  # inputs since the last tick
        self._n = 0
        self._data_t = float("-inf")
        self.transitions = codec.TransitionCounter()
        self.frames: list[Frame] = []

    @property
    def pipeline(self) -> Pipeline:
        return self.machine.pipeline

    async def start(self, cfg: TopologyConfig | None = None) -> None:
        await ensure_edge_stream(self.js, self.site_id, cfg or TopologyConfig())

    def ingest(self, scan: Scan, received_t: float) -> None:
        """One simulated look (a skybench line's scan), received at ``received_t``."""
        self._n += 1
        self._raw.append((self._n, received_t))
        self.machine.message(scan.sensor_id, scan.t, scan.detections, scan.complete)
        self._data_t = max(self._data_t, scan.t)

    def feed(self, item: Inbound | Record) -> None:
        """A journaled input: a report (``Inbound`` or ``RawMessage``), an operator action
        or a site edit. Ticks are :meth:`flush`."""
        self._n += 1
        if isinstance(item, Inbound | RawMessage):
            t = item.received_t if isinstance(item, Inbound) else item.t
            self._raw.append((self._n, t))
            dets = item.detections if isinstance(item, Inbound) else detections_of(item)
            self._data_t = max(self._data_t, t, *(float(d.t) for d in dets))
        self.machine.feed(item)

    async def flush(self, t: float | None = None) -> Frame | None:
        """Tick at ``t`` (default: the latest report time, and nothing when no input came
        since the last tick); publish the frame and alert transitions to the local stream."""
        if t is None:
            if not self._raw:
                return None
            t = max(self._data_t, self.machine.buffer.released_t)
        frames = self.machine.tick(t)
        self._n += 1
        last = frames[-1] if frames else self.machine.pipeline.last
        frame = last if last is not None else Frame(t, (), (), ())
        self.frames.append(frame)
        self.machine.drain_events()  # published below as their records
        for rec in self.machine.drain():
            if not isinstance(rec, AlertRecord):
                continue
            n = self.transitions.next_id(rec.alert_id)
            a = codec.alert_of_record(self.site_id, self.worker_id, rec, self._n, n)
            await self.js.publish(
                edge_subject(self.site_id, "alerts"),
                codec.encode_alert(a),
                headers={"Nats-Msg-Id": a.msg_id},
            )
            self.counters.inc("alerts")
        raw, self._raw = self._raw, []
        await self.js.publish(
            edge_subject(self.site_id, "tracks"),
            codec.encode_frame(self.site_id, self.worker_id, frame, raw, self.wall(), self._n),
            headers={"Nats-Msg-Id": f"{self.site_id}:{self._n}"},
        )
        self.counters.inc("frames")
        return frame

    async def health(self) -> None:
        body = {"covered_seq": self._n, "counters": self.counters.snapshot()}
        await self.js.publish(
            edge_subject(self.site_id, "health"),
            codec.encode_health(self.site_id, self.worker_id, self.wall(), body),
        )


async def run_edge(
    url: str | NatsAccess,
    site_id: str,
    site: Site,
    reports: Sequence[SimReport],
    speed: float,
    stop: asyncio.Event,
    step_s: float = 1.0,
) -> EdgeSite:
    """Track a simulated site in (scaled) real time, publishing to the local NATS at ``url``."""
    nc = await connect(url if isinstance(url, NatsAccess) else NatsAccess((url,)))
    edge = EdgeSite(nc.jetstream(), site_id, site)
    await edge.start()
    loop = asyncio.get_running_loop()
    start = loop.time()
    t0 = reports[0].scan.t if reports else 0.0
    next_step = t0 + step_s
    try:
        for r in reports:
            if stop.is_set():
                break
            delay = start + (r.scan.t - t0) / speed - loop.time()
            if delay > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), delay)
            while r.scan.t >= next_step:  # a tick per step of site time, silent or not
                await edge.flush(next_step)
                await edge.health()
                next_step += step_s
            edge.ingest(r.scan, edge.wall())
        await edge.flush()
    finally:
        await nc.drain()
    return edge
