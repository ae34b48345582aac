"""What the tracker needs to know about each sensor, derived once from its data sheet.

- ``pd``: detection probability used in the track score and the assignment costs; where the
  data sheet gives one per class, their mean or (``pd_rule="min"``) the lowest.
- ``log_lambda``: log density of reports not from a known track in the sensor's measurement
  space (per unit of measurement volume per scan): clutter, from ``clutter_per_scan`` over
  the volume the sensor reports in. For a polar radar the volume is range x azimuth x
  elevation x range-rate (m rad rad m/s); the elevation and radial-speed spans are
  configurable because data sheets rarely give them. For a bearing sensor the alternative
  to "this bearing is track i's" is not only a false bearing but also an emitter no track
  holds yet (``new_emitters_per_scan``): a direction finder exists to find drones nobody
  tracks.
- ``hears_drones_only``: an RF direction finder hears only emitting drones, an acoustic array
  only rotors; the tracker weighs such a report's association with a track by the track's
  drone probability (``Tracker.set_drone_priors``).
- ``expects_all``: whether a miss is evidence against a track. A radar within its range should
  see every object; an RF direction finder hears only emitting drones, an acoustic array
  only loud ones, a cooperative receiver only cooperative ones: their silence says nothing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from skywarden.core.observation import MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec


@dataclass(frozen=True)
class SensorModel:
    """A sensor's data sheet as the tracker uses it (see the module docstring)."""

    spec: SensorSpec
    pd: float
    log_lambda: float
    expects_all: bool
    spatial_dims: int  # 2 for xy plots, 3 for everything with a 3-D position, 0 for bearings
    hears_drones_only: bool = False  # RF direction finders and acoustic arrays

    @property
    def kind(self) -> MeasurementKind:
        return self.spec.measures


def sensor_model(
    spec: SensorSpec,
    el_span_rad: float = 0.6,
    radial_span_mps: float = 100.0,
    false_bearings_per_scan: float = 0.2,
    new_emitters_per_scan: float = 1.0,
    pd_rule: str = "mean",
) -> SensorModel:
    k = spec.measures
    c = spec.clutter_per_scan
    rmax = spec.max_range_m or 10_000.0
    if k is MeasurementKind.XY or k is MeasurementKind.XYZ:
        if spec.area_m:
            vol = math.prod(hi - lo for lo, hi in spec.area_m[: k.dim])
        else:
            vol = math.pi * rmax**2 * (1.0 if k is MeasurementKind.XY else 2000.0)
    elif k is MeasurementKind.RANGE_AZ_EL_RADIAL:
        vol = rmax * 2.0 * math.pi * el_span_rad * radial_span_mps
    elif k is MeasurementKind.AZ:
        vol = 2.0 * math.pi
        c = (c or false_bearings_per_scan) + new_emitters_per_scan
    elif k is MeasurementKind.AZ_EL:
        vol = 2.0 * math.pi * (math.pi / 2.0)
        c = (c or false_bearings_per_scan) + new_emitters_per_scan
    else:  # cooperative: a false report is rare; density per m^3 (m/s)^3 over a large volume
        vol = (2 * rmax) ** 2 * 3000.0 * 100.0**3
        c = c or 1e-3
    lam = max(c, 1e-3) / vol
    expects_all = spec.kind in (SensorKind.RADAR, SensorKind.PLOTS)
    dims = 2 if k is MeasurementKind.XY else (0 if not k.fixes_position else 3)
    if pd_rule == "min" and isinstance(spec.pd, dict) and spec.pd:
        pd = float(min(spec.pd.values()))
    else:
        pd = spec.pd_for(None)
    drones_only = spec.kind in (SensorKind.RF, SensorKind.ACOUSTIC)
    return SensorModel(spec, pd, math.log(lam), expects_all, dims, drones_only)
