"""Sensor models: what each kind of sensor reports about the simulated world, scan by scan.

A sensor entry in a scenario has the data-sheet fields of ``core.site`` (``sigma``,
``update_s``, ``max_range_m``, ``pd``, ``clutter_per_scan``, ``area_m``: these go into the
skybench header) and the simulation-only fields below.

Every sensor: ``latency_s`` and ``jitter_s`` (a report arrives ``latency + U(0, jitter)``
after its measurement time), ``phase_s`` (time of the first scan) and ``outages``
(``[[t0, t1], ...]``: no report at all while down). Scans happen at
``phase_s + k * update_s`` for every time before ``duration_s``.

- ``radar`` (``range_az_el_radial``): ``pd_model: fixed`` uses ``pd`` per class inside
  coverage; ``pd_model: radar_equation`` computes the mean SNR from the radar equation,
  ``SNR = snr_ref_db + rcs - ref_rcs_dbsm - 40 log10(r / ref_range_m)`` (dB), and the
  Swerling I detection probability ``Pd = pfa ** (1 / (1 + SNR))``. Each object has a
  mean RCS drawn once per run from its class distribution (``sim.world``); each plot reports
  a fluctuating RCS (exponential in power, Swerling I, plus ``rcs_noise_db``). Coverage:
  ``min_range_m`` .. ``max_range_m``, ``el_min_rad`` .. ``el_max_rad``, and a terrain-free
  line of sight over a 4/3-Earth (``horizon: true``). Clutter: ``clutter_per_scan``
  (Poisson) plots uniform in range, azimuth and elevation up to ``clutter_el_max_rad`` with
  radial speeds up to ``clutter_speed_mps``, plus ``clutter_regions`` (``center_enu_m``,
  ``radius_m``, ``per_scan``, ``height_m``): near-stationary plots over a patch of ground.
  Harder options (issue 19): ``blind_speed_mps`` (a Doppler/MTI notch: Pd scaled by
  ``1 - exp(-(v_r / blind)^2)``, so hovering and crossing targets fade, and so does the
  ground clutter of the ``clutter_regions``, whose wind-blown spread is then the blind
  speed: a residue at the faster radial speeds is left) and
  ``clutter_rcs: range`` (false-alarm RCS growing 10 dB per decade of range, as a clutter
  cell's area does, instead of one distribution everywhere).
- ``rf`` (``az``): hears only objects with an ``rf`` emitter within ``max_range_m``, with
  probability ``pd``; Gaussian bearing noise; each detection carries the protocol label.
  ``clutter_per_scan`` false bearings (other emitters) labelled ``wifi``.
- ``acoustic`` (``az_el``): drones and aircraft within ``max_range_m`` (birds are silent),
  ``pd`` per class (classes missing from a ``pd`` table are not heard).
- ``camera`` (``az_el``): inside the field of view (``boresight_az_rad``, ``fov_az_rad``,
  ``el_min_rad``..``el_max_rad``), ``Pd(r) = pd / (1 + (r / range_half_m) ** 4)``; each
  detection carries a class label, right with probability ``class_accuracy``, and a
  confidence.
- ``remote_id`` / ``adsb`` (``position_id``): cooperative broadcasts of objects carrying a
  Remote ID serial / an ICAO address, delivered with probability ``pd`` (dropouts) within
  ``max_range_m``; position noise ``sigma.pos_m``, velocity noise ``sigma.vel_mps``. On the
  wire (``sim.wire``): ``system_messages: true`` adds a Remote ID System message with the
  operator's position (the drone's take-off point) to every pack; ``qnh_hpa`` (default
  1013.25) is the day's sea-level pressure, so ADS-B position messages carry pressure
  altitude (about 8.3 m per hPa below the geometric height when QNH is high) and velocity
  messages the GNSS-minus-barometric difference.
- ``plots`` (``xy``/``xyz``): Cartesian plots of every object in ``area_m`` with ``pd`` and
  uniform clutter over ``area_m`` (the classic benchmark sensor).

The scenario entry is read and checked by :mod:`skywarden.sim.sensor_model`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.core.site import SensorKind
from skywarden.sim.sensor_model import ClutterRegion, SensorModel, parse_sensor_model

__all__ = [
    "ClutterRegion",
    "Report",
    "SensorModel",
    "World",
    "coverage_mask",
    "detection_probability",
    "doppler_visibility",
    "line_of_sight",
    "parse_sensor_model",
    "radar_pd",
    "reports",
    "scan",
]

Arr = NDArray[np.float64]
_EARTH_R = 6_371_000.0 * 4.0 / 3.0


# ----------------------------------------------------------------------------- the world


@dataclass(frozen=True, eq=False)
class World:
    """All trajectories stacked: ``S`` is (K, N, 6) on grid ``t``; per-object attributes."""

    t: Arr
    S: Arr
    ids: tuple[str, ...]
    family: NDArray[np.str_]
    type: NDArray[np.str_]
    rcs_dbsm: Arr
    rf: tuple[str | None, ...]
    remote_id: tuple[str | None, ...]
    icao: tuple[str | None, ...]
    callsign: tuple[str | None, ...] = field(default=())

    def at(self, t: float) -> Arr:
        """Interpolated states (N, 6) at time ``t``; NaN rows for absent objects."""
        if len(self.ids) == 0:
            return np.zeros((0, 6))
        dt = float(self.t[1] - self.t[0]) if len(self.t) > 1 else 1.0
        x = t / dt
        i = int(min(max(math.floor(x), 0), len(self.t) - 1))
        if i >= len(self.t) - 1:
            return np.asarray(self.S[-1], dtype=float)
        f = x - i
        return np.asarray(self.S[i] * (1.0 - f) + self.S[i + 1] * f, dtype=float)


@dataclass(frozen=True)
class Report:
    """One sensor report: measurement time, arrival time, raw skybench detection dicts.

    ``sources`` names the truth object behind each detection (None: clutter); it is never
    written to the skybench scenario (only tests and diagnostics read it).
    """

    t: float
    arrival_t: float
    sensor_id: str
    detections: tuple[dict[str, Any], ...]
    sources: tuple[str | None, ...]

    def line(self, strict: bool = True) -> dict[str, Any]:
        """The skybench/1 scenario line; ``strict`` keeps only the format's keys."""
        dets = [
            {k: v for k, v in d.items() if k not in _EXTRA_KEYS} if strict else dict(d)
            for d in self.detections
        ]
        return {"type": "detections", "t": self.t, "sensor": self.sensor_id, "detections": dets}


