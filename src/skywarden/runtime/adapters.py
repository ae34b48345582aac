"""The live system's ears: one link per site sensor that has a ``link`` table, as asyncio tasks.

``AdapterSet(site, ingest, clock)`` reads ``SensorSpec.link`` (``core.site``) and starts,
for each linked sensor, the matching link from ``sensors.links``:

=================  ==================================================================
``sapient``        TCP server (one per bind address, shared by the nodes listed on it);
                   each sensor is one node UUID; unlisted nodes are refused
``asterix_cat048`` UDP socket (one per bind address); each sensor is one SAC/SIC
``adsb_beast``     TCP client to dump1090/readsb Beast output, reconnecting
``adsb_sbs``       TCP client to dump1090/readsb BaseStation output, reconnecting
``remoteid_udp``   UDP socket fed by a receiver bridge
``mqtt_json``      MQTT subscriber (QoS 1, PUBACK after the journal)
=================  ==================================================================

Every link parses with the pure parse functions in ``sensors``, wraps what it accepted as
``core.inbound.Inbound`` and awaits ``ingest.submit`` before acknowledging anything; what
happens next (journal, tracker, picture) is the ingest port's business, so this module knows
nothing about the pipeline. ``health()`` returns one
:class:`~skywarden.sensors.links.health.SensorHealth` per linked sensor, in site order, for
the service to show; ``stats()`` the link-level counters (bytes, connections, rejects that
cannot be pinned on one sensor) for ``/metrics``.

No link can send anything to a sensor except the SAPIENT registration acknowledgement:
skywarden never tasks a node (``tests/test_sapient_task_guard.py``).

Known limit (not the links' to fix: they journal every message as received): the record
machine makes every message a scan, an empty one when it carries no detection, and the
tracker counts a miss for each ``radar``/``plots`` track a scan did not update. SAPIENT sends
one DetectionReport per object plus StatusReports, so for a SAPIENT node declared ``kind =
"radar"`` each object's report is a miss for every other object's track and each status
report a miss for all of them (tracks of several objects can be lost and re-born). ADS-B,
Remote ID and camera-kind sensors count no misses and are unaffected.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import ssl
import uuid
from collections.abc import Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

from skywarden.core.clock import Clock
from skywarden.core.errors import ConfigError
from skywarden.core.inbound import IngestPort
from skywarden.core.link_options import SapientLiveness
from skywarden.core.observation import Detection
from skywarden.core.site import LinkProtocol, SensorSpec, Site
from skywarden.core.types import Vec
from skywarden.runtime.live_source import LiveSource
from skywarden.sensors.adsb_decode import AdsbDecoder
from skywarden.sensors.adsb_sbs import SbsDecoder
from skywarden.sensors.asterix import RadarSite
from skywarden.sensors.json_detections import parse_json_detections
from skywarden.sensors.links.adsb_tcp import beast_session, run_with_reconnect, sbs_session
from skywarden.sensors.links.asterix_udp import AsterixReceiver
from skywarden.sensors.links.health import SensorHealth, SensorStats
from skywarden.sensors.links.mqtt import JsonParse, MqttJsonLink
from skywarden.sensors.links.remoteid_udp import RemoteIdUdpLink
from skywarden.sensors.links.sapient_server import SapientServer
from skywarden.sensors.remoteid_track import RemoteIdPipeline
from skywarden.sensors.sapient import SapientSessions

log = logging.getLogger(__name__)

#: Builds the JSON parser for one sensor (the same parser the HTTP POST route uses).
JsonParserFactory = Callable[[SensorSpec, Site], JsonParse]


def json_parser_for(sensor: SensorSpec, site: Site) -> JsonParse:
    """``sensors.json_detections`` bound to one sensor: the HTTP POST route's schema."""

    def parse(payload: bytes, _t_recv: float) -> tuple[Detection, ...]:
        return parse_json_detections(payload, sensor, site.origin).detections

    return parse


