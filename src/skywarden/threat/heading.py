"""Heading persistence: does the path hold its line, or wander? Class evidence over minutes.

Why: a bird's heading wanders all the time (a random walk: flapping flight corrects course
continually, a foraging bird meanders), while an autopilot or a pilot holds a line or a
steady turn between a few deliberate manoeuvres, and an airliner is steadier still. The
filtered velocity of a small target at a few km is too noisy to see this over a few seconds
(``threat.kinematics``' turn-rate feature saturates there), but the *positions* of a track
over tens of seconds show it plainly: over ``CHORD_S`` a bird moves 50-100 m, much more than
the track's position error.

Feature: every ``BLOCK_CHORDS`` chords of ``CHORD_S`` seconds (one block), the standard
deviation of the turn between successive chords (radians; its mean is taken out, so an orbit
or any steady turn counts as steady). The position error of the chord ends sets a floor
below which the feature means nothing: ``NOISE_GAIN * sigma_p / L`` with ``sigma_p`` the
track's horizontal position error and ``L`` the chord length (the filtered positions' errors
are correlated over a chord, so the floor is well under the ``sqrt(6) sigma_p / L`` of
independent errors). The feature is floored there and every mode's median is widened by
it in quadrature (``sqrt(median^2 + floor^2)``), as ``threat.kinematics`` floors its
features: a far, slow track's wander is weak evidence and a near, fast one's strong, and
a perfectly smooth GPS log cannot read as "super-straight".

Likelihood: each class is a two-mode switching model (a hidden Markov chain over blocks,
modes ``steady`` / ``wandering`` with log-normal emissions, ``HEADING_MODES``). The forward
recursion over successive, disjoint blocks accumulates evidence the way it should: a bird
that wanders block after block becomes ever more certainly a bird, while a drone's one turn
onto its run-in costs it a single, bounded penalty, and a bird that happens to glide straight
for a while is explained by its own straight mode (no strong drone evidence either). Blocks
do not overlap, so each piece of path is counted once.

The numbers: birds' chord-turn deviation over 5 s chords is mostly 0.2-0.6 rad (simulated
migration with a 0.25 rad/s heading random walk, which is the public files' birds' wander;
a GPS-tagged harrier in ``../shared/data/trajectories`` meanders the same way), drones on a
leg 0.02-0.08 rad, airliners ~0.01. The manoeuvre and straight modes are deliberately
broad and reasonably likely so that neither class is ruled out by one block.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

CHORD_S = 5.0
BLOCK_CHORDS = 4  # 4 chords, 3 turns between them: one block of 20 s
NOISE_GAIN = 1.0
MIN_CHORD_M = 20.0  # slower than 4 m/s: heading is not defined well enough (hover, loiter)
LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)

# Per class (drone, fixed-wing drone, bird, aircraft): ((median rad, sd of log) per mode,
# mode 0 = steady / straight, mode 1 = wandering / manoeuvring), P(0 -> 1) and P(1 -> 0) per
# block. Every class starts in mode 1 with START_WANDER and leaves its straight mode equally
# rarely: many birds fly as straight as any drone (migrants, commuting gulls and pigeons), so
# the bird's straight mode is the drone's steady one, and a straight path is no evidence
# either way. What differs is how long the wander lasts: a drone's manoeuvre is over within
# a block or two (it is back on a line), a wandering bird goes on wandering. So only a
# wander that goes on block after block is evidence, and then for the bird.
Mode = tuple[float, float]
HEADING_MODES: tuple[tuple[Mode, Mode, float, float], ...] = (
    ((0.05, 0.8), (0.35, 0.8), 0.05, 0.6),  # multirotor
    ((0.04, 0.8), (0.3, 0.8), 0.05, 0.6),  # fixed wing
    ((0.05, 0.8), (0.4, 0.7), 0.05, 0.1),  # bird
    ((0.015, 0.8), (0.3, 1.0), 0.05, 0.3),  # manned aircraft (gliders circle, helicopters orbit)
)
START_WANDER = 0.3
# The heading model speaks for the bird, never for the drone: birds mix straight flight with
# wander in every proportion (a bird that meanders once and then flies straight would read
# as a drone back on its line), so a drone-like path is no evidence against a bird, while a
# wander that lasts is evidence against a drone.
BIRD = 2
ONE_SIDED = (0, 1)
# However long the track, the heading evidence stays within HEAD_CAP nats between classes:
# blocks are not really independent given the mode (a glider thermalling for ten minutes
# is one behaviour, not thirty), and a model this simple must not outvote speed, RCS or an
# RF emitter by sheer length of track.
HEAD_CAP = 4.0

_TRANS = tuple(((1.0 - m[2], m[2]), (m[3], 1.0 - m[3])) for m in HEADING_MODES)
_LOG_START = (math.log(1.0 - START_WANDER), math.log(START_WANDER))

Point = tuple[float, float, float, float]  # (t, e, n, sigma_p)


def block_feature(pts: Sequence[Point]) -> tuple[float, float] | None:
    """(turn deviation, its noise floor) of one block: ``BLOCK_CHORDS + 1`` points ``pts``;
    None when a chord is shorter than ``MIN_CHORD_M`` (the heading of a near-hover is noise).
    """
    heads: list[float] = []
    noise2 = 0.0
    for (_, e0, n0, s0), (_, e1, n1, s1) in pairwise(pts):
        de, dn = e1 - e0, n1 - n0
        length = math.hypot(de, dn)
        if length < MIN_CHORD_M:
            return None
        heads.append(math.atan2(de, dn))
        sp = max(s0, s1)
        noise2 = max(noise2, (NOISE_GAIN * sp / length) ** 2)  # the worst chord's floor
    turns = [(b - a + math.pi) % (2.0 * math.pi) - math.pi for a, b in pairwise(heads)]
    mean = sum(turns) / len(turns)
    sd = math.sqrt(sum((d - mean) ** 2 for d in turns) / len(turns))
    return sd, math.sqrt(noise2)


def emission_loglik(x: float, noise: float) -> list[tuple[float, float]]:
    """Per class, the log density of deviation ``x`` under each mode: log-normal about the
    mode's median widened by the noise floor (``sqrt(median^2 + noise^2)``), ``x`` floored
    there too (the Jacobian ``-ln x`` is the same for every class and left out)."""
    lx = math.log(max(x, noise, 1e-3))
    out = []
    for (m0, s0), (m1, s1), _, _ in HEADING_MODES:
        pair = []
        for med, sd in ((m0, s0), (m1, s1)):
            mu = 0.5 * math.log(med * med + noise * noise)
            z = (lx - mu) / sd
            pair.append(-0.5 * z * z - math.log(sd) - LOG_SQRT_2PI)  # ln N(ln x; mu, sd)
        out.append((pair[0], pair[1]))
    return out


def _lse2(a: float, b: float) -> float:
    m = max(a, b)
    return m + math.log(math.exp(a - m) + math.exp(b - m))


def forward(alpha: list[float] | None, x: float, noise: float) -> list[float]:
    """One step of the forward recursion of every class's switching model:
    ``alpha_c,m(k) = f_c,m(x_k) * sum_m' alpha_c,m'(k-1) A_c(m', m)`` in logs, flattened
    ``[c0m0, c0m1, c1m0, ...]``; ``alpha`` None: the first block (stationary start)."""
    em = emission_loglik(x, noise)
    out: list[float] = []
    for c, (e0, e1) in enumerate(em):
        if alpha is None:
            p0, p1 = _LOG_START
        else:
            a0, a1 = alpha[2 * c], alpha[2 * c + 1]
            (t00, t01), (t10, t11) = _TRANS[c]
            p0 = _lse2(a0 + math.log(t00), a1 + math.log(t10))
            p1 = _lse2(a0 + math.log(t01), a1 + math.log(t11))
        out += [p0 + e0, p1 + e1]
    top = max(out)
    return [v - top for v in out]  # only differences between classes matter


def class_loglik(alpha: list[float]) -> list[float]:
    """Per class, the log-likelihood of every block so far, relative to the best class and
    floored at ``-HEAD_CAP``; the drone classes' never above the bird's (``ONE_SIDED``)."""
    ll = [_lse2(alpha[2 * c], alpha[2 * c + 1]) for c in range(len(HEADING_MODES))]
    bird = ll[BIRD]
    ll = [min(v, bird) if c in ONE_SIDED else v for c, v in enumerate(ll)]
    top = max(ll)
    return [max(v - top, -HEAD_CAP) for v in ll]
