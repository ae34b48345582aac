"""A simulated pan/tilt/zoom camera that obeys SAPIENT LookAt tasks (slew-to-cue).

The camera sits at ``position_enu``; its optical axis (``pan`` azimuth, ``tilt`` elevation)
moves towards the commanded direction at ``slew_rad_s`` per axis, and its horizontal field
of view towards the commanded zoom at ``zoom_rate`` (a factor per second). A task arrives as
the bytes of a SAPIENT message and is parsed with ``sensors.sapient.parse_message``: only a
``look_at`` range/bearing (RADIANS_M, TRUE) is obeyed (``sapient_task.read_look_at``); with
a range, the zoom is set so a ``FRAME_SPAN_M`` wide patch fills the frame, or wider when the
task's extent (the cue's uncertainty) is wider, clamped to the lens; anything else is
refused with ``TaskRefused`` (an ``InputRejected``).

What it sees (``observe``): every object inside the field of view and within range, with its
angular size in pixels (size from its type over range, frame ``width_px`` wide). An object
under ``MIN_PX`` pixels is not detected. The reported class is the object's true one with a
confidence that grows with pixel size (a confusion draw below ``SURE_PX``); azimuth and
elevation carry ``sigma_px`` pixels of noise. A small synthetic image chip (a grey blob
shaped by the class, on a sky gradient) stands in for the picture. Randomness from the
Generator passed in.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from skywarden.sensors.sapient import parse_message
from skywarden.sensors.sapient_task import read_look_at

SIZE_M = {
    "multirotor": 0.5,
    "fixed_wing": 2.0,
    "bird": 0.4,
    "flock": 0.4,
    "migration": 0.5,
    "helicopter": 12.0,
    "aircraft": 30.0,
}
LABEL = {
    "multirotor": "drone",
    "fixed_wing": "drone",
    "bird": "bird",
    "flock": "bird",
    "migration": "bird",
    "helicopter": "helicopter",
    "aircraft": "aeroplane",
}
MIN_PX = 3.0
SURE_PX = 12.0
FRAME_SPAN_M = 12.0


@dataclass(frozen=True)
class PtzSpec:
    id: str
    position_enu: tuple[float, float, float]
    slew_rad_s: float = math.radians(60.0)
    hfov_wide_rad: float = math.radians(40.0)
    hfov_tele_rad: float = math.radians(2.0)
    zoom_rate: float = 4.0
    width_px: int = 640
    height_px: int = 512
    max_range_m: float = 3000.0
    sigma_px: float = 1.0

    def slew_time_s(self, pan: float, tilt: float, az: float, el: float) -> float:
        """Time to slew from (pan, tilt) to (az, el), each axis at the slew rate."""
        d_az = abs((az - pan + math.pi) % (2 * math.pi) - math.pi)
        return max(d_az, abs(el - tilt)) / self.slew_rad_s


@dataclass(frozen=True)
class CameraSeen:
    """One object seen in one frame."""

    t: float
    object_id: str
    azimuth_rad: float
    elevation_rad: float
    sigma_rad: float
    label: str
    confidence: float
    pixels: float
    chip: np.ndarray


def direction(frm: np.ndarray, to: np.ndarray) -> tuple[float, float, float]:
    """(azimuth, elevation, range) from ENU point ``frm`` to ``to``."""
    d = np.asarray(to, dtype=float) - np.asarray(frm, dtype=float)
    rng = float(np.linalg.norm(d))
    return (
        math.atan2(d[0], d[1]) % (2 * math.pi),
        math.atan2(d[2], math.hypot(d[0], d[1])),
        rng,
    )


def _angle_between(az1: float, el1: float, az2: float, el2: float) -> float:
    a = np.array([math.sin(az1) * math.cos(el1), math.cos(az1) * math.cos(el1), math.sin(el1)])
    b = np.array([math.sin(az2) * math.cos(el2), math.cos(az2) * math.cos(el2), math.sin(el2)])
    return math.acos(max(-1.0, min(1.0, float(a @ b))))


def render_chip(label: str, pixels: float, rng: np.random.Generator) -> np.ndarray:
    """A 64x64 grey chip: a sky gradient and a dark shape of the class, ``pixels`` wide."""
    img = np.tile(np.linspace(200, 150, 64)[:, None], (1, 64)) + rng.normal(0, 3, (64, 64))
    s = max(2, min(40, int(pixels * 2)))
    c = 32
    if label == "drone":  # body and four arms
        img[c - s // 6 : c + s // 6 + 1, c - s // 2 : c + s // 2 + 1] = 40
        img[c - s // 2 : c + s // 2 + 1, c - 1 : c + 2] = 40
    elif label == "bird":  # a V
        for k in range(-s // 2, s // 2 + 1):
            img[c - abs(k) // 2, c + k] = 50
    else:  # a fuselage and wings
        img[c - 1 : c + 2, c - s // 2 : c + s // 2 + 1] = 60
        img[c - s // 3 : c + s // 3 + 1, c - 1 : c + 2] = 60
    return np.clip(img, 0, 255).astype(np.uint8)


class PtzCamera:
    def __init__(self, spec: PtzSpec, pan: float = 0.0, tilt: float = 0.0) -> None:
        self.spec = spec
        self.pan, self.tilt, self.hfov = pan, tilt, spec.hfov_wide_rad
        self.goal = (pan, tilt, spec.hfov_wide_rad)
        self.t: float | None = None
        self.tasks = 0

    def obey(self, body: bytes, t: float) -> None:
        """Apply one SAPIENT task (the message body, without its length prefix)."""
        look = read_look_at(parse_message(body, t).message)
        hfov = self.spec.hfov_wide_rad
        if look.range_m > 0:
            hfov = 2 * math.atan(FRAME_SPAN_M / 2 / look.range_m)
        hfov = max(hfov, look.extent_rad)  # the region asked for fits in the frame
        hfov = min(self.spec.hfov_wide_rad, max(self.spec.hfov_tele_rad, hfov))
        self.goal = (look.azimuth_rad % (2 * math.pi), look.elevation_rad, hfov)
        self.tasks += 1

    def step(self, t: float) -> None:
        dt = 0.0 if self.t is None else max(0.0, t - self.t)
        self.t = t
        gaz, gel, ghfov = self.goal
        step = self.spec.slew_rad_s * dt
        d_az = (gaz - self.pan + math.pi) % (2 * math.pi) - math.pi
        self.pan = (self.pan + max(-step, min(step, d_az))) % (2 * math.pi)
        self.tilt += max(-step, min(step, gel - self.tilt))
        f = self.spec.zoom_rate**dt
        self.hfov = min(max(ghfov, self.hfov / f), self.hfov * f)

    def on_target(self, az: float, el: float) -> bool:
        """True when (az, el) lies inside the central half of the field of view."""
        return _angle_between(self.pan, self.tilt, az, el) <= self.hfov / 4

    def observe(
        self, states: np.ndarray, ids: tuple[str, ...], types: np.ndarray, t: float,
        rng: np.random.Generator,
    ) -> list[CameraSeen]:  # fmt: skip
        """What the camera sees at time ``t`` of objects with ENU ``states`` (N, 6)."""
        out = []
        vfov = self.hfov * self.spec.height_px / self.spec.width_px
        px_per_rad = self.spec.width_px / self.hfov
        for j, oid in enumerate(ids):
            x = states[j]
            if not np.all(np.isfinite(x[:3])):
                continue
            az, el, rng_m = direction(np.asarray(self.spec.position_enu), x[:3])
            if rng_m > self.spec.max_range_m or rng_m < 1.0:
                continue
            d_az = (az - self.pan + math.pi) % (2 * math.pi) - math.pi
            if abs(d_az) * math.cos(el) > self.hfov / 2 or abs(el - self.tilt) > vfov / 2:
                continue
            typ = str(types[j])
            pixels = SIZE_M.get(typ, 1.0) / rng_m * px_per_rad
            if pixels < MIN_PX:
                continue
            label = LABEL.get(typ, "drone")
            sure = min(1.0, pixels / SURE_PX)
            conf = 0.55 + 0.4 * sure
            if rng.random() > 0.5 + 0.5 * sure:  # small in the frame: confusable
                label = str(rng.choice([c for c in ("drone", "bird", "aeroplane") if c != label]))
                conf = 0.5
            sigma = self.spec.sigma_px / px_per_rad
            out.append(
                CameraSeen(
                    t,
                    oid,
                    az + rng.normal(0, sigma),
                    el + rng.normal(0, sigma),
                    sigma,
                    label,
                    conf,
                    pixels,
                    render_chip(label, pixels, rng),
                )
            )
        return out
