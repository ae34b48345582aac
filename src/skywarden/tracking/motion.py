"""Motion models on the 6-D state ``x = [e, n, u, ve, vn, vu]``, batched over tracks.

Each model gives the transition matrix F(dt) and process noise Q(dt) for an array of time
steps ``dt`` (one per track), shapes (N, 6, 6). All three are linear in the state, so an IMM
over them mixes exactly (no augmentation or mode-dependent state dimension):

- **Nearly-constant velocity** (continuous white-noise acceleration, CWNA): Bar-Shalom, Li &
  Kirubarajan, *Estimation with Applications to Tracking and Navigation* (2001), §6.2.2,
  eq. 6.2.2-12: per axis ``Q = q [[dt^3/3, dt^2/2], [dt^2/2, dt]]`` with ``q`` the power
  spectral density of the acceleration noise (m^2/s^3).
- **Coordinated turn** at a known horizontal turn rate ``omega`` (rad/s), ibid. §11.7.1,
  eq. 11.7.1-4; vertical channel nearly-constant velocity. An IMM uses one mode per turn
  direction (+omega, -omega), the standard fixed-rate CT bank.
- **Near-hover** (a multirotor that stops): velocity decays to zero with time constant
  ``tau`` (an Ornstein-Uhlenbeck velocity, the Singer model applied to velocity: Singer,
  IEEE Trans. AES-6(4), 1970), ``v(t+dt) = exp(-dt/tau) v(t)``, with small position jitter.

``q`` is tied to target kinematics: a target that changes speed by ``a`` m/s^2 over a manoeuvre
of ``T`` s needs ``q ~ a^2 T`` (Bar-Shalom §6.2.2: choose sqrt(q dt) of the order of the velocity
change per step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

F64 = NDArray[np.float64]


class MotionModel(Protocol):
    @property
    def name(self) -> str: ...

    def F(self, dt: F64) -> F64:
        """Transition matrices, shape (N, 6, 6), for time steps ``dt`` of shape (N,)."""
        ...

    def Q(self, dt: F64) -> F64:
        """Process noise covariances, shape (N, 6, 6)."""
        ...


def _eye(n: int) -> F64:
    return np.broadcast_to(np.eye(6), (n, 6, 6)).copy()


def cwna_Q(dt: F64, q: float | F64) -> F64:
    """Continuous white-noise acceleration Q for each axis (Bar-Shalom 2001, eq. 6.2.2-12).

    >>> Q = cwna_Q(np.array([1.0]), 3.0)
    >>> float(Q[0, 0, 0]), float(Q[0, 0, 3]), float(Q[0, 3, 3])
    (1.0, 1.5, 3.0)
    """
    dt = np.asarray(dt, dtype=float)
    qv = np.broadcast_to(np.asarray(q, dtype=float), dt.shape)
    Q = np.zeros((dt.shape[0], 6, 6))
    for a in range(3):
        Q[:, a, a] = qv * dt**3 / 3.0  # position variance
        Q[:, a, a + 3] = Q[:, a + 3, a] = qv * dt**2 / 2.0  # position-velocity covariance
        Q[:, a + 3, a + 3] = qv * dt  # velocity variance
    return Q


@dataclass(frozen=True)
class ConstantVelocity:
    """Nearly-constant velocity: ``x' = x + v dt``; horizontal and vertical q may differ."""

    q_h: float = 1.0
    q_v: float = 0.5
    name: str = "cv"

    def F(self, dt: F64) -> F64:
        F = _eye(dt.shape[0])
        for a in range(3):
            F[:, a, a + 3] = dt  # p' = p + v dt
        return F

    def Q(self, dt: F64) -> F64:
        Q = cwna_Q(dt, self.q_h)
        Qv = cwna_Q(dt, self.q_v)
        Q[:, 2, :] = Qv[:, 2, :]
        Q[:, 5, :] = Qv[:, 5, :]
        Q[:, :, 2] = Qv[:, :, 2]
        Q[:, :, 5] = Qv[:, :, 5]
        return Q


