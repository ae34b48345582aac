"""The updater role: IMM prediction and the batched EKF / PDA updates against textbook forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.counters import Counters
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.bank import NewTracks, TrackBank
from skywarden.tracking.motion import ConstantVelocity
from skywarden.tracking.report import Look, det_positions, validate
from skywarden.tracking.sensor_model import sensor_model
from skywarden.tracking.updater import IMMUpdater, Updater

PLOTS = SensorSpec(
    "p", SensorKind.PLOTS, MeasurementKind.XY, np.zeros(3), {"x_m": 5.0, "y_m": 5.0}, pd=0.9
)
SM = sensor_model(PLOTS)
CV = ConstantVelocity(q_h=0.1, q_v=0.1, name="cv")


def one_mode_bank(x0: np.ndarray, P0: np.ndarray) -> TrackBank:
    bank = TrackBank(1, np.ones(1))
    k = x0.shape[0]
    bank.add(NewTracks(x0, P0, np.zeros(k), np.zeros(k), [None] * k, ["p"] * k))
    return bank


def look(points: list[tuple[float, float]], t: float = 1.0) -> Look:
    dets = [
        Detection(t, "p", MeasurementKind.XY, np.array(p), PLOTS.R(), np.zeros(3)) for p in points
    ]
    d, Z, R, SP, coop = validate(dets, SM, None, Counters())
    return Look(t, SM, d, Z, R, SP, coop, np.full(len(d), SM.log_lambda), det_positions(SM, Z, SP),
                True, True, np.zeros(0, dtype=np.int64))  # fmt: skip


def test_predict_moves_by_velocity_and_grows_the_covariance_by_q() -> None:
    x0 = np.array([[0.0, 0.0, 50.0, 10.0, -5.0, 0.0]])
    P0 = np.eye(6)[None] * 4.0
    bank = one_mode_bank(x0, P0)
    upd: Updater = IMMUpdater((CV,), 0.995)
    upd.predict(bank, 2.0)
    F = CV.F(np.array([2.0]))[0]
    Q = CV.Q(np.array([2.0]))[0]
    assert bank.x[0, 0] == pytest.approx(F @ x0[0])  # x = F x
    assert bank.P[0, 0] == pytest.approx(F @ P0[0] @ F.T + Q)  # P = F P F' + Q
    assert bank.t[0] == 2.0


def test_update_is_the_kalman_filter_and_returns_ln_n() -> None:
    rng = np.random.default_rng(3)
    A = rng.normal(size=(2, 6, 6))
    P0 = A @ A.transpose(0, 2, 1) + np.eye(6)[None] * 10.0
    x0 = rng.normal(size=(2, 6)) * 20.0
    bank = one_mode_bank(x0, P0)
    lk = look([(5.0, -3.0), (40.0, 12.0)])
    ll = IMMUpdater((CV,), 0.995).update(bank, np.array([1, 0]), np.array([0, 1]), lk)
    H = np.zeros((2, 6))
    H[0, 0] = H[1, 1] = 1.0
    R = PLOTS.R()[:2, :2]
    for row, j in ((1, 0), (0, 1)):
        y = lk.Z[j] - H @ x0[row]  # y = z - H x
        S = H @ P0[row] @ H.T + R  # S = H P H' + R
        K = P0[row] @ H.T @ np.linalg.inv(S)  # K = P H' S^-1
        IKH = np.eye(6) - K @ H
        P = IKH @ P0[row] @ IKH.T + K @ R @ K.T  # Joseph form
        assert bank.x[row, 0] == pytest.approx(x0[row] + K @ y, rel=1e-9, abs=1e-9)
        assert bank.P[row, 0] == pytest.approx(P, rel=1e-9, abs=1e-9)
        lnN = -0.5 * (y @ np.linalg.solve(S, y) + math.log(np.linalg.det(2 * math.pi * S)))
        assert ll[0 if row == 1 else 1] == pytest.approx(lnN, rel=1e-9)


def test_pda_update_with_a_certain_detection_is_the_hard_update() -> None:
    x0 = np.array([[0.0, 0.0, 50.0, 10.0, -5.0, 0.0]])
    P0 = np.eye(6)[None] * 100.0
    hard, soft = one_mode_bank(x0, P0), one_mode_bank(x0, P0)
    lk = look([(6.0, -4.0)])
    upd = IMMUpdater((CV,), 0.995)
    upd.update(hard, np.array([0]), np.array([0]), lk)
    rows, _ = upd.pda_update(
        soft, np.array([0]), np.array([0]), np.ones(1), np.zeros(1), lk, 0.9995
    )
    assert rows.tolist() == [0]
    assert soft.x[0] == pytest.approx(hard.x[0])
    assert soft.P[0] == pytest.approx(hard.P[0])


def test_pda_update_spreads_the_covariance_between_hypotheses() -> None:
    """Two equally likely detections either side of the track: the mean stays between them and
    the covariance grows by the spread of the innovations (PDAF's extra term)."""
    x0 = np.array([[0.0, 0.0, 50.0, 0.0, 0.0, 0.0]])
    P0 = np.eye(6)[None] * 100.0
    bank = one_mode_bank(x0, P0)
    lk = look([(-10.0, 0.0), (10.0, 0.0)])
    ti, dj = np.array([0, 0]), np.array([0, 1])
    IMMUpdater((CV,), 0.995).pda_update(bank, ti, dj, np.full(2, 0.5), np.zeros(1), lk, 0.9995)
    one = one_mode_bank(x0, P0)
    IMMUpdater((CV,), 0.995).update(one, np.array([0]), np.array([1]), lk)
    assert bank.x[0, 0, 0] == pytest.approx(0.0, abs=1e-9)
    assert bank.P[0, 0, 0, 0] > one.P[0, 0, 0, 0] + 0.5 * one.x[0, 0, 0] ** 2