_EXTRA_KEYS = frozenset({"protocol", "class", "class_conf", "callsign"})


def _r4(x: float) -> float:
    return round(float(x), 4)


def _polar(rel: Arr) -> tuple[Arr, Arr, Arr]:
    r = np.linalg.norm(rel, axis=1)
    az = np.mod(np.arctan2(rel[:, 0], rel[:, 1]), 2 * np.pi)
    el = np.arcsin(np.clip(rel[:, 2] / np.maximum(r, 1e-9), -1.0, 1.0))
    return r, az, el


def radar_pd(model: SensorModel, r: Arr, rcs_dbsm: Arr) -> Arr:
    """Swerling I detection probability from the radar equation (mean SNR)."""
    p = model.params
    snr_db = (
        p["snr_ref_db"]
        + (rcs_dbsm - p["ref_rcs_dbsm"])
        - 40.0 * np.log10(np.maximum(r, 1.0) / p["ref_range_m"])
    )
    snr = 10.0 ** (snr_db / 10.0)
    return np.asarray(p["pfa"] ** (1.0 / (1.0 + snr)), dtype=float)


def doppler_visibility(model: SensorModel, rel: Arr, vel: Arr) -> Arr:
    """An MTI/Doppler radar's notch: the share of Pd left at each object's radial speed,
    ``1 - exp(-(v_r / blind_speed_mps)^2)``: 0 for a hovering or crossing target, 0.63 at the
    blind speed, 0.98 at twice it."""
    r = np.maximum(np.linalg.norm(rel, axis=1), 1e-9)
    vr = np.einsum("ij,ij->i", rel, vel) / r
    vb = float(model.params["blind_speed_mps"])
    out: Arr = 1.0 - np.exp(-((vr / vb) ** 2))
    return out


def line_of_sight(sensor_u: float, target_u: Arr, ground_range: Arr) -> NDArray[np.bool_]:
    """Terrain-free line of sight over a 4/3 Earth: the target is above the radio horizon."""
    d_h = np.sqrt(2.0 * _EARTH_R * max(sensor_u, 0.0))
    beyond = np.maximum(ground_range - d_h, 0.0)
    return np.asarray(target_u >= beyond**2 / (2.0 * _EARTH_R), dtype=bool)


