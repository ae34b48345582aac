"""RF evidence in the classifier: heard scan after scan means an emitting drone; a
coincidental bearing now and then says little; silence is only a mild hint (drones may be
autonomous and silent)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.core.track import TrackState
from skywarden.threat.classify import Classifier
from skywarden.threat.evidence import TrackEvidence


def rf(k: int, n: int) -> tuple[float, float]:
    ev = TrackEvidence()
    ev.rf_hits, ev.rf_scans = k, n
    ll = Classifier._rf_loglik([ev])[0]
    return float(ll[0]), float(ll[2])  # drone, bird


def test_heard_every_scan_is_strong_drone_evidence() -> None:
    drone, bird = rf(36, 40)
    assert drone - bird > 15  # beta-binomial: strong, but no longer unbounded in n


def test_occasional_coincidence_favours_no_emitter() -> None:
    drone, bird = rf(4, 40)
    assert -1.0 < drone - bird < 0.0  # about ln(1 - P_EMITTER): a silent drone is still possible


def test_middling_hit_rate_is_no_strong_evidence() -> None:
    """A bird flying along an emitting drone's bearing line is 'heard' in long runs of scans:
    44 % of 127 is neither an emitter's rate nor a coincidence's, and must not read as a
    certain emitter (the fixed-rate binomials gave +8.7 nats; harder night_launch s1)."""
    drone, bird = rf(56, 127)
    assert abs(drone - bird) < 1.0
    drone, bird = rf(80, 100)  # a real emitter's rate still is strong evidence
    assert drone - bird > 10


def test_no_rf_scans_no_evidence() -> None:
    assert rf(0, 0) == (0.0, 0.0)


def test_rcs_evidence_saturates_with_many_plots() -> None:
    """A bird whose mean RCS happens to be drone-sized must not become 'certainly a drone'
    just by being seen often: the sample mean's likelihood tends to the object spread."""
    from skywarden.threat.classify import RCS_MODEL

    ev = TrackEvidence()
    for n in (10, 1000):
        ev.rcs_n, ev.rcs_sum = n, -21.0 * n
        ll = Classifier._feature_loglik([ev])[0]
        assert 0.0 < ll[0] - ll[2] < 1.5, n  # drone favoured, but only mildly, at any n
    assert RCS_MODEL[0][0] > RCS_MODEL[2][0]


def test_kinematic_history_separates_wandering_from_steady() -> None:
    import math

    from skywarden.threat.kinematics import _kinematic_loglik, kinematic_features

    steady = [(float(t), 10.0, 0.2, 0.0, 60.0, 0.5) for t in range(16)]

    def flap(t: int) -> float:  # flap-gliding: speed varies by ~15 %
        return 10.0 + 1.5 * math.sin(2.1 * t)

    wander = [
        (float(t), flap(t) * math.cos(0.4 * math.sin(t)), flap(t) * math.sin(0.4 * math.sin(t)),
         0.8 * math.sin(1.3 * t), 60.0 + 2 * math.sin(t), 0.5)
        for t in range(16)
    ]  # fmt: skip
    hover = [(float(t), 0.3, -0.2, 0.0, 45.0, 0.5) for t in range(16)]
    assert kinematic_features(steady[:4]) == {}  # too short a window says nothing
    ls, lw, lh = (_kinematic_loglik(kinematic_features(h)) for h in (steady, wander, hover))
    assert ls[0] - ls[2] > 1.0  # steady flight: drone over bird
    assert lw[2] - lw[0] > 0.5  # heading and speed wander: bird over drone
    assert lh[0] - ls[0] > 2.0  # hovering at 45 m: a multirotor


