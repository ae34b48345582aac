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
from skywarden.tracking.bank import TrackBank

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


class Identities:
    """Which track holds each cooperative identity and transmitter key (track uids).

    The hypothesiser binds a cooperative report to its name's track through this book
    (``pairs``); the tracker writes it when a report updates a track (``note``)."""

    def __init__(self) -> None:
        self.alias: dict[str, int] = {}  # identity / transmitter key -> track uid

    def pairs(self, bank: TrackBank, dets: list[Detection]) -> dict[int, int]:
        """Detection index -> track row for cooperative reports whose identity a track holds
        (called for a report ``report.validate`` found cooperative)."""
        out: dict[int, int] = {}
        if bank.n == 0:
            return out
        rows: dict[str, int] = {}
        for i, ident in enumerate(bank.identity):
            if ident is not None:
                rows.setdefault(ident, i)  # the oldest track of a name (a spoof's is younger)
        row_of_uid = {int(u): i for i, u in enumerate(bank.uid.tolist())}
        for j, d in enumerate(dets):
            if inconsistent(d):
                continue  # a possible spoof is not bound by name: it must pass the gate
            if d.identity is not None and d.identity in rows:
                out[j] = rows[d.identity]
                continue
            # the same transmitter under a new name (Remote ID: its MAC-keyed reports before
            # the Basic ID message arrived, the serial after)
            for key in (d.identity, d.attrs.get("transmitter")):
                uid = self.alias.get(str(key)) if key is not None else None
                if uid is not None and uid in row_of_uid:
                    out[j] = row_of_uid[uid]
                    break
        return out

    def note(self, bank: TrackBank, i: int, d: Detection) -> None:
        """Detection ``d`` (with an identity) updated track row ``i``."""
        ident = d.identity
        if ident is None:
            return
        uid = int(bank.uid[i])
        tx = d.attrs.get("transmitter")
        same_tx = tx is not None and self.alias.get(str(tx)) == uid
        if bank.identity[i] is None or (same_tx and bank.identity[i] != ident):
            bank.identity[i] = ident  # first identity, or its transmitter's newer name
        self.alias[ident] = uid
        if tx is not None:
            self.alias[str(tx)] = uid

    def prune(self, bank: TrackBank) -> None:
        """Forget the names of deleted tracks, now and then (not every report)."""
        if len(self.alias) > 2 * bank.n + 256:
            alive = set(bank.uid.tolist())
            self.alias = {k: u for k, u in self.alias.items() if u in alive}
