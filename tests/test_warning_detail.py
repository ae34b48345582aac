"""``benchmarks/warning_detail.py`` (session 17, branch survey): the drone's first alert and
its tracks, the false-alert tracks by id, and the same warning, limit and false-alert count as
the referee ``score.py`` on a small hand-made file."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import warning_detail

SCORE = Path(__file__).resolve().parents[1] / ".." / "shared" / "bench" / "score.py"


def _write(tmp: Path) -> tuple[Path, Path, Path]:
    """A drone H0 flying 20 m/s straight at the residence from 1,000 m at 50 m height (in
    radar coverage within 800 m, in 3-D: from t=11, 781.6 m), a bird B0 loitering at 600 m;
    tracks: T1 on the drone from t=2 (T3 from t=30), T2 on the bird; alerts on T1 at t=15
    and on T2 at t=20."""
    header = {
        "type": "header",
        "format": "skybench/1",
        "name": "tiny",
        "duration_s": 60,
        "sensors": [
            {"id": "r", "kind": "radar", "position_enu_m": [0, 0, 0], "update_s": 1.0,
             "measures": "range_az_el_radial", "max_range_m": 800.0, "sigma": {}},
        ],
        "zones": [{"id": "home", "kind": "protected", "center_enu_m": [0, 0], "radius_m": 150,
                   "ceiling_m": 300}],
    }  # fmt: skip
    truth, tracks = [], []
    for t in range(61):
        x = 1000.0 - 20.0 * t
        truth.append(
            {
                "t": float(t),
                "id": "H0",
                "class": "drone",
                "hostile": True,
                "x": x,
                "y": 0.0,
                "z": 50.0,
                "vx": -20.0,
                "vy": 0.0,
                "vz": 0.0,
            }
        )
        truth.append(
            {
                "t": float(t),
                "id": "B0",
                "class": "bird",
                "x": 0.0,
                "y": 600.0,
                "z": 80.0,
                "vx": 0.0,
                "vy": 0.0,
                "vz": 0.0,
            }
        )
        snap = [{"id": 2, "x": 5.0, "y": 600.0, "z": 80.0, "class": "bird"}]
        if t >= 2:
            snap.append(
                {"id": 1 if t < 30 else 3, "x": x + 10.0, "y": 0.0, "z": 50.0, "class": "drone"}
            )
        tracks.append({"t": float(t), "tracks": snap})
    tracks.append({"type": "alert", "t": 15.0, "track": "1", "zone": "home", "level": "advisory"})
    tracks.append({"type": "alert", "t": 20.0, "track": "2", "zone": "home", "level": "warning"})
    paths = tmp / "tiny.scenario.jsonl", tmp / "tiny.truth.jsonl", tmp / "tiny.tracks.jsonl"
    for p, rows in zip(paths, ([header], truth, tracks), strict=True):
        p.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return paths


def test_first_alert_tracks_and_false_alert_tracks_are_named(tmp_path: Path) -> None:
    d = warning_detail.detail(*map(str, _write(tmp_path)))
    h0 = d["drones"]["H0"]
    # in the zone once x <= 150: t = 42.5 -> the first truth time 43; coverage (3-D range
    # <= 800 m; at t=10 it is 801.6 m): t=11; the first alert on its track at t=15
    assert (h0["t_in"], h0["t_cover"], h0["limit_s"], h0["warning_s"]) == (43.0, 11.0, 32.0, 28.0)
    assert h0["bar_t"] == pytest.approx(43.0 - 0.8 * 32.0, abs=0.05)
    assert h0["first_alert"]["track"] == "1"
    assert h0["tracks"] == [[2.0, "1", 29.0], [30.0, "3", 60.0]]
    assert d["false_alert_tracks"] == [
        {
            "track": "2",
            "alerts": [{"type": "alert", "t": 20.0, "track": "2", "zone": "home",
                        "level": "warning"}],
            "assigned_to": ["B0"],
        }
    ]  # fmt: skip


@pytest.mark.skipif(not SCORE.exists(), reason="the shared benchmark's score.py is not here")
def test_agrees_with_score_py(tmp_path: Path) -> None:
    paths = [str(p) for p in _write(tmp_path)]
    ref = json.loads(
        subprocess.run(
            [sys.executable, str(SCORE), *paths], check=True, capture_output=True, text=True
        ).stdout
    )
    d = warning_detail.detail(*paths)
    assert {k: v["warning_s"] for k, v in d["drones"].items()} == ref["warning_s"]
    assert {k: v["limit_s"] for k, v in d["drones"].items()} == ref["warning_limit_s"]
    assert len(d["false_alert_tracks"]) == ref["false_alert_tracks"] == 1
