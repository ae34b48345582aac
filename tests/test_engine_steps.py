"""How a tick's scans become steps (``runtime.engine.steps``): a stream of one sensor's
object-by-object reports, each with its own time, is joined into looks (never two reports
that may be one object) and stepped once per ``step_s``; one time per tick steps exactly as
before; nothing is lost, nothing reordered."""

from __future__ import annotations

import numpy as np

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.runtime.engine.engine import Engine
from skywarden.runtime.engine.steps import merge_reports, steps_of
from skywarden.sensors.skybench import Scan
from test_engine_merge import R, camera_site


def det(t: float, e: float, n: float, identity: str | None = None) -> Detection:
    return Detection(
        t, "cam", MeasurementKind.XYZ, np.array([e, n, 100.0]), R, np.zeros(3), identity
    )


def one(t: float, e: float, n: float, identity: str | None = None) -> Scan:
    return Scan(t, "cam", (det(t, e, n, identity),), complete=False)


def test_reports_of_other_objects_join_within_the_window_same_object_does_not() -> None:
    # objects A (0, 0) and B (1000, 0) reported alternately every 2 ms
    scans = [one(1.0 + 0.002 * k, 1000.0 * (k % 2) + 0.05 * k, 0.0) for k in range(6)]
    out = merge_reports(scans, join_s=0.01)
    # A, B join; the next A (2 ms later, 0.1 m away) may be A again: a new look
    assert [len(s.detections) for s in out] == [2, 2, 2]
    assert [s.t for s in out] == [scans[1].t, scans[3].t, scans[5].t]  # the latest time
    assert [d for s in out for d in s.detections] == [d for s in scans for d in s.detections]


def test_join_window_identity_and_whole_looks() -> None:
    far = [one(1.0 + 0.004 * k, 500.0 * k, 0.0) for k in range(5)]  # 16 ms, all apart
    assert [len(s.detections) for s in merge_reports(far, join_s=0.01)] == [3, 2]
    same_id = [one(1.0, 0.0, 0.0, "icao:1"), one(1.001, 900.0, 0.0, "icao:1")]
    assert len(merge_reports(same_id, join_s=0.01)) == 2  # one aircraft, two reports
    whole = Scan(1.001, "cam", (det(1.001, 900.0, 0.0),), complete=True)
    assert len(merge_reports([one(1.0, 0.0, 0.0), whole], join_s=0.01)) == 2
    assert len(merge_reports(far, join_s=0.0)) == 5  # no window: only same-time reports


def test_steps_span_step_s_and_one_time_steps_as_before() -> None:
    scans = [one(1.0 + 0.01 * k, 500.0 * k, 0.0) for k in range(12)]  # 1.00 .. 1.11 s
    steps = steps_of(scans, step_s=0.045, join_s=0.0)
    assert [round(t, 2) for t, _ in steps] == [1.04, 1.09, 1.11]
    assert [len(looks) for _, looks in steps] == [5, 5, 2]
    per_time = steps_of(scans, step_s=0.0, join_s=0.0)  # the old rule: one step per time
    assert [t for t, _ in per_time] == [s.t for s in scans]
    a, b = one(2.0, 0.0, 0.0), Scan(2.0, "cam", (det(2.0, 700.0, 0.0),), complete=False)
    assert steps_of([a, b]) == [(2.0, merge_reports([a, b]))]


def test_engine_streams_a_sensor_in_few_steps_and_tracks_every_object() -> None:
    eng = Engine(camera_site("steps"))
    starts = [(400.0 * k, 1500.0 - 300.0 * k) for k in range(5)]
    frames = []
    n = 0
    for tick in range(1, 31):  # 3 s, ticks every 0.1 s
        for j in range(50):  # 500 reports/s, each its own message and time, objects in turn
            t = (tick - 1) * 0.1 + j * 0.002
            e, nn = starts[n % 5]
            eng.message("cam", t, [det(t, e + 10.0 * t, nn)], complete=False)
            n += 1
        frames += eng.tick(tick * 0.1)
    stats = eng.pipeline.tracker.counters.snapshot()
    assert stats["accepted.detections"] == n  # every report used
    assert stats["accepted.reports"] <= n / 4  # looks of several objects, not one per report
    assert len(frames) <= 2 * 30 + 1  # one step per 50 ms of reports, not one per report
    conf = [tr for tr in frames[-1].tracks if tr.confirmed]
    assert len(conf) == 5
    assert [f.t for f in frames] == sorted(f.t for f in frames)
