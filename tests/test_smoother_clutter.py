"""What the live association gave a heard drone that was not its own (issue 21, seed 18).

Two ways a bearing-only stretch was placed kilometres off: a single clutter plot on the
bearing line that fixed the range a lone direction finder leaves open, and the site's own
drone (a known emitter) taking every bearing inside its gate in a report, the intruder's on
nearly the same line included.
"""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking.gating import chi2_gate
from skywarden.tracking.measurement import measure
from skywarden.tracking.smoother import Smoothed, detection_d2, smooth
from skywarden.tracking.smoother_bearings import emitter, explained_bearings, heard, lone_plots

DF = np.zeros(3)
SIG = np.radians(1.0)


def _truth(t: float) -> np.ndarray:
    return np.array([6000.0 - 20.0 * t, 500.0, 80.0, -20.0, 0.0, 0.0])


def _bearing(x: np.ndarray, t: float, rng: np.random.Generator, sensor: str = "df") -> Detection:
    h, _ = measure(MeasurementKind.AZ, x[None], DF)
    z = h[0] + rng.normal(0, SIG, 1)
    return Detection(t, sensor, MeasurementKind.AZ, z, np.eye(1) * SIG**2, DF)


def _heard_then_seen(rng: np.random.Generator) -> tuple[list[Detection], Detection]:
    """One direction finder for 60 s, radar plots after; one clutter plot at t = 20 on the
    bearing line, 4.5 km short of the drone (what the live association took)."""
    dets = [_bearing(_truth(t), float(t), rng) for t in np.arange(0.0, 60.0)]
    for t in np.arange(60.0, 120.0):
        z = _truth(t)[:3] + rng.normal(0, 15.0, 3)
        dets.append(Detection(float(t), "r", MeasurementKind.XYZ, z, np.eye(3) * 225.0))
    p = _truth(20.0)[:3]
    clutter_z = p * 1500.0 / float(np.linalg.norm(p[:2]))
    clutter = Detection(20.0, "r", MeasurementKind.XYZ, clutter_z, np.eye(3) * 225.0)
    return [*dets, clutter], clutter


def test_a_lone_plot_amid_bearings_is_found_and_would_have_fixed_the_range_far_off() -> None:
    rng = np.random.default_rng(3)
    dets, clutter = _heard_then_seen(rng)
    assert lone_plots(dets) == {id(clutter)}  # the radar's own run of plots is not lone
    x0 = np.array([3000.0, 250.0, 60.0, -20.0, 0.0, 0.0])
    P0 = np.diag([2000.0**2, 2000.0**2, 150.0**2, 15.0**2, 15.0**2, 5.0**2])
    with_it = smooth(dets, x0, P0)
    without = smooth([d for d in dets if d is not clutter], x0, P0)

    def err(sm: Smoothed, t: float) -> float:
        x, _ = sm.state_at(t)
        return float(np.linalg.norm(x[:2] - _truth(t)[:2]))

    assert err(with_it, 20.0) > 1000.0  # the plot pulls the bearing-only stretch to it
    assert err(without, 20.0) < 300.0  # the radar's path carried back along the bearings
    assert err(without, 0.0) < 300.0


def test_a_plot_without_bearings_near_is_not_lone() -> None:
    rng = np.random.default_rng(4)
    dets = [
        Detection(
            t, "r", MeasurementKind.XYZ, _truth(t)[:3] + rng.normal(0, 15.0, 3), np.eye(3) * 225.0
        )
        for t in (0.0, 30.0, 60.0)  # a sparse radar track: nothing else places it
    ]
    assert lone_plots(dets) == set()


