"""Per-track class probabilities: drone (multirotor / fixed-wing), bird, manned aircraft.

A recursive Bayes classifier (naive: features taken as conditionally independent given the
class, each with a likelihood grounded in the physics of the class; Blackman & Popoli 1999,
§8 on feature-aided tracking). Evidence arrives two ways:

- per detection (``observe``): radar cross-section of each plot, an RF direction finder's hit
  (only emitting drones are heard), an acoustic array's hit, a camera's own class, a
  cooperative identity (ADS-B means a manned aircraft; Remote ID means a drone);
- per frame (``annotate``): the track's horizontal speed, in a slowly forgetting average so
  a single noisy scan cannot flip the class, and RF hits weighed against RF scans.

Each likelihood is a density, not a vote. Not yet used: vertical speed, altitude, hover and
weave history; a reliability table is still to be written (issue 6).
"""

from __future__ import annotations

import math
from collections.abc import Collection
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
PRIOR = np.array([0.25, 0.1, 0.5, 0.15])


def _log_norm(x: float, mu: float, sd: float) -> float:
    return -0.5 * ((x - mu) / sd) ** 2 - math.log(sd)


# Radar cross-section, dBsm: (mean, sd) per class. Small multirotors -20..-10 dBsm, small
# fixed-wing -15..-5, birds -40..-20 (a pigeon is about -25), light aircraft and helicopters
# 0..+20 (Skolnik, Radar Handbook 3rd ed., table 1.1; Torvik et al., IEEE TGRS 54(6), 2016).
RCS_MODEL = {0: (-18.0, 6.0), 1: (-14.0, 6.0), 2: (-25.0, 6.0), 3: (5.0, 8.0)}
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


@dataclass
class _Evidence:
    log_post: np.ndarray = field(default_factory=lambda: np.log(PRIOR.copy()))
    speed_avg: float | None = None
    identity_class: int | None = None
    rf_hits: int = 0
    rf_scans: int = 0
    distrusted: bool = False  # a suspicious (spoofed) identity says nothing about the class


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
            for ev in self._ev.values():
                ev.rf_scans += 1
        for tid, det, candidates in tracker.last_assignments:
            self._observe_detection(self._get(tid), det, candidates)

    def _observe_detection(self, ev: _Evidence, det: Detection, candidates: int = 1) -> None:
        kind = self.kinds.get(det.sensor_id)
        if kind in (SensorKind.RF, SensorKind.ACOUSTIC) and candidates > 1:
            return  # the bearing fitted several tracks: no evidence about this one
        ll = np.zeros(len(CLASSES))
        if det.rcs_dbsm is not None:
            for k, (mu, sd) in RCS_MODEL.items():
                ll[k] = _log_norm(det.rcs_dbsm, mu, sd)
            ll *= 0.5  # plot-to-plot fluctuation makes successive RCS samples correlated
        if kind is SensorKind.RF:
            ev.rf_hits += 1  # weighed against the scans that could have heard it: _rf_loglik
        if kind is SensorKind.ADSB and not ev.distrusted:
            ev.identity_class = 3
        if kind is SensorKind.REMOTE_ID and not ev.distrusted:
            ev.identity_class = 0
        if det.class_hint is not None and det.class_conf > 0:
            for k, c in enumerate(CLASSES):
                match = c.family == det.class_hint or c.value == det.class_hint
                p = det.class_conf if match else (1 - det.class_conf) / 3
                ll[k] += math.log(max(p, 1e-3))
        ev.log_post = ev.log_post + ll
        ev.log_post -= ev.log_post.max()
        np.maximum(ev.log_post, -30.0, out=ev.log_post)

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
            out.append(
                replace(
                    tr, class_probs={c.value: float(p) for c, p in zip(CLASSES, probs, strict=True)}
                )
            )
        for tid in list(self._ev):
            if tid not in alive:
                del self._ev[tid]
        return out

    @staticmethod
    def _rf_loglik(ev: _Evidence) -> np.ndarray:
        """Log-likelihood per class of ``rf_hits`` in ``rf_scans`` (see P_EMITTER)."""
        n = max(ev.rf_scans, ev.rf_hits)
        if n == 0:
            return np.zeros(len(CLASSES))
        k = ev.rf_hits

        def log_bin(p: float) -> float:
            return k * math.log(p) + (n - k) * math.log(1.0 - p)

        silent = log_bin(P_COINCIDE)
        heard = log_bin(P_HEARD)
        m = max(heard, silent)
        drone = m + math.log(
            P_EMITTER * math.exp(heard - m) + (1 - P_EMITTER) * math.exp(silent - m)
        )
        return np.array([drone, drone, silent, silent]) - max(drone, silent)

    def _posterior(self, ev: _Evidence, tr: TrackState) -> np.ndarray:
        if ev.identity_class is not None:
            p = np.full(len(CLASSES), 0.01)
            p[ev.identity_class] = 1.0
            return np.asarray(p / p.sum())
        spd = float(np.hypot(tr.x[3], tr.x[4]))
        a = self.forget
        ev.speed_avg = spd if ev.speed_avg is None else a * ev.speed_avg + (1 - a) * spd
        lp = ev.log_post.copy() + self._rf_loglik(ev)
        for k, (mu, sd) in SPEED_MODEL.items():
            lp[k] += _log_norm(ev.speed_avg, mu, sd)
        lp -= lp.max()
        p = np.exp(lp)
        return np.asarray(p / p.sum())