def _wrap2pi(a: Arr) -> Arr:
    return np.asarray(np.mod(a, 2 * np.pi), dtype=float)


def coverage_mask(model: SensorModel, rel: Arr, sensor_u: float) -> NDArray[np.bool_]:
    """Which relative positions (N, 3) the sensor can see at all (range, angles, LOS)."""
    s = model.spec
    p = model.params
    r, az, el = _polar(rel)
    ok = np.ones(len(rel), dtype=bool)
    if s.max_range_m is not None:
        ok &= r <= s.max_range_m
    if "min_range_m" in p:
        ok &= r >= p["min_range_m"]
    if "el_min_rad" in p:
        ok &= (el >= p["el_min_rad"]) & (el <= p["el_max_rad"])
    if s.kind is SensorKind.CAMERA and p["fov_az_rad"] < 2 * math.pi:
        off = np.abs(np.mod(az - p["boresight_az_rad"] + np.pi, 2 * np.pi) - np.pi)
        ok &= off <= p["fov_az_rad"] / 2
    if p.get("horizon", False):
        ok &= line_of_sight(sensor_u, rel[:, 2] + sensor_u, np.hypot(rel[:, 0], rel[:, 1]))
    return ok


def detection_probability(
    model: SensorModel, world: World, rel: Arr, sensor_u: float, idx: NDArray[np.intp]
) -> Arr:
    """Probability of detection this scan of objects ``idx`` at ``rel`` (0 outside coverage)."""
    s = model.spec
    n = len(rel)
    fam = world.family[idx]
    pd = np.zeros(n)
    cov: NDArray[np.bool_] = coverage_mask(model, rel, sensor_u)
    r = np.linalg.norm(rel, axis=1)
    if s.kind is SensorKind.RADAR:
        if model.params["pd_model"] == "radar_equation":
            pd = radar_pd(model, r, world.rcs_dbsm[idx])
        else:
            pd = np.array([s.pd_for(f) for f in fam])
    elif s.kind is SensorKind.RF:
        pd = np.array([model.pd_for("drone") if world.rf[i] is not None else 0.0 for i in idx])
    elif s.kind is SensorKind.ACOUSTIC:
        pd = np.array([model.pd_for(f) if f != "bird" else 0.0 for f in fam])
    elif s.kind is SensorKind.CAMERA:
        base = np.array([model.pd_for(f) for f in fam])
        pd = base / (1.0 + (r / model.params["range_half_m"]) ** 4)
    elif s.kind is SensorKind.REMOTE_ID:
        pd = np.array([s.pd_for(None) if world.remote_id[i] is not None else 0.0 for i in idx])
    elif s.kind is SensorKind.ADSB:
        pd = np.array([s.pd_for(None) if world.icao[i] is not None else 0.0 for i in idx])
    elif s.kind is SensorKind.PLOTS:
        pd = np.array([s.pd_for(f) for f in fam])
        assert s.area_m is not None
        pos = rel + s.position_enu
        for j, (lo, hi) in enumerate(s.area_m):
            cov &= (pos[:, j] >= lo) & (pos[:, j] <= hi)
    return np.where(cov, pd, 0.0)


