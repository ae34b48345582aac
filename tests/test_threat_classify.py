"""RF evidence in the classifier: heard scan after scan means an emitting drone; a
coincidental bearing now and then says little; silence is only a mild hint (drones may be
autonomous and silent)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.threat.classify import Classifier, _Evidence


def rf(k: int, n: int) -> tuple[float, float]:
    ev = _Evidence()
    ev.rf_hits, ev.rf_scans = k, n
    ll = Classifier._rf_loglik([ev])[0]
    return float(ll[0]), float(ll[2])  # drone, bird


def test_heard_every_scan_is_strong_drone_evidence() -> None:
    drone, bird = rf(36, 40)
    assert drone - bird > 50


def test_occasional_coincidence_favours_no_emitter() -> None:
    drone, bird = rf(4, 40)
    assert -1.0 < drone - bird < 0.0  # about ln(1 - P_EMITTER): a silent drone is still possible


def test_no_rf_scans_no_evidence() -> None:
    assert rf(0, 0) == (0.0, 0.0)


def test_rcs_evidence_saturates_with_many_plots() -> None:
    """A bird whose mean RCS happens to be drone-sized must not become 'certainly a drone'
    just by being seen often: the sample mean's likelihood tends to the object spread."""
    from skywarden.threat.classify import RCS_MODEL

    ev = _Evidence()
    for n in (10, 1000):
        ev.rcs_n, ev.rcs_sum = n, -21.0 * n
        ll = Classifier._feature_loglik([ev])[0]
        assert 0.0 < ll[0] - ll[2] < 1.5, n  # drone favoured, but only mildly, at any n
    assert RCS_MODEL[0][0] > RCS_MODEL[2][0]


def test_kinematic_history_separates_wandering_from_steady() -> None:
    import math

    from skywarden.threat.kinematics import _kinematic_loglik, kinematic_features

    steady = [(float(t), 10.0, 0.2, 0.0, 60.0) for t in range(16)]

    def flap(t: int) -> float:  # flap-gliding: speed varies by ~15 %
        return 10.0 + 1.5 * math.sin(2.1 * t)

    wander = [
        (float(t), flap(t) * math.cos(0.4 * math.sin(t)), flap(t) * math.sin(0.4 * math.sin(t)),
         0.8 * math.sin(1.3 * t), 60.0 + 2 * math.sin(t))
        for t in range(16)
    ]  # fmt: skip
    hover = [(float(t), 0.3, -0.2, 0.0, 45.0) for t in range(16)]
    assert kinematic_features(steady[:4]) == {}  # too short a window says nothing
    ls, lw, lh = (_kinematic_loglik(kinematic_features(h)) for h in (steady, wander, hover))
    assert ls[0] - ls[2] > 1.0  # steady flight: drone over bird
    assert lw[2] - lw[0] > 0.5  # heading and speed wander: bird over drone
    assert lh[0] - ls[0] > 2.0  # hovering at 45 m: a multirotor


def _reference_features(hist: list[tuple[float, float, float, float, float]]) -> dict[str, float]:
    """The window features by their definition, one window, plain Python."""
    import math

    from skywarden.threat.kinematics import HOVER_MIN_ALT_M, HOVER_MPS, MIN_WINDOW_S, MOVING_MPS

    def sd(xs: list[float]) -> float:
        m = sum(xs) / len(xs)
        return math.sqrt(sum((x - m) ** 2 for x in xs) / len(xs))

    n = len(hist)
    if n < 5 or hist[-1][0] - hist[0][0] < MIN_WINDOW_S:
        return {}
    sp = [math.hypot(h[1], h[2]) for h in hist]
    out = {"speed_sd": sd(sp), "climb_sd": sd([h[3] for h in hist])}
    if min(h[4] for h in hist) >= HOVER_MIN_ALT_M:
        out["hover"] = sum(v < HOVER_MPS for v in sp) / n
    rates = []
    for i in range(1, n):
        if sp[i] > MOVING_MPS and sp[i - 1] > MOVING_MPS:
            d = math.atan2(hist[i][1], hist[i][2]) - math.atan2(hist[i - 1][1], hist[i - 1][2])
            d = (d + math.pi) % (2 * math.pi) - math.pi
            rates.append(d / max(hist[i][0] - hist[i - 1][0], 1e-3))
    if len(rates) >= 4:
        out["turn_sd"] = sd(rates)
    return out


speeds = st.floats(-30.0, 30.0, allow_nan=False)
windows = st.lists(
    st.lists(
        st.tuples(st.floats(0.2, 2.0), speeds, speeds, st.floats(-5.0, 5.0), st.floats(0, 300)),
        max_size=35,
    ),
    min_size=1,
    max_size=6,
)


@given(windows)
@settings(max_examples=200, deadline=None)
def test_batched_window_features_match_their_definition(
    raw: list[list[tuple[float, float, float, float, float]]],
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
    for steps in raw:  # (dt, ve, vn, vu, u) -> (t, ve, vn, vu, u) with increasing t
        t, h = 0.0, []
        for dt, ve, vn, vu, u in steps:
            t += dt
            h.append((t, ve, vn, vu, u))
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
