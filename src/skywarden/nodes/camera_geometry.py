"""Pixels to directions: a pinhole camera on a pan/tilt head.

``CameraCalib`` is the intrinsic calibration (focal lengths and principal point in pixels,
no distortion model: small objects near the centre of a narrow lens); ``from_fov`` builds it
from the horizontal field of view. ``pixel_to_az_el(calib, pan, tilt, u, v)`` returns the
azimuth (radians clockwise from true north) and elevation (radians above the horizon) of the
ray through pixel (u, v) (top-left origin, x right, y down) when the optical axis points at
azimuth ``pan`` and elevation ``tilt`` with no roll. ``az_el_to_pixel`` is its inverse (used
by the simulated PTZ camera).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class CameraCalib:
    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_fov(cls, width: int, height: int, hfov_rad: float) -> CameraCalib:
        if not 0 < hfov_rad < math.pi:
            raise ValueError(f"horizontal field of view {hfov_rad} rad")
        f = (width / 2.0) / math.tan(hfov_rad / 2.0)
        return cls(f, f, (width - 1) / 2.0, (height - 1) / 2.0, width, height)

    @property
    def hfov_rad(self) -> float:
        return 2.0 * math.atan((self.width / 2.0) / self.fx)

    def pixel_sigma_rad(self, pixels: float = 1.0) -> float:
        """Angle subtended by ``pixels`` at the centre."""
        return math.atan(pixels / self.fx)


def _axes(pan: float, tilt: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Forward, right and up unit vectors (ENU) of the camera."""
    sp, cp, st, ct = math.sin(pan), math.cos(pan), math.sin(tilt), math.cos(tilt)
    fwd = np.array([sp * ct, cp * ct, st])
    right = np.array([cp, -sp, 0.0])
    up = np.cross(right, fwd)
    return fwd, right, up


def pixel_to_az_el(
    calib: CameraCalib, pan: float, tilt: float, u: float, v: float
) -> tuple[float, float]:
    fwd, right, up = _axes(pan, tilt)
    x = (u - calib.cx) / calib.fx
    y = (v - calib.cy) / calib.fy
    ray = fwd + x * right - y * up
    az = math.atan2(ray[0], ray[1]) % (2 * math.pi)
    el = math.atan2(ray[2], math.hypot(ray[0], ray[1]))
    return az, el


def az_el_to_pixel(
    calib: CameraCalib, pan: float, tilt: float, az: float, el: float
) -> tuple[float, float] | None:
    """Pixel of a direction, or None when it is behind the camera."""
    fwd, right, up = _axes(pan, tilt)
    ray = np.array([math.sin(az) * math.cos(el), math.cos(az) * math.cos(el), math.sin(el)])
    z = float(ray @ fwd)
    if z <= 1e-9:
        return None
    return (
        calib.cx + calib.fx * float(ray @ right) / z,
        calib.cy - calib.fy * float(ray @ up) / z,
    )
