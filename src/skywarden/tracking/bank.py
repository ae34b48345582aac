"""The track store in structure-of-arrays form: every track's IMM state in stacked arrays.

Predict, gate and update run as numpy operations over these arrays; there is no per-track
Python object on the hot path. Rows are compacted when tracks are deleted, so row indices
are only valid within one step; a track's stable identity is ``uid``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.core.track import TrackState, TrackStatus

F64 = NDArray[np.float64]

STATUS_CODES = (
    TrackStatus.TENTATIVE,
    TrackStatus.CONFIRMED,
    TrackStatus.COASTING,
    TrackStatus.DELETED,
)
TENTATIVE, CONFIRMED, COASTING, DELETED = 0, 1, 2, 3


@dataclass
class NewTracks:
    """Rows to append: initial per-mode states are the same estimate in every mode."""

    x: F64  # (K, 6), or per mode (K, M, 6) with ``mu``
    P: F64  # (K, 6, 6), or (K, M, 6, 6)
    t: F64  # (K,) first seen
    score: F64  # (K,)
    identity: list[str | None]
    sensor: list[str]
    from_position: bool = True  # False: started from crossing bearings
    score0: F64 | None = None  # initial scores when not ``score`` (a promoted pending plot)
    hits: int = 1
    mu: F64 | None = None  # (K, M) mode probabilities of per-mode states
    t_state: F64 | None = None  # time of the state when not ``t`` (already predicted)


# per-track scalars, one column each of ``TrackBank.f`` (floats) and ``TrackBank.i`` (ints):
# adding and dropping tracks, every scan, then moves six arrays instead of fifteen
T, T_FIRST, T_UPDATE, SCORE, SCORE_MAX, SCORE0 = range(6)
STATUS, HITS, POS_HITS, UID = range(4)


class TrackBank:
    """All tracks of one tracker. ``n`` rows are live.

    Per-mode states are ``x``, ``P``, ``mu``; the scalars are read as named columns (``t``,
    ``score``, ``status``, ``uid``, ...) of three packed arrays: each is a view, so
    ``bank.score[rows] += ...`` writes through to the bank.
    """

    def __init__(self, n_modes: int, mu0: F64) -> None:
        self.M = n_modes
        self.mu0 = mu0
        self.n = 0
        self.next_uid = 1
        self.x = np.zeros((0, n_modes, 6))
        self.P = np.zeros((0, n_modes, 6, 6))
        self.mu = np.zeros((0, n_modes))
        self.f = np.zeros((0, 6))
        self.i = np.zeros((0, 4), dtype=np.int64)
        self.o = np.empty((0, 2), dtype=object)  # identity, sensors

    def __len__(self) -> int:
        return self.n

    @property
    def t(self) -> F64:
        """Time of the current state."""
        col: F64 = self.f[:, T]
        return col

    @property
    def t_first(self) -> F64:
        """First detection."""
        col: F64 = self.f[:, T_FIRST]
        return col

    @property
    def t_update(self) -> F64:
        """Last measurement update."""
        col: F64 = self.f[:, T_UPDATE]
        return col

    @property
    def score(self) -> F64:
        """Track log-likelihood ratio (Blackman & Popoli 1999, 6.2)."""
        col: F64 = self.f[:, SCORE]
        return col

    @property
    def score_max(self) -> F64:
        """The score's running maximum."""
        col: F64 = self.f[:, SCORE_MAX]
        return col

    @property
    def score0(self) -> F64:
        """The initial score L0 (the SPRT's drop test counts from it)."""
        col: F64 = self.f[:, SCORE0]
        return col

    @property
    def status(self) -> NDArray[np.int64]:
        """Lifecycle code (TENTATIVE ...)."""
        col: NDArray[np.int64] = self.i[:, STATUS]
        return col

    @property
    def hits(self) -> NDArray[np.int64]:
        """Measurement updates."""
        col: NDArray[np.int64] = self.i[:, HITS]
        return col

    @property
    def pos_hits(self) -> NDArray[np.int64]:
        """Hits from position-fixing sensors."""
        col: NDArray[np.int64] = self.i[:, POS_HITS]
        return col

    @property
    def uid(self) -> NDArray[np.int64]:
        """Stable track number."""
        col: NDArray[np.int64] = self.i[:, UID]
        return col

    @property
    def identity(self) -> NDArray[np.object_]:
        """Cooperative identity or None."""
        col: NDArray[np.object_] = self.o[:, 0]
        return col

    @property
    def sensors(self) -> NDArray[np.object_]:
        """Dict sensor -> last update time."""
        col: NDArray[np.object_] = self.o[:, 1]
        return col

    def add(self, new: NewTracks) -> NDArray[np.int64]:
        """Append tracks; returns their uids."""
        k = new.x.shape[0]
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        uids = np.arange(self.next_uid, self.next_uid + k, dtype=np.int64)
        self.next_uid += k
        M = self.M
        f = np.empty((k, 6))
        f[:, T] = new.t if new.t_state is None else new.t_state
        f[:, T_FIRST] = f[:, T_UPDATE] = new.t
        f[:, SCORE] = f[:, SCORE_MAX] = new.score
        f[:, SCORE0] = new.score if new.score0 is None else new.score0
        i = np.zeros((k, 4), dtype=np.int64)  # status 0: tentative
        i[:, HITS] = new.hits
        i[:, POS_HITS] = new.hits * int(new.from_position)
        i[:, UID] = uids
        o = np.empty((k, 2), dtype=object)
        o[:, 0] = new.identity
        for r in range(k):
            o[r, 1] = {new.sensor[r]: float(new.t[r])}
        if new.mu is not None:  # per-mode states
            self.x = np.concatenate([self.x, new.x])
            self.P = np.concatenate([self.P, new.P])
            self.mu = np.concatenate([self.mu, new.mu])
        else:
            self.x = np.concatenate([self.x, np.repeat(new.x[:, None, :], M, axis=1)])
            self.P = np.concatenate([self.P, np.repeat(new.P[:, None, :, :], M, axis=1)])
            self.mu = np.concatenate([self.mu, np.broadcast_to(self.mu0, (k, M))])
        self.f = np.concatenate([self.f, f])
        self.i = np.concatenate([self.i, i])
        self.o = np.concatenate([self.o, o])
        self.n += k
        return uids

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Drop every row where ``mask`` is False."""
        if mask.all():
            return
        self.x, self.P, self.mu = self.x[mask], self.P[mask], self.mu[mask]
        self.f, self.i, self.o = self.f[mask], self.i[mask], self.o[mask]
        self.n = int(mask.sum())


def states(b: TrackBank, xc: F64, Pc: F64, confirmed_only: bool = False) -> list[TrackState]:
    """The bank's tracks as immutable values, with their combined IMM estimates ``xc, Pc``.

    Built once per frame for every confirmed track, so per track it only indexes Python
    lists (every bank column, the object columns too, converted once) and fills each
    state's fields in one go (``TrackState.of``); ``x`` and ``P`` are copies of their
    rows, so a state kept for long (the launch estimator keeps early ones) holds its own
    6 + 36 numbers, not the whole frame's arrays."""
    status, uid, tt = b.status.tolist(), b.uid.tolist(), b.t.tolist()
    hits, score, t_first, mu = (
        b.hits.tolist(),
        b.score.tolist(),
        b.t_first.tolist(),
        b.mu.tolist(),
    )
    identity, sensors = b.identity.tolist(), b.sensors.tolist()
    pos_hits = b.pos_hits.tolist()
    rows = [i for i, s in enumerate(status) if s != TENTATIVE] if confirmed_only else range(b.n)
    make = TrackState.of
    out = []
    for i in rows:
        ti = tt[i]
        out.append(
            make(
                str(uid[i]),
                ti,
                xc[i].copy(),
                Pc[i].copy(),
                STATUS_CODES[status[i]],
                identity[i],
                tuple(sorted([k for k, v in sensors[i].items() if ti - v <= 10.0])),
                hits[i],
                score[i],
                t_first[i],
                tuple(mu[i]),
                pos_hits[i],
            )
        )
    return out
