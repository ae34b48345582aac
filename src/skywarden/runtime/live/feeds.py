"""Where simulated traffic comes from, and the adapter that submits it like any sensor's.

A :class:`Feed` is a site plus a factory of *passes*: ``passes(k)`` yields the ``k``-th pass
of skybench/1 detection lines (dicts, ``shared/bench/FORMAT.md``) in time order, with times
starting near 0 (scenario seconds). The simulator uses seed ``seed + k`` for pass ``k`` so
every pass differs; a skybench file replays the same lines every pass.

:class:`FeedAdapter` plays a feed on the site clock: ``pump(t)`` takes every line due by
``t`` (passes back to back, each shifted by ``t0 + k * pass_duration_s``), and submits each
as an :class:`~skywarden.core.inbound.Inbound` through the same ``IngestPort`` the socket
adapters and the JSON POST route use: ``source`` "sim" (or "skybench" for a file), the
payload the shifted line as JSON (so it parses again), the detections parsed from it. The
simulated sensors deliver without latency, so a line's ``received_t`` is its own time.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skywarden.core.counters import Counters
from skywarden.core.errors import ConfigError, InputRejected
from skywarden.core.inbound import Inbound, IngestPort
from skywarden.core.site import (
    SensorSpec,
    Site,
    load_site,
    parse_site,
    site_from_skybench_header,
    zone_to_dict,
)
from skywarden.sensors.skybench import SkybenchReader, parse_scan_line
from skywarden.sim import load_scenario, simulate
from skywarden.sim.ptz import PtzSpec
from skywarden.sim.run import SimRun, report_to_scan

DEFAULT_SCENARIO = "residence"
Line = dict[str, Any]


@dataclass(frozen=True)
class Feed:
    site: Site
    mode: str  # simulation | replay | live
    description: str
    passes: Callable[[int], Iterator[Line]] | None = None
    pass_duration_s: float = 0.0
    source: str = "sim"
    site_ref: Mapping[str, Any] = field(default_factory=dict)
    """What rebuilds the site later (journaled at start for replay and reports):
    ``{"site": site_to_dict(site)}`` or ``{"site_toml": "...", "path": "..."}``."""
    world: Callable[[int], SimRun] | None = None
    """The simulated run of pass ``k`` (its ground truth, for the simulated PTZ cameras)."""
    cameras: tuple[PtzSpec, ...] = ()
    """Simulated PTZ cameras under slew-to-cue (``runtime.live.cue``), in ``site`` too."""


def site_to_dict(site: Site) -> dict[str, Any]:
    """The site as the mapping ``core.site.parse_site`` reads (links left out: they say where
    sensors connect, not what they measure), so a journal carries the exact site it ran."""
    sensors = []
    for s in site.sensors:
        d: dict[str, Any] = {
            "id": s.id,
            "kind": s.kind.value,
            "measures": s.measures.value,
            "position_enu_m": [float(v) for v in s.position_enu],
            "sigma": {k: float(v) for k, v in s.sigma.items()},
            "update_s": float(s.update_s),
            "pd": dict(s.pd) if isinstance(s.pd, Mapping) else float(s.pd),
            "clutter_per_scan": float(s.clutter_per_scan),
            **({"reports": s.reports} if s.reports is not None else {}),
        }
        if s.max_range_m is not None:
            d["max_range_m"] = float(s.max_range_m)
        if s.area_m is not None:
            d["area_m"] = [list(ax) for ax in s.area_m]
        sensors.append(d)
    zones = [zone_to_dict(z) for z in site.zones]  # the zone codec: policy and open floors too
    wl = [
        {k: v for k, v in (("remote_id", w.remote_id), ("icao", w.icao), ("note", w.note)) if v}
        for w in site.whitelist
    ]
    o = site.origin
    return {
        "name": site.name,
        "origin": {"lat": o.lat_deg, "lon": o.lon_deg, "alt_m": o.alt_m},
        "sensors": sensors,
        "zones": zones,
        "whitelist": wl,
    }


def site_from_ref(ref: Mapping[str, Any]) -> Site:
    """The site a run journaled in its ``runtime.start`` record (see ``Feed.site_ref``)."""
    if "site" in ref:
        return parse_site(ref["site"], "journal")
    if "skybench_header" in ref:
        return site_from_skybench_header(ref["skybench_header"])
    if "site_toml" in ref:
        return parse_site(tomllib.loads(str(ref["site_toml"])), str(ref.get("path", "")))
    raise ConfigError("site", "the journal does not describe its site; pass --site")


# the built-in site's PTZ camera (``skywarden run``): on the house roof, slewing 60 deg/s
SIM_CAMERAS = (PtzSpec("ptz-1", (5.0, -5.0, 12.0)),)


def simulated_feed(
    seed: int, scenario: str = DEFAULT_SCENARIO, cameras: tuple[PtzSpec, ...] = ()
) -> Feed:
    """The built-in simulated site (default: the residence attack), repeated with new seeds.

    ``cameras``: simulated PTZ cameras added to the site as camera sensors, tasked by the
    live loop's slew-to-cue (``runtime.live.cue``) and looking at pass ``k``'s ground truth."""
    from skywarden.runtime.cue.controller import camera_site

    sc = load_scenario(scenario)
    first = simulate(sc, seed)
    runs: dict[int, SimRun] = {0: first}

    def world(k: int) -> SimRun:
        if k not in runs:  # the lines and the cameras ask for the same pass: simulate it once
            for old in [j for j in runs if j not in (0, k - 1)]:
                del runs[old]
            runs[k] = simulate(sc, seed + k)
        return runs[k]

    def passes(k: int) -> Iterator[Line]:
        return world(k).lines(strict=False)

    site = camera_site(first.site, cameras) if cameras else first.site
    desc = f"simulated site {sc.name!r} (seed {seed}, {sc.duration_s:.0f} s, repeating)"
    if cameras:
        desc += f", {len(cameras)} PTZ camera(s) under slew-to-cue"
    ref = {"site": site_to_dict(site)}
    return Feed(site, "simulation", desc, passes, sc.duration_s, "sim", ref, world, cameras)


def skybench_feed(path: str | Path) -> Feed:
    """Replay a skybench/1 scenario file in real time, repeated (bad lines are skipped)."""
    reader = SkybenchReader.open(path)
    site = reader.site
    duration = float(reader.header.get("duration_s", 0.0))
    reader.close()
    sensors = site.sensor_map

    def passes(k: int) -> Iterator[Line]:
        with Path(path).open(encoding="utf-8") as f:
            next(f, None)  # header
            for line in f:
                try:
                    parse_scan_line(line, sensors)
                except InputRejected:
                    continue
                yield json.loads(line)

    ref = {"site": site_to_dict(site)}
    return Feed(site, "replay", f"skybench replay of {path}", passes, duration, "skybench", ref)


def site_feed(site_path: str | Path) -> Feed:
    """A real site from its TOML file: no simulated traffic (sensors post to the ingest port)."""
    site = load_site(site_path)
    text = Path(site_path).read_text(encoding="utf-8")
    if isinstance(tomllib.loads(text).get("site"), Mapping):
        return config_feed(site, str(site_path))  # a skywarden.toml: journal the site only
    ref = {"site_toml": text, "path": str(site_path)}
    return Feed(site, "live", f"site {site.name!r} from {site_path}", None, 0.0, "live", ref)


def config_feed(site: Site, source: str) -> Feed:
    """The site of a ``skywarden.toml`` (``runtime.config_file``): as :func:`site_feed`,
    journaled as data so replay and reports rebuild exactly this site."""
    ref = {"site": site_to_dict(site), "path": source}
    return Feed(site, "live", f"site {site.name!r} from {source}", None, 0.0, "live", ref)


class LineClock:
    """Hands out a feed's lines, shifted onto the site clock, up to a given time."""

    def __init__(self, feed: Feed, t0: float) -> None:
        self._feed = feed
        self._t0 = t0
        self._pass = 0
        self._it: Iterator[Line] | None = feed.passes(0) if feed.passes else None
        self._next: Line | None = None
        self.passes_started = 1 if self._it else 0

    def _peek(self) -> Line | None:
        while self._next is None and self._it is not None:
            raw = next(self._it, None)
            if raw is not None:
                offset = self._t0 + self._pass * self._feed.pass_duration_s
                self._next = {**raw, "t": float(raw["t"]) + offset}
                return self._next
            if self._feed.pass_duration_s <= 0 or self._feed.passes is None:
                self._it = None  # a feed without a duration plays once
                return None
            self._pass += 1
            self.passes_started += 1
            self._it = self._feed.passes(self._pass)
        return self._next

    def take_until(self, t: float) -> list[Line]:
        out: list[Line] = []
        while (s := self._peek()) is not None and s["t"] <= t:
            out.append(s)
            self._next = None
        return out


