"""The track store in structure-of-arrays form: every track's IMM state in stacked arrays.

Predict, gate and update run as numpy operations over these arrays; there is no per-track
Python object on the hot path. Rows are compacted when tracks are deleted, so row indices
are only valid within one step; a track's stable identity is ``uid``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.core.track import TrackStatus

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


class TrackBank:
    """All tracks of one tracker. ``n`` rows are live; arrays beyond ``n`` are scratch."""

    def __init__(self, n_modes: int, mu0: F64) -> None:
        self.M = n_modes
        self.mu0 = mu0
        self.n = 0
        self.next_uid = 1
        self.x = np.zeros((0, n_modes, 6))
        self.P = np.zeros((0, n_modes, 6, 6))
        self.mu = np.zeros((0, n_modes))
        self.t = np.zeros(0)  # time of the current state
        self.t_first = np.zeros(0)
        self.t_update = np.zeros(0)  # last measurement update
        self.score = np.zeros(0)  # track log-likelihood ratio (Blackman & Popoli 1999, 6.2)
        self.score_max = np.zeros(0)
        self.score0 = np.zeros(0)  # the initial score L0 (the SPRT's drop test counts from it)
        self.status = np.zeros(0, dtype=np.int8)
        self.hits = np.zeros(0, dtype=np.int64)
        self.pos_hits = np.zeros(0, dtype=np.int64)  # hits from position-fixing sensors
        self.uid = np.zeros(0, dtype=np.int64)
        self.identity: NDArray[np.object_] = np.empty(0, dtype=object)
        self.sensors: NDArray[np.object_] = np.empty(0, dtype=object)  # dict sensor -> last t

    def __len__(self) -> int:
        return self.n

    def add(self, new: NewTracks) -> NDArray[np.int64]:
        """Append tracks; returns their uids."""
        k = new.x.shape[0]
        if k == 0:
            return np.zeros(0, dtype=np.int64)
        uids = np.arange(self.next_uid, self.next_uid + k, dtype=np.int64)
        self.next_uid += k
        M = self.M
        ident = np.empty(k, dtype=object)
        ident[:] = new.identity
        sens = np.empty(k, dtype=object)
        for i in range(k):
            sens[i] = {new.sensor[i]: float(new.t[i])}
        if new.mu is not None:  # per-mode states
            self.x = np.concatenate([self.x, new.x])
            self.P = np.concatenate([self.P, new.P])
            self.mu = np.concatenate([self.mu, new.mu])
        else:
            self.x = np.concatenate([self.x, np.repeat(new.x[:, None, :], M, axis=1)])
            self.P = np.concatenate([self.P, np.repeat(new.P[:, None, :, :], M, axis=1)])
            self.mu = np.concatenate([self.mu, np.broadcast_to(self.mu0, (k, M))])
        self.t = np.concatenate([self.t, new.t if new.t_state is None else new.t_state])
        self.t_first = np.concatenate([self.t_first, new.t])
        self.t_update = np.concatenate([self.t_update, new.t])
        self.score = np.concatenate([self.score, new.score])
        self.score_max = np.concatenate([self.score_max, new.score])
        self.score0 = np.concatenate([self.score0, new.score if new.score0 is None else new.score0])
        self.status = np.concatenate([self.status, np.zeros(k, dtype=np.int8)])
        self.hits = np.concatenate([self.hits, np.full(k, new.hits, dtype=np.int64)])
        self.pos_hits = np.concatenate(
            [self.pos_hits, np.full(k, new.hits * int(new.from_position), dtype=np.int64)]
        )
        self.uid = np.concatenate([self.uid, uids])
        self.identity = np.concatenate([self.identity, ident])
        self.sensors = np.concatenate([self.sensors, sens])
        self.n += k
        return uids

    def keep(self, mask: NDArray[np.bool_]) -> None:
        """Drop every row where ``mask`` is False."""
        if mask.all():
            return
        for name in (
            "x",
            "P",
            "mu",
            "t",
            "t_first",
            "t_update",
            "score",
            "score_max",
            "score0",
            "status",
            "hits",
            "pos_hits",
            "uid",
            "identity",
            "sensors",
        ):
            setattr(self, name, getattr(self, name)[mask])
        self.n = int(mask.sum())
