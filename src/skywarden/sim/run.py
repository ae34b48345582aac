"""One simulation run: the world built from a scenario and a seed, and its outputs.

``simulate(scenario, seed)`` builds every trajectory up front (cheap: arrays on a grid) and
returns a :class:`SimRun` whose report streams are generated lazily and identically on every
call: each sensor and each object draws from its own Generator, derived from the run seed
and its id (``SeedSequence([seed, crc32(id)])``), so a run is reproducible bit for bit, a
different seed differs, and adding a sensor does not change what the others report. The
global NumPy RNG is never used.

Outputs: ``reports()`` (:class:`sim.sensors.Report`, with arrival times for the live path),
``lines()`` (skybench/1 scenario lines as dicts), ``scans()``
(:class:`sensors.skybench.Scan`, what the runtime feeds the tracker), ``truth()`` (skybench
truth rows) and :func:`write_skybench` (the file pair).
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import zlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.core.observation import Detection
from skywarden.core.site import Site
from skywarden.sensors.skybench import Scan, parse_plot
from skywarden.sim.kinematics import Trajectory, expand, grid
from skywarden.sim.scenario import SimScenario
from skywarden.sim.sensors import Report, SensorModel, World, reports

FRAME = "ENU metres about origin; azimuth clockwise from north, elevation up"
LAUNCH_MAX_U_M = 10.0  # a hostile first simulated below this height took off there

# mean radar cross-section per object type: median dBsm and the spread (dB) between objects
RCS_DBSM: dict[str, tuple[float, float]] = {
    "multirotor": (-20.0, 3.0),
    "fixed_wing": (-15.0, 3.0),
    "bird": (-25.0, 4.0),
    "aircraft": (12.0, 3.0),
    "helicopter": (6.0, 3.0),
}


# the harder world (``rcs_model: measured``): mean X-band RCS of the object, from published
# measurements: small multirotors mostly -25 .. -10 dBsm, small fixed wings a few dB more,
# single birds from sparrow to gull -30 .. -10 dBsm; the two overlap as they do in reality
RCS_MEASURED_DBSM: dict[str, tuple[float, float]] = {
    "multirotor": (-18.0, 4.0),
    "fixed_wing": (-14.0, 4.0),
    "bird": (-20.0, 5.0),
    "aircraft": (12.0, 3.0),
    "helicopter": (6.0, 3.0),
}


def rng_for(seed: int, *names: str) -> np.random.Generator:
    """A Generator for one named stream of a run (stable across unrelated scenario edits)."""
    keys = [seed & 0xFFFFFFFF] + [zlib.crc32(n.encode()) for n in names]
    return np.random.default_rng(np.random.SeedSequence(keys))


def build_world(
    trajs: list[Trajectory], t: np.ndarray, seed: int, rcs_model: str = "default"
) -> World:
    n = len(trajs)
    S = np.full((len(t), n, 6), np.nan)
    rcs = np.zeros(n)
    for j, tr in enumerate(trajs):
        S[:, j, :] = tr.states
        if tr.rcs_dbsm is not None:
            rcs[j] = float(tr.rcs_dbsm)
        else:
            table = RCS_MEASURED_DBSM if rcs_model == "measured" else RCS_DBSM
            med, spread = table.get(tr.type, table["multirotor"])
            rcs[j] = med + rng_for(seed, "rcs", tr.id).normal(0.0, spread)
    return World(
        t=t,
        S=S,
        ids=tuple(tr.id for tr in trajs),
        family=np.array([tr.family for tr in trajs], dtype=str),
        type=np.array([tr.type for tr in trajs], dtype=str),
        rcs_dbsm=rcs,
        rf=tuple(tr.rf_protocol for tr in trajs),
        remote_id=tuple(tr.remote_id for tr in trajs),
        icao=tuple(tr.icao for tr in trajs),
        callsign=tuple(tr.callsign for tr in trajs),
    )


@dataclass(frozen=True, eq=False)
class SimRun:
    """A simulated run. Every stream method regenerates the same data on every call."""

    scenario: SimScenario
    seed: int
    world: World
    trajectories: tuple[Trajectory, ...]
    truth_dt_s: float = 1.0

    @property
    def site(self) -> Site:
        return self.scenario.site

    @property
    def sensors(self) -> tuple[SensorModel, ...]:
        return self.scenario.sensors

    @property
    def header(self) -> dict[str, Any]:
        """The skybench/1 header line."""
        sc = self.scenario
        o = sc.site.origin
        h: dict[str, Any] = {
            "type": "header",
            "format": "skybench/1",
            "name": sc.name,
            "seed": self.seed,
            "description": sc.description,
            "duration_s": sc.duration_s,
            "origin": {"lat": o.lat_deg, "lon": o.lon_deg, "alt_m": o.alt_m},
            "frame": FRAME,
            "sensors": [m.header() for m in sc.sensors],
        }
        zones = []
        for z in sc.site.zones:
            zd: dict[str, Any] = {"id": z.id, "kind": z.kind.value}
            if z.center_enu is not None:
                zd["center_enu_m"] = list(z.center_enu)
                zd["radius_m"] = z.radius_m
            else:
                zd["polygon_enu_m"] = [list(p) for p in z.polygon_enu or ()]
            if z.floor_m > 0:
                zd["floor_m"] = z.floor_m
            if z.ceiling_m < 1e9:
                zd["ceiling_m"] = z.ceiling_m
            zones.append(zd)
        if zones:
            h["zones"] = zones
        wl = []
        for w in sc.site.whitelist:
            wd: dict[str, Any] = {"remote_id": w.remote_id} if w.remote_id else {"icao": w.icao}
            wd["note"] = w.note
            wl.append(wd)
        if wl:
            h["whitelist"] = wl
        return h

    def reports(self, order: str = "measurement") -> Iterator[Report]:
        """Every sensor report, merged in measurement-time (or ``arrival``-time) order."""
        dur = self.scenario.duration_s
        streams = [
            reports(m, self.world, dur, rng_for(self.seed, "sensor", m.id)) for m in self.sensors
        ]
        if order == "arrival":
            keyed = [((r.arrival_t, i, r.t), r) for i, s in enumerate(streams) for r in s]
            keyed.sort(key=lambda kr: kr[0])
            yield from (r for _, r in keyed)
            return

        def tag(i: int, s: Iterator[Report]) -> Iterator[tuple[float, int, Report]]:
            for r in s:
                yield (r.t, i, r)

        for _, _, r in heapq.merge(
            *(tag(i, s) for i, s in enumerate(streams)), key=lambda x: (x[0], x[1])
        ):
            yield r

    def lines(self, strict: bool = True) -> Iterator[dict[str, Any]]:
        """skybench/1 scenario lines (after the header), in time order."""
        for r in self.reports():
            yield r.line(strict)

    def scans(self, order: str = "measurement") -> Iterator[Scan]:
        """:class:`sensors.skybench.Scan` values in time order, as the tracker consumes them."""
        sensors = self.site.sensor_map
        for r in self.reports(order):
            yield report_to_scan(r, sensors)

    def launch_points(self) -> dict[str, list[float]]:
        """Per hostile object that takes off from the ground (first simulated height under
        ``LAUNCH_MAX_U_M``): its take-off point [e, n], which skybench truth carries as
        ``launch_enu_m`` (FORMAT.md) for ``score.py``'s launch error."""
        out: dict[str, list[float]] = {}
        for tr in self.trajectories:
            rows = tr.states[~np.isnan(tr.states[:, 0])]
            if tr.hostile and len(rows) and rows[0, 2] < LAUNCH_MAX_U_M:
                out[tr.id] = [round(float(rows[0, 0]), 4), round(float(rows[0, 1]), 4)]
        return out

    def truth(self) -> Iterator[dict[str, Any]]:
        """skybench/1 truth rows: one per object per ``truth_dt_s`` while it flies; a hostile
        that took off from the ground carries its ``launch_enu_m``."""
        dur = self.scenario.duration_s
        times = np.round(np.arange(0.0, dur - 1e-9, self.truth_dt_s), 6)
        trajs = self.trajectories
        launch = self.launch_points()
        for t in times:
            X = self.world.at(float(t))
            for j, tr in enumerate(trajs):
                x = X[j]
                if np.isnan(x[0]):
                    continue
                yield {
                    "t": float(t),
                    "id": tr.id,
                    "class": tr.family,
                    "hostile": tr.hostile,
                    "friendly": tr.friendly,
                    "x": round(float(x[0]), 4),
                    "y": round(float(x[1]), 4),
                    "z": round(float(x[2]), 4),
                    "vx": round(float(x[3]), 4),
                    "vy": round(float(x[4]), 4),
                    "vz": round(float(x[5]), 4),
                } | ({"launch_enu_m": launch[tr.id]} if tr.id in launch else {})