def scan(model: SensorModel, world: World, t: float, rng: np.random.Generator) -> Report:
    """One scan of one sensor at time ``t``."""
    s = model.spec
    sp = np.asarray(s.position_enu, dtype=float)
    X = world.at(t)
    present = ~np.isnan(X[:, 0])
    idx = np.flatnonzero(present)
    Xp = X[present]
    rel = Xp[:, :3] - sp
    pd = detection_probability(model, world, rel, float(sp[2]), idx)
    if s.kind is SensorKind.RADAR and model.params["blind_speed_mps"] > 0:
        pd = pd * doppler_visibility(model, rel, Xp[:, 3:])
    hit = rng.random(len(idx)) < pd
    idx, Xp, rel = idx[hit], Xp[hit], rel[hit]
    sig = s.sigma
    dets: list[dict[str, Any]] = []
    srcs: list[str | None] = [world.ids[i] for i in idx]
    k = s.kind
    if k is SensorKind.RADAR:
        dets = _radar_dets(model, world, rng, idx, Xp, rel)
        clutter = _radar_clutter(model, rng, sp)
        dets += clutter
        srcs += [None] * len(clutter)
    elif k in (SensorKind.RF, SensorKind.ACOUSTIC, SensorKind.CAMERA):
        _, az, el = _polar(rel)
        az = _wrap2pi(az + rng.normal(0.0, sig["az_rad"], len(az)))
        if k is SensorKind.RF:
            dets = [
                {"az_rad": _r4(a), "protocol": world.rf[i]} for a, i in zip(az, idx, strict=True)
            ]
        else:
            el = np.clip(el + rng.normal(0.0, sig["el_rad"], len(el)), -np.pi / 2, np.pi / 2)
            dets = [{"az_rad": _r4(a), "el_rad": _r4(e)} for a, e in zip(az, el, strict=True)]
            if k is SensorKind.CAMERA:
                _camera_labels(model, world, rng, idx, dets)
        nc = int(rng.poisson(s.clutter_per_scan)) if s.clutter_per_scan > 0 else 0
        for _ in range(nc):
            c: dict[str, Any] = {"az_rad": _r4(rng.uniform(0, 2 * np.pi))}
            if k is SensorKind.RF:
                c["protocol"] = "wifi"
            else:
                c["el_rad"] = _r4(rng.uniform(0.0, 0.5))
                if k is SensorKind.CAMERA:
                    c["class"] = "unknown"
                    c["class_conf"] = _r4(rng.uniform(0.2, 0.5))
            dets.append(c)
            srcs.append(None)
    elif k in (SensorKind.REMOTE_ID, SensorKind.ADSB):
        sp_m = sig["pos_m"]
        sv = sig.get("vel_mps", max(1.0, 0.3 * sp_m))
        pos = Xp[:, :3] + rng.normal(0.0, sp_m, (len(idx), 3))
        vel = Xp[:, 3:] + rng.normal(0.0, sv, (len(idx), 3))
        for j, i in enumerate(idx):
            ident = world.remote_id[i] if k is SensorKind.REMOTE_ID else world.icao[i]
            d: dict[str, Any] = {"id": ident}
            d.update({key: _r4(v) for key, v in zip(("x", "y", "z"), pos[j], strict=True)})
            d.update({key: _r4(v) for key, v in zip(("vx", "vy", "vz"), vel[j], strict=True)})
            if k is SensorKind.ADSB and world.callsign and world.callsign[i]:
                d["callsign"] = world.callsign[i]
            dets.append(d)
    elif k is SensorKind.PLOTS:
        keys = ("x", "y", "z")[: s.measures.dim]
        sg = [sig[f"{a}_m"] for a in keys]
        pos = Xp[:, : len(keys)] + rng.normal(0.0, 1.0, (len(idx), len(keys))) * np.array(sg)
        dets = [{a: _r4(v) for a, v in zip(keys, row, strict=True)} for row in pos]
        nc = int(rng.poisson(s.clutter_per_scan)) if s.clutter_per_scan > 0 else 0
        assert s.area_m is not None
        lo = np.array([a[0] for a in s.area_m[: len(keys)]])
        hi = np.array([a[1] for a in s.area_m[: len(keys)]])
        cl = rng.uniform(lo, hi, (nc, len(keys)))
        dets += [{a: _r4(v) for a, v in zip(keys, row, strict=True)} for row in cl]
        srcs += [None] * nc
    order = rng.permutation(len(dets))
    arrival = t + model.latency_s + (rng.uniform(0.0, model.jitter_s) if model.jitter_s else 0.0)
    return Report(
        t=float(t),
        arrival_t=round(float(arrival), 6),
        sensor_id=s.id,
        detections=tuple(dets[i] for i in order),
        sources=tuple(srcs[i] for i in order),
    )


def _radar_dets(
    model: SensorModel,
    world: World,
    rng: np.random.Generator,
    idx: NDArray[np.intp],
    X: Arr,
    rel: Arr,
) -> list[dict[str, Any]]:
    sig = model.spec.sigma
    n = len(idx)
    r, az, el = _polar(rel)
    radial = np.einsum("ij,ij->i", rel, X[:, 3:]) / np.maximum(r, 1e-9)
    r = np.abs(r + rng.normal(0.0, sig["range_m"], n))
    r = np.maximum(r, 0.1)
    az = _wrap2pi(az + rng.normal(0.0, sig["az_rad"], n))
    el = np.clip(el + rng.normal(0.0, sig["el_rad"], n), -np.pi / 2, np.pi / 2)
    radial = radial + rng.normal(0.0, sig["radial_mps"], n)
    mean_lin = 10.0 ** (world.rcs_dbsm[idx.astype(int)] / 10.0)
    rcs = 10.0 * np.log10(np.maximum(mean_lin * rng.exponential(1.0, n), 1e-12))
    rcs = rcs + rng.normal(0.0, model.params["rcs_noise_db"], n)
    return [
        {
            "range_m": _r4(a),
            "az_rad": _r4(b),
            "el_rad": _r4(c),
            "radial_mps": _r4(d),
            "rcs_dbsm": _r4(e),
        }
        for a, b, c, d, e in zip(r, az, el, radial, rcs, strict=True)
    ]


