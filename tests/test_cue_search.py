"""The cue loop's search (runtime.cue.search): the raster across a track's uncertainty at a
zoom a small drone stays visible at, the state machine pointing -> searching -> locked ->
searching, and the controller finding a drone its track's estimate misses in height."""

from __future__ import annotations

import math
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from skywarden.core.track import TrackState, TrackStatus
from skywarden.runtime.cue.controller import CueController
from skywarden.runtime.cue.search import (
    CueState,
    SearchConfig,
    advance,
    azel_sd,
    detectable_fov,
    raster,
)
from skywarden.runtime.engine.pipeline import Frame
from skywarden.sim.ptz import MIN_PX, SIZE_M, PtzCamera, PtzSpec, direction

CFG = SearchConfig()


def test_azel_sd_is_the_jacobian_projection_of_the_position_covariance() -> None:
    cam = np.array([10.0, -20.0, 5.0])
    x = np.array([-1200.0, 1700.0, 60.0])
    P = np.array([[300.0, 40.0, 10.0], [40.0, 200.0, -20.0], [10.0, -20.0, 500.0]])
    # the same projection by finite differences of (az cos el, el)
    az0, el0, _ = direction(cam, x)
    J = np.zeros((2, 3))
    for i in range(3):
        dx = np.zeros(3)
        dx[i] = 1e-3
        az, el, _ = direction(cam, x + dx)
        daz = (az - az0 + math.pi) % (2 * math.pi) - math.pi
        J[:, i] = [daz * math.cos(el0) / 1e-3, (el - el0) / 1e-3]
    C = J @ P @ J.T
    sd_across, sd_el = azel_sd(cam, x, P)
    assert sd_across == pytest.approx(math.sqrt(C[0, 0]), rel=1e-3)
    assert sd_el == pytest.approx(math.sqrt(C[1, 1]), rel=1e-3)
    # height-only uncertainty is seen in elevation only, sigma_z / range near the horizon
    sd_across, sd_el = azel_sd(cam, x, np.diag([0.0, 0.0, 400.0]))
    rng = float(np.linalg.norm(x - cam))
    assert sd_across == pytest.approx(0.0, abs=1e-9)
    assert sd_el == pytest.approx(20.0 / rng, rel=0.01)


def test_detectable_fov_keeps_a_small_drone_above_the_detector_minimum() -> None:
    fov = detectable_fov(2200.0, 640, CFG)
    pixels = SIZE_M["multirotor"] / 2200.0 * 640 / fov
    assert pixels == pytest.approx(MIN_PX * CFG.px_margin)
    assert math.degrees(fov) < 2.5  # session 11's 3.7 deg frame was too wide at 2.2 km


def test_raster_covers_the_uncertainty_tilt_first_centre_out() -> None:
    hfov = math.radians(2.0)
    vfov = hfov * 512 / 640
    sd_el = math.radians(0.9)  # a radar track's height, 35 m at 2.2 km
    steps = raster(math.radians(0.1), sd_el, hfov, vfov, CFG)
    s_el = 0.8 * vfov
    assert steps[0] == (0.0, 0.0)
    # one column (across the uncertainty fits in the frame), tilt steps centre-out
    assert all(a == 0.0 for a, _ in steps)
    tilts = [e / s_el for _, e in steps]
    assert tilts == pytest.approx([0, 1, -1, 2, -2, 3, -3][: len(tilts)])
    reach = max(abs(e) for _, e in steps) + vfov / 2
    assert reach >= CFG.n_sd * sd_el
    assert reach - s_el < CFG.n_sd * sd_el  # one step fewer would not cover it
    # wide in azimuth too: columns centre-out, each a full tilt column before the next
    steps = raster(math.radians(1.5), sd_el, hfov, vfov, CFG)
    cols = [round(a / (0.8 * hfov)) for a, _ in steps]
    n_col = len(set(cols))
    assert n_col >= 3 and cols == sorted(cols, key=lambda c: (abs(c), -c))
    assert len(steps) == n_col * len(tilts)
    # bounded, and never smaller than one step either side in tilt
    assert len(raster(1.0, 1.0, hfov, vfov, CFG)) == (2 * CFG.max_side + 1) ** 2
    assert [e / s_el for _, e in raster(0.0, 0.0, hfov, vfov, CFG)] == pytest.approx([0, 1, -1])


def test_state_machine_points_searches_locks_and_searches_again_when_lost() -> None:
    c = SearchConfig(wait_s=1.0, dwell_s=1.0, max_cycles=2, lost_s=3.0)
    s = CueState("pointing", 10.0)  # settled on the estimate at t = 10
    assert advance(s, 10.5, False, 3, c) == s  # not yet: the report takes its time
    s = advance(s, 11.0, False, 3, c)
    assert (s.mode, s.step, s.cycle) == ("searching", 1, 0)  # step 0 was the estimate
    assert advance(s, 11.5, False, 3, c) == s  # dwelling
    seq = []
    for t in (12.0, 13.0, 14.0, 15.0, 16.0):
        s = advance(s, t, False, 3, c)
        seq.append((s.mode, s.step, s.cycle))
    assert seq == [
        ("searching", 2, 0),
        ("searching", 0, 1),  # the second cycle looks at the (moved) estimate too
        ("searching", 1, 1),
        ("searching", 2, 1),
        ("pointing", 0, 0),  # given up after max_cycles
    ]
    assert s.exhausted and advance(s, 30.0, False, 3, c) == s  # and stays pointing
    s = advance(s, 31.0, True, 3, c)
    assert (s.mode, s.last_seen) == ("locked", 31.0)
    s = advance(s, 32.0, True, 3, c)
    s = advance(s, 34.5, False, 3, c)
    assert s.mode == "locked"  # 2.5 s without the camera's detection: still locked
    s = advance(s, 35.0, False, 3, c)
    assert (s.mode, s.step, s.cycle, s.exhausted) == ("searching", 1, 0, False)
    s = advance(s, 35.5, True, 3, c)
    assert s.mode == "locked"  # the first detection on the track stops the search


