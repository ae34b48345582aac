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
