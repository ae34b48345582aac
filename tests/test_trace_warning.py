"""``benchmarks/trace_warning.py`` follows a track as well as a truth object (session 14,
branch warn4): a false alert is traced from its track, centred on the nearest truth object."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from skywarden.core.track import TrackState, TrackStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import trace_warning


def _row(oid: str, x: float, y: float) -> dict[str, object]:
    return {"id": oid, "class": "bird", "x": x, "y": y, "z": 100.0, "vx": 0.0, "vy": 0.0}


def _track(tid: str, x: float, y: float) -> TrackState:
    return TrackState(
        tid, 0.0, np.array([x, y, 100.0, 0.0, 0.0, 0.0]), np.eye(6), TrackStatus.CONFIRMED
    )


def test_a_truth_id_is_itself_and_a_track_id_is_its_nearest_truth_object() -> None:
    rows = {"B1": _row("B1", 0.0, 0.0), "B2": _row("B2", 500.0, 0.0)}
    tracks = [_track("8", 480.0, 10.0), _track("9", 0.0, 0.0)]
    assert trace_warning._follow(rows, "B1", tracks) is rows["B1"]
    assert trace_warning._follow(rows, "T8", tracks) is rows["B2"]
    assert trace_warning._follow(rows, "T7", tracks) is None  # no such track now
    assert trace_warning._follow({}, "T8", tracks) is None
