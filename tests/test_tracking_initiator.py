"""The initiator role: pending plots promoted by a second plot, cooperative and bearing starts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from skywarden.core.counters import Counters
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.bank import CONFIRMED, TENTATIVE, TrackBank, states
from skywarden.tracking.bearing_initiator import CrossingConfig
from skywarden.tracking.initiator import Initiator, InitiatorConfig, TwoPointInitiator
from skywarden.tracking.management import ManagementConfig
from skywarden.tracking.motion import default_models
from skywarden.tracking.report import Look, det_positions, validate
from skywarden.tracking.sensor_model import SensorModel, sensor_model
from support.plots import PLOTS, xy

RID = SensorSpec("rid", SensorKind.REMOTE_ID, MeasurementKind.POSITION_ID, np.zeros(3),
                 {"pos_m": 5.0})  # fmt: skip
RF1 = SensorSpec("rf1", SensorKind.RF, MeasurementKind.AZ, np.array([0.0, 0.0, 0.0]),
                 {"az_rad": 0.01})  # fmt: skip
RF2 = SensorSpec("rf2", SensorKind.RF, MeasurementKind.AZ, np.array([1000.0, 0.0, 0.0]),
                 {"az_rad": 0.01})  # fmt: skip
SENSORS = {s.id: sensor_model(s) for s in (PLOTS, RID, RF1, RF2)}
MODELS = default_models()


def initiator(pending: bool = True) -> TwoPointInitiator:
    cfg = InitiatorConfig(
        MODELS, 0.995, 0.9995, 10.0, 3.0, 0.5, pending, ManagementConfig(),
        CrossingConfig(1.0, 60.0, 60.0, 10.0, 3.0),
    )  # fmt: skip
    return TwoPointInitiator(cfg, SENSORS, Counters())


def look(sm: SensorModel, t: float, dets: list[Detection]) -> Look:
    d, Z, R, SP, coop = validate(dets, sm, None, Counters())
    return Look(t, sm, d, Z, R, SP, coop, np.full(len(d), sm.log_lambda),
                det_positions(sm, Z, SP), True, True, np.zeros(0, dtype=np.int64))  # fmt: skip


def bank() -> TrackBank:
    return TrackBank(2, np.array([0.8, 0.2]))


def free(n: int) -> np.ndarray:
    return np.ones(n, dtype=bool)


def test_a_free_plot_waits_and_a_second_plot_in_its_gate_makes_a_track() -> None:
    init: Initiator = initiator()
    b = bank()
    lk0 = look(SENSORS["p"], 0.0, [xy(0.0, 100.0, 100.0), xy(0.0, -3000.0, 2000.0)])
    init.initiate(b, lk0, free(2))
    assert b.n == 0  # plots wait outside the bank
    lk1 = look(SENSORS["p"], 1.0, [xy(1.0, 108.0, 95.0), xy(1.0, 2500.0, -2500.0)])
    promoted = init.promote(b, lk1, free(2))
    assert b.n == 1 and promoted.dets.tolist() == [0]  # only the plot near a pending one
    assert promoted.first[0].z.tolist() == [100.0, 100.0]
    assert b.status[0] == TENTATIVE and b.t[0] == 1.0  # predicted to the second plot's time
    score = float(b.score[0])
    init.promoted(b, lk1, promoted, np.array([-5.0]))
    assert b.score[0] == pytest.approx(score + math.log(0.9) - 5.0 - SENSORS["p"].log_lambda)
    init.age(lk1, promoted)
    assert isinstance(init, TwoPointInitiator)
    assert init.pending["p"].n == 1  # the far one is left; the promoted first plot is gone


def test_without_pending_plots_each_free_plot_is_a_tentative_track() -> None:
    b = bank()
    initiator(pending=False).initiate(b, look(SENSORS["p"], 0.0, [xy(0.0, 1.0, 2.0)]), free(1))
    assert b.n == 1 and b.status[0] == TENTATIVE


def test_a_consistent_cooperative_report_starts_a_confirmed_track_an_inconsistent_one_not() -> None:
    def rid(ident: str, bad: bool) -> Detection:
        return Detection(0.0, "rid", MeasurementKind.POSITION_ID, np.array([10.0, 0, 50, 1, 0, 0]),
                         RID.R(), np.zeros(3), ident, attrs={"rid_inconsistent": bad})  # fmt: skip

    b = bank()
    initiator().initiate(b, look(SENSORS["rid"], 0.0, [rid("a", False), rid("b", True)]), free(2))
    assert b.identity.tolist() == ["a", "b"]
    assert b.status.tolist() == [CONFIRMED, TENTATIVE]


def test_two_sensors_bearings_that_cross_start_a_track_at_the_crossing() -> None:
    def az(sid: str, spec: SensorSpec, target: tuple[float, float]) -> Detection:
        s = spec.position_enu
        a = math.atan2(target[0] - s[0], target[1] - s[1])  # clockwise from north
        return Detection(0.0, sid, MeasurementKind.AZ, np.array([a]), spec.R(), s)

    b = bank()
    init = initiator()
    target = (500.0, 800.0)
    init.initiate(b, look(SENSORS["rf1"], 0.0, [az("rf1", RF1, target)]), free(1))
    assert b.n == 0  # one bearing: a partner, no track
    init.initiate(b, look(SENSORS["rf2"], 0.2, [az("rf2", RF2, target)]), free(1))
    assert b.n == 1
    assert b.x[0, 0, :2] == pytest.approx(np.array(target), abs=1.0)
    assert b.x[0, 0, 2] == 60.0  # the default altitude of a horizontal-bearing start


def test_a_track_started_from_crossing_bearings_counts_no_located_plot() -> None:
    """``TrackState.pos_hits`` (rule 1's location, session 15): the plots of ranging sensors
    in a track's life; a crossing of bearings starts at 0, a track made of plots at its hits."""

    def az(sid: str, spec: SensorSpec, target: tuple[float, float]) -> Detection:
        s = spec.position_enu
        a = math.atan2(target[0] - s[0], target[1] - s[1])
        return Detection(0.0, sid, MeasurementKind.AZ, np.array([a]), spec.R(), s)

    b = bank()
    init = initiator()
    init.initiate(b, look(SENSORS["rf1"], 0.0, [az("rf1", RF1, (500.0, 800.0))]), free(1))
    init.initiate(b, look(SENSORS["rf2"], 0.2, [az("rf2", RF2, (500.0, 800.0))]), free(1))
    init.initiate(b, look(SENSORS["p"], 0.5, [xy(0.5, -3000.0, 2000.0)]), free(1))
    lk1 = look(SENSORS["p"], 1.5, [xy(1.5, -2992.0, 2005.0)])
    init.promoted(b, lk1, init.promote(b, lk1, free(1)), np.array([-5.0]))
    out = states(b, b.x[:, 0], b.P[:, 0])
    assert [s.pos_hits for s in out] == [0, int(b.hits[1])]
    assert int(b.hits[1]) >= 1
