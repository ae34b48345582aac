"""A simulated sensor's configuration: the scenario entry -> :class:`SensorModel`.

Split from :mod:`skywarden.sim.sensors` (which says what each kind reports, scan by scan)
because reading and checking a scenario's sensor entry is a job of its own: every key a kind
accepts, with its default, is listed once in ``_KIND_KEYS`` (``sim.coverage`` reads the same
table), and a misspelt key is refused with its path. The meaning of each key is documented in
:mod:`skywarden.sim.sensors`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.core.errors import ConfigError
from skywarden.core.observation import MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.sim import fields as fl

Arr = NDArray[np.float64]
_SITE_KEYS = (
    "id",
    "kind",
    "measures",
    "position_enu_m",
    "position",
    "sigma",
    "update_s",
    "max_range_m",
    "pd",
    "clutter_per_scan",
    "area_m",
)
_COMMON = ("latency_s", "jitter_s", "outages", "phase_s")
_KIND_KEYS: dict[SensorKind, dict[str, Any]] = {
    SensorKind.RADAR: {
        "pd_model": "fixed",
        "snr_ref_db": 13.0,
        "ref_range_m": None,
        "ref_rcs_dbsm": -20.0,
        "pfa": 1e-6,
        "min_range_m": 30.0,
        "el_min_rad": -0.05,
        "el_max_rad": 1.2,
        "rcs_noise_db": 1.0,
        "clutter_regions": [],
        "clutter_el_max_rad": 0.35,
        "clutter_speed_mps": 15.0,
        "horizon": True,
        "blind_speed_mps": 0.0,
        "clutter_rcs": "uniform",
    },
    SensorKind.RF: {},
    SensorKind.ACOUSTIC: {"min_range_m": 0.0},
    SensorKind.CAMERA: {
        "boresight_az_rad": 0.0,
        "fov_az_rad": 2 * math.pi,
        "el_min_rad": -0.1,
        "el_max_rad": 1.4,
        "range_half_m": 800.0,
        "class_accuracy": 0.85,
    },
    SensorKind.REMOTE_ID: {"system_messages": False},
    SensorKind.ADSB: {"qnh_hpa": 1013.25},
    SensorKind.PLOTS: {},
}


@dataclass(frozen=True)
class ClutterRegion:
    center: tuple[float, float]
    radius_m: float
    per_scan: float
    height_m: float = 30.0


@dataclass(frozen=True, eq=False)
class SensorModel:
    """A sensor's data sheet (``spec``) plus its simulation parameters."""

    spec: SensorSpec
    params: Mapping[str, Any]
    latency_s: float = 0.0
    jitter_s: float = 0.0
    phase_s: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()
    regions: tuple[ClutterRegion, ...] = ()

    @property
    def id(self) -> str:
        return self.spec.id

    def scan_times(self, duration_s: float) -> Arr:
        t = np.arange(self.phase_s, duration_s - 1e-9, self.spec.update_s)
        t = np.round(t, 6)
        for a, b in self.outages:
            t = t[(t < a) | (t >= b)]
        return t

    def header(self) -> dict[str, Any]:
        """The skybench/1 SENSOR entry (data-sheet fields only)."""
        s = self.spec
        h: dict[str, Any] = {
            "id": s.id,
            "kind": s.kind.value,
            "measures": s.measures.value,
            "position_enu_m": [round(float(x), 4) for x in s.position_enu],
            "sigma": dict(s.sigma),
            "update_s": s.update_s,
        }
        if s.max_range_m is not None:
            h["max_range_m"] = s.max_range_m
        clutter = s.clutter_per_scan + sum(r.per_scan for r in self.regions)
        if clutter:
            h["clutter_per_scan"] = clutter
        h["pd"] = s.pd if isinstance(s.pd, float) else dict(s.pd)
        if s.area_m is not None:
            h["area_m"] = [list(a) for a in s.area_m]
        return h

    def pd_for(self, family: str) -> float:
        """Configured detection probability of a class (0 when a pd table omits it)."""
        pd = self.spec.pd
        if isinstance(pd, int | float):
            return float(pd)
        return float(pd.get(family, 0.0))


