"""The hypothesiser role: gated candidate pairs, their likelihood ratios, identity binding."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.counters import Counters
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.bank import CONFIRMED, NewTracks, TrackBank
from skywarden.tracking.cooperative import Identities
from skywarden.tracking.gating import chi2_gate
from skywarden.tracking.hypothesiser import GatingHypothesiser, Hypothesiser
from skywarden.tracking.report import Look, det_positions, validate
from skywarden.tracking.sensor_model import sensor_model
from support.plots import PLOTS

SM = sensor_model(PLOTS)


def xy(x: float, y: float, identity: str | None = None) -> Detection:
    return Detection(
        1.0, "p", MeasurementKind.XY, np.array([x, y]), PLOTS.R(), np.zeros(3), identity
    )


def look(dets: list[Detection]) -> Look:
    d, Z, R, SP, coop = validate(dets, SM, None, Counters())
    loglam = np.full(len(d), SM.log_lambda)
    pos = det_positions(SM, Z, SP)
    return Look(1.0, SM, d, Z, R, SP, coop, loglam, pos, True, True, np.zeros(0, dtype=np.int64))


def bank_with(*positions: tuple[float, float], sd: float = 10.0) -> TrackBank:
    bank = TrackBank(2, np.array([0.8, 0.2]))
    k = len(positions)
    x = np.zeros((k, 6))
    x[:, :2] = positions
    P = np.tile(np.diag([sd**2, sd**2, 100.0, 25.0, 25.0, 9.0]), (k, 1, 1))
    bank.add(NewTracks(x, P, np.ones(k), np.zeros(k), [None] * k, ["p"] * k))
    return bank


def test_gate_keeps_near_pairs_and_scores_them_against_clutter() -> None:
    bank = bank_with((0.0, 0.0), (1000.0, 0.0))
    hyp: Hypothesiser = GatingHypothesiser({"p": SM}, Identities(), 0.9995, 0.02)
    h = hyp.hypothesise(bank, look([xy(3.0, -4.0), xy(500.0, 500.0), xy(1002.0, 1.0)]))
    pairs = sorted(zip(h.ti.tolist(), h.dj.tolist(), strict=True))
    assert pairs == [(0, 0), (1, 2)]  # the far plot gates with nothing
    # ln LR = ln Pd + ln N(y; 0, S) - ln lambda, with S = P_pos + R (the prior is one mode)
    S = np.diag([100.0 + 25.0, 100.0 + 25.0])
    y = np.array([3.0, -4.0])
    ln_n = -0.5 * (y @ np.linalg.solve(S, y) + math.log(np.linalg.det(2 * math.pi * S)))
    k = int(np.flatnonzero(h.dj == 0)[0])
    assert h.llr[k] == pytest.approx(math.log(0.9) + ln_n - SM.log_lambda, rel=1e-9)
    assert h.miss[k] == pytest.approx(math.log(0.1))
    assert (h.cost == -(h.llr - h.miss)).all()
    assert h.ambiguity.tolist() == [1, 0, 1]
    assert not h.blocked.any()  # tentative tracks do not block initiation
    bank.status[0] = CONFIRMED
    h = hyp.hypothesise(bank, look([xy(3.0, -4.0), xy(500.0, 500.0), xy(1002.0, 1.0)]))
    assert h.blocked.tolist() == [True, False, False]


def test_gate_is_the_chi_square_quantile() -> None:
    bank = bank_with((0.0, 0.0), sd=10.0)
    hyp = GatingHypothesiser({"p": SM}, Identities(), 0.99, 0.02)
    r = math.sqrt(chi2_gate(2, 0.99) * 125.0)  # d^2 = r^2 / (P + R) along one axis
    inside = hyp.hypothesise(bank, look([xy(r * 0.99, 0.0)]))
    outside = hyp.hypothesise(bank, look([xy(r * 1.01, 0.0)]))
    assert inside.ti.shape[0] == 1 and outside.ti.shape[0] == 0


def test_identity_binds_a_report_to_its_track_outside_the_gate() -> None:
    bank = bank_with((0.0, 0.0))
    bank.identity[0] = "rid-1"
    hyp = GatingHypothesiser({"p": SM}, Identities(), 0.9995, 0.02)
    h = hyp.hypothesise(bank, look([xy(4000.0, 0.0, "rid-1"), xy(4000.0, 10.0, "rid-2")]))
    assert h.forced == {0: 0}
    assert h.ti.shape[0] == 0  # far outside the gate: bound by name only


def test_drone_prior_lowers_a_drone_only_sensors_ratio() -> None:
    rf = SensorSpec("rf", SensorKind.RF, MeasurementKind.AZ, np.zeros(3), {"az_rad": 0.02})
    sm = sensor_model(rf)
    bank = bank_with((0.0, 1000.0))  # due north
    bank.status[0] = CONFIRMED  # bearings update established tracks
    hyp = GatingHypothesiser({"rf": sm}, Identities(), 0.9995, 0.02)
    d = Detection(1.0, "rf", MeasurementKind.AZ, np.array([0.0]), rf.R(), np.zeros(3))
    dets, Z, R, SP, coop = validate([d], sm, None, Counters())
    lk = Look(1.0, sm, dets, Z, R, SP, coop, np.full(1, sm.log_lambda), Z[:, :0], True, True,
              np.zeros(0, dtype=np.int64))  # fmt: skip
    plain = hyp.hypothesise(bank, lk)
    hyp.drone_prior = {int(bank.uid[0]): 0.1}
    bird = hyp.hypothesise(bank, lk)
    assert bird.llr[0] == pytest.approx(plain.llr[0] + math.log(0.1))
    assert bird.miss[0] > plain.miss[0]  # missing a likely bird costs the sensor less


def test_a_plot_only_the_manoeuvre_mode_expects_is_gated_with_the_mixture_likelihood() -> None:
    """A drone braking out of cruise: the quiet mode (mu 0.99) rules the combined estimate,
    whose gate the plot misses; the manoeuvre mode's gate holds it, and the pair is scored
    with the IMM's likelihood sum_m mu_m N(y; 0, S_m), so the track keeps its drone."""
    bank = bank_with((0.0, 0.0))
    bank.mu[0] = [0.99, 0.01]
    bank.P[0, 1, :2, :2] = np.diag([60.0**2, 60.0**2])  # the manoeuvre mode's wider spread
    z = xy(100.0, 0.0)
    Pc = 0.99 * 100.0 + 0.01 * 3600.0  # the combined position variance along x
    assert 100.0**2 / (Pc + 25.0) > chi2_gate(2, 0.9995)  # outside the combined gate
    hyp = GatingHypothesiser({"p": SM}, Identities(), 0.9995, 0.02)
    h = hyp.hypothesise(bank, look([z]))
    assert h.ti.tolist() == [0] and h.dj.tolist() == [0]

    def ln_n(var: float) -> float:  # ln N(y; 0, S), S = diag(var, var), y = (100, 0)
        return -0.5 * (100.0**2 / var + math.log((2 * math.pi * var) ** 2))

    mix = math.log(0.99 * math.exp(ln_n(125.0)) + 0.01 * math.exp(ln_n(3625.0)))
    assert h.llr[0] == pytest.approx(math.log(0.9) + mix - SM.log_lambda, rel=1e-9)
    # a plot no mode expects stays out
    assert hyp.hypothesise(bank, look([xy(400.0, 0.0)])).ti.shape[0] == 0