def default_own_node_id(site: Site) -> str:
    """skywarden's SAPIENT node UUID when the site names none: stable per site name."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"urn:skywarden:site:{site.name}"))


@dataclass
class AdapterSet:
    """Every sensor link of a site; ``start()`` binds/connects them all, ``stop()`` ends them."""

    site: Site
    ingest: IngestPort
    clock: Clock
    json_parser: JsonParserFactory = json_parser_for
    stats_by_sensor: dict[str, SensorStats] = field(default_factory=dict, init=False)
    bound_ports: dict[str, int] = field(default_factory=dict, init=False)
    sapient_servers: list[SapientServer] = field(default_factory=list, init=False)
    asterix_receivers: list[AsterixReceiver] = field(default_factory=list, init=False)
    _links: list[RemoteIdUdpLink | MqttJsonLink] = field(default_factory=list, init=False)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list, init=False)
    _started: bool = field(default=False, init=False)

    @property
    def linked(self) -> tuple[SensorSpec, ...]:
        return tuple(s for s in self.site.sensors if s.link is not None)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        self.sapient_servers.clear()
        self.asterix_receivers.clear()
        now = self.clock.now()
        for s in self.linked:
            assert s.link is not None
            self.stats_by_sensor[s.id] = SensorStats(
                s.id, s.link.protocol.value, s.link.endpoint, now
            )
        try:
            await self._start_sapient()
            await self._start_asterix()
            for s in self.linked:
                await self._start_single(s)
        except BaseException:
            await self.stop()
            raise
        log.info("sensor links started: %s", ", ".join(self.describe()) or "none")

    async def stop(self) -> None:
        for t in self._tasks:
            t.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for link in self._links:
            await link.stop()
        self._links.clear()
        for srv in self.sapient_servers:
            await srv.stop()
        for rx in self.asterix_receivers:
            await rx.stop()
        for st in self.stats_by_sensor.values():
            st.state = "stopped"
        self._started = False

    def health(self) -> tuple[SensorHealth, ...]:
        now = self.clock.now()
        for srv in self.sapient_servers:
            srv.sensor_health(now)  # refreshes registered/state in the shared tallies
        return tuple(
            self.stats_by_sensor[s.id].snapshot(now)
            for s in self.linked
            if s.id in self.stats_by_sensor
        )

    def stats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for srv in self.sapient_servers:
            for k, v in srv.stats().items():
                out[f"links.sapient.{srv.port}.{k}"] = v
        for rx in self.asterix_receivers:
            for k, v in rx.stats().items():
                out[f"links.asterix.{k}"] = out.get(f"links.asterix.{k}", 0) + v
        for sid, st in self.stats_by_sensor.items():
            for k, v in st.counters.snapshot().items():
                out[f"sensor.{sid}.{k}"] = v
        return out

    def describe(self) -> list[str]:
        out = []
        for s in self.linked:
            assert s.link is not None
            port = self.bound_ports.get(s.id, s.link.port)
            out.append(f"{s.id}={s.link.protocol.value}@{s.link.host}:{port}")
        return out

    # ------------------------------------------------------------------ per protocol

    def _group(self, proto: LinkProtocol) -> dict[tuple[str, int], list[SensorSpec]]:
        groups: dict[tuple[str, int], list[SensorSpec]] = {}
        for s in self.linked:
            assert s.link is not None
            if s.link.protocol is proto:
                groups.setdefault((s.link.host, s.link.port), []).append(s)
        return groups

    async def _start_sapient(self) -> None:
        for (host, port), sensors in self._group(LinkProtocol.SAPIENT).items():
            own = next((s.link.own_node_id for s in sensors if s.link and s.link.own_node_id), None)
            sensor_map: dict[str, tuple[str, Vec]] = {}
            node_stats: dict[str, SensorStats] = {}
            for s in sensors:
                assert s.link is not None and s.link.node_id is not None
                sensor_map[s.link.node_id] = (s.id, s.position_enu)
                node_stats[s.link.node_id] = self.stats_by_sensor[s.id]
            sessions = SapientSessions(
                self.site.origin, own or default_own_node_id(self.site), sensor_map
            )
            srv = SapientServer(
                sessions, self.ingest, self.clock, host, port, node_stats, _liveness(sensors)
            )
            self.sapient_servers.append(srv)
            self._bound(sensors, host, await srv.start())

    async def _start_asterix(self) -> None:
        for (host, port), sensors in self._group(LinkProtocol.ASTERIX_CAT048).items():
            radars: dict[tuple[int, int], RadarSite] = {}
            for s in sensors:
                assert s.link is not None and s.link.sac is not None and s.link.sic is not None
                radars[(s.link.sac, s.link.sic)] = RadarSite(
                    s.id,
                    s.position_enu,
                    sigma_range_m=s.sigma.get("range_m", 30.0),
                    sigma_az_rad=s.sigma.get("az_rad", math.radians(0.1)),
                    sigma_alt_m=s.sigma.get("alt_m", 30.0),
                )
            rx = AsterixReceiver(
                radars, self.clock, self.ingest, {s.id: self.stats_by_sensor[s.id] for s in sensors}
            )
            self.asterix_receivers.append(rx)
            self._bound(sensors, host, await rx.start(host, port))

    async def _start_single(self, s: SensorSpec) -> None:
        link = s.link
        assert link is not None
        st = self.stats_by_sensor[s.id]
        origin = self.site.origin
        if link.protocol is LinkProtocol.ADSB_BEAST:
            dec = AdsbDecoder(origin, s.id)
            self._spawn(
                run_with_reconnect(
                    lambda: beast_session(link.host, link.port, dec, self.clock, self.ingest, st),
                    st,
                ),
                s.id,
            )
        elif link.protocol is LinkProtocol.ADSB_SBS:
            sdec = SbsDecoder(origin, s.id)
            self._spawn(
                run_with_reconnect(
                    lambda: sbs_session(link.host, link.port, sdec, self.clock, self.ingest, st),
                    st,
                ),
                s.id,
            )
        elif link.protocol is LinkProtocol.REMOTEID_UDP:
            rid = RemoteIdUdpLink(
                RemoteIdPipeline(origin, s.id, s.position_enu), self.clock, self.ingest, st
            )
            self._links.append(rid)
            self._bound([s], link.host, await rid.start(link.host, link.port))
        elif link.protocol is LinkProtocol.MQTT_JSON:
            assert link.topic is not None
            mq = MqttJsonLink(
                link.host,
                link.port,
                link.topic,
                s.id,
                self.json_parser(s, self.site),
                self.clock,
                self.ingest,
                st,
                client_id=f"skywarden-{self.site.name}-{s.id}",
                security=link.mqtt,
            )
            await mq.start()
            self._links.append(mq)

    def _bound(self, sensors: list[SensorSpec], host: str, port: int) -> None:
        """Record the port a bind got (port 0 in the site file: a free one)."""
        for s in sensors:
            self.bound_ports[s.id] = port
            self.stats_by_sensor[s.id].endpoint = f"{host}:{port}"

    def _spawn(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"link-{name}"))


def check_link_secrets(site: Site, environ: Mapping[str, str]) -> None:
    """Before anything starts: every MQTT password variable is set and TLS files load.

    Raises :class:`ConfigError` naming the sensor and what is missing, so ``skywarden run``
    stops with that message instead of failing inside the service's start-up.
    """
    for s in site.sensors:
        sec = s.link.mqtt if s.link is not None else None
        if sec is None:
            continue
        try:
            sec.password(environ)
            if sec.tls:
                ctx = ssl.create_default_context(cafile=sec.ca_file)
                if sec.cert_file is not None:
                    ctx.load_cert_chain(sec.cert_file, sec.key_file)
        except ConfigError as e:
            raise ConfigError(f"sensors[{s.id}].{e.field}", e.reason) from None
        except (OSError, ssl.SSLError) as e:
            raise ConfigError(f"sensors[{s.id}].link", f"TLS files: {e}") from None


def _liveness(sensors: list[SensorSpec]) -> SapientLiveness:
    """One server serves several nodes: the most lenient setting of each (0 = off wins)."""
    opts = [s.link.sapient for s in sensors if s.link is not None and s.link.sapient]
    if not opts:
        return SapientLiveness()

    def lenient(values: list[float]) -> float:
        return 0.0 if 0.0 in values else max(values)

    return SapientLiveness(
        lenient([o.keepalive_s for o in opts]), lenient([o.idle_timeout_s for o in opts])
    )


class LinkedLiveSource(LiveSource):
    """The live runtime plus the site's sensor links (``skywarden run --site FILE``).

    The links start after the journal (their submits need it) and stop before it, so every
    message a link acknowledged is in the journal when the process exits. ``sensor_health``
    is the service's optional ``SensorHealthSource``: one :class:`SensorHealth` per linked
    sensor, keyed by sensor id.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.links = AdapterSet(self.feed.site, self.ingest, self.clock)
        check_link_secrets(self.feed.site, os.environ)

    async def start(self) -> None:
        await super().start()
        try:
            await self.links.start()
        except BaseException:
            await super().stop()
            raise

    async def stop(self) -> None:
        await self.links.stop()
        await super().stop()

    def sensor_health(self) -> dict[str, SensorHealth]:
        # the links' own view (registration, rejects) over what the journal delivered
        return {**super().sensor_health(), **{h.sensor_id: h for h in self.links.health()}}

    def stats(self) -> dict[str, float]:
        out = dict(super().stats())
        out.update({k: float(v) for k, v in self.links.stats().items()})
        return out