def _reference_features(
    hist: list[tuple[float, float, float, float, float, float]],
) -> dict[str, float]:
    """The window features by their definition, one window, plain Python."""
    import math

    from skywarden.threat.kinematics import (
        HOVER_MIN_ALT_M,
        HOVER_MPS,
        MIN_WINDOW_S,
        MOVING_MPS,
        MOVING_SD_K,
    )

    def sd(xs: list[float]) -> float:
        m = sum(xs) / len(xs)
        return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

    n = len(hist)
    if n < 5 or hist[-1][0] - hist[0][0] < MIN_WINDOW_S:
        return {}
    sp = [math.hypot(h[1], h[2]) for h in hist]
    out = {"speed_sd": sd(sp), "climb_sd": sd([h[3] for h in hist])}
    if min(h[4] for h in hist) >= HOVER_MIN_ALT_M:
        still = [v < HOVER_MPS and h[5] < HOVER_MPS for v, h in zip(sp, hist, strict=True)]
        out["hover"] = sum(still) / n
    rates = []
    moving = [v - MOVING_SD_K * h[5] > MOVING_MPS for v, h in zip(sp, hist, strict=True)]
    for i in range(1, n):
        if moving[i] and moving[i - 1]:
            d = math.atan2(hist[i][1], hist[i][2]) - math.atan2(hist[i - 1][1], hist[i - 1][2])
            d = (d + math.pi) % (2 * math.pi) - math.pi
            rates.append(d / max(hist[i][0] - hist[i - 1][0], 1e-3))
    if len(rates) >= 4:
        out["turn_sd"] = sd(rates)
    return out


speeds = st.floats(-30.0, 30.0, allow_nan=False)
windows = st.lists(
    st.lists(
        st.tuples(
            st.floats(0.2, 2.0),
            speeds,
            speeds,
            st.floats(-5.0, 5.0),
            st.floats(0, 300),
            st.floats(0.0, 3.0),
        ),
        max_size=35,
    ),
    min_size=1,
    max_size=6,
)


@given(windows)
@settings(max_examples=200, deadline=None)
def test_batched_window_features_match_their_definition(
    raw: list[list[tuple[float, float, float, float, float, float]]],
) -> None:
    """All tracks' windows at once (padded arrays) give each window's own features."""
    import math

    from skywarden.threat.kinematics import (
        FEATURES,
        _kinematic_loglik,
        kinematic_features_batch,
        kinematic_loglik_batch,
    )

    hists = []
    for steps in raw:  # (dt, ve, vn, vu, u, sv) -> (t, ve, vn, vu, u, sv), increasing t
        t, h = 0.0, []
        for dt, ve, vn, vu, u, sv in steps:
            t += dt
            h.append((t, ve, vn, vu, u, sv))
        hists.append(h)
    feats = kinematic_features_batch(hists)
    ll = kinematic_loglik_batch(feats)
    for i, h in enumerate(hists):
        ref = _reference_features(h)
        got = {k: v for k, v in zip(FEATURES, feats[i].tolist(), strict=True) if not math.isnan(v)}
        assert got.keys() == ref.keys()
        for k in ref:
            assert math.isclose(got[k], ref[k], rel_tol=1e-9, abs_tol=1e-9), k
        assert ll[i].tolist() == _kinematic_loglik(got)  # one at a time = all at once


def test_unknown_velocity_is_no_hover() -> None:
    """A young radar track knows its radial speed (Doppler) but guesses 0 across the beam: an
    object flying across the line of sight reads as nearly still while the velocity's
    standard deviation is metres per second. That is no evidence of a hover; the same window
    with a known velocity is."""
    from skywarden.threat.kinematics import HOVER_MPS, kinematic_features

    known = [(float(t), 0.3, -0.2, 0.0, 45.0, 0.5) for t in range(16)]
    unknown = [(float(t), 0.3, -0.2, 0.0, 45.0, 6.0) for t in range(16)]
    border = [(float(t), 0.3, -0.2, 0.0, 45.0, HOVER_MPS) for t in range(16)]
    assert kinematic_features(known)["hover"] == 1.0
    assert kinematic_features(unknown)["hover"] == 0.0
    assert kinematic_features(border)["hover"] == 0.0  # known to better than HOVER_MPS only


