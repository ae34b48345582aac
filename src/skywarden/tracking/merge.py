"""Duplicate tracks: two established tracks that are one object, resolved into one.

Duplicates arise where association cannot keep them apart: a track started from crossing RF
bearings and a radar track of the same drone (the bearings came first, the radar plots started
their own tentative before the two could be associated), or two tracks sharing one target's
plots under soft (JPDA) association. An operator sees two symbols for one drone and may get
two alerts.

Test (Bar-Shalom 1981, "On the track-to-track correlation problem"; Blackman & Popoli 1999,
§9.3): for established tracks i, j the difference of their states has covariance about
``P_i + P_j`` (ignoring the cross-covariance of shared process noise, which makes the test
more willing to merge, the safe side for duplicates), and ``d^2 = dx' (P_i + P_j)^-1 dx`` is
chi-square with 6 degrees of freedom when both follow one object. A pair under the gate for
``merge_scans`` consecutive checks (at most one per ``check_every_s``) is one object: the
younger track (later first detection) is dropped, the older keeps its identity, so an
operator's track number stays, and inherits what the younger knew (a cooperative identity,
contributing sensors).

A single coincidence (a bird crossing a drone's path) lasts one or two scans, so requiring
consecutive passes keeps crossing objects apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking import kalman
from skywarden.tracking.gating import chi2_gate, spatial_candidates

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class MergeConfig:
    """When two established tracks count as one object."""

    enabled: bool = True
    p_gate: float = 0.99
    merge_scans: int = 3
    max_distance_m: float = 300.0  # never merge tracks farther apart than this
    check_every_s: float = 1.0  # at most one check per second of data (not per report)


class DuplicateResolver:
    """Remembers which established pairs passed the test, scan after scan."""

    def __init__(self, cfg: MergeConfig) -> None:
        self.cfg = cfg
        self._streak: dict[tuple[int, int], int] = {}

    def check(
        self, uid: I64, t_first: F64, xc: F64, Pc: F64, identity: NDArray[np.object_]
    ) -> list[tuple[int, int]]:
        """Rows of established tracks (already selected by the caller) -> pairs
        ``(keep_row, drop_row)`` to merge now. Tracks holding two different cooperative
        identities are two objects, whatever their states say."""
        n = uid.shape[0]
        if n < 2 or not self.cfg.enabled:
            self._streak.clear()
            return []
        pos = xc[:, :3]
        var = kalman.block_trace(Pc, 0, 3)
        sd = np.sqrt(var)
        G = chi2_gate(6, self.cfg.p_gate)
        radius = np.minimum(math.sqrt(G) * 2.0 * sd, self.cfg.max_distance_m)
        ti, tj = spatial_candidates(pos, radius, pos)
        keep = ti < tj
        ti, tj = ti[keep], tj[keep]
        passing: set[tuple[int, int]] = set()
        if ti.shape[0]:
            # exact rejection before any solve: d^2 is at least the position part's distance
            # (a marginal's Mahalanobis distance never exceeds the joint's), which is at least
            # |dp|^2 / tr(S_pp) (the trace bounds the largest eigenvalue); a hair of slack
            # keeps rounding from rejecting a pair the full test would pass
            dp2 = ((pos[ti] - pos[tj]) ** 2).sum(axis=1)
            near = dp2 <= G * (var[ti] + var[tj]) * (1.0 + 1e-9)
            ti, tj = ti[near], tj[near]
        if ti.shape[0]:
            dx = xc[ti] - xc[tj]
            S = Pc[ti] + Pc[tj]
            d2 = np.einsum("ni,ni->n", dx, np.linalg.solve(S, dx[..., None])[..., 0])
            close = np.linalg.norm(dx[:, :3], axis=1) <= self.cfg.max_distance_m
            ok = (d2 < G) & close
            for a, b in zip(ti[ok].tolist(), tj[ok].tolist(), strict=True):
                ia, ib = identity[a], identity[b]
                if ia is not None and ib is not None and ia != ib:
                    continue
                ua, ub = int(uid[a]), int(uid[b])
                passing.add((min(ua, ub), max(ua, ub)))
        self._streak = {k: self._streak.get(k, 0) + 1 for k in passing}
        row_of = {int(u): i for i, u in enumerate(uid.tolist())}
        out: list[tuple[int, int]] = []
        dropped: set[int] = set()
        for (ua, ub), n_pass in sorted(self._streak.items()):
            if n_pass < self.cfg.merge_scans or ua in dropped or ub in dropped:
                continue
            ra, rb = row_of[ua], row_of[ub]
            # the older track (first seen earlier; lower uid on a tie) survives
            if (t_first[rb], ub) < (t_first[ra], ua):
                ra, rb, ua, ub = rb, ra, ub, ua
            out.append((ra, rb))
            dropped.add(ub)
        for k in [k for k in self._streak if k[0] in dropped or k[1] in dropped]:
            del self._streak[k]
        return out
