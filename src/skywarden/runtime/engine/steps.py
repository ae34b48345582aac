"""How a tick's released scans become pipeline steps: which reports are one look, which
looks are one step.

Why this exists: a step (``Pipeline.step``) costs the same few milliseconds whether it
carries one report or fifty (classification, launch points, threat assessment and alerts
run over every track, once per step), and ``Tracker.process`` costs about the same for one
detection as for a look of many (it predicts every track to the look's time). A sensor that
streams object-by-object reports, each stamped with its own time (SAPIENT, MQTT, Mode S),
at thousands a second made one step and one tracker call per message: about 4 ms of CPU
per one-detection message, a few hundred messages a second on one core. Two rules, both
functions of the inputs alone (the journal's order and its tick records), so a replay makes
the same steps as the live run did:

* :func:`merge_reports`: one sensor's object-by-object reports that follow each other are
  joined into one look (``complete=False`` still): always when they share a measurement
  time; across times only within ``join_s`` (10 ms: a 25 m/s drone moves 0.25 m, an
  airliner 2.5 m, well inside any sensor's noise) and only while the joined look holds no
  other-time report that could be the same object (same cooperative identity, or a position
  within ``APART_M``): a look holds each object once, which the association assumes.
* :func:`steps_of`: the looks one tick released are stepped once per ``step_s`` of
  measurement time (50 ms), at the last time in it, instead of once per distinct time;
  inside the step every look still goes through the tracker on its own, in time order. A
  tick that releases one time (``skywarden track``/``bench``, the investigation) steps as
  it always did, so the public bench outputs do not change.
"""

from __future__ import annotations

import math
from dataclasses import replace
from itertools import groupby

from skywarden.core.observation import Detection, MeasurementKind
from skywarden.sensors.skybench import Scan

STEP_S = 0.05  # s of measurement time one step may span
JOIN_S = 0.01  # s of measurement time one joined look may span
APART_M = 100.0  # reports of other times nearer than this may be the same object: not joined
_POSITIONAL = (MeasurementKind.XY, MeasurementKind.XYZ, MeasurementKind.POSITION_ID)


def _joinable(prev: Scan, s: Scan) -> bool:
    """Both object-by-object reports of one sensor, of one kind, not bulk arrays."""
    return (
        not s.complete
        and not prev.complete
        and prev.sensor_id == s.sensor_id
        and bool(prev.detections)
        and bool(s.detections)
        and prev.stacked is None
        and s.stacked is None
        and all(d.kind == prev.detections[0].kind for d in s.detections)
    )


def _may_be_same(a: Detection, b: Detection) -> bool:
    """Could ``a`` and ``b`` (of different times) be reports of the same object?"""
    if a.identity is not None and a.identity == b.identity:
        return True
    dx, dy = float(a.z[0]) - float(b.z[0]), float(a.z[1]) - float(b.z[1])
    return math.hypot(dx, dy) < APART_M


def _apart(prev: Scan, s: Scan) -> bool:
    """No report in ``s`` may be an object ``prev`` already holds from another time."""
    return not any(p.t != d.t and _may_be_same(p, d) for d in s.detections for p in prev.detections)


def merge_reports(scans: list[Scan], join_s: float = 0.0) -> list[Scan]:
    """Consecutive object-by-object reports of one sensor joined into one look (module doc).

    With ``join_s`` 0 only reports of one measurement time are joined. Whole looks, other
    sensors' reports and empty reports are never joined; order is kept otherwise. A look
    joined across times carries the latest time of its reports (each detection keeps its own)."""
    out: list[Scan] = []
    first_t = 0.0  # earliest time in out[-1]
    for s in scans:
        prev = out[-1] if out else None
        if prev is not None and _joinable(prev, s):
            if s.t == prev.t and all(d.t == s.t for d in prev.detections):
                out[-1] = replace(prev, detections=prev.detections + s.detections)
                continue
            if (
                s.t >= prev.t
                and s.t - first_t <= join_s
                and s.detections[0].kind in _POSITIONAL
                and _apart(prev, s)
            ):
                out[-1] = replace(prev, t=s.t, detections=prev.detections + s.detections)
                continue
        out.append(s)
        first_t = s.t
    return out


def steps_of(
    released: list[Scan], step_s: float = STEP_S, join_s: float = JOIN_S
) -> list[tuple[float, list[Scan]]]:
    """``(step time, looks)`` for the scans a tick released (oldest first): one step per
    ``step_s`` of measurement time, each at the last time in it (module doc)."""
    groups: list[tuple[float, float, list[Scan]]] = []  # (first t, last t, scans)
    for ts, g in groupby(released, key=lambda s: s.t):
        if groups and ts - groups[-1][0] <= step_s:
            first, _, acc = groups[-1]
            acc.extend(g)
            groups[-1] = (first, ts, acc)
        else:
            groups.append((ts, ts, list(g)))
    return [(last, merge_reports(acc, join_s)) for _, last, acc in groups]
