"""A re-linked track is smoothed whole from its pieces' records, and re-gated (issue 21).

Night-launch seed 28: H0's pieces (in towards the radar, a 19 s break where it turned back
and climbed, out, then in over the radar) were smoothed as one from the first piece's live
start alone; the forward pass lost the object at the break and the iterated smoother
converged on a path 2.2 km off the last plots it held. Now the chain starts linearised about
its pieces' own smoothed records (``smooth(..., guess=joined(pieces))``) and every kept plot
is checked against the final path (``misfits``).
"""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking.measurement import measure
from skywarden.tracking.smoother import Smoothed, joined, misfits, smooth

K = MeasurementKind.RANGE_AZ_EL_RADIAL
R = np.diag([5.0**2, 0.01**2, 0.012**2, 0.6**2])  # seed 28's radar
P0 = np.diag([300.0**2, 300.0**2, 150.0**2, 15.0**2, 15.0**2, 5.0**2])


def _truth(t: float) -> np.ndarray:
    """Seed 28's H0, roughly: in towards the radar, turns back and climbs in a break, out."""
    p0, va = np.array([-1514.0, -626.0, 6.0]), np.array([24.0, 11.0, 0.3])
    if t <= 11.0:
        return np.concatenate([p0 + va * t, va])
    pa = p0 + va * 11.0
    pb, vb = np.array([-1341.0, -389.0, 119.0]), np.array([-23.0, -14.0, 1.2])
    if t < 36.0:
        return np.concatenate([pa + (pb - pa) * (t - 11.0) / 25.0, (pb - pa) / 25.0])
    return np.concatenate([pb + vb * (t - 36.0), vb])


def _plots(t0: float, t1: float, rng: np.random.Generator) -> list[Detection]:
    out = []
    for t in np.arange(t0, t1 + 1e-9):
        h, _ = measure(K, _truth(float(t))[None], np.zeros(3))
        z = h[0] + rng.normal(0.0, np.sqrt(np.diag(R)))
        out.append(Detection(float(t), "r", K, z, R, np.zeros(3)))
    return out


def _err(sm: Smoothed, t: float) -> float:
    return float(np.linalg.norm(sm.state_at(t)[0][:3] - _truth(t)[:3]))


def test_a_chain_smoothed_from_its_pieces_keeps_and_explains_every_plot() -> None:
    rng = np.random.default_rng(0)
    a, b = _plots(0.0, 11.0, rng), _plots(36.0, 120.0, rng)
    pa = smooth(a, _truth(0.0), P0)
    pb = smooth(b, _truth(36.0), P0)
    # the first piece's live start, confirmed on bearings: heading the wrong way, and sure
    x0 = _truth(0.0)
    x0[3:5] = -x0[3:5]
    tight = np.diag([50.0**2, 50.0**2, 20.0**2, 3.0**2, 3.0**2, 1.0**2])
    plain = smooth(a + b, x0, tight)
    assert len(plain.used) <= len(a + b) - 5  # from that start alone the take-off is lost
    assert _err(plain, 5.0) > 60.0
    sm = smooth(a + b, x0, tight, guess=joined([pa, pb]))
    assert len(sm.used) == len(a + b)
    assert not misfits(sm)
    for t in (0.0, 5.0, 11.0, 36.0, 80.0, 120.0):
        assert _err(sm, t) < 30.0, t


def test_misfits_names_the_plots_a_path_does_not_explain() -> None:
    rng = np.random.default_rng(1)
    b = _plots(36.0, 80.0, rng)
    sm = smooth(b, _truth(36.0), P0)
    assert not misfits(sm)
    off = Smoothed(sm.t, sm.X + np.array([0.0, 400.0, 0.0, 0.0, 0.0, 0.0]), sm.P, sm.used)
    assert len(misfits(off)) == len(b)  # a path 400 m aside explains none of them


def test_an_outlier_forced_in_is_left_out_by_the_regate() -> None:
    """A plot 300 m off (another object's) held by the guess: the final path does not
    explain it, and the record is run again without it."""
    rng = np.random.default_rng(2)
    b = _plots(36.0, 80.0, rng)
    h, _ = measure(
        K, (_truth(60.0) + np.array([0.0, 300.0, 0.0, 0.0, 0.0, 0.0]))[None], np.zeros(3)
    )
    stray = Detection(60.0, "r", K, h[0], R, np.zeros(3))
    guess = smooth(b, _truth(36.0), P0)
    held = Smoothed(guess.t, guess.X, guess.P, (*guess.used, stray))
    sm = smooth([*b, stray], _truth(36.0), P0, guess=held)
    assert stray not in sm.used
    assert not misfits(sm)
    assert _err(sm, 60.0) < 30.0