def report_to_scan(
    r: Report | Mapping[str, Any], sensors: Mapping[str, Any], dropped: list[str] | None = None
) -> Scan:
    """A report (or a raw skybench line dict) -> :class:`Scan`, via ``skybench.parse_plot``
    (a plot outside the measurement's domain is left out, its reason appended to ``dropped``,
    as ``skywarden track`` does).

    Camera class labels become ``class_hint``/``class_conf``; the RF protocol and an ADS-B
    callsign go into ``attrs``.
    """
    if isinstance(r, Report):
        t, sid, dets = r.t, r.sensor_id, r.detections
    else:
        t, sid, dets = float(r["t"]), str(r["sensor"]), tuple(r["detections"])
    spec = sensors[sid]
    out: list[Detection] = []
    for d in dets:
        det = parse_plot(d, spec, t, dropped)
        if det is None:
            continue
        extra: dict[str, Any] = {}
        if "class" in d:
            extra["class_hint"] = d["class"]
            extra["class_conf"] = float(d.get("class_conf", 0.0))
        attrs = dict(det.attrs)
        for key in ("protocol", "callsign"):
            if key in d:
                attrs[key] = d[key]
        if extra or len(attrs) != len(det.attrs):
            det = dataclasses.replace(det, attrs=attrs, **extra)
        out.append(det)
    return Scan(t, sid, tuple(out))