def test_velocity_sd_is_the_worst_horizontal_direction() -> None:
    """Doppler fixes the radial speed, the cross-range one is unknown: the largest sd counts."""
    import math

    import numpy as np

    from skywarden.threat.kinematics import velocity_sd

    u = np.array([math.sin(0.7), math.cos(0.7)])  # line of sight, azimuth 0.7 rad
    c = np.array([u[1], -u[0]])  # across it
    P = np.eye(6)
    P[3:5, 3:5] = 0.2**2 * np.outer(u, u) + 9.0**2 * np.outer(c, c)
    assert math.isclose(velocity_sd(P), 9.0, rel_tol=1e-9)
    P[3:5, 3:5] = np.diag([0.25, 0.25])
    assert math.isclose(velocity_sd(P), 0.5, rel_tol=1e-9)


def _state(t: float, v: tuple[float, float], sv: float) -> TrackState:
    import numpy as np

    from skywarden.core.track import TrackStatus

    P = np.eye(6)
    P[3, 3] = P[4, 4] = sv * sv
    x = np.array([0.0, 0.0, 60.0, v[0], v[1], 0.0])
    return TrackState("1", t, x, P, TrackStatus.CONFIRMED)


def test_speed_average_weighs_frames_by_how_well_the_speed_is_known() -> None:
    """A drone crossing the beam at 29 m/s: the first frames know only the radial 21.6 m/s
    (cross-range sd 9.7 m/s falling as the track learns), then the speed settles. Weighed
    alike (the old average) the Doppler-only frames held the average below 25 m/s for
    tens of seconds; by inverse variance the learnt speed takes over in a few frames. A track
    whose frames are all known alike keeps the plain forgetting average."""
    from typing import Any

    c: Any = Classifier.__new__(Classifier)
    c.forget = 0.9
    young = [(21.6, 9.7), (21.7, 8.7), (23.4, 7.4), (23.7, 6.0), (24.0, 5.0), (24.8, 3.7)]
    settled = [(29.2, 1.2)] * 6
    ev = TrackEvidence()
    plain = None
    for t, (spd, sv) in enumerate(young + settled):
        c._observe_state(ev, _state(float(t), (spd, 0.0), sv))
        plain = spd if plain is None else 0.9 * plain + 0.1 * spd
    assert ev.speed_avg is not None and plain is not None
    assert ev.speed_avg > 28.5  # the settled speed (29.2), not the Doppler guess
    assert plain < 26.0  # weighed alike: still 3.6 m/s short
    steady = TrackEvidence()
    plain = None
    for t, spd in enumerate([10.0, 12.0, 11.0, 9.0, 13.0]):
        c._observe_state(steady, _state(float(t), (spd, 0.0), 1.0))
        plain = spd if plain is None else 0.9 * plain + 0.1 * spd
    assert steady.speed_avg is not None and plain is not None
    assert abs(steady.speed_avg - plain) < 1e-9


def test_headings_of_a_velocity_not_known_to_move_are_no_turning() -> None:
    """Issue 19 (a), session 16: a multirotor stopped for its vertical launch climb at 2.6 km
    has a speed estimate of a few m/s whose sd (``sv``) is 5 m/s; the estimate's heading
    swings with the filter's noise. Those headings are no turn rate (no evidence either
    way); the same velocities known to 0.5 m/s are, and so is a cruise at 22 m/s with the
    same sd (22 - 2 x 5 clears the gate)."""
    import math

    from skywarden.threat.kinematics import kinematic_features

    def window(speed: float, sv: float) -> list[tuple[float, float, float, float, float, float]]:
        # the heading swings by 0.6 rad back and forth: 0.3-0.6 rad/s of "turn rate"
        out = []
        for t in range(16):
            a = 0.6 * (-1.0) ** t + 0.05 * t
            out.append((float(t), speed * math.sin(a), speed * math.cos(a), 0.0, 100.0, sv))
        return out

    assert "turn_sd" not in kinematic_features(window(3.5, 5.0))  # not known to move
    assert kinematic_features(window(3.5, 0.5))["turn_sd"] > 0.3  # known: a real weave
    assert kinematic_features(window(22.0, 5.0))["turn_sd"] > 0.3  # fast enough to read
