"""ASTERIX over UDP: one datagram in, CAT048 detections out (asyncio datagram endpoint).

Parsing is :func:`skywarden.sensors.asterix.parse_datagram`; this module moves datagrams,
stamps them with the injected clock and counts: ``datagrams``, ``accepted.detections``,
``rejected.<reason>`` (per record, or per datagram when the block framing is broken),
``other_category.<cat>``. Detections are grouped by sensor and handed to
``on_detections(sensor_id, detections, t_recv)``. A bad datagram never stops the receiver.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.observation import Detection
from skywarden.sensors.asterix import RadarSite, parse_datagram

log = logging.getLogger(__name__)
OnDetections = Callable[[str, list[Detection], float], None]


class AsterixReceiver(asyncio.DatagramProtocol):
    """Receives ASTERIX datagrams; ``handle_datagram`` is the testable step."""

    def __init__(
        self, radars: Mapping[tuple[int, int], RadarSite], on_detections: OnDetections, clock: Clock
    ) -> None:
        self.radars = radars
        self.on_detections = on_detections
        self.clock = clock
        self.counters = Counters()
        self.last_datagram_t: float | None = None

    def datagram_received(self, data: bytes, addr: tuple[str | int, int]) -> None:
        self.handle_datagram(data, self.clock.now())

    def handle_datagram(self, data: bytes, t_recv: float) -> None:
        self.counters.inc("datagrams")
        self.last_datagram_t = t_recv
        try:
            result = parse_datagram(data, t_recv, self.radars)
        except InputRejected as e:
            self.counters.inc(f"rejected.{e.reason}")
            return
        except Exception:  # a decoder bug must not stop the receiver
            log.exception("ASTERIX datagram raised")
            self.counters.inc("rejected.internal_error")
            return
        for rejected in result.rejected:
            self.counters.inc(f"rejected.{rejected.reason}")
        for cat in result.other_categories:
            self.counters.inc(f"other_category.{cat:03d}")
        by_sensor: dict[str, list[Detection]] = {}
        for d in result.detections:
            by_sensor.setdefault(d.sensor_id, []).append(d)
        self.counters.inc("accepted.detections", len(result.detections))
        for sensor_id, dets in by_sensor.items():
            self.on_detections(sensor_id, dets, t_recv)

    def stats(self) -> dict[str, int]:
        return self.counters.snapshot()


async def start_receiver(
    receiver: AsterixReceiver, host: str = "127.0.0.1", port: int = 0
) -> tuple[asyncio.DatagramTransport, int]:
    """Bind ``receiver`` on ``host:port``; returns the transport and the bound port."""
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(lambda: receiver, local_addr=(host, port))
    bound = transport.get_extra_info("sockname")[1]
    return transport, int(bound)
