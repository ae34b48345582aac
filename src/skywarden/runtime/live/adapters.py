"""The live system's ears: one link per site sensor that has a ``link`` table, as asyncio tasks.

``AdapterSet(site, ingest, clock)`` parses every ``SensorSpec.link`` through the link-kind
registry (``sensors.links.registry``: one module per kind, found by name) and starts each
kind with all of its sensors at once (a SAPIENT server or an ASTERIX socket serves several).
This module names no kind: a new kind is a new module in ``sensors/links/``
(``docs/adding-a-sensor.md``).

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

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from skywarden.core.clock import Clock
from skywarden.core.errors import ConfigError
from skywarden.core.inbound import IngestPort
from skywarden.core.observation import Detection
from skywarden.core.site import SensorSpec, Site
from skywarden.runtime.live.source import LiveSource
from skywarden.sensors.json_detections import parse_json_detections
from skywarden.sensors.links.health import SensorHealth, SensorStats
from skywarden.sensors.links.registry import (
    JsonParse,
    JsonParserFactory,
    LinkContext,
    Member,
    Started,
    kinds,
    parse_links,
)
from skywarden.sensors.links.sapient_server import SapientServer, default_own_node_id

__all__ = ["AdapterSet", "LinkedLiveSource", "default_own_node_id", "json_parser_for"]

log = logging.getLogger(__name__)
H = TypeVar("H")


def json_parser_for(sensor: SensorSpec, site: Site) -> JsonParse:
    """``sensors.json_detections`` bound to one sensor: the HTTP POST route's schema."""

    def parse(payload: bytes, _t_recv: float) -> tuple[Detection, ...]:
        return parse_json_detections(payload, sensor, site.origin).detections

    return parse


@dataclass
class AdapterSet:
    """Every sensor link of a site; ``start()`` binds/connects them all, ``stop()`` ends them.

    The site's links are parsed when the set is made, so a bad link table fails here with
    its path, before anything binds."""

    site: Site
    ingest: IngestPort
    clock: Clock
    json_parser: JsonParserFactory = json_parser_for
    stats_by_sensor: dict[str, SensorStats] = field(default_factory=dict, init=False)
    bound_ports: dict[str, int] = field(default_factory=dict, init=False)
    started: list[Started] = field(default_factory=list, init=False)
    members: tuple[Member, ...] = field(default=(), init=False)
    _started: bool = field(default=False, init=False)

    def __post_init__(self) -> None:
        self.members = parse_links(self.site)

    @property
    def linked(self) -> tuple[SensorSpec, ...]:
        return tuple(m.spec for m in self.members)

    def handles(self, cls: type[H]) -> list[H]:
        """The running link objects of one class (a kind's server, client or socket)."""
        return [s.handle for s in self.started if isinstance(s.handle, cls)]

    @property
    def sapient_servers(self) -> list[SapientServer]:
        return self.handles(SapientServer)

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        now = self.clock.now()
        for m in self.members:
            self.stats_by_sensor[m.spec.id] = SensorStats(
                m.spec.id, m.config.protocol, m.config.endpoint, now
            )
        ctx = LinkContext(
            self.site, self.ingest, self.clock, self.stats_by_sensor, self.json_parser,
            self.bound_ports,
        )  # fmt: skip
        by_kind: dict[str, list[Member]] = {}
        for m in self.members:
            by_kind.setdefault(m.config.protocol, []).append(m)
        try:
            for name, group in by_kind.items():
                self.started.extend(await kinds()[name].start(ctx, group))
        except BaseException:
            await self.stop()
            raise
        log.info("sensor links started: %s", ", ".join(self.describe()) or "none")

    async def stop(self) -> None:
        for s in reversed(self.started):
            await s.stop()
        self.started.clear()
        for st in self.stats_by_sensor.values():
            st.state = "stopped"
        self._started = False

    def health(self) -> tuple[SensorHealth, ...]:
        now = self.clock.now()
        for s in self.started:
            if s.refresh is not None:
                s.refresh(now)  # e.g. SAPIENT: registered/state in the shared tallies
        return tuple(
            self.stats_by_sensor[s.id].snapshot(now)
            for s in self.linked
            if s.id in self.stats_by_sensor
        )

    def stats(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.started:
            for k, v in s.stats().items():
                key = f"{s.prefix}.{k}"
                out[key] = out.get(key, 0) + v
        for sid, st in self.stats_by_sensor.items():
            for k, v in st.counters.snapshot().items():
                out[f"sensor.{sid}.{k}"] = v
        return out

    def describe(self) -> list[str]:
        out = []
        for m in self.members:
            port = self.bound_ports.get(m.spec.id, m.config.port)
            out.append(f"{m.spec.id}={m.config.protocol}@{m.config.host}:{port}")
        return out


def check_link_secrets(site: Site, environ: Mapping[str, str]) -> None:
    """Before anything starts: every link's secrets are there (an MQTT password variable
    is set, TLS files load).

    Raises :class:`ConfigError` naming the sensor and what is missing, so ``skywarden run``
    stops with that message instead of failing inside the service's start-up.
    """
    for m in parse_links(site):
        try:
            kinds()[m.config.protocol].check_secrets(m.config, environ)
        except ConfigError as e:
            raise ConfigError(f"sensors[{m.spec.id}].{e.field}", e.reason) from None


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
