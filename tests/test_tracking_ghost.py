"""Ghost crossings: two direction finders' bearings that cross where a working radar sees nothing.

Two DF bearings cross wherever two emitters' lines meet, so a crossing inside radar coverage
that the radar keeps missing is a ghost: bearings must never confirm it there, and the radar's
misses must bring its score down. Beyond the radar's declared range (or with the radar silent)
the bearings are all the site has, and they must still confirm the track.
"""

from __future__ import annotations

import math

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.core.site import SensorKind, SensorSpec
from skywarden.tracking.bank import CONFIRMED
from skywarden.tracking.tracker import Tracker

RADAR = SensorSpec(
    "radar", SensorKind.RADAR, MeasurementKind.RANGE_AZ_EL_RADIAL, np.zeros(3),
    {"range_m": 10.0, "az_rad": 0.01, "el_rad": 0.02, "radial_mps": 0.5},
    max_range_m=3000.0, pd=0.8, clutter_per_scan=1.0,
)  # fmt: skip
DF1 = SensorSpec("df1", SensorKind.RF, MeasurementKind.AZ, np.array([-1500.0, 0.0, 0.0]),
                 {"az_rad": 0.02}, pd=0.9)  # fmt: skip
DF2 = SensorSpec("df2", SensorKind.RF, MeasurementKind.AZ, np.array([1500.0, 0.0, 0.0]),
                 {"az_rad": 0.02}, pd=0.9)  # fmt: skip


def bearing(spec: SensorSpec, t: float, target: tuple[float, float]) -> Detection:
    s = spec.position_enu
    a = math.atan2(target[0] - s[0], target[1] - s[1])  # clockwise from north
    return Detection(t, spec.id, MeasurementKind.AZ, np.array([a]), spec.R(), s)


def run(
    target: tuple[float, float], radar_on: bool, scans: int = 15
) -> tuple[Tracker, list[float]]:
    """A still emitter at ``target`` heard by both DFs every second; the radar (when on)
    scans every second and reports nothing. Returns the tracker and the best track score
    after each second."""
    trk = Tracker([RADAR, DF1, DF2])
    best: list[float] = []
    for k in range(scans):
        t = float(k)
        if radar_on:
            trk.process(t, "radar", [])
        trk.process(t + 0.1, "df1", [bearing(DF1, t + 0.1, target)])
        trk.process(t + 0.2, "df2", [bearing(DF2, t + 0.2, target)])
        best.append(float(trk.bank.score.max()) if trk.bank.n else -math.inf)
    return trk, best


def confirmed(trk: Tracker) -> int:
    return int((trk.bank.status == CONFIRMED).sum())


def test_a_crossing_inside_radar_coverage_the_radar_misses_is_never_confirmed() -> None:
    trk, best = run((0.0, 1000.0), radar_on=True)
    assert trk.counters.get("initiated.from_bearings") > 0  # the crossings did start tracks
    assert confirmed(trk) == 0
    confirm = trk.cfg.management.confirm_score
    assert max(best) < confirm  # bearings never lift it to confirmation
    assert trk.bank.n == 0 or float(trk.bank.score.max()) < confirm


def test_the_radar_misses_bring_a_ghost_score_down() -> None:
    trk = Tracker([RADAR, DF1, DF2])
    target = (0.0, 1000.0)
    trk.process(0.0, "radar", [])
    trk.process(0.1, "df1", [bearing(DF1, 0.1, target)])
    trk.process(0.2, "df2", [bearing(DF2, 0.2, target)])
    assert trk.bank.n == 1  # the crossing started a tentative track
    s0 = float(trk.bank.score[0])
    trk.process(1.0, "radar", [])  # the radar looked there and saw nothing
    trk.process(1.1, "df1", [bearing(DF1, 1.1, target)])
    trk.process(1.2, "df2", [bearing(DF2, 1.2, target)])
    assert trk.bank.n == 0 or float(trk.bank.score[0]) <= s0 + math.log(1.0 - RADAR.pd_for()) + 1e-9


def test_the_same_crossing_beyond_radar_range_is_confirmed() -> None:
    trk, _ = run((0.0, 4500.0), radar_on=True)  # 4.5 km from the radar: outside its 3 km
    assert confirmed(trk) == 1


def test_with_the_radar_silent_bearings_confirm_inside_its_coverage() -> None:
    trk, _ = run((0.0, 1000.0), radar_on=False)  # a dead radar sees nothing, misses nothing
    assert confirmed(trk) == 1
