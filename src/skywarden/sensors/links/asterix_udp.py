"""ASTERIX over UDP: one datagram in, CAT048 detections out, journaled per batch.

Parsing is :func:`skywarden.sensors.asterix.parse_datagram`; this module moves datagrams
(:mod:`.udp`: stamped with the injected clock, queued), turns each into one
:class:`~skywarden.core.inbound.Inbound` per radar it carried detections for (payload: the
whole datagram, source ``asterix-cat048``) and submits what arrived together in one batch.
Counts (receiver ``counters``): ``datagrams`` (handled), ``link.datagrams`` (received),
``accepted.detections``, ``rejected.<reason>`` (per record, or per datagram when the block
framing is broken), ``other_category.<cat>``, ``journal_failed``, ``dropped.queue_full``.
Per radar (``stats``, keyed by sensor id): accepted messages, detections, and the rejects
that can be pinned on it (all of them when the receiver serves a single radar). A bad
datagram never stops the receiver.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from skywarden.core import config_fields as f
from skywarden.core.clock import Clock
from skywarden.core.counters import Counters
from skywarden.core.errors import InputRejected
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.core.observation import Detection
from skywarden.sensors import asterix
from skywarden.sensors.asterix import RadarSite, parse_datagram
from skywarden.sensors.links.health import SensorStats
from skywarden.sensors.links.registry import (
    LinkConfig,
    LinkContext,
    LinkKind,
    Member,
    Started,
    by_endpoint,
    register,
)
from skywarden.sensors.links.udp import DatagramInbox, UdpConsumer

log = logging.getLogger(__name__)
SOURCE = "asterix-cat048"


class AsterixReceiver:
    """Receives ASTERIX datagrams; ``handle_datagram`` is the testable (pure-ish) step."""

    def __init__(
        self,
        radars: Mapping[tuple[int, int], RadarSite],
        clock: Clock,
        ingest: IngestPort,
        stats: Mapping[str, SensorStats] | None = None,
    ) -> None:
        self.radars = radars
        self.clock = clock
        self.ingest = ingest
        self.counters = Counters()
        self.sensor_stats = dict(stats or {})
        self.inbox = DatagramInbox(clock, self.counters)
        self.last_datagram_t: float | None = None
        self._udp = UdpConsumer()

    def handle_datagram(self, data: bytes, t_recv: float) -> list[Inbound]:
        """One datagram -> the messages to journal (one per radar with detections)."""
        self.counters.inc("datagrams")
        self.last_datagram_t = t_recv
        try:
            result = parse_datagram(data, t_recv, self.radars)
        except InputRejected as e:
            self._reject(e.reason)
            return []
        except Exception:  # a decoder bug must not stop the receiver
            log.exception("ASTERIX datagram raised")
            self._reject("internal_error")
            return []
        for rejected in result.rejected:
            self._reject(rejected.reason)
        for cat in result.other_categories:
            self.counters.inc(f"other_category.{cat:03d}")
        by_sensor: dict[str, list[Detection]] = {}
        for d in result.detections:
            by_sensor.setdefault(d.sensor_id, []).append(d)
        self.counters.inc("accepted.detections", len(result.detections))
        out = []
        for sensor_id, dets in by_sensor.items():
            st = self.sensor_stats.get(sensor_id)
            if st is not None:
                st.accepted(t_recv, len(dets))
                st.state = "receiving"
            out.append(Inbound(sensor_id, SOURCE, t_recv, bytes(data), tuple(dets)))
        return out

    def _reject(self, reason: str) -> None:
        self.counters.inc(f"rejected.{reason}")
        if len(self.sensor_stats) == 1:
            next(iter(self.sensor_stats.values())).rejected(reason)

    def stats(self) -> dict[str, int]:
        return self.counters.snapshot()

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Bind and start the consumer task; returns the bound port."""
        asterix.load()  # the decoder's tables, here rather than at the first datagram
        bound = await self._udp.start(host, port, self.inbox, self._run, "asterix-udp")
        for st in self.sensor_stats.values():
            st.state = "listening"
        return bound

    async def stop(self) -> None:
        await self._udp.stop()
        for st in self.sensor_stats.values():
            st.state = "stopped"

    async def _run(self) -> None:
        while True:
            batch: list[Inbound] = []
            for dg in await self.inbox.take():
                batch.extend(self.handle_datagram(dg.data, dg.t_recv))
            if not batch:
                continue
            try:
                await self.ingest.submit(batch)
            except Exception:
                log.exception("ASTERIX: the journal refused %d message(s)", len(batch))
                self.counters.inc("journal_failed", len(batch))
                for inb in batch:
                    st = self.sensor_stats.get(inb.sensor_id)
                    if st is not None:
                        st.counters.inc("journal_failed")


# ----------------------------------------------------------------------------- link kind


@dataclass(frozen=True)
class AsterixLinkConfig(LinkConfig):
    sac: int = 0  # the radar's System Area Code on the wire
    sic: int = 0  # and its System Identification Code


@register
class AsterixKind(LinkKind):
    """``protocol = "asterix_cat048"``: a UDP socket; a radar (or its RDP) sends CAT048 plots.

    Keys: ``sac``, ``sic`` (required). Radars sharing a bind address share one socket and
    are told apart by SAC/SIC."""

    name = "asterix_cat048"
    binds = True
    keys = frozenset({"sac", "sic"})
    doc = "UDP: a radar (or its RDP) sends CAT048 plots"

    def parse(self, table: Mapping[str, Any], base: LinkConfig, path: str) -> LinkConfig:
        sac = f.integer(f.req(table, "sac", path), f"{path}.sac", 0, 255)
        sic = f.integer(f.req(table, "sic", path), f"{path}.sic", 0, 255)
        return AsterixLinkConfig(**base.__dict__, sac=sac, sic=sic)

    def conflict_key(self, m: Member) -> tuple[object, ...]:
        assert isinstance(m.config, AsterixLinkConfig)
        return ("asterix", m.config.port, m.config.sac, m.config.sic)

    async def start(self, ctx: LinkContext, members: Sequence[Member]) -> list[Started]:
        out = []
        for (host, port), group in by_endpoint(members).items():
            radars: dict[tuple[int, int], RadarSite] = {}
            for m in group:
                assert isinstance(m.config, AsterixLinkConfig)
                s = m.spec
                radars[(m.config.sac, m.config.sic)] = RadarSite(
                    s.id,
                    s.position_enu,
                    sigma_range_m=s.sigma.get("range_m", 30.0),
                    sigma_az_rad=s.sigma.get("az_rad", math.radians(0.1)),
                    sigma_alt_m=s.sigma.get("alt_m", 30.0),
                )
            rx = AsterixReceiver(
                radars, ctx.clock, ctx.ingest, {m.spec.id: ctx.stats[m.spec.id] for m in group}
            )
            ctx.bound(group, host, await rx.start(host, port))
            out.append(Started(rx, rx.stop, rx.stats, "links.asterix"))
        return out
