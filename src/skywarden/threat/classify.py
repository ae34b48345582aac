"""Per-track class probabilities: drone (multirotor / fixed-wing), bird, manned aircraft.

A Bayes classifier (naive: features taken as conditionally independent given the class,
each with a likelihood grounded in the physics of the class; Blackman & Popoli 1999, §8 on
feature-aided tracking). Two kinds of evidence, kept apart on purpose:

- **Accumulated** over detections (``observe``), where successive pieces really are new
  information: a camera's own class, a cooperative identity (ADS-B means a manned aircraft,
  Remote ID a drone - unless ``threat.spoof`` found it suspicious), RF hits weighed against
  the RF scans that could have heard the track (a scan whose bearing fitted several tracks
  counts for none of them, neither as a hit nor as silence).
- **Current** features recomputed each frame (``annotate``) and *not* summed over frames,
  because they describe the same object again and again:

  * radar cross-section as a hierarchical model: each object has its own mean RCS drawn from
    its class (``RCS_MODEL`` mean and object-to-object spread) and each plot fluctuates about
    it (``RCS_FLUCT_DB``, Swerling I in dB). The sample mean of n plots is then
    ``N(mu_c, spread_c^2 + fluct^2 / n)``: the evidence saturates instead of growing with n,
    so a bird with a drone-sized mean RCS cannot become "certainly a drone" by being seen
    often (the old per-plot sum did exactly that);
  * horizontal speed (a slowly forgetting average);
  * kinematic history over the last ``WINDOW_S`` seconds (``KINEMATICS``, log-normal per
    class): speed fluctuation (flapping and gliding birds change speed, autopilots hold it),
    weave (standard deviation of the turn rate: birds wander, drones and aircraft fly lines
    and steady turns) and vertical-speed fluctuation.

  * hover: the fraction of the window spent nearly stationary, counted for multirotors only
    and only when the track stayed well above the ground (``HOVER_MIN_ALT_M``), because
    near-stationary ground clutter looks the same.

Altitude on its own is not used: birds and small drones share the same heights.

Calibration: the summed log-likelihood is divided by ``temperature`` before the softmax, so
that predicted probabilities match observed frequencies (the reliability table in
``tests/test_class_trajectories.py``).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

import numpy as np

from skywarden.core.observation import Detection
from skywarden.core.site import SensorKind, Site
from skywarden.core.track import ObjectClass, TrackState

if TYPE_CHECKING:
    from skywarden.sensors.skybench import Scan
    from skywarden.tracking.tracker import Tracker

CLASSES: tuple[ObjectClass, ...] = (
    ObjectClass.DRONE,
    ObjectClass.DRONE_FIXED_WING,
    ObjectClass.BIRD,
    ObjectClass.AIRCRAFT,
)
PRIOR = np.array([0.15, 0.1, 0.6, 0.15])


def _log_norm(x: float, mu: float, sd: float) -> float:
    return -0.5 * ((x - mu) / sd) ** 2 - math.log(sd)


# Radar cross-section of an object's plots, dBsm: (class mean, object-to-object spread).
# Small multirotors -25..-10 dBsm, small fixed-wing -20..-5, birds -40..-15 (a pigeon is
# about -25, a goose or egret -20..-15), light aircraft and helicopters 0..+20 (Skolnik,
# Radar Handbook 3rd ed., table 1.1; Torvik et al., IEEE TGRS 54(6), 2016). Plot-level means
# sit ~2.5 dB below the object's mean RCS (the mean of 10 log10 of an exponential variable).
RCS_MODEL = {0: (-20.0, 4.5), 1: (-16.0, 4.5), 2: (-26.0, 5.0), 3: (5.0, 8.0)}
RCS_FLUCT_DB = 5.6  # plot-to-plot: Swerling I in dB (5.57) plus a little estimation noise
# RF direction finders: an emitting drone is heard in most RF scans, any other track lines up
# with some bearing only by coincidence. Not every drone emits (autonomous ones are silent),
# so the drone likelihood is a mixture: P(emitter) * Bin(k; n, P_HEARD) + (1 - P(emitter)) *
# Bin(k; n, P_COINCIDE). A silent drone therefore looks like a bird to the RF sensors (a mild
# penalty, ln 0.6), while a track heard scan after scan is almost surely an emitting drone.
P_EMITTER = 0.4
P_HEARD = 0.8
P_COINCIDE = 0.1
# Horizontal speed, m/s: birds cruise 6-20 m/s; multirotors hover to 25+; fixed-wing drones
# 15-40; manned aircraft near a site 30-120.
SPEED_MODEL = {0: (12.0, 12.0), 1: (28.0, 9.0), 2: (11.0, 4.0), 3: (60.0, 25.0)}
# Kinematic history over WINDOW_S, as the tracker's filtered velocity shows it (its noise
# floor is a few tenths of a m/s): the standard deviation of horizontal speed (m/s), of turn
# rate (rad/s, while moving faster than MOVING_MPS) and of vertical speed (m/s). Birds flap,
# glide and wander all the time; autopilots hold speed, heading and height between
# manoeuvres, and aircraft are steadier still. So a drone's likelihood is a mixture: mostly
# steady, sometimes manoeuvring hard (a real multirotor log stops, turns and sprints), while
# a bird's is one broad log-normal in between. Per class: ((weight, median, sd of log), ...).
WINDOW_S = 15.0
MIN_WINDOW_S = 6.0
MOVING_MPS = 2.0
Mixture = tuple[tuple[float, float, float], ...]
_STEADY_MANOEUVRE: dict[str, tuple[Mixture, Mixture, Mixture, Mixture]] = {
    "speed_sd": (
        ((0.75, 0.3, 0.6), (0.25, 2.5, 0.8)),
        ((0.8, 0.3, 0.6), (0.2, 2.0, 0.8)),
        ((1.0, 1.2, 0.8),),
        ((0.9, 0.3, 0.6), (0.1, 2.0, 0.8)),
    ),
    "turn_sd": (
        ((0.75, 0.03, 0.8), (0.25, 0.2, 0.8)),
        ((0.8, 0.02, 0.8), (0.2, 0.1, 0.8)),
        ((1.0, 0.1, 1.0),),
        ((0.9, 0.01, 0.7), (0.1, 0.05, 0.8)),
    ),
    "climb_sd": (
        ((0.75, 0.4, 0.8), (0.25, 1.5, 0.8)),
        ((0.8, 0.4, 0.8), (0.2, 1.5, 0.8)),
        ((1.0, 0.7, 0.7),),
        ((0.9, 0.35, 0.6), (0.1, 1.5, 0.8)),
    ),
}
KINEMATICS: dict[str, dict[int, Mixture]] = {
    name: dict(enumerate(per_class)) for name, per_class in _STEADY_MANOEUVRE.items()
}
# Hover: a multirotor stops in the air, birds (bar a few hunters) and fixed wings cannot.
# Counted only well above the ground (near-stationary ground clutter would look the same).
HOVER_MPS = 1.5
HOVER_MIN_ALT_M = 30.0
HOVER_LOGLIK = 3.0  # added to multirotor per unit hover fraction of the window
# Below these a track's fluctuation is the tracker's own noise, not the object's behaviour:
# features are floored there (a perfectly smooth GPS log must not read as "super-drone").
FEATURE_FLOOR = {"speed_sd": 0.15, "turn_sd": 0.005, "climb_sd": 0.1}
KINEMATIC_WEIGHT = 0.6  # the three are correlated (one wandering flight path shows in all)
TEMPERATURE = 1.0
# The 15 s window moves by a sample or two between frames; recomputing its features for every
# track on every frame cost more than the tracker itself on 1,000-object scenes. Every 2 s of
# the track's own time is enough for evidence that describes the last 15 s.
KIN_EVERY_S = 2.0
# One history sample per HIST_STEP_S of track time at most. The features are calibrated on
# 1 Hz tracks; a 10 Hz radar would put 150 strongly correlated samples in the window (ten
# times the cost, every 2 s for every track at once) and turn-rate differences over 0.1 s
# that are mostly the filter's own noise.
HIST_STEP_S = 0.5


def _log_mixture(x: float, mix: Mixture) -> float:
    """log of a mixture of log-normal densities (in log x) at x."""
    lx = math.log(max(x, 1e-3))
    terms = [math.log(w) - 0.5 * ((lx - math.log(m)) / s) ** 2 - math.log(s) for w, m, s in mix]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


# the same mixtures with their logs taken once: (log w - log s, log median, 1 / s) per term
_PRE: dict[str, tuple[tuple[tuple[float, float, float], ...], ...]] = {
    name: tuple(
        tuple((math.log(w) - math.log(sd), math.log(m), 1.0 / sd) for w, m, sd in per[k])
        for k in range(len(CLASSES))
    )
    for name, per in KINEMATICS.items()
}


def _kinematic_loglik(feats: dict[str, float]) -> list[float]:
    """Sum over features of KINEMATIC_WEIGHT * log mixture density, per class (fast path)."""
    out = [0.0] * len(CLASSES)
    for name, x in feats.items():
        if name == "hover":
            out[0] += HOVER_LOGLIK * x
            continue
        lx = math.log(max(x, FEATURE_FLOOR[name]))
        for k, terms in enumerate(_PRE[name]):
            vals = [c - 0.5 * ((lx - lm) * inv) ** 2 for c, lm, inv in terms]
            top = max(vals)
            if len(vals) > 1:
                top += math.log(sum(math.exp(v - top) for v in vals))
            out[k] += KINEMATIC_WEIGHT * top
    return out


def _sd(xs: Sequence[float]) -> float:
    n = len(xs)
    m = sum(xs) / n
    return math.sqrt(max(sum((x - m) * (x - m) for x in xs) / n, 0.0))


def kinematic_features(
    hist: Sequence[tuple[float, float, float, float, float]],
) -> dict[str, float]:
    """Window features from (t, ve, vn, vu, u) samples; empty when the window is too short.

    Plain Python on purpose: windows hold 15-30 samples (one per ``HIST_STEP_S`` at most)
    and this runs for many tracks per frame, where numpy's per-call overhead would dominate."""
    n = len(hist)
    if n < 5 or hist[-1][0] - hist[0][0] < MIN_WINDOW_S:
        return {}
    sp = [math.hypot(h[1], h[2]) for h in hist]
    out = {"speed_sd": _sd(sp), "climb_sd": _sd([h[3] for h in hist])}
    if min(h[4] for h in hist) >= HOVER_MIN_ALT_M:
        out["hover"] = sum(1 for v in sp if v < HOVER_MPS) / n
    heading = [math.atan2(h[1], h[2]) for h in hist]
    rates = []
    for i in range(1, n):
        if sp[i] > MOVING_MPS and sp[i - 1] > MOVING_MPS:
            d = (heading[i] - heading[i - 1] + math.pi) % (2 * math.pi) - math.pi
            rates.append(d / max(hist[i][0] - hist[i - 1][0], 1e-3))
    if len(rates) >= 4:
        out["turn_sd"] = _sd(rates)
    return out


