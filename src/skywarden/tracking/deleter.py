"""The deleter role: misses, the score-based lifecycle, and duplicates merged away.

After the updates of one report, each track in the sensor's coverage that it did not update
was missed: its score drops by ``ln(1 - Pd)``. A sensor that reports object by object (not
whole scans) misses a track only when a whole ``update_s`` period went by without a report
of it. ``management.manage`` then confirms, coasts and deletes by the scores (SPRT); the
deleter returns which rows to keep. ``merge_duplicates`` makes one track of two that stayed
one object for several scans (``merge.DuplicateResolver``).
"""

from __future__ import annotations

import math
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from skywarden.tracking.bank import TENTATIVE, TrackBank
from skywarden.tracking.management import ManagementConfig, manage, young_coast_limit
from skywarden.tracking.merge import DuplicateResolver
from skywarden.tracking.report import Look, inside_coverage
from skywarden.tracking.sensor_model import SensorModel

F64 = NDArray[np.float64]
Mask = NDArray[np.bool_]


class Deleter(Protocol):
    """Scores the misses of one report and decides which tracks live on."""

    def delete(self, bank: TrackBank, look: Look, updated: Mask, touched: Mask) -> Mask:
        """``updated``: rows a detection of this report updated; ``touched``: rows whose
        score already holds this report's miss term (soft updates). Returns rows to keep."""
        ...


class ScoreDeleter:
    """Misses by coverage (or by period), then the SPRT lifecycle of ``manage``."""

    def __init__(self, cfg: ManagementConfig) -> None:
        self.cfg = cfg
        self.periods: dict[str, tuple[float, set[int]]] = {}  # object-by-object sensors

    def delete(self, bank: TrackBank, look: Look, updated: Mask, touched: Mask) -> Mask:
        sm, t = look.sm, look.t
        missed = self._misses(bank, sm, updated) if look.complete else self._period_misses(
            bank, sm, updated, t
        )  # fmt: skip
        bank.score[missed & ~touched] += math.log(max(1.0 - sm.pd, 1e-6))  # L += ln(1 - Pd)
        keep: Mask = manage(
            bank.status,
            bank.score,
            bank.score_max,
            bank.t_update,
            updated,
            missed,
            t,
            self.cfg,
            bank.score0,
            young_coast_limit(bank.t_first, bank.t_update, bank.hits, self.cfg),
        )
        return keep

    def _period_misses(self, b: TrackBank, sm: SensorModel, updated: Mask, t: float) -> Mask:
        """Misses of an object-by-object sensor: at the end of each ``update_s`` period, the
        tracks in its coverage that existed all period and got no report of it in the period."""
        sid = sm.spec.id
        seen_now = set(b.uid[updated].tolist())
        period = self.periods.get(sid)
        none = np.zeros(b.n, dtype=bool)
        if period is None:
            self.periods[sid] = (t, seen_now)
            return none
        t0, seen = period
        seen |= seen_now
        if t - t0 < sm.spec.update_s * 0.999:
            return none
        self.periods[sid] = (t, set())
        not_seen = ~np.isin(b.uid, np.fromiter(seen, dtype=np.int64, count=len(seen)))
        missed: Mask = self._misses(b, sm, ~not_seen) & (b.t_first < t0)
        return missed

    @staticmethod
    def _misses(b: TrackBank, sm: SensorModel, updated: Mask) -> Mask:
        if not sm.expects_all or b.n == 0:
            return np.zeros(b.n, dtype=bool)
        return inside_coverage(sm, b.x[:, 0, :3]) & ~updated


def merge_duplicates(bank: TrackBank, merger: DuplicateResolver, xc: F64, Pc: F64) -> int:
    """Established tracks that stayed one object for several scans become one: the older
    number survives with the better state (``xc, Pc``: every row's combined estimate).
    Returns how many tracks were merged away."""
    b = bank
    est = np.flatnonzero(b.status != TENTATIVE)
    xc, Pc = xc[est], Pc[est]
    pairs = merger.check(b.uid[est], b.t_first[est], xc, Pc, b.identity[est])
    if not pairs:
        return 0
    mask = np.ones(b.n, dtype=bool)
    for ka, kd in pairs:
        a, d = int(est[ka]), int(est[kd])
        if np.trace(Pc[kd, :3, :3]) < np.trace(Pc[ka, :3, :3]):
            b.x[a], b.P[a], b.mu[a] = b.x[d], b.P[d], b.mu[d]
        if b.identity[a] is None:
            b.identity[a] = b.identity[d]
        for sid, ts in b.sensors[d].items():
            b.sensors[a][sid] = max(b.sensors[a].get(sid, ts), ts)
        b.hits[a] += b.hits[d]
        b.pos_hits[a] += b.pos_hits[d]
        b.t_update[a] = max(b.t_update[a], b.t_update[d])
        b.score[a] = max(b.score[a], b.score[d])
        b.score_max[a] = max(b.score_max[a], b.score_max[d])
        mask[d] = False
    b.keep(mask)
    return len(pairs)
