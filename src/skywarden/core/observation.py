"""A detection: one sensor's report of one thing at one time, with its measurement model.

Every detection carries what a tracker needs to use it without knowing the sensor's wire
format: the measurement kind (which fixes the ordering of ``z`` and the function h(x) that
predicts it), the measurement vector ``z``, its noise covariance ``R`` and the position of
the sensor that made it. So ``sensors`` never imports ``tracking`` and the tracker never
parses bytes (Stone Soup's ``Detection.measurement_model``, flattened to data).

Ordering of ``z`` per kind (SI units, angles in radians; azimuth clockwise from north,
elevation up from the horizontal, both at the sensor):

============================  ============================================
kind                          z
============================  ============================================
``xy``                        [x, y]                       (ENU metres)
``xyz``                       [x, y, z]
``range_az_el_radial``        [range, az, el, range_rate]  (m, rad, rad, m/s; + receding)
``az``                        [az]                         (a bearing line: RF DF)
``az_el``                     [az, el]                     (a bearing ray: acoustic, camera)
``position_id``               [x, y, z, vx, vy, vz]        (cooperative: Remote ID, ADS-B)
============================  ============================================
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from skywarden.core.types import Mat, Vec, frozen_from_fields


class MeasurementKind(StrEnum):
    XY = "xy"
    XYZ = "xyz"
    RANGE_AZ_EL_RADIAL = "range_az_el_radial"
    AZ = "az"
    AZ_EL = "az_el"
    POSITION_ID = "position_id"

    @property
    def dim(self) -> int:
        """Length of ``z`` for this kind."""
        return _DIMS[self]

    @property
    def angular_rows(self) -> tuple[int, ...]:
        """Rows of ``z`` that are angles (innovations on them must be wrapped to [-pi, pi))."""
        return _ANGULAR[self]

    @property
    def fixes_position(self) -> bool:
        """True when one detection alone fixes a position, so a track can start from it."""
        return self not in (MeasurementKind.AZ, MeasurementKind.AZ_EL)


_DIMS = {
    MeasurementKind.XY: 2,
    MeasurementKind.XYZ: 3,
    MeasurementKind.RANGE_AZ_EL_RADIAL: 4,
    MeasurementKind.AZ: 1,
    MeasurementKind.AZ_EL: 2,
    MeasurementKind.POSITION_ID: 6,
}
_ANGULAR: dict[MeasurementKind, tuple[int, ...]] = {
    MeasurementKind.XY: (),
    MeasurementKind.XYZ: (),
    MeasurementKind.RANGE_AZ_EL_RADIAL: (1, 2),
    MeasurementKind.AZ: (0,),
    MeasurementKind.AZ_EL: (0, 1),
    MeasurementKind.POSITION_ID: (),
}


@dataclass(frozen=True, eq=False)
class Detection:
    """One measurement of one (unknown) object.

    Attributes
    ----------
    t : float
        Measurement time, seconds on the site clock.
    sensor_id : str
        The sensor that made it (a key into the site's sensor table).
    kind : MeasurementKind
        Fixes the ordering of ``z`` and the measurement function.
    z : ndarray, shape (kind.dim,)
    R : ndarray, shape (kind.dim, kind.dim)
        Measurement noise covariance.
    sensor_pos : ndarray, shape (3,)
        ENU position of the sensor, metres.
    identity : str or None
        Cooperative identity (Remote ID serial, ``icao:4840d6``) when the report carries one.
    rcs_dbsm : float or None
        Radar cross-section estimate of this plot.
    class_hint : str or None
        A sensor's own classification (``drone``, ``bird``, ...), with ``class_conf`` in [0, 1].
    attrs : dict
        Anything else the adapter wants journaled (protocol label, callsign, operator position).
    """

    t: float
    sensor_id: str
    kind: MeasurementKind
    z: Vec
    R: Mat
    sensor_pos: Vec = field(default_factory=lambda: np.zeros(3))
    identity: str | None = None
    rcs_dbsm: float | None = None
    class_hint: str | None = None
    class_conf: float = 0.0
    attrs: dict[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = self.kind.dim
        if self.z.shape != (n,):
            raise ValueError(f"z must have shape ({n},) for {self.kind}, got {self.z.shape}")
        if self.R.shape != (n, n):
            raise ValueError(f"R must have shape ({n}, {n}) for {self.kind}, got {self.R.shape}")

    @classmethod
    def many(
        cls,
        t: float,
        sensor_id: str,
        kind: MeasurementKind,
        Z: Mat,
        R: Mat,
        sensor_pos: Vec,
        rcs_dbsm: Sequence[float | None],
        attrs: Mapping[str, object],
    ) -> tuple[Detection, ...]:
        """One detection per row of ``Z`` (K, dim), all sharing ``R``, ``sensor_pos`` and a
        copy of ``attrs``: a whole radar scan. The shapes are checked once for the scan, and
        each detection is made by ``frozen_from_fields``, not ``__init__`` (its eleven frozen-field
        assignments and the check, per plot, were a twentieth of tracking a cluttered file)."""
        n = kind.dim
        if Z.ndim != 2 or Z.shape[1] != n or R.shape != (n, n) or len(rcs_dbsm) != Z.shape[0]:
            raise ValueError(f"{kind}: Z {Z.shape}, R {R.shape}, {len(rcs_dbsm)} RCS values")
        # every detection's fields but three are the scan's: one dict built here and copied
        # per plot (a copy of eleven entries costs a third of building them)
        shared: dict[str, object] = {
            "t": t,
            "sensor_id": sensor_id,
            "kind": kind,
            "z": None,
            "R": R,
            "sensor_pos": sensor_pos,
            "identity": None,
            "rcs_dbsm": None,
            "class_hint": None,
            "class_conf": 0.0,
            "attrs": None,
        }
        out = []
        for z, rcs in zip(Z, rcs_dbsm, strict=True):
            fields = shared.copy()
            fields["z"] = z
            fields["rcs_dbsm"] = rcs
            fields["attrs"] = dict(attrs)
            out.append(frozen_from_fields(cls, fields))
        return tuple(out)

    def position_enu(self) -> Vec | None:
        """The detection's own ENU position estimate, if the kind fixes one (else None).

        For polar radar plots this is the spherical-to-Cartesian conversion about the sensor.
        Used to seed tracks and to index detections spatially for gating.
        """
        k = self.kind
        if k is MeasurementKind.XY:
            return np.array([self.z[0], self.z[1], 0.0])
        if k is MeasurementKind.XYZ or k is MeasurementKind.POSITION_ID:
            return np.asarray(self.z[:3], dtype=float)
        if k is MeasurementKind.RANGE_AZ_EL_RADIAL:
            r, az, el = float(self.z[0]), float(self.z[1]), float(self.z[2])
            return self.sensor_pos + polar_to_enu(r, az, el)
        return None


@dataclass(frozen=True, eq=False)
class StackedDetections:
    """A report's detections as the arrays they were made from (``Detection.many``): row ``i``
    of ``Z`` is ``detections[i].z``, and every detection shares ``R`` and ``sensor_pos``.

    A parser that has them passes them beside the detections, so the tracker stacks nothing
    and walks no detection in Python to learn what the parser already knew: one kind, one
    noise model, one sensor position, no cooperative identity."""

    kind: MeasurementKind
    Z: Mat  # (K, dim)
    R: Mat  # (dim, dim)
    sensor_pos: Vec  # (3,)


def positions_enu(kind: MeasurementKind, Z: Mat, sensor_pos: Vec) -> Mat:
    """:meth:`Detection.position_enu` for a stack of measurements ``Z`` (K, dim) of one kind,
    vectorised: (K, 3). ``sensor_pos`` is one position (3,) or one per row (K, 3). Raises
    ValueError for kinds that fix no position."""
    K = Z.shape[0]
    if kind is MeasurementKind.XY:
        return np.column_stack([Z[:, 0], Z[:, 1], np.zeros(K)])
    if kind is MeasurementKind.XYZ or kind is MeasurementKind.POSITION_ID:
        return np.asarray(Z[:, :3], dtype=float)
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        r, az, el = Z[:, 0], Z[:, 1], Z[:, 2]
        ce = np.cos(el)
        sp = sensor_pos if sensor_pos.ndim == 2 else sensor_pos[None, :]
        out: Mat = sp + np.column_stack([r * ce * np.sin(az), r * ce * np.cos(az), r * np.sin(el)])
        return out
    raise ValueError(f"{kind} fixes no position")


def polar_to_enu(r: float, az: float, el: float) -> Vec:
    """Range/azimuth (clockwise from north)/elevation -> ENU offset from the sensor."""
    ce = math.cos(el)
    return np.array([r * ce * math.sin(az), r * ce * math.cos(az), r * math.sin(el)])
