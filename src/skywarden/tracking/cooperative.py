"""Cooperative reports in the tracker: one per identity per report, no credit when inconsistent.

A cooperative report (Remote ID, ADS-B) names its object, so the tracker binds it to the
track holding that name and starts a track on one report (it is no clutter). Two rules keep
that shortcut honest:

- **One report per identity per sensor report.** Two reports with the same identity in one
  scan would each be bound to (or start) a track: two tracks of one object, the second never
  updated by name again. Only the latest of them (by time, then by order) is kept; the others
  are dropped and counted (``dropped.duplicate_identity``).
- **An inconsistent report earns nothing.** A report its own decoder found internally
  inconsistent (``attrs["rid_inconsistent"]``: implied speed, operator distance, serial
  format; see ``sensors.remoteid_track``) is a claim somebody made, not evidence of an object
  there. It is not bound to its identity's track by name (it must pass the gate like any
  plot), a track it starts is tentative, and it never raises a track's score: such reports
  alone never confirm a track. The spoof monitor (``threat.spoof``) turns them into reasons
  and an alert.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import Detection

INCONSISTENT_KEY = "rid_inconsistent"


def inconsistent(d: Detection) -> bool:
    """The report's decoder flagged it internally inconsistent (a possible spoof)."""
    return bool(d.attrs.get(INCONSISTENT_KEY))


def one_per_identity(dets: Sequence[Detection]) -> NDArray[np.bool_]:
    """Mask keeping, per identity, the latest report (ties: the last in order); reports
    without an identity are all kept."""
    keep = np.ones(len(dets), dtype=bool)
    best: dict[str, int] = {}
    for j, d in enumerate(dets):
        if d.identity is None:
            continue
        k = best.get(d.identity)
        if k is None:
            best[d.identity] = j
        elif d.t >= dets[k].t:
            keep[k] = False
            best[d.identity] = j
        else:
            keep[j] = False
    return keep


def withhold_credit(
    score: NDArray[np.float64],
    before: NDArray[np.float64],
    uids: NDArray[np.int64],
    assignments: Iterable[tuple[str, Detection, int]],
) -> None:
    """Undo any score gain of the tracks (rows ``< len(before)``) that only inconsistent
    cooperative reports updated in this step: ``score = min(score, before)``."""
    flagged: set[int] = set()
    honest: set[int] = set()
    for tid, d, _ in assignments:
        (flagged if inconsistent(d) else honest).add(int(tid))
    only = flagged - honest
    if not only:
        return
    n = before.shape[0]
    rows = np.flatnonzero(np.isin(uids[:n], np.fromiter(only, dtype=np.int64, count=len(only))))
    score[rows] = np.minimum(score[rows], before[rows])
