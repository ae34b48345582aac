"""Initiation from crossing bearings: two sensors' bearing lines that cross start a track.

A passive RF direction finder or an acoustic array gives a bearing line, no position. A
bearing that no track explains is kept for ``bearing_pair_window_s`` as a partner; a
bearing of another sensor that crosses it (``initiation.triangulate``) starts a tentative
track at the crossing. A bearing that updated a track is kept too, but pairs only where the
crossing lies far from that track: two objects' bearings, the crossing possibly a new
emitter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.core.counters import Counters
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking import imm
from skywarden.tracking.bank import NewTracks, TrackBank
from skywarden.tracking.initiation import triangulate
from skywarden.tracking.sensor_model import SensorModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class CrossingConfig:
    """The settings of crossing-bearing initiation (from ``TrackerConfig``)."""

    window_s: float
    default_altitude_m: float
    default_altitude_sigma_m: float
    sigma_v_init: float
    sigma_vz_init: float


@dataclass
class Bearing:
    """A recent bearing kept as a partner for crossings with other sensors' bearings."""

    t: float
    sensor: SensorModel
    det: Detection
    track_uid: int | None = None  # the track this bearing updated, if any


class BearingCrossings:
    """The recent bearings of every bearing sensor, and the tracks their crossings start."""

    def __init__(
        self, cfg: CrossingConfig, sensors: dict[str, SensorModel], counters: Counters
    ) -> None:
        self.cfg = cfg
        self.sensors = sensors
        self.counters = counters
        self.bearings: list[Bearing] = []

    def remember(self, t: float, sm: SensorModel, bank: TrackBank, dets: list[Detection],
                 ta: I64, da: I64) -> None:  # fmt: skip
        """Bearings ``da`` updated tracks ``ta``: partners for crossings far from them."""
        self.bearings.extend(
            Bearing(t, sm, dets[j], int(bank.uid[i]))
            for i, j in zip(ta.tolist(), da.tolist(), strict=True)
        )

    def initiate(self, bank: TrackBank, t: float, sm: SensorModel, dets: list[Detection]) -> None:
        """Pair each free bearing ``dets`` with a crossing partner, or keep it as one."""
        win = self.cfg.window_s
        self.bearings = [b for b in self.bearings if t - b.t <= win]
        new = []
        for d in dets:
            partner = None
            for k, other in enumerate(self.bearings):
                if other.sensor.spec.id == sm.spec.id:
                    continue
                if other.track_uid is not None and not self._far_from_track(bank, other, d):
                    continue  # the two bearings agree with the track the first one updated
                res = triangulate(
                    other.sensor.spec.position_enu,
                    float(other.det.z[0]),
                    math.sqrt(other.det.R[0, 0]),
                    sm.spec.position_enu,
                    float(d.z[0]),
                    math.sqrt(d.R[0, 0]),
                )
                if res is not None:
                    partner = (k, res)
                    break
            if partner is None:
                new.append(Bearing(t, sm, d))
                continue
            k, (p_en, P_en) = partner
            if self.bearings[k].track_uid is None:
                self.bearings.pop(k)
            self._start(bank, t, sm, d, p_en, P_en)
        self.bearings.extend(new)

    def _far_from_track(self, bank: TrackBank, other: Bearing, d: Detection) -> bool:
        """Whether bearing ``d`` and ``other`` (which updated a track) cross far from that
        track: then they are two objects' bearings and the crossing may be a new emitter."""
        res = triangulate(
            other.sensor.spec.position_enu,
            float(other.det.z[0]),
            math.sqrt(other.det.R[0, 0]),
            self.sensors[d.sensor_id].spec.position_enu,
            float(d.z[0]),
            math.sqrt(d.R[0, 0]),
        )
        rows = np.flatnonzero(bank.uid == other.track_uid)
        if res is None or rows.shape[0] == 0:
            return res is not None
        p_en, P_en = res
        i = int(rows[0])
        # x = sum_m mu_m x_m, P = sum_m mu_m (P_m + (x_m - x)(x_m - x)')
        xc, Pc = imm.combine(bank.x[i : i + 1], bank.P[i : i + 1], bank.mu[i : i + 1])
        dist = float(np.hypot(*(xc[0, :2] - p_en)))
        sd = math.sqrt(float(np.trace(P_en)) + float(np.trace(Pc[0, :2, :2])))
        return dist > max(300.0, 4.0 * sd)

    def _start(
        self, bank: TrackBank, t: float, sm: SensorModel, d: Detection, p_en: F64, P_en: F64
    ) -> None:
        cfg = self.cfg
        x = np.zeros((1, 6))
        P = np.zeros((1, 6, 6))
        x[0, :2] = p_en
        P[0, :2, :2] = P_en
        x[0, 2] = cfg.default_altitude_m
        P[0, 2, 2] = cfg.default_altitude_sigma_m**2
        if d.kind is MeasurementKind.AZ_EL:
            s = sm.spec.position_enu
            rng = float(np.hypot(*(p_en - s[:2])))
            x[0, 2] = s[2] + rng * math.tan(float(d.z[1]))  # z = z_s + r tan(el)
            P[0, 2, 2] = (rng * math.sqrt(d.R[1, 1])) ** 2 + 25.0  # (r sigma_el)^2 + 5^2
        P[0, 3, 3] = P[0, 4, 4] = cfg.sigma_v_init**2
        P[0, 5, 5] = cfg.sigma_vz_init**2
        bank.add(
            NewTracks(x, P, np.array([t]), np.zeros(1), [None], [sm.spec.id], from_position=False)
        )
        self.counters.inc("initiated.from_bearings")