def parse_sensor_model(
    raw: Mapping[str, Any], spec: SensorSpec, path: str, duration_s: float
) -> SensorModel:
    kind_defaults = _KIND_KEYS[spec.kind]
    fl.only_keys(raw, _SITE_KEYS + _COMMON + tuple(kind_defaults), path)
    params: dict[str, Any] = {}
    for k, default in kind_defaults.items():
        if k == "clutter_regions":
            continue
        if k in ("pd_model",):
            params[k] = fl.string(raw, k, path, default, ("fixed", "radar_equation"))
        elif k == "clutter_rcs":
            params[k] = fl.string(raw, k, path, default, ("uniform", "range"))
        elif k in ("horizon", "system_messages"):
            params[k] = fl.boolean(raw, k, path, default)
        elif k == "pfa":
            params[k] = fl.num(raw, k, path, default, lo=1e-12, hi=0.5)
        elif k == "class_accuracy":
            params[k] = fl.num(raw, k, path, default, lo=0.0, hi=1.0)
        elif k in ("ref_range_m", "range_half_m"):
            v = fl.opt_num(raw, k, path, lo=0.0, lo_open=True)
            params[k] = v if v is not None else (default or spec.max_range_m or 5000.0)
        elif k in (
            "min_range_m",
            "rcs_noise_db",
            "clutter_speed_mps",
            "fov_az_rad",
            "blind_speed_mps",
        ):
            params[k] = fl.num(raw, k, path, default, lo=0.0)
        else:
            params[k] = fl.num(raw, k, path, default)
    if spec.kind is SensorKind.RADAR and spec.measures is not MeasurementKind.RANGE_AZ_EL_RADIAL:
        raise ConfigError(f"{path}.measures", "a simulated radar measures range_az_el_radial")
    want = {
        SensorKind.RF: (MeasurementKind.AZ,),
        SensorKind.ACOUSTIC: (MeasurementKind.AZ_EL,),
        SensorKind.CAMERA: (MeasurementKind.AZ_EL,),
        SensorKind.REMOTE_ID: (MeasurementKind.POSITION_ID,),
        SensorKind.ADSB: (MeasurementKind.POSITION_ID,),
        SensorKind.PLOTS: (MeasurementKind.XY, MeasurementKind.XYZ),
    }.get(spec.kind)
    if want is not None and spec.measures not in want:
        raise ConfigError(
            f"{path}.measures",
            f"a simulated {spec.kind.value} measures {' or '.join(w.value for w in want)}",
        )
    if spec.kind is SensorKind.PLOTS and spec.area_m is None:
        raise ConfigError(f"{path}.area_m", "is required for a plots sensor")
    regions = []
    if "clutter_regions" in raw:
        rp = f"{path}.clutter_regions"
        for i, r in enumerate(fl.array(raw["clutter_regions"], rp)):
            t = fl.table(r, f"{rp}[{i}]")
            fl.only_keys(t, ("center_enu_m", "radius_m", "per_scan", "height_m"), f"{rp}[{i}]")
            c = fl.vec(t, "center_enu_m", f"{rp}[{i}]", 2)
            regions.append(
                ClutterRegion(
                    (c[0], c[1]),
                    fl.num(t, "radius_m", f"{rp}[{i}]", lo=0.0, lo_open=True),
                    fl.num(t, "per_scan", f"{rp}[{i}]", lo=0.0),
                    fl.num(t, "height_m", f"{rp}[{i}]", 30.0, lo=0.0),
                )
            )
    outages = fl.intervals(raw, "outages", path)
    return SensorModel(
        spec=spec,
        params=params,
        latency_s=fl.num(raw, "latency_s", path, 0.0, lo=0.0),
        jitter_s=fl.num(raw, "jitter_s", path, 0.0, lo=0.0),
        phase_s=fl.num(raw, "phase_s", path, 0.0, lo=0.0),
        outages=outages,
        regions=tuple(regions),
    )
