"""Kalman, IMM and measurement models against hand computation and textbook values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skywarden.core.observation import MeasurementKind
from skywarden.tracking import imm, kalman
from skywarden.tracking.measurement import innovation, measure, predict_measurement
from skywarden.tracking.motion import ConstantVelocity, CoordinatedTurn, NearHover, cwna_Q


def test_scalar_update_matches_hand_computation() -> None:
    # 6-D state but only x observed: gain K = P/(P+R) on the x component
    x = np.zeros((1, 6))
    P = np.eye(6)[None] * 4.0
    H = np.zeros((1, 1, 6))
    H[0, 0, 0] = 1.0
    R = np.array([[1.0]])
    y = np.array([[5.0]])
    x2, P2 = kalman.update(x, P, y, H, R)
    assert x2[0, 0] == pytest.approx(4.0)  # 4/(4+1) * 5
    assert P2[0, 0, 0] == pytest.approx(0.8)  # (1 - 0.8) * 4
    assert P2[0, 1, 1] == pytest.approx(4.0)  # unobserved: unchanged


def test_cv_predict_textbook() -> None:
    m = ConstantVelocity(q_h=2.0, q_v=2.0)
    x = np.array([[0, 0, 0, 1.0, 2.0, 3.0]])
    P = np.zeros((1, 6, 6))
    dt = np.array([2.0])
    x2, P2 = kalman.predict(x, P, m.F(dt), m.Q(dt))
    assert x2[0, :3].tolist() == [2.0, 4.0, 6.0]
    # Bar-Shalom 6.2.2-12: q dt^3/3, q dt^2/2, q dt
    assert P2[0, 0, 0] == pytest.approx(2.0 * 8 / 3)
    assert P2[0, 0, 3] == pytest.approx(2.0 * 4 / 2)
    assert P2[0, 3, 3] == pytest.approx(2.0 * 2)


def test_ct_turns_velocity_and_hover_decays() -> None:
    ct = CoordinatedTurn(omega=math.pi / 2)  # quarter turn per second
    x = np.array([[0, 0, 0, 10.0, 0, 0]])
    x2 = np.einsum("nij,nj->ni", ct.F(np.array([1.0])), x)
    assert x2[0, 3:5] == pytest.approx([0.0, 10.0], abs=1e-9)
    assert x2[0, :2] == pytest.approx([20 / math.pi, 20 / math.pi])  # quarter circle, r=20/pi
    hv = NearHover(tau=2.0)
    x3 = np.einsum("nij,nj->ni", hv.F(np.array([2.0])), x)
    assert x3[0, 3] == pytest.approx(10 * math.exp(-1))


@pytest.mark.parametrize(
    "kind",
    [MeasurementKind.RANGE_AZ_EL_RADIAL, MeasurementKind.AZ, MeasurementKind.AZ_EL],
)
def test_angular_jacobians_match_finite_differences(kind: MeasurementKind) -> None:
    X = np.array([[300.0, 1200.0, 150.0, -4.0, 7.0, 1.0], [-900.0, 40.0, 60.0, 3.0, 0.5, -2.0]])
    s = np.array([10.0, -20.0, 8.0])
    h, H = measure(kind, X, s)
    assert h.shape == (2, kind.dim) and H.shape == (2, kind.dim, 6)
    eps = 1e-4
    for i in range(X.shape[0]):
        num = np.zeros((kind.dim, 6))
        for k in range(6):
            d = np.zeros(6)
            d[k] = eps
            hp, _ = measure(kind, X[i : i + 1] + d, s)
            hm, _ = measure(kind, X[i : i + 1] - d, s)
            num[:, k] = (hp[0] - hm[0]) / (2 * eps)
        assert H[i] == pytest.approx(num, abs=1e-6)
    if kind is MeasurementKind.RANGE_AZ_EL_RADIAL:
        assert h[0, 0] == pytest.approx(np.linalg.norm(X[0, :3] - s))
    az = math.atan2(X[1, 0] - s[0], X[1, 1] - s[1]) % (2 * math.pi)
    assert h[1, 1 if kind is MeasurementKind.RANGE_AZ_EL_RADIAL else 0] == pytest.approx(az)


def test_innovation_wraps_azimuth() -> None:
    y = innovation(MeasurementKind.AZ, np.array([[0.01]]), np.array([[2 * math.pi - 0.01]]))
    assert y[0, 0] == pytest.approx(0.02)


def test_imm_switches_to_manoeuvre_mode_on_a_turn() -> None:
    models = (ConstantVelocity(0.01, 0.01), ConstantVelocity(20.0, 1.0))
    x = np.zeros((1, 2, 6))
    x[0, :, 3] = 10.0
    P = np.broadcast_to(np.eye(6), (1, 2, 6, 6)).copy()
    mu = np.array([[0.5, 0.5]])
    H = np.zeros((1, 2, 6))
    H[0, 0, 0] = H[0, 1, 1] = 1.0
    R = np.eye(2)
    pos = np.zeros(2)
    vel = np.array([10.0, 0.0])
    for k in range(40):
        if k == 20:
            vel = np.array([0.0, 10.0])  # sharp 90 degree turn
        pos = pos + vel
        x, P, mu_pred = imm.predict(x, P, mu, np.array([1.0]), models, 0.95)
        lls = []
        for j in range(2):
            y = pos[None] - x[:, j, :2]
            S = kalman.innovation_cov(P[:, j], H, R)
            lls.append(kalman.log_likelihood(kalman.mahalanobis2(y, S), S))
            x[:, j], P[:, j] = kalman.update(x[:, j], P[:, j], y, H, R, S)
        mu = imm.update_mode_probs(mu_pred, np.stack(lls, axis=1))
        if k == 19:
            assert mu[0, 0] > 0.8  # straight flight: the quiet model wins
        if k == 21:
            assert mu[0, 1] > 0.8  # just after the turn: the manoeuvre model takes over


spd = st.floats(min_value=0.1, max_value=1e4)


@settings(max_examples=200, deadline=None)
@given(
    p=spd, r=spd, dt=st.floats(0.01, 30.0), q=st.floats(0.0, 50.0), ang=st.floats(-math.pi, math.pi)
)
def test_covariances_stay_symmetric_positive_definite(
    p: float, r: float, dt: float, q: float, ang: float
) -> None:
    X = np.array([[1000 * math.sin(ang), 1000 * math.cos(ang), 100.0, 5.0, -3.0, 0.5]])
    P = np.eye(6)[None] * p
    m = ConstantVelocity(q, q)
    X, P = kalman.predict(X, P, m.F(np.array([dt])), m.Q(np.array([dt])))
    h, H = measure(MeasurementKind.RANGE_AZ_EL_RADIAL, X, np.zeros(3))
    R = np.diag([r, 1e-4, 1e-4, 0.25])
    z = h + 0.1
    y = innovation(MeasurementKind.RANGE_AZ_EL_RADIAL, z, h)
    X, P = kalman.update(X, P, y, H, R)
    assert np.allclose(P, np.swapaxes(P, 1, 2))
    assert np.linalg.eigvalsh(P[0]).min() > 0


@settings(max_examples=100, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from([MeasurementKind.XY, MeasurementKind.XYZ, MeasurementKind.POSITION_ID]),
    n=st.integers(1, 12),
)
def test_selection_H_gives_the_matrix_form_bit_for_bit(
    seed: int, kind: MeasurementKind, n: int
) -> None:
    """A linear measurement's H given as its size (slices) yields exactly what the matrix of
    ones and zeros yields: S, the updated state and covariance, to the last bit."""
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(n, 6, 6)) * rng.uniform(0.1, 100.0, size=(n, 1, 1))
    P = A @ np.swapaxes(A, 1, 2) + np.eye(6)
    X = rng.normal(size=(n, 6)) * 500.0
    h, H = measure(kind, X, np.zeros(3))
    h_sel, m = predict_measurement(kind, X, np.zeros(3))
    assert m == kind.dim and np.array_equal(h, h_sel)
    R = np.diag(rng.uniform(0.5, 50.0, size=kind.dim))
    y = innovation(kind, h + rng.normal(size=h.shape) * 10.0, h)
    S = kalman.innovation_cov(P, H, R)
    assert np.array_equal(S, kalman.innovation_cov(P, m, R))
    S_inv, _ = kalman.inv_logdet(S)
    x1, P1 = kalman.update(X, P, y, H, R, S_inv=S_inv)
    x2, P2 = kalman.update(X, P, y, m, R, S_inv=S_inv)
    assert np.array_equal(x1, x2) and np.array_equal(P1, P2)


def test_cwna_doctest_values() -> None:
    Q = cwna_Q(np.array([1.0]), 3.0)
    assert Q[0, 0, 0] == 1.0 and Q[0, 0, 3] == 1.5 and Q[0, 3, 3] == 3.0


def test_transition_matrix_per_mode_sojourn() -> None:
    """Rows are distributions; each mode keeps exp(-dt/tau_i); a quiet mode that lasts longer
    than the manoeuvre mode gives the manoeuvre mode a small stationary weight."""
    dt = np.array([1.0, 4.0])
    Pi = imm.transition_matrix(2, (0.998, 0.9), dt)
    assert Pi.shape == (2, 2, 2)
    assert np.allclose(Pi.sum(axis=2), 1.0)
    assert Pi[0, 0, 0] == pytest.approx(math.exp(-1.0 * 0.002 / 1.0))
    assert Pi[1, 1, 1] == pytest.approx(math.exp(-4.0 * 0.1))
    w, v = np.linalg.eig(Pi[0].T)
    stationary = np.real(v[:, np.argmax(np.real(w))])
    stationary /= stationary.sum()
    assert stationary[1] < 0.05
    sym = imm.transition_matrix(3, 0.99, dt)
    assert np.allclose(sym.sum(axis=2), 1.0)
    assert np.allclose(sym[:, 0, 1], sym[:, 2, 0])


@settings(max_examples=100, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 20), m=st.integers(1, 5))
def test_fused_mode_update_equals_its_parts(seed: int, n: int, m: int) -> None:
    """One log-sum-exp for the mode probabilities and the score increment gives exactly the
    mode update and ln sum_j c_j Lambda_j computed apart."""
    rng = np.random.default_rng(seed)
    mu = rng.dirichlet(np.ones(m), size=n)
    ll = rng.normal(size=(n, m)) * 20.0
    mu_new, ll_comb = imm.update_mode_probs_and_loglik(mu, ll)
    a = ll + np.log(np.maximum(mu, 1e-300))
    amax = a.max(axis=1)
    w = np.exp(a - a.max(axis=1, keepdims=True))  # mu_j = Lambda_j c_j / sum, floored
    mu_ref = np.maximum(w / w.sum(axis=1, keepdims=True), 1e-12)
    assert np.array_equal(mu_new, mu_ref / mu_ref.sum(axis=1, keepdims=True))
    assert np.array_equal(mu_new, imm.update_mode_probs(mu, ll))
    assert np.array_equal(ll_comb, amax + np.log(np.exp(a - amax[:, None]).sum(axis=1)))
