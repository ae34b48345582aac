"""Raw reports into JetStream: the ingest port of a site without local compute, the site
registry, and a simulated feeder for tests and the benchmark.

:class:`JetStreamIngestPort` implements ``core.inbound.IngestPort``: ``submit`` returns only
when JetStream has acknowledged every message of the batch (stored, on R3 by a quorum), so an
adapter in front of it acknowledges its sender exactly when the report is durable: the
stream is the journal of a pooled site. Each message carries ``Nats-Msg-Id`` (site, sensor,
the adapter's own counter), so a publish retried after a timeout is stored once.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from nats.js import JetStreamContext
from nats.js.errors import APIError, NoStreamResponseError

from skywarden.core.clock import WallClock
from skywarden.core.counters import Counters
from skywarden.core.inbound import Inbound
from skywarden.runtime.cluster import codec
from skywarden.runtime.cluster.topology import SITES_BUCKET, check_token, raw_subject, sensor_token
from skywarden.sensors.skybench import Scan
from skywarden.sim import SimRun, report_to_scan


async def register_site(
    js: JetStreamContext, site_id: str, header: Mapping[str, Any], region: str = ""
) -> None:
    """Publish the site description (skybench/1 header) so workers can build its pipeline;
    ``region`` groups sites in the central picture."""
    kv = await js.key_value(SITES_BUCKET)
    body = {"v": 1, "header": dict(header), "region": region}
    await kv.put(check_token(site_id), json.dumps(body).encode())


@dataclass
class Acked:
    """What the stream acknowledged: raw sequence per (site, message id)."""

    seqs: dict[str, list[int]] = field(default_factory=dict)

    def add(self, site: str, seq: int) -> None:
        self.seqs.setdefault(site, []).append(seq)


class JetStreamIngestPort:
    """``IngestPort`` for one site: publish each accepted message and wait for the ack."""

    def __init__(
        self,
        js: JetStreamContext,
        site_id: str,
        acked: Acked | None = None,
        timeout_s: float = 2.0,
        retry_for_s: float = 30.0,
    ) -> None:
        self.js = js
        self.site_id = check_token(site_id)
        self.acked = acked or Acked()
        self.timeout_s = timeout_s
        self.retry_for_s = retry_for_s
        self.counters = Counters()
        self._n = 0

    async def submit(self, batch: Sequence[Inbound]) -> None:
        await asyncio.gather(*(self._one(m) for m in batch))

    async def submit_report(self, inbound: Inbound, t: float) -> int:
        """Like ``submit`` for one message, with its report time given (sim scans)."""
        return await self._one(inbound, t)

    async def _one(self, m: Inbound, t: float | None = None) -> int:
        self._n += 1
        msg_id = f"{self.site_id}:{m.sensor_id}:{self._n}"
        data = codec.encode_raw(self.site_id, m, t)
        subject = raw_subject(self.site_id, sensor_token(m.sensor_id))
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.retry_for_s
        while True:
            try:
                ack = await self.js.publish(
                    subject, data, timeout=self.timeout_s, headers={"Nats-Msg-Id": msg_id}
                )
                self.acked.add(self.site_id, int(ack.seq))
                self.counters.inc("acked")
                return int(ack.seq)
            except (TimeoutError, NoStreamResponseError, APIError) as e:
                if isinstance(e, APIError) and e.code != 503:
                    raise
                self.counters.inc("publish_retry")
                if loop.time() > give_up:
                    raise
                await asyncio.sleep(0.2)


@dataclass(frozen=True)
class SimReport:
    """One simulated report: the skybench/1 line as the wire bytes, and its parsed scan."""

    payload: bytes
    scan: Scan


def sim_reports(run: SimRun, until_s: float | None = None) -> list[SimReport]:
    """Every report of a simulated run in measurement order (up to ``until_s``)."""
    sensors = run.site.sensor_map
    out = []
    for r in run.reports():
        if until_s is not None and r.t > until_s:
            break
        out.append(SimReport(json.dumps(r.line(True)).encode(), report_to_scan(r, sensors)))
    return out


async def feed_reports(
    port: JetStreamIngestPort,
    reports: Sequence[SimReport],
    speed: float | None,
    wall: Callable[[], float] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Publish ``reports`` in order, paced at ``speed`` x real time (None: as fast as acked)."""
    clock = wall or WallClock().now
    loop = asyncio.get_running_loop()
    start = loop.time()
    t0 = reports[0].scan.t if reports else 0.0
    n = 0
    for r in reports:
        s = r.scan
        if stop is not None and stop.is_set():
            break
        if speed:
            delay = start + (s.t - t0) / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        await port.submit_report(Inbound(s.sensor_id, "sim", clock(), r.payload, s.detections), s.t)
        n += 1
    return n
