"""``skywarden investigate``: smoother, back extension, and the public night_launch file."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skywarden.cli.main import main
from skywarden.core.observation import Detection, MeasurementKind
from skywarden.tracking.smoother import extend_back, smooth
from support.bench_tracks import BenchTracks

BENCH = Path(__file__).resolve().parents[1] / ".." / ".." / "shared" / "bench"
if not BENCH.is_dir():
    BENCH = Path("/work/shared/bench")


def _plots(rng: np.random.Generator, ts: np.ndarray, sigma: float) -> list[Detection]:
    R = np.eye(3) * sigma**2
    out = []
    for t in ts:
        p = np.array([100.0 + 20.0 * t, -50.0 + 5.0 * t, 3.0 + 3.0 * t])
        z = p + rng.normal(0, sigma, 3)
        out.append(Detection(float(t), "r", MeasurementKind.XYZ, z, R))
    return out


def test_smoother_beats_its_forward_filter_and_finds_earlier_plots() -> None:
    rng = np.random.default_rng(3)
    dets = _plots(rng, np.arange(10.0, 60.0), 15.0)
    P0 = np.diag([1e4, 1e4, 1e4, 400.0, 400.0, 25.0])
    x0 = np.array([*dets[0].z, 0.0, 0.0, 0.0])
    sm = smooth(dets, x0, P0)
    truth = np.array([[100.0 + 20.0 * t, -50.0 + 5.0 * t, 3.0 + 3.0 * t] for t in sm.t])
    err = np.linalg.norm(sm.X[:, :3] - truth, axis=1)
    raw = np.linalg.norm(np.array([d.z for d in dets]) - truth, axis=1)
    assert float(np.median(err)) < 0.5 * float(np.median(raw))
    assert abs(sm.X[0, 3] - 20.0) < 3.0 and abs(sm.X[0, 5] - 3.0) < 1.0
    # earlier plots of the same object among clutter: extended back to t=4, clutter left out
    early = _plots(rng, np.arange(4.0, 10.0), 15.0)
    clutter = [
        Detection(float(t), "r", MeasurementKind.XYZ, rng.uniform(-3000, 3000, 3), np.eye(3) * 225)
        for t in np.arange(0.0, 10.0)
    ]
    scans = [(float(t), [d for d in early + clutter if d.t == t]) for t in np.arange(0.0, 10.0)]
    got = extend_back(sm.X[0], sm.P[0], float(sm.t[0]), scans, set())
    assert [d.t for d in got] == [4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    assert all(any(d is e for e in early) for d in got)


def _score(scen: Path, tracks: Path) -> dict[str, object]:
    truth = str(scen).replace(".scenario.", ".truth.")
    out = subprocess.run(
        [sys.executable, str(BENCH / "score.py"), str(scen), truth, str(tracks)],
        capture_output=True,
        text=True,
        check=True,
    )
    res: dict[str, object] = json.loads(out.stdout)
    return res


@pytest.mark.skipif(
    not (BENCH / "night_launch.scenario.jsonl").is_file(), reason="../shared/bench absent"
)
def test_night_launch_retrospective_beats_live(tmp_path: Path, bench_tracks: BenchTracks) -> None:
    scen = BENCH / "night_launch.scenario.jsonl"
    # live: the default pipeline's tracks (`skywarden track`'s, tracked once per pytest run)
    live, retro = bench_tracks("night_launch").path, tmp_path / "retro.jsonl"
    assert main(["investigate", str(scen), "-o", str(retro)]) == 0
    s_live, s_retro = _score(scen, live), _score(scen, retro)
    assert float(s_retro["gospa_mean"]) < float(s_live["gospa_mean"])  # type: ignore[arg-type]
    err = s_retro["launch_error_m"]
    first, first_live = s_retro["first_tracked_t"], s_live["first_tracked_t"]
    assert isinstance(err, dict) and isinstance(first, dict) and isinstance(first_live, dict)
    inside = [err["H0"], err["H1"]]
    assert all(e is not None for e in inside) and float(np.median(inside)) < 150.0
    assert err["H2"] is not None and err["H2"] < 600.0  # launched beyond radar coverage
    for h in ("H0", "H1", "H2"):
        assert first[h] is not None and first[h] < first_live[h]
    # launch estimates on drone tracks only, never on birds
    for line in retro.read_text().splitlines():
        for tr in json.loads(line)["tracks"]:
            if "launch_enu_m" in tr:
                assert tr["class"] == "drone"
    rec = json.loads((tmp_path / "investigation.json").read_text())
    suspects = [t for t in rec["tracks"] if t["suspect"]]
    assert rec["tracks"][: len(suspects)] == suspects  # suspect drones listed first
    assert all(math.isfinite(t["launch"]["origin_enu_m"][0]) for t in suspects)
    # what we missed: the drone launched beyond radar coverage was heard by both direction
    # finders from take-off, and the radar expected nothing of it before it came in range
    heard = [
        t
        for t in suspects
        if all(m["detected"] >= 0.8 * m["expected"] > 50 for m in t["missed"] if m["kind"] == "rf")
    ]
    assert heard
    radar = next(m for m in heard[0]["missed"] if m["sensor"] == "radar-1")
    assert radar["first_expected_t"] > heard[0]["first_trace_t"] + 30


def test_investigate_a_journal_records_into_it(tmp_path: Path) -> None:
    from skywarden.runtime.live.feeds import simulated_feed
    from skywarden.runtime.offline.record_feed import record_feed
    from skywarden.store.journal import open_journal

    path = tmp_path / "residence.sqlite"
    t0 = 1_760_000_000.0
    with open_journal(str(path)) as j:
        record_feed(simulated_feed(seed=2), j, t0, 45.0)
    out = tmp_path / "retro.jsonl"
    assert main(["investigate", str(path), "-o", str(out), "--from", str(t0 + 5)]) == 0
    snaps = [json.loads(x) for x in out.read_text().splitlines()]
    assert snaps and snaps[0]["t"] >= t0 + 5 and any(s["tracks"] for s in snaps)
    with open_journal(str(path)) as j:
        recs = list(j.records(kinds=["investigation"]))
        assert j.verify().ok
    assert len(recs) == 1
    body = recs[0].to_dict()["body"]
    assert body["type"] == "investigation" and body["tracks"]
    assert body["window"][0] >= t0 + 5
    # tracks already flying when the window opens get no launch point
    assert all(t["launch"] is None for t in body["tracks"] if t["in_flight_at_start"])


def test_a_class_over_a_few_frames_keeps_no_pieces_apart() -> None:
    from collections import Counter

    from skywarden.core.track import TrackState, TrackStatus
    from skywarden.runtime.investigate.rerun import FIRM_MIN_FRAMES, _compatible, _Seen

    def piece(cls: str, frames: int) -> _Seen:
        st = TrackState("t", 0.0, np.zeros(6), np.eye(6), TrackStatus.CONFIRMED)
        return _Seen(0.0, st, Counter({cls: frames}))

    drone = piece("drone", 18)
    # three plots after a break, called bird in all of its six frames: a guess, not a class
    assert _compatible(drone, piece("bird", 6))
    assert _compatible(piece("bird", 6), drone)
    # a bird held over many frames is not the drone's continuation
    assert not _compatible(drone, piece("bird", FIRM_MIN_FRAMES))
    assert not _compatible(drone, piece("bird", 40))
    # a wavering class keeps nothing apart, however long
    assert _compatible(drone, _Seen(0.0, drone.first_state, Counter(bird=30, drone=10)))
