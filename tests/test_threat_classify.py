"""RF evidence in the classifier: heard scan after scan means an emitting drone; a
coincidental bearing now and then says little; silence is only a mild hint (drones may be
autonomous and silent)."""

from __future__ import annotations

from skywarden.threat.classify import Classifier, _Evidence


def rf(k: int, n: int) -> tuple[float, float]:
    ev = _Evidence()
    ev.rf_hits, ev.rf_scans = k, n
    ll = Classifier._rf_loglik(ev)
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
        ll = Classifier._feature_loglik(ev)
        assert 0.0 < ll[0] - ll[2] < 1.5, n  # drone favoured, but only mildly, at any n
    assert RCS_MODEL[0][0] > RCS_MODEL[2][0]


def test_kinematic_history_separates_wandering_from_steady() -> None:
    import math

    from skywarden.threat.classify import _kinematic_loglik, kinematic_features

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
