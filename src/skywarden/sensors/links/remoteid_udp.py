"""Live Remote ID feed over UDP: one datagram = one F3411 message or Message Pack.

A receiver dongle (an ESP32 or nRF sniffer bridge, or ``opendroneid`` receiver apps) strips
the radio framing and forwards the F3411 bytes. Datagram layout::

    0..N   the F3411 bytes (25 B message, or 3 + 25 * n B Message Pack), nothing else

The transmitter key is the datagram's source address (``udp:host:port``); the receive time
comes from the injected clock (stamped on arrival, :mod:`.udp`). Decoding, assembly and the
consistency rule are in ``sensors.remoteid_track``; the pipeline counts into the sensor's
:class:`~skywarden.sensors.links.health.TapCounters`, so a rejected datagram is counted by
reason and not journaled, while every accepted one becomes an
:class:`~skywarden.core.inbound.Inbound` (source ``remoteid``; detections: the Location
reports it completed, often none). What arrived together is submitted in one batch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from skywarden.core.clock import Clock
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.registry import LinkContext, LinkKind, Member, Started, register
from skywarden.sensors.links.udp import Datagram, DatagramInbox, UdpConsumer
from skywarden.sensors.remoteid_frames import RidPayload
from skywarden.sensors.remoteid_track import RemoteIdPipeline

log = logging.getLogger(__name__)
SOURCE = "remoteid"


class RemoteIdUdpLink:
    """A bound UDP socket feeding one :class:`RemoteIdPipeline` (one site sensor)."""

    def __init__(
        self, pipeline: RemoteIdPipeline, clock: Clock, ingest: IngestPort, stats: SensorStats
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self.ingest = ingest
        self.stats = stats
        pipeline.counters = pipeline.assembler.counters = stats.counters
        self.inbox = DatagramInbox(clock, stats.counters)
        self._udp = UdpConsumer()

    def handle(self, dg: Datagram) -> Inbound | None:
        """One datagram -> the message to journal, or None when it was rejected."""
        key = f"udp:{dg.addr[0]}:{dg.addr[1]}"
        tap = self.stats.counters
        before = tap.accepts
        dets = self.pipeline.feed(RidPayload("udp", key, 0, dg.data), dg.t_recv)
        if tap.accepts == before:
            return None
        self.stats.accepted(dg.t_recv, len(dets))
        self.stats.state = "receiving"
        return Inbound(self.pipeline.sensor_id, SOURCE, dg.t_recv, dg.data, tuple(dets))

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        bound = await self._udp.start(host, port, self.inbox, self._run, "remoteid-udp")
        self.stats.state = "listening"
        return bound

    async def stop(self) -> None:
        await self._udp.stop()
        self.stats.state = "stopped"

    async def _run(self) -> None:
        while True:
            batch = [inb for dg in await self.inbox.take() if (inb := self.handle(dg)) is not None]
            if not batch:
                continue
            try:
                await self.ingest.submit(batch)
            except Exception:
                log.exception("Remote ID: the journal refused %d message(s)", len(batch))
                self.stats.counters.inc("journal_failed", len(batch))


# ----------------------------------------------------------------------------- link kind


@register
class RemoteIdUdpKind(LinkKind):
    """``protocol = "remoteid_udp"``: a UDP socket fed by a receiver bridge (F3411 bytes).

    No keys of its own; port 0 binds a free port (tests)."""

    name = "remoteid_udp"
    binds = True
    doc = "UDP: a receiver bridge forwards F3411 messages"

    def conflict_key(self, m: Member) -> tuple[object, ...]:
        # port 0 is a fresh free port each time: never the same socket as another
        return ("udp", m.config.port) if m.config.port else ("udp-any", m.index)

    async def start(self, ctx: LinkContext, members: Sequence[Member]) -> list[Started]:
        out = []
        for m in members:
            pipeline = RemoteIdPipeline(ctx.site.origin, m.spec.id, m.spec.position_enu)
            link = RemoteIdUdpLink(pipeline, ctx.clock, ctx.ingest, ctx.stats[m.spec.id])
            ctx.bound([m], m.config.host, await link.start(m.config.host, m.config.port))
            out.append(Started(link, link.stop))
        return out
