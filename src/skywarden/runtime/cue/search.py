"""The cue loop's search: when the tasked camera does not see the track where the track's
estimate says, raster across the estimate's uncertainty at a zoom that can still see it.

Why it exists: a radar track at 2 km may be 20-40 m off in height (its 1-sigma height
uncertainty is about that much there, 0.5-1 deg seen from the camera), while a tele-zoomed
camera's frame is 1.6 deg tall, so pointing at the estimate alone can miss the drone for
many seconds (session 11: 12 s, docs/WARNING_POLICY.md). Zooming out until the whole
uncertainty fits in one frame does not help either: a 0.5 m drone at 2.2 km spans under
the detector's 3 pixels once the field of view is wider than about 2.7 deg. So the search
keeps a zoom at which a small drone is still detectable (:func:`detectable_fov`) and steps
the frame across the uncertainty instead.

Everything here is pure: :func:`azel_sd` projects the track's position covariance to the
camera's axes, :func:`raster` lays the steps out, :func:`advance` is the state machine
pointing -> searching -> locked (-> searching when the camera loses the target). The
controller (``runtime.cue.controller``) applies them; every step is a LookAt built by
``sensors.sapient_task.look_at_task`` like any other cue task (sensors only).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike

from skywarden.sim.ptz import MIN_PX

Mode = Literal["pointing", "searching", "locked"]


@dataclass(frozen=True)
class SearchConfig:
    """How the cue loop searches.

    ``wait_s``: time on the estimate (after the computed settle) with no detection of the
    camera's on the track before searching; one camera frame and the report's way back
    through the tracker (about 1 s in ``skywarden run``). ``dwell_s``: time per raster step,
    long enough for ``min_hits`` camera frames (0.5 s apart in the simulated site) plus the
    small slew between neighbouring steps. ``n_sd``: half-width of the searched region in
    standard deviations of the estimate. ``step_frac``: step as a fraction of the field of
    view (frames overlap by 20 %, so an object at a frame's edge is not missed between two
    steps). At least ``min_side`` steps each side in tilt even when the covariance says the
    object must be in the centre frame: the camera not seeing it there says the covariance
    is too small. ``max_side`` bounds the raster (at most (2 * max_side + 1)^2 steps).
    ``max_cycles``: full rasters before the loop gives up and points at the estimate again.
    ``lost_s``: a locked camera with no detection on the track for this long searches
    again. ``target_size_m`` and ``min_px``: the smallest object the zoom must still show
    (a small multirotor) and the detector's minimum size in pixels; ``px_margin`` keeps
    it above that minimum by a margin (range and size are estimates)."""

    wait_s: float = 1.0
    dwell_s: float = 1.0
    n_sd: float = 2.0
    step_frac: float = 0.8
    min_side: int = 1
    max_side: int = 3
    max_cycles: int = 2
    lost_s: float = 3.0
    target_size_m: float = 0.5
    min_px: float = MIN_PX
    px_margin: float = 1.25


@dataclass(frozen=True)
class CueState:
    """Where one assignment's loop is. ``since``: when the current mode's clock started (for
    ``pointing``, when the camera is computed to have settled on the estimate); ``step_t``:
    when the current raster step was commanded; ``last_seen``: the last time the camera's
    detection was on the track; ``exhausted``: a search gave up, so pointing stays pointing
    until the camera sees the track again."""

    mode: Mode
    since: float
    step: int = 0
    cycle: int = 0
    step_t: float = -math.inf
    last_seen: float = -math.inf
    exhausted: bool = False


def advance(s: CueState, t: float, seen: bool, n_steps: int, cfg: SearchConfig) -> CueState:
    """The next state at time ``t``; ``seen``: the camera's detection is on the track now;
    ``n_steps``: the length of the current raster (its step 0 is the estimate itself, which
    pointing already looked at, so a search starts at step 1)."""
    if seen:
        return CueState("locked", s.since if s.mode == "locked" else t, last_seen=t)
    if s.mode == "pointing":
        if s.exhausted or t < s.since + cfg.wait_s or n_steps < 2:
            return s
        return CueState("searching", t, step=1, step_t=t)
    if s.mode == "locked":
        if t - s.last_seen < cfg.lost_s or n_steps < 2:
            return s
        return CueState("searching", t, step=1, step_t=t, last_seen=s.last_seen)
    if t - s.step_t < cfg.dwell_s:
        return s
    step, cycle = s.step + 1, s.cycle
    if step >= n_steps:
        step, cycle = 0, cycle + 1
    if cycle >= cfg.max_cycles:
        return CueState("pointing", t, last_seen=s.last_seen, exhausted=True)
    return replace(s, step=step, cycle=cycle, step_t=t)


def azel_sd(cam_pos: ArrayLike, x: ArrayLike, P: ArrayLike) -> tuple[float, float]:
    """Standard deviations (rad) of the track's direction seen from the camera: across
    (azimuth times cos(elevation), the angle on the sky a pan step moves the frame by) and
    in elevation. First-order propagation of the ENU position covariance ``P`` (3x3):
    C = J P J^T with J the Jacobian of (az cos el, el) at the estimate ``x``, where
    az = atan2(e, n), el = atan2(u, h), h = sqrt(e^2 + n^2), r^2 = h^2 + u^2:
    d az/d(e, n, u) = (n, -e, 0) / h^2 and d el/d(e, n, u) = (-e u / h, -n u / h, h) / r^2
    (Bar-Shalom, Li & Kirubarajan 2001, sec. 1.4.15, the linearised transformation)."""
    d = np.asarray(x, dtype=float)[:3] - np.asarray(cam_pos, dtype=float)[:3]
    e, n, u = (float(v) for v in d)
    h2 = max(e * e + n * n, 1e-6)
    h = math.sqrt(h2)
    r2 = h2 + u * u
    cos_el = h / math.sqrt(r2)
    J = np.array(
        [[n / h2 * cos_el, -e / h2 * cos_el, 0.0], [-e * u / h / r2, -n * u / h / r2, h / r2]]
    )
    C = J @ np.asarray(P, dtype=float)[:3, :3] @ J.T
    return math.sqrt(max(float(C[0, 0]), 0.0)), math.sqrt(max(float(C[1, 1]), 0.0))


def detectable_fov(range_m: float, width_px: int, cfg: SearchConfig) -> float:
    """The widest horizontal field of view (rad) at which a ``target_size_m`` object at
    ``range_m`` spans ``min_px * px_margin`` pixels of a ``width_px`` wide frame: size /
    range * width / fov >= min_px * margin."""
    return cfg.target_size_m / max(range_m, 1.0) * width_px / (cfg.min_px * cfg.px_margin)


def _centre_out(k: int) -> list[int]:
    out = [0]
    for i in range(1, k + 1):
        out += [i, -i]
    return out


def raster(
    sd_across: float, sd_el: float, hfov: float, vfov: float, cfg: SearchConfig
) -> tuple[tuple[float, float], ...]:
    """The search steps as offsets (across, elevation) in rad from the estimate, covering
    +-``n_sd`` standard deviations with frames ``hfov`` x ``vfov`` stepped by ``step_frac``
    of the field of view. Tilt first, then pan: a column of tilt steps at the estimate's
    azimuth, then the columns either side, each ordered centre-out (the likeliest places
    first; a radar track's height is usually its worst axis). Step 0 is the estimate.

    k steps of s each side cover k s + fov / 2, so k = ceil((n_sd sd - fov / 2) / s),
    at least ``min_side`` in tilt, at most ``max_side``."""
    s_az, s_el = cfg.step_frac * hfov, cfg.step_frac * vfov

    def side(sd: float, fov: float, step: float, lo: int) -> int:
        k = math.ceil((cfg.n_sd * sd - fov / 2) / step) if step > 0 else 0
        return min(cfg.max_side, max(lo, k))

    k_az, k_el = side(sd_across, hfov, s_az, 0), side(sd_el, vfov, s_el, cfg.min_side)
    return tuple((i * s_az, j * s_el) for i in _centre_out(k_az) for j in _centre_out(k_el))
