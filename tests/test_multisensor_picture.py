"""multisensor_attack, object by object: what the fused picture must hold (issue 3).

Each hostile drone has a confirmed track while inside radar coverage; the piloted drone is
tracked from RF bearings before the radar can see it; the friendly drone's track carries its
Remote ID serial and the helicopter's its ICAO address. Truth is read from the benchmark's
truth file; a track "holds" an object at a time when it is the nearest confirmed track and
within 100 m (the GOSPA cut-off) - 300 m for a bearings-only track, whose range is only as good
as two bearings crossing at a few kilometres allow.
"""

from __future__ import annotations

import json
from collections import defaultdict
from itertools import groupby
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from skywarden.core.track import TrackState
from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.sensors.skybench import SkybenchReader


@pytest.fixture(scope="module")
def picture(
    bench_dir: Path,
) -> tuple[dict[str, dict[float, Any]], dict[float, tuple[TrackState, ...]], Any]:
    truth: dict[str, dict[float, Any]] = defaultdict(dict)
    with (bench_dir / "multisensor_attack.truth.jsonl").open() as f:
        for line in f:
            r = json.loads(line)
            truth[r["id"]][float(r["t"])] = r
    reader = SkybenchReader.open(bench_dir / "multisensor_attack.scenario.jsonl")
    pipe = Pipeline(reader.site)
    frames: dict[float, tuple[TrackState, ...]] = {}
    for t, scans in groupby(reader, key=lambda s: s.t):
        frames[t] = pipe.step(list(scans), t).tracks
    reader.close()
    return truth, frames, reader.site


def _nearest(tracks: tuple[TrackState, ...], r: dict[str, Any]) -> tuple[float, TrackState | None]:
    p = np.array([r["x"], r["y"], r["z"]])
    best: tuple[float, TrackState | None] = (float("inf"), None)
    for tr in tracks:
        d = float(np.linalg.norm(tr.x[:3] - p))
        if d < best[0]:
            best = (d, tr)
    return best


def test_hostile_drones_have_a_track_inside_radar_coverage(picture: Any) -> None:
    truth, frames, site = picture
    radar = site.sensor_map["radar-1"]
    hostile = [k for k, v in truth.items() if next(iter(v.values())).get("hostile")]
    assert len(hostile) == 3
    for hid in hostile:
        inside = [
            (t, r)
            for t, r in truth[hid].items()
            if np.linalg.norm(np.array([r["x"], r["y"], r["z"]]) - radar.position_enu)
            <= radar.max_range_m
        ]
        held = sum(1 for t, r in inside if _nearest(frames[t], r)[0] < 100.0)
        # the first scans at the edge of coverage (Pd there ~0.4) are spent confirming
        assert held >= 0.9 * len(inside), (hid, held, len(inside))


def test_piloted_drone_is_tracked_from_bearings_before_the_radar_sees_it(picture: Any) -> None:
    truth, frames, site = picture
    radar = site.sensor_map["radar-1"]
    best = 0
    for rows in truth.values():
        if not next(iter(rows.values())).get("hostile"):
            continue
        held = 0
        for t, r in rows.items():
            p = np.array([r["x"], r["y"], r["z"]])
            if np.linalg.norm(p - radar.position_enu) <= radar.max_range_m:
                continue
            d, tr = _nearest(frames[t], r)
            if tr is not None and d < 300.0 and any(s.startswith("rf") for s in tr.sensors):
                held += 1
        best = max(best, held)
    assert best >= 15  # seconds of RF-only track before radar coverage


def test_cooperative_identities_ride_on_their_tracks(picture: Any) -> None:
    truth, frames, site = picture
    friendly = [k for k, v in truth.items() if next(iter(v.values())).get("friendly")]
    aircraft = [k for k, v in truth.items() if next(iter(v.values()))["class"] == "aircraft"]
    serials = set(site.whitelisted_identities)
    assert friendly and aircraft and serials
    for oid, want in [(friendly[0], serials), (aircraft[0], None)]:
        rows = truth[oid]
        ok = 0
        for t, r in rows.items():
            d, tr = _nearest(frames[t], r)
            if tr is None or d >= 100.0 or tr.identity is None:
                continue
            if want is None or tr.identity in want:
                ok += 1
        assert ok >= 0.95 * len(rows), (oid, ok, len(rows))