@dataclass(frozen=True)
class CoordinatedTurn:
    """Horizontal coordinated turn at a fixed rate ``omega`` (rad/s, + = counter-clockwise).

    Bar-Shalom 2001, eq. 11.7.1-4, in (e, n) with velocity (ve, vn)::

        e'  = e + sin(w dt)/w ve - (1 - cos(w dt))/w vn
        n'  = n + (1 - cos(w dt))/w ve + sin(w dt)/w vn
        ve' = cos(w dt) ve - sin(w dt) vn
        vn' = sin(w dt) ve + cos(w dt) vn
    """

    omega: float = 0.2
    q_h: float = 0.5
    q_v: float = 0.5
    name: str = "ct"

    def F(self, dt: F64) -> F64:
        w = self.omega
        s, c = np.sin(w * dt), np.cos(w * dt)
        F = _eye(dt.shape[0])
        F[:, 0, 3] = s / w
        F[:, 0, 4] = -(1.0 - c) / w
        F[:, 1, 3] = (1.0 - c) / w
        F[:, 1, 4] = s / w
        F[:, 3, 3] = c
        F[:, 3, 4] = -s
        F[:, 4, 3] = s
        F[:, 4, 4] = c
        F[:, 2, 5] = dt
        return F

    def Q(self, dt: F64) -> F64:
        return ConstantVelocity(self.q_h, self.q_v).Q(dt)


@dataclass(frozen=True)
class NearHover:
    """Velocity decays to zero with time constant ``tau``; position random walk ``q_pos`` m^2/s.

    ``v' = a v`` with ``a = exp(-dt/tau)``; ``p' = p + tau (1 - a) v`` (the exact integral of
    the decaying velocity). Velocity noise keeps the stationary variance ``sigma_v^2``:
    ``Q_vv = sigma_v^2 (1 - a^2)`` (Singer 1970, eq. 7, applied to velocity).
    """

    tau: float = 2.0
    sigma_v: float = 0.5
    q_pos: float = 0.5
    name: str = "hover"

    def F(self, dt: F64) -> F64:
        a = np.exp(-dt / self.tau)
        F = _eye(dt.shape[0])
        for k in range(3):
            F[:, k, k + 3] = self.tau * (1.0 - a)
            F[:, k + 3, k + 3] = a
        return F

    def Q(self, dt: F64) -> F64:
        a = np.exp(-dt / self.tau)
        Q = np.zeros((dt.shape[0], 6, 6))
        for k in range(3):
            Q[:, k, k] = self.q_pos * dt
            Q[:, k + 3, k + 3] = self.sigma_v**2 * (1.0 - a * a)
        return Q


def default_models() -> tuple[MotionModel, ...]:
    """Quiet cruise plus manoeuvre: the 2-mode IMM measured best on the benchmark families.

    q = 0.1 m^2/s^3 is a velocity wander of 0.3 m/s per second (a drone or aircraft holding
    course); q = 8 covers a bird's or a jinking drone's ~3 m/s per second.
    """
    return (
        ConstantVelocity(q_h=0.1, q_v=0.1, name="cv"),
        ConstantVelocity(q_h=8.0, q_v=1.0, name="manoeuvre"),
    )


def full_models() -> tuple[MotionModel, ...]:
    """CV, coordinated turns both ways and near-hover (small multirotors stop and hover)."""
    return (
        ConstantVelocity(q_h=0.1, q_v=0.1, name="cv"),
        ConstantVelocity(q_h=8.0, q_v=1.0, name="manoeuvre"),
        CoordinatedTurn(omega=0.2, q_h=0.5, q_v=0.2, name="ct_left"),
        CoordinatedTurn(omega=-0.2, q_h=0.5, q_v=0.2, name="ct_right"),
        NearHover(tau=1.5, sigma_v=0.7, q_pos=0.3, name="hover"),
    )


FULL_MU0 = (0.6, 0.1, 0.1, 0.1, 0.1)