def _track(x: np.ndarray, P: np.ndarray, t: float, sensors: tuple[str, ...]) -> TrackState:
    return TrackState("T1", t, x, P, TrackStatus.CONFIRMED, sensors=sensors, first_t=0.0)


def _controller(search: SearchConfig | None) -> tuple[CueController, PtzCamera, str]:
    from skywarden.core.geo import GeoOrigin
    from skywarden.nodes import sapient_node as sn
    from skywarden.sensors.sapient import SapientSessions, frame, parse_message

    own, nid = "6b1c3f0e-8d2a-4c55-9e0f-2a7b3c4d5e6f", "c0ffee00-1111-4222-8333-000000000000"
    spec = PtzSpec("ptz-1", (0.0, 0.0, 8.0))
    sessions = SapientSessions(GeoOrigin(51.0, 0.0, 0.0), own, {nid: ("ptz-1", np.zeros(3))})
    sessions.handle(parse_message(frame(sn.registration(nid, own, 0.0, "camera", "ptz-1"))[4:], 0))
    cam = PtzCamera(spec)
    return CueController(sessions, own, {nid: cam}, search=search), cam, nid


def _run(search: SearchConfig | None, dz: float, until: float = 30.0) -> dict[str, Any]:
    """A drone at 2.2 km flying in; its track's estimate is ``dz`` m low (sd 20 m in height,
    as the residence's radar track in session 11). The camera "reports" when the drone lies
    in its frame and spans the detector's minimum; the track carries the camera from the
    frame after (the report's way through the tracker), and its estimate is then fused onto
    the drone's height."""
    ctl, cam, nid = _controller(search)
    P = np.diag([64.0, 64.0, 400.0, 4.0, 4.0, 4.0])
    tasks: list[tuple[float, float, float]] = []
    ev = SimpleNamespace(kind="raised", alert=SimpleNamespace(track_id="T1"))
    seen_at: float | None = None
    t = 0.0
    while t <= until:
        truth = np.array([0.0, 2200.0 - 10.0 * t, 50.0])
        fused = seen_at is not None and t > seen_at
        low = np.array([0.0, 0.0, 0.0 if fused else dz])
        x = np.concatenate([truth - low, [0.0, -10.0, 0.0]])
        sensors = ("radar",) + (("ptz-1",) if fused else ())
        fr = Frame(t, (_track(x, P, t, sensors),), (), (ev,) if t == 0.0 else ())  # type: ignore[arg-type]
        for task in ctl.on_frame(fr, t):
            cam.obey(task.message[4:], t)
            tasks.append((t, task.azimuth_rad, task.elevation_rad))
        t += 0.5
        cam.step(t)
        types = np.array(["multirotor"])
        states = np.concatenate([truth, [0.0, -10.0, 0.0]])[None, :]
        if cam.observe(states, ("H0",), types, t, np.random.default_rng(0)):
            ctl.note_report(nid, t)
            seen_at = t if seen_at is None else seen_at
    return {"seen_at": seen_at, "tasks": tasks, "state": ctl.assigned["T1"].state}


def test_search_finds_a_drone_its_track_misses_in_height() -> None:
    # 45 m low at 2.2 km is 1.2 deg: outside a tele frame (1.6 deg tall) on the estimate
    out = _run(None, 45.0)
    assert out["seen_at"] is None  # pointing at the estimate alone never sees it
    out = _run(CFG, 45.0)
    assert out["seen_at"] is not None and out["seen_at"] <= 6.0
    assert out["state"].mode == "locked"  # and stays so: the camera keeps seeing it
    assert all(e < math.radians(1.6) for t, _, e in out["tasks"] if t > out["seen_at"])
    els = [e for _, _, e in out["tasks"]]
    assert max(els) - els[0] > math.radians(1.0)  # it stepped the frame up in tilt
    azs = [a for _, a, _ in out["tasks"]]
    assert max(azs) - min(azs) < math.radians(0.5)  # tilt first: no pan step needed


def test_search_gives_up_when_nothing_is_there() -> None:
    out = _run(CFG, 400.0, until=40.0)  # 10 deg off: no frame of the raster holds it
    assert out["seen_at"] is None
    assert out["state"].mode == "pointing" and out["state"].exhausted
    # bounded: the tasks of the search stop; pointing re-tasks every refresh_s only
    late = [t for t, _, _ in out["tasks"] if t > 30.0]
    assert len(late) <= 6