def simulate(scenario: SimScenario, seed: int | None = None) -> SimRun:
    """Build the world of ``scenario`` for ``seed`` (default: the scenario's own seed)."""
    s = scenario.seed if seed is None else int(seed)
    t = grid(scenario.duration_s, scenario.sim_dt_s)
    trajs: list[Trajectory] = []
    for spec in scenario.objects:
        trajs += expand(spec, t, rng_for(s, "object", spec.id))
    world = build_world(trajs, t, s, scenario.rcs_model)
    return SimRun(scenario, s, world, tuple(trajs))


def write_skybench(run: SimRun, out_dir: str | Path, name: str | None = None) -> tuple[Path, Path]:
    """Write ``NAME.scenario.jsonl`` and ``NAME.truth.jsonl``; return their paths."""
    d = Path(out_dir)
    d.mkdir(parents=True, exist_ok=True)
    nm = name or run.scenario.name
    sp = d / f"{nm}.scenario.jsonl"
    tp = d / f"{nm}.truth.jsonl"
    with sp.open("w", encoding="utf-8") as f:
        f.write(json.dumps(run.header) + "\n")
        for line in run.lines(strict=True):
            f.write(json.dumps(line) + "\n")
    with tp.open("w", encoding="utf-8") as f:
        for row in run.truth():
            f.write(json.dumps(row) + "\n")
    return sp, tp
