"""Live Remote ID feed over UDP: one datagram = one F3411 message or Message Pack.

A receiver dongle (an ESP32 or nRF sniffer bridge, or ``opendroneid`` receiver apps) strips
the radio framing and forwards the F3411 bytes. Datagram layout::

    0..N   the F3411 bytes (25 B message, or 3 + 25 * n B Message Pack), nothing else

The transmitter key is the datagram's source address (``udp:host:port``); the receive time
comes from the injected clock. Decoding, assembly and the consistency rule are in
``sensors.remoteid_track``; bad datagrams are counted there and never stop the link.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from skywarden.core.clock import Clock
from skywarden.core.observation import Detection
from skywarden.sensors.remoteid_frames import RidPayload
from skywarden.sensors.remoteid_track import RemoteIdPipeline


class RemoteIdUdpProtocol(asyncio.DatagramProtocol):
    """Feeds every datagram to ``pipeline`` and passes the Detections to ``sink``."""

    def __init__(
        self, pipeline: RemoteIdPipeline, clock: Clock, sink: Callable[[Detection], None]
    ) -> None:
        self.pipeline = pipeline
        self.clock = clock
        self.sink = sink

    def datagram_received(self, data: bytes, addr: tuple[str | object, ...]) -> None:
        key = f"udp:{addr[0]}:{addr[1]}" if len(addr) >= 2 else "udp"
        self.pipeline.counters.inc("link.datagrams")
        for det in self.pipeline.feed(RidPayload("udp", key, 0, data), self.clock.now()):
            self.sink(det)


async def serve_remoteid_udp(
    host: str,
    port: int,
    pipeline: RemoteIdPipeline,
    clock: Clock,
    sink: Callable[[Detection], None],
) -> asyncio.DatagramTransport:
    """Bind and start receiving; close the returned transport to stop."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: RemoteIdUdpProtocol(pipeline, clock, sink), local_addr=(host, port)
    )
    return transport
