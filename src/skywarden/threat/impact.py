"""Warn where it will land: a ballistic round threatens a protected zone only if its predicted
impact ellipse overlaps the zone with enough probability.

A counter-rocket warning that sounds for every round anywhere in the city is ignored by the
second night. For each confirmed ballistic track (``tracking.ballistic_tracker``) the impact
point ``mu = (e, n)`` and its covariance ``C`` (the (e, n) block of the fit's impact
covariance) give ``P(zone) = P(x in zone)``, ``x ~ N(mu, C)``, estimated over a fixed set of
``n_samples`` standard normal points ``s_i`` (drawn once from a fixed seed, so the answer is
reproducible): ``x_i = mu + L s_i`` with ``C = L L'`` (Cholesky), ``P = #{x_i in zone} / n``.
A zone is warned when ``P >= p_warn`` (configurable); the warning carries the time left,
``impact_t - t``: "incoming: take cover, N s". Rounds landing elsewhere are shown, not alerted.

Pure: tracks, zones and time come in.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.core.site import Site, ZoneKind, ZoneSpec
from skywarden.threat.assess import ThreatAssessment, ThreatLevel, ZoneThreat
from skywarden.tracking.ballistic_tracker import BallisticTrack

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class ImpactConfig:
    p_warn: float = 0.05  # probability of landing in a protected zone that warns it
    n_samples: int = 512
    seed: int = 22
    min_sigma_m: float = 5.0  # floor of the impact sigma (model error of the flat ground)


def zone_mask(zone: ZoneSpec, X: F64) -> NDArray[np.bool_]:
    """Which ground points X (N, 2) lie inside the zone's footprint."""
    if zone.center_enu is not None and zone.radius_m is not None:
        d = X - np.asarray(zone.center_enu, dtype=float)[None]
        out: NDArray[np.bool_] = np.einsum("ni,ni->n", d, d) <= zone.radius_m**2
        return out
    return np.array([zone.horizontal_distance(float(e), float(n)) <= 0.0 for e, n in X])


def incoming_text(t_left_s: float) -> str:
    """The household and push message: "incoming: take cover, N s"."""
    return f"incoming: take cover, {max(0, math.floor(t_left_s))} s"


class ImpactWarner:
    """Per frame: one assessment per confirmed ballistic track, warned where it will land."""

    def __init__(self, site: Site, config: ImpactConfig | None = None) -> None:
        self.cfg = config or ImpactConfig()
        self.zones = [z for z in site.zones if z.kind is ZoneKind.PROTECTED]
        rng = np.random.default_rng(self.cfg.seed)
        self._s = rng.standard_normal((self.cfg.n_samples, 2))

    def probability(self, mu: F64, C: F64, zone: ZoneSpec) -> float:
        """``P(x in zone)`` for ``x ~ N(mu, C)`` (see the module docstring)."""
        C = 0.5 * (C + C.T) + np.eye(2) * self.cfg.min_sigma_m**2
        try:
            L = np.linalg.cholesky(C)
        except np.linalg.LinAlgError:
            L = np.diag(np.sqrt(np.maximum(np.diag(C), 0.0)))
        X = mu[None, :] + self._s @ L.T  # x_i = mu + L s_i
        return float(zone_mask(zone, X).mean())

    def assess(self, tracks: Sequence[BallisticTrack], t: float) -> list[ThreatAssessment]:
        out = []
        for tr in tracks:
            if not tr.confirmed:
                continue
            imp = tr.impact
            best: tuple[float, ZoneSpec] | None = None
            zts = []
            if imp is not None:
                mu = np.array(imp.enu[:2])
                for z in self.zones:
                    p = self.probability(mu, imp.cov_ent[:2, :2], z)
                    if p >= self.cfg.p_warn:
                        zts.append(ZoneThreat(z.id, False, max(0.0, imp.t - t)))
                        if best is None or p > best[0]:
                            best = (p, z)
            if best is None or imp is None:
                out.append(
                    ThreatAssessment(
                        tr.id, t, ThreatLevel.NONE, 0.0, None, None, tr.object_class, False
                    )
                )
                continue
            left = max(0.0, imp.t - t)
            out.append(
                ThreatAssessment(
                    tr.id,
                    t,
                    ThreatLevel.ALERT,
                    best[0],
                    best[1].id,
                    left,
                    tr.object_class,
                    False,
                    reasons=(
                        f"{tr.object_class} impact in {best[1].id}: p={best[0]:.2f}",
                        incoming_text(left),
                    ),
                    zones=tuple(zts),
                )
            )
        return out