def _radar_clutter(model: SensorModel, rng: np.random.Generator, sp: Arr) -> list[dict[str, Any]]:
    s = model.spec
    p = model.params
    out: list[dict[str, Any]] = []
    rmax = s.max_range_m or 5000.0
    rmin = p["min_range_m"]
    n = int(rng.poisson(s.clutter_per_scan)) if s.clutter_per_scan > 0 else 0
    if n:
        r = rng.uniform(rmin, rmax, n)
        az = rng.uniform(0.0, 2 * np.pi, n)
        el = rng.uniform(0.0, p["clutter_el_max_rad"], n)
        v = rng.uniform(-p["clutter_speed_mps"], p["clutter_speed_mps"], n)
        if p["clutter_rcs"] == "range":  # a clutter cell's area, so its RCS, grows with range
            rcs = rng.normal(-26.0 + 10.0 * np.log10(np.maximum(r, 1.0) / 1000.0), 5.0)
        else:
            rcs = rng.normal(-22.0, 6.0, n)
        out += [
            {
                "range_m": _r4(a),
                "az_rad": _r4(b),
                "el_rad": _r4(c),
                "radial_mps": _r4(d),
                "rcs_dbsm": _r4(e),
            }
            for a, b, c, d, e in zip(r, az, el, v, rcs, strict=True)
        ]
    for reg in model.regions:
        m = int(rng.poisson(reg.per_scan)) if reg.per_scan > 0 else 0
        if not m:
            continue
        a = rng.uniform(0, 2 * np.pi, m)
        rr = reg.radius_m * np.sqrt(rng.uniform(0, 1, m))
        pts = np.column_stack(
            [
                reg.center[0] + rr * np.sin(a),
                reg.center[1] + rr * np.cos(a),
                rng.uniform(0.0, reg.height_m, m),
            ]
        )
        r, az, el = _polar(pts - sp)
        vb = float(p["blind_speed_mps"])
        # wind-blown vegetation; behind a Doppler notch only its faster part is left
        v = rng.normal(0.0, max(0.7, vb), m)
        rcs = rng.normal(-8.0, 5.0, m)
        if vb > 0:
            keep = rng.random(m) < 1.0 - np.exp(-((v / vb) ** 2))
            r, az, el, v, rcs = r[keep], az[keep], el[keep], v[keep], rcs[keep]
        out += [
            {
                "range_m": _r4(max(x, 0.1)),
                "az_rad": _r4(b),
                "el_rad": _r4(c),
                "radial_mps": _r4(d),
                "rcs_dbsm": _r4(e),
            }
            for x, b, c, d, e in zip(r, az, el, v, rcs, strict=True)
        ]
    return out


def _camera_labels(
    model: SensorModel,
    world: World,
    rng: np.random.Generator,
    idx: NDArray[np.intp],
    dets: list[dict[str, Any]],
) -> None:
    acc = model.params["class_accuracy"]
    classes = ("drone", "bird", "aircraft")
    for d, i in zip(dets, idx, strict=True):
        true = str(world.family[int(i)])
        if rng.random() < acc:
            d["class"] = true
            d["class_conf"] = _r4(np.clip(rng.normal(0.8, 0.1), 0.5, 0.99))
        else:
            d["class"] = str(rng.choice([c for c in classes if c != true]))
            d["class_conf"] = _r4(np.clip(rng.normal(0.55, 0.1), 0.3, 0.9))


def reports(
    model: SensorModel, world: World, duration_s: float, rng: np.random.Generator
) -> Iterator[Report]:
    """All reports of one sensor, in measurement-time order."""
    for t in model.scan_times(duration_s):
        yield scan(model, world, float(t), rng)
