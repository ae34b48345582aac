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
from skywarden.runtime.pipeline import Frame, Pipeline, PipelineConfig
from skywarden.sensors.skybench import Scan


class EdgeSite:
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
        self.pipeline = Pipeline(site, pipeline_config)
        self.wall = wall or WallClock().now
        self.worker_id = worker_id
        self.counters = Counters()
        self._batch: list[tuple[int, float, Scan]] = []
        self._n = 0
        self.transitions = codec.TransitionCounter()
        self.frames: list[Frame] = []

    async def start(self, cfg: TopologyConfig | None = None) -> None:
        await ensure_edge_stream(self.js, self.site_id, cfg or TopologyConfig())

    def ingest(self, scan: Scan, received_t: float) -> None:
        self._n += 1
        self._batch.append((self._n, received_t, scan))

    async def flush(self) -> Frame | None:
        """Step what arrived, publish the frame and alert transitions to the local stream."""
        if not self._batch:
            return None
        batch, self._batch = self._batch, []
        scans = [s for _, _, s in batch]
        frame = self.pipeline.step(scans, max(s.t for s in scans))
        self.frames.append(frame)
        last = batch[-1][0]
        for ev in frame.events:
            a = codec.alert_of(self.site_id, self.worker_id, ev, last, self.transitions.next(ev))
            await self.js.publish(
                edge_subject(self.site_id, "alerts"),
                codec.encode_alert(a),
                headers={"Nats-Msg-Id": a.msg_id},
            )
            self.counters.inc("alerts")
        raw = [(n, r) for n, r, _ in batch]
        await self.js.publish(
            edge_subject(self.site_id, "tracks"),
            codec.encode_frame(self.site_id, self.worker_id, frame, raw, self.wall()),
            headers={"Nats-Msg-Id": f"{self.site_id}:{last}"},
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
            if r.scan.t >= next_step:
                await edge.flush()
                await edge.health()
                next_step += step_s
            edge.ingest(r.scan, edge.wall())
        await edge.flush()
    finally:
        await nc.drain()
    return edge