def test_an_emitter_explains_one_bearing_per_report() -> None:
    """The own drone (Remote ID fixes it, its link heard) and an intruder 2.5 sigma off its
    line in the same reports, inside its gate in most of them: the own drone's bearings are
    its own, the intruder's stay (every one inside the gate went with it before)."""
    rng = np.random.default_rng(5)
    own = np.array([1000.0, 1000.0, 60.0, 0.0, 0.0, 0.0])
    far = own.copy()
    far[:2] = own[:2] * 6.0
    across = np.array([1.0, -1.0]) / np.sqrt(2.0)  # perpendicular to the line of sight
    far[:2] += across * 2.5 * SIG * float(np.linalg.norm(far[:2]))  # 2.5 sigma off
    dets, scans, intruder = [], [], set()
    for t in np.arange(0.0, 30.0):
        z = np.concatenate([own[:3] + rng.normal(0, 3.0, 3), own[3:] + rng.normal(0, 0.5, 3)])
        R = np.diag([9.0] * 3 + [0.25] * 3)
        dets.append(Detection(float(t), "rid", MeasurementKind.POSITION_ID, z, R, np.zeros(3)))
        b_own, b_far = _bearing(own, float(t), rng), _bearing(far, float(t), rng)
        dets.append(b_own)
        scans.append((float(t), [b_far, b_own]))
        intruder.add(id(b_far))
    x0 = own.copy()
    P0 = np.diag([50.0**2, 50.0**2, 50.0**2, 5.0**2, 5.0**2, 2.0**2])
    sm = smooth(dets, x0, P0)
    got = explained_bearings(sm, scans)
    inside = sum(detection_d2(*sm.state_at(t), b) <= chi2_gate(1, 0.999) for t, (b, _) in scans)
    assert inside >= 5, inside  # the old rule took these
    own_got, taken = len(got - intruder), len(got & intruder)
    assert own_got >= 20, own_got  # the own drone's bearings are explained...
    assert taken <= inside // 3, (taken, inside)  # ...the intruder's stay (a few are nearer)


def test_a_silent_track_given_stray_bearings_is_heard_but_claims_none() -> None:
    """Night-launch seed 35: a silent radar-tracked drone lay on the far intruder's bearing
    line from one direction finder for 30 s of its 150, and the live association gave it
    those bearings (0.2 a second of its life: "heard"). As an emitter it claimed them
    (``explained_bearings``) and the intruder's record lost the cross fixes it needed to
    reach back to its take-off. The intruder, heard every second, is an emitter."""
    rng = np.random.default_rng(5)

    def silent(t: float) -> np.ndarray:
        return np.array([1500.0, -750.0 + 10.0 * t, 60.0, 0.0, 10.0, 0.0])

    plots = [
        Detection(
            float(t),
            "r",
            MeasurementKind.XYZ,
            silent(t)[:3] + rng.normal(0, 10.0, 3),
            np.eye(3) * 100.0,
        )
        for t in np.arange(0.0, 150.0)
    ]
    stray = [_bearing(silent(t), float(t) + 0.5, rng) for t in np.arange(120.0, 150.0)]
    x0 = silent(0.0)
    P0 = np.diag([100.0**2, 100.0**2, 100.0**2, 10.0**2, 10.0**2, 5.0**2])
    sm = smooth([*plots, *stray], x0, P0)
    assert sum(not d.kind.fixes_position for d in sm.used) == 30
    assert heard(sm)  # 30 bearings in 150 s: the live rule's "heard"
    scans = [(d.t, [d]) for d in stray]
    assert len(explained_bearings(sm, scans)) >= 25  # what it would have claimed
    assert not emitter(sm)
    # the far intruder, heard every second by the finder, then seen by the radar
    far = [_bearing(_truth(t), float(t), rng) for t in np.arange(0.0, 60.0)]
    far += [
        Detection(
            float(t),
            "r",
            MeasurementKind.XYZ,
            _truth(t)[:3] + rng.normal(0, 15.0, 3),
            np.eye(3) * 225.0,
        )
        for t in np.arange(60.0, 120.0)
    ]
    x1 = np.array([3000.0, 250.0, 60.0, -20.0, 0.0, 0.0])
    P1 = np.diag([2000.0**2, 2000.0**2, 150.0**2, 15.0**2, 15.0**2, 5.0**2])
    assert emitter(smooth(far, x1, P1))
