"""Pending plots: single unexplained detections waiting for a second one (two-point initiation).

In dense clutter almost every unexplained plot is clutter that will never be seen again: a
radar with 5,000 false plots per scan would otherwise hold some 10,000 one-plot tentative
tracks, and every one of them would be predicted (both IMM modes), gated and scored on every
scan. A plot becomes a track only when a plot of a later scan of the same sensor falls in its
gate (Blackman & Popoli 1999, §3.4, two-point initiation). Nothing about the track score
changes: the pending plot carries the score the one-plot track would have had (its initial
score ``L0`` and ``ln(1 - Pd)`` for each scan that missed it), the pairing test is the
chi-square gate the one-plot track's prediction would have used, and the pair becomes a
tentative track that is updated with the second plot through the same filter and score
increment as any other track. Pending plots expire like one-plot tentatives would: after
``tentative_max_gap_s``, or when their misses reach the SPRT's lower threshold.

State: structure of arrays per sensor (positions, initial states and covariances, times,
scores); the detections are kept for the classifier's evidence of the first plot.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import Detection

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


# the per-plot scalars, one column each of ``PendingPlots.cols``: kept in one array so that
# adding, taking and dropping plots moves three arrays, not five (these run every scan)
T, SCORE, SCORE0 = 0, 1, 2


class PendingPlots:
    """The pending plots of one sensor."""

    def __init__(self) -> None:
        self.x: F64 = np.zeros((0, 6))  # initial state of each plot
        self.P: F64 = np.zeros((0, 6, 6))
        self.cols: F64 = np.zeros((0, 3))  # time, score (L0 + misses ln(1 - Pd)), L0
        self.dets: list[Detection] = []

    @property
    def n(self) -> int:
        return int(self.cols.shape[0])

    @property
    def t(self) -> F64:
        out: F64 = self.cols[:, T]
        return out

    @property
    def score(self) -> F64:
        out: F64 = self.cols[:, SCORE]
        return out

    @property
    def score0(self) -> F64:
        out: F64 = self.cols[:, SCORE0]
        return out

    def add(self, x: F64, P: F64, t: float, score: F64, dets: list[Detection]) -> None:
        cols = np.empty((x.shape[0], 3))
        cols[:, T] = t
        cols[:, SCORE] = cols[:, SCORE0] = score
        self.x = np.concatenate([self.x, x])
        self.P = np.concatenate([self.P, P])
        self.cols = np.concatenate([self.cols, cols])
        self.dets.extend(dets)

    def keep(self, mask: NDArray[np.bool_]) -> None:
        if mask.all():
            return
        self.x, self.P, self.cols = self.x[mask], self.P[mask], self.cols[mask]
        idx: list[int] = np.flatnonzero(mask).tolist()
        self.dets = [self.dets[i] for i in idx]

    def peek(self, rows: I64) -> tuple[F64, F64, F64]:
        """(t, score, score0) of ``rows``, which stay until ``age(taken=rows)`` drops them
        with the expired ones: one compaction per scan instead of two."""
        out = self.cols[rows]
        return out[:, T], out[:, SCORE], out[:, SCORE0]

    def age(
        self,
        t: float,
        log_miss: F64 | None,
        drop_score: float,
        max_gap_s: float,
        taken: I64 | None = None,
    ) -> None:
        """One scan of the sensor went by without pairing them: count the miss (``log_miss``
        per plot: ``ln(1 - Pd)`` inside the sensor's coverage, 0 outside; None when the
        sensor's silence is no evidence) and drop the expired, and the plots ``taken`` into
        tracks this scan."""
        if self.n == 0:
            return
        c = self.cols
        if log_miss is not None:
            c[:, SCORE] += log_miss
        keep = (c[:, SCORE] - c[:, SCORE0] > drop_score) & (t - c[:, T] <= max_gap_s)
        if taken is not None:
            keep[taken] = False
        self.keep(keep)
