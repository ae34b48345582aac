"""The whole pipeline on the public ``ballistic_night`` and ``night_launch`` files: impact and
launch fields in tracks.jsonl, warnings only for rounds that land in the protected zone,
launch estimates only on drone tracks, and a snapshot that survives pickling."""

from __future__ import annotations

import json
import math
import pickle
from collections import defaultdict
from pathlib import Path

import pytest

from skywarden.runtime.engine.pipeline import Pipeline
from skywarden.runtime.offline.bench_io import scans_by_time
from skywarden.sensors.skybench import SkybenchReader
from support.bench_tracks import BenchTracks

BENCH = Path(__file__).resolve().parents[1].parent.parent / "shared" / "bench"
if not BENCH.is_dir():
    BENCH = Path("/work/shared/bench")


def _files(name: str) -> tuple[Path, Path]:
    scen, truth = BENCH / f"{name}.scenario.jsonl", BENCH / f"{name}.truth.jsonl"
    if not scen.is_file() or not truth.is_file():
        pytest.skip(f"{name} benchmark files not found under {BENCH}")
    return scen, truth


def _run(bench_tracks: BenchTracks, name: str) -> list[dict]:
    """The default pipeline's output lines on a public file (tracked once per pytest run)."""
    with bench_tracks(name).path.open() as f:
        return [json.loads(line) for line in f]


def test_ballistic_night_warns_where_rounds_land_and_predicts_impact(
    bench_tracks: BenchTracks,
) -> None:
    _, truth_path = _files("ballistic_night")
    truth = defaultdict(dict)
    impact = {}
    for line in truth_path.read_text().splitlines():
        r = json.loads(line)
        truth[r["t"]][r["id"]] = r
        if "impact_enu_m" in r:
            impact[r["id"]] = r
    lines = _run(bench_tracks, "ballistic_night")
    follows: dict[str, set[str]] = defaultdict(set)  # truth id -> ballistic track ids
    for snap in lines:
        if "tracks" not in snap:
            continue
        for tr in snap["tracks"]:
            if tr["class"] not in ("rocket", "mortar", "shell"):
                assert "impact_enu_m" not in tr
                continue
            assert "impact_enu_m" in tr and "launch_enu_m" in tr and "impact_ellipse_m" in tr
            near = [
                oid
                for oid, o in truth[snap["t"]].items()
                if math.dist((o["x"], o["y"], o["z"]), (tr["x"], tr["y"], tr["z"])) < 100
            ]
            assert near and near[0] in impact, f"track {tr['id']} follows no round"
            assert tr["class"] == impact[near[0]]["class"]
            follows[near[0]].add(tr["id"])
    assert set(follows) == set(impact)  # every round tracked
    in_zone = {oid for oid, r in impact.items() if math.hypot(*r["impact_enu_m"]) <= 150}
    alerted = {a["track"] for a in lines if a.get("type") == "alert"}
    for oid in impact:
        assert bool(follows[oid] & alerted) == (oid in in_zone), oid


def test_night_launch_has_launch_points_on_drones_only(bench_tracks: BenchTracks) -> None:
    _, truth_path = _files("night_launch")
    lines = _run(bench_tracks, "night_launch")
    launch_truth = {}
    for line in truth_path.read_text().splitlines():
        r = json.loads(line)
        if "launch_enu_m" in r:
            launch_truth[r["id"]] = r["launch_enu_m"]
    with_launch = 0
    for snap in lines:
        for tr in snap.get("tracks", []):
            if "launch_enu_m" in tr:
                assert tr["class"] == "drone"
                assert len(tr["launch_ellipse_m"]) == 3
                with_launch += 1
    assert with_launch > 0
    # each launch estimate is near one true launch point (no 3 km "edge" guesses)
    ests = {
        tuple(tr["launch_enu_m"])
        for s in lines
        for tr in s.get("tracks", [])
        if "launch_enu_m" in tr
    }
    near = [min(math.dist(e, lt) for lt in launch_truth.values()) for e in ests]
    assert sorted(near)[len(near) // 2] < 300.0


def test_pipeline_with_ballistic_tracks_pickles_mid_flight() -> None:
    scen, _ = _files("ballistic_night")
    reader = SkybenchReader.open(scen)
    pipe = Pipeline(reader.site)
    try:
        for t, scans in scans_by_time(reader):
            frame = pipe.step(scans, t)
            if frame.ballistic:
                break
    finally:
        reader.close()
    copy = pickle.loads(pickle.dumps(pipe))
    assert set(copy.ballistic.tracks(frame.t)[0].x.round(6)) == set(
        pipe.ballistic.tracks(frame.t)[0].x.round(6)
    )


def test_journal_track_records_carry_impact_and_launch() -> None:
    from skywarden.core.inbound import Inbound
    from skywarden.runtime.engine.engine import Engine
    from skywarden.store.records import TickRecord, TrackRecord

    scen, _ = _files("ballistic_night")
    reader = SkybenchReader.open(scen)
    m = Engine(reader.site)
    records = []
    try:
        for t, scans in scans_by_time(reader):
            for s in scans:
                m.feed(Inbound(s.sensor_id, "json", t, b"", s.detections))
            m.feed(TickRecord(t + 0.4))
            if t >= 45.0:
                break
    finally:
        reader.close()
    records = [r for r in m.drain() if isinstance(r, TrackRecord)]
    rounds = [r for r in records if r.best_class in ("rocket", "mortar")]
    assert rounds and all("impact_enu_m" in r.ground and "launch_enu_m" in r.ground for r in rounds)
    others = [r for r in records if r.best_class not in ("rocket", "mortar")]
    assert others and all("ground" not in r.to_dict() for r in others)
    for r in rounds[:3]:
        assert TrackRecord.from_dict(r.to_dict()) == r