_CLASS_VALUES = tuple(c.value for c in CLASSES)


@dataclass
class _Evidence:
    log_post: list[float] = field(default_factory=lambda: [math.log(float(p)) for p in PRIOR])
    speed_avg: float | None = None
    rcs_n: int = 0
    rcs_sum: float = 0.0
    hist: deque[tuple[float, float, float, float, float]] = field(default_factory=deque)
    identity_class: int | None = None
    rf_hits: int = 0
    rf_scans: int = 0
    distrusted: bool = False  # a suspicious (spoofed) identity says nothing about the class
    kin_ll: list[float] | None = None  # kinematic log-likelihood, recomputed every KIN_EVERY_S
    kin_t: float = -math.inf


class Classifier:
    def __init__(self, site: Site, forget: float = 0.9) -> None:
        self.site = site
        self.kinds = {s.id: s.kind for s in site.sensors}
        self.forget = forget
        self._ev: dict[str, _Evidence] = {}

    def _get(self, tid: str) -> _Evidence:
        ev = self._ev.get(tid)
        if ev is None:
            ev = self._ev[tid] = _Evidence()
        return ev

    def observe(self, scan: Scan, tracker: Tracker) -> None:
        if self.kinds.get(scan.sensor_id) is SensorKind.RF:
            # a scan whose bearing fitted this track *and* others says nothing about it:
            # neither a hit nor a scan (else ambiguity would read as silence)
            ambiguous = {tid for tid, _, cand in tracker.last_assignments if cand > 1}
            for tid, ev in self._ev.items():
                if tid not in ambiguous:
                    ev.rf_scans += 1
        for tid, det, candidates in tracker.last_assignments:
            self._observe_detection(self._get(tid), det, candidates)

    def _observe_detection(self, ev: _Evidence, det: Detection, candidates: int = 1) -> None:
        kind = self.kinds.get(det.sensor_id)
        if kind in (SensorKind.RF, SensorKind.ACOUSTIC) and candidates > 1:
            return  # the bearing fitted several tracks: no evidence about this one
        if det.rcs_dbsm is not None and math.isfinite(det.rcs_dbsm):
            ev.rcs_n += 1  # weighed as a sample mean in _posterior (see RCS_MODEL)
            ev.rcs_sum += det.rcs_dbsm
        if kind is SensorKind.RF:
            ev.rf_hits += 1  # weighed against the scans that could have heard it: _rf_loglik
        if kind is SensorKind.ADSB and not ev.distrusted:
            ev.identity_class = 3
        if kind is SensorKind.REMOTE_ID and not ev.distrusted:
            ev.identity_class = 0
        if det.class_hint is not None and det.class_conf > 0:
            lp = ev.log_post
            for k, c in enumerate(CLASSES):
                match = c.family == det.class_hint or c.value == det.class_hint
                p = det.class_conf if match else (1 - det.class_conf) / 3
                lp[k] += math.log(max(p, 1e-3))
            top = max(lp)
            ev.log_post = [max(v - top, -30.0) for v in lp]

    def annotate(
        self, tracks: list[TrackState], t: float, distrust: Collection[str] = ()
    ) -> list[TrackState]:
        """Class probabilities on every track; ``distrust``: track ids whose cooperative
        identity is suspicious (its ADS-B/Remote ID class evidence is dropped)."""
        for tid in distrust:
            ev = self._get(tid)
            ev.distrusted, ev.identity_class = True, None
        alive = set()
        out = []
        for tr in tracks:
            alive.add(tr.id)
            ev = self._get(tr.id)
            probs = self._posterior(ev, tr)
            out.append(replace(tr, class_probs=dict(zip(_CLASS_VALUES, probs, strict=True))))
        for tid in list(self._ev):
            if tid not in alive:
                del self._ev[tid]
        return out

    @staticmethod
    def _rf_loglik(ev: _Evidence) -> list[float]:
        """Log-likelihood per class of ``rf_hits`` in ``rf_scans`` (see P_EMITTER)."""
        n = max(ev.rf_scans, ev.rf_hits)
        if n == 0:
            return [0.0] * len(CLASSES)
        k = ev.rf_hits

        def log_bin(p: float) -> float:
            return k * math.log(p) + (n - k) * math.log(1.0 - p)

        silent = log_bin(P_COINCIDE)
        heard = log_bin(P_HEARD)
        m = max(heard, silent)
        drone = m + math.log(
            P_EMITTER * math.exp(heard - m) + (1 - P_EMITTER) * math.exp(silent - m)
        )
        top = max(drone, silent)
        return [drone - top, drone - top, silent - top, silent - top]

    def _posterior(self, ev: _Evidence, tr: TrackState) -> list[float]:
        """Class probabilities, in plain Python: four classes, every track, every frame."""
        if ev.identity_class is not None:
            p = [0.01] * len(CLASSES)
            p[ev.identity_class] = 1.0
            total = sum(p)
            return [v / total for v in p]
        _, _, u, ve, vn, vu = tr.x.tolist()
        spd = math.hypot(ve, vn)
        a = self.forget
        ev.speed_avg = spd if ev.speed_avg is None else a * ev.speed_avg + (1 - a) * spd
        h = ev.hist
        if not h or tr.t >= h[-1][0] + HIST_STEP_S:
            h.append((tr.t, ve, vn, vu, u))
            while h[0][0] < tr.t - WINDOW_S:
                h.popleft()
        lp = [
            (a + b + c) / TEMPERATURE
            for a, b, c in zip(
                ev.log_post, self._rf_loglik(ev), self._feature_loglik(ev), strict=True
            )
        ]
        top = max(lp)
        p = [math.exp(v - top) for v in lp]
        total = sum(p)
        return [v / total for v in p]

    @staticmethod
    def _feature_loglik(ev: _Evidence) -> list[float]:
        """Current (not accumulated) evidence: mean RCS, speed, kinematic history."""
        ll = [0.0] * len(CLASSES)
        if ev.rcs_n:
            m = ev.rcs_sum / ev.rcs_n
            for k, (mu, spread) in RCS_MODEL.items():
                ll[k] += _log_norm(m, mu, math.sqrt(spread**2 + RCS_FLUCT_DB**2 / ev.rcs_n))
        if ev.speed_avg is not None:
            for k, (mu, sd) in SPEED_MODEL.items():
                ll[k] += _log_norm(ev.speed_avg, mu, sd)
        if ev.hist and ev.hist[-1][0] >= ev.kin_t + KIN_EVERY_S:
            feats = kinematic_features(ev.hist)
            ev.kin_ll = _kinematic_loglik(feats) if feats else None
            ev.kin_t = ev.hist[-1][0]
        if ev.kin_ll is not None:
            for k, v in enumerate(ev.kin_ll):
                ll[k] += v
        return ll