def line_inbound(
    line: Line, sensors: Mapping[str, SensorSpec], source: str, dropped: list[str] | None = None
) -> Inbound:
    """One skybench/1 line as an accepted message (payload: the line as compact JSON; plots
    outside the measurement's domain left out, their reasons appended to ``dropped``)."""
    scan = report_to_scan(line, sensors, dropped)
    payload = json.dumps(line, separators=(",", ":")).encode("utf-8")
    return Inbound(scan.sensor_id, source, scan.t, payload, scan.detections)


class FeedAdapter:
    """Submits a feed's due lines through an ``IngestPort`` (what a sensor adapter does)."""

    def __init__(self, feed: Feed, port: IngestPort, t0: float) -> None:
        self.feed = feed
        self.port = port
        self.lines = LineClock(feed, t0)
        self.counters = Counters()
        self._sensors = feed.site.sensor_map

    async def pump(self, t: float) -> int:
        """Submit every line due by ``t`` (journaled when this returns); returns how many."""
        batch: list[Inbound] = []
        dropped: list[str] = []
        for line in self.lines.take_until(t):
            try:
                batch.append(line_inbound(line, self._sensors, self.feed.source, dropped))
            except (InputRejected, KeyError) as e:
                reason = e.reason if isinstance(e, InputRejected) else "unknown_sensor"
                self.counters.inc(f"feed.rejected.{reason}")
        for reason in dropped:
            self.counters.inc(f"feed.dropped.{reason}")
        if batch:
            await self.port.submit(batch)
            self.counters.inc("feed.messages", len(batch))
            self.counters.inc("feed.detections", sum(len(m.detections) for m in batch))
        return len(batch)
