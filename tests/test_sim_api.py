"""The simulator's public API: loading, validation, determinism, skybench/1 output and scoring."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from skywarden.core.errors import ConfigError
from skywarden.sensors.skybench import Scan, SkybenchReader
from skywarden.sim import (
    library_names,
    load_scenario,
    parse_scenario,
    report_to_scan,
    simulate,
    write_skybench,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SCORE = SHARED / "bench" / "score.py"


def _short(name: str, duration: float = 40.0):  # type: ignore[no-untyped-def]
    sc = load_scenario(name)
    from dataclasses import replace

    return replace(sc, duration_s=duration)


def test_library_has_the_required_scenarios() -> None:
    assert {"residence", "airport_perimeter", "migration_night", "swarm50", "stress"} <= set(
        library_names()
    )


@pytest.mark.parametrize("name", ["residence", "airport_perimeter", "migration_night", "swarm50"])
def test_library_scenarios_load_and_run(name: str) -> None:
    run = simulate(_short(name, 20.0), seed=1)
    lines = list(run.lines())
    assert lines and all(line["type"] == "detections" for line in lines)
    assert list(run.truth())


def test_library_contents() -> None:
    mig = simulate(_short("migration_night", 5.0), seed=1)
    fams = {r["class"] for r in mig.truth()}
    assert fams == {"bird"}
    assert len({r["id"] for r in mig.truth()}) >= 300
    sw = simulate(_short("swarm50", 120.0), seed=1)
    assert len({r["id"] for r in sw.truth() if r["class"] == "drone"}) == 50
    st = load_scenario("stress")
    run = simulate(st, seed=1)
    assert len(run.world.ids) == 1000
    first = next(run.lines())
    assert len(first["detections"]) > 1000  # dense clutter


def test_residence_cast() -> None:
    run = simulate(load_scenario("residence"), seed=3)
    rows = list(run.truth())
    hostile = {r["id"] for r in rows if r["hostile"]}
    friendly = {r["id"] for r in rows if r["friendly"]}
    assert hostile == {"H0", "H1", "H2"} and friendly == {"F0"}
    assert {r["class"] for r in rows} == {"drone", "bird", "aircraft"}
    kinds = {s["kind"] for s in run.header["sensors"]}
    assert kinds == {"radar", "rf", "acoustic", "camera", "remote_id", "adsb"}
    # the hostile drones reach the residence
    for h in hostile:
        last = [r for r in rows if r["id"] == h][-1]
        assert (last["x"] ** 2 + last["y"] ** 2) ** 0.5 < 50.0
    # the RF direction finders hear only H1 (plus their clutter)
    heard = {s for rep in run.reports() if rep.sensor_id.startswith("rf-") for s in rep.sources}
    assert heard == {"H1", None}


def test_seeded_runs_reproducible_and_seeds_differ() -> None:
    sc = _short("residence", 60.0)
    a = [json.dumps(x) for x in simulate(sc, seed=7).lines()]
    b = [json.dumps(x) for x in simulate(sc, seed=7).lines()]
    c = [json.dumps(x) for x in simulate(sc, seed=8).lines()]
    assert a == b
    assert a != c
    ta = [json.dumps(x) for x in simulate(sc, seed=7).truth()]
    tb = [json.dumps(x) for x in simulate(sc, seed=7).truth()]
    tc = [json.dumps(x) for x in simulate(sc, seed=8).truth()]
    assert ta == tb and ta != tc
    run = simulate(sc, seed=7)
    assert [json.dumps(x) for x in run.lines()] == a  # the same run regenerates identically


def test_scans_are_skybench_scans_in_time_order() -> None:
    run = simulate(_short("residence", 30.0), seed=2)
    scans = list(run.scans())
    assert all(isinstance(s, Scan) for s in scans)
    ts = [s.t for s in scans]
    assert ts == sorted(ts)
    cam = [d for s in scans if s.sensor_id == "eoir-1" for d in s.detections]
    assert cam and all(d.class_hint is not None for d in cam)
    line = next(iter(run.lines(strict=False)))
    assert report_to_scan(line, run.site.sensor_map).sensor_id == line["sensor"]


def test_written_residence_reads_back_and_scores(tmp_path: Path) -> None:
    run = simulate(load_scenario("residence"), seed=1011)
    sp, tp = write_skybench(run, tmp_path)
    reader = SkybenchReader.open(sp)
    n = sum(1 for _ in reader)
    reader.close()
    assert n > 1000
    assert reader.rejected == []
    assert reader.counters.get("accepted.detections") > 10000
    header = json.loads(sp.read_text().splitlines()[0])
    assert header["format"] == "skybench/1" and header["seed"] == 1011
    if not SCORE.exists():
        pytest.skip(f"{SCORE} absent: the shared benchmark scorer is needed")
    tracks = tmp_path / "tracks.jsonl"
    tracks.write_text(
        json.dumps(
            {
                "t": 0.0,
                "tracks": [
                    {
                        "id": "1",
                        "x": 0,
                        "y": 0,
                        "z": 50,
                        "vx": 0,
                        "vy": 0,
                        "vz": 0,
                        "confirmed": True,
                        "class": "drone",
                    }
                ],
            }
        )
        + "\n"
        + json.dumps(
            {"type": "alert", "t": 1.0, "track": "1", "zone": "residence", "level": "warning"}
        )
        + "\n"
    )
    out = subprocess.run(
        [sys.executable, str(SCORE), str(sp), str(tp), str(tracks)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    res = json.loads(out.stdout)
    assert res["bad_lines"] == 0
    assert res["times"] == 300
    assert set(res["warning_limit_s"]) == {"H0", "H1", "H2"}


BASE = {
    "name": "x",
    "duration_s": 10,
    "origin": {"lat": 33.3, "lon": 44.3},
    "sensors": [
        {
            "id": "r",
            "kind": "radar",
            "position_enu_m": [0, 0, 5],
            "sigma": {"range_m": 5, "az_rad": 0.01, "el_rad": 0.01, "radial_mps": 0.5},
        }
    ],
    "objects": [
        {
            "id": "d",
            "type": "multirotor",
            "start_enu_m": [0, 500, 50],
            "script": [
                {"transit": [0, 0, 50]},
                {"orbit": {"center_enu_m": [0, 0], "radius_m": 50, "duration_s": 5}},
            ],
        }
    ],
}


@pytest.mark.parametrize(
    ("patch", "field", "reason"),
    [
        ({"duration_s": -1}, "duration_s", "must be >"),
        (
            {"sensors": [{**BASE["sensors"][0], "sigma": {"range_m": 5}}]},  # type: ignore[index]
            "sensors[0].sigma.az_rad",
            "is required",
        ),
        (
            {"sensors": [{**BASE["sensors"][0], "pd_modle": "fixed"}]},  # type: ignore[index]
            "sensors[0].pd_modle",
            "unknown key; did you mean 'pd_model'?",
        ),
        ({"objects": [{"id": "d", "type": "ufo"}]}, "objects[0].type", "is not one of"),
        (
            {"objects": [{**BASE["objects"][0], "script": [{"orbit": {"center_enu_m": [0, 0]}}]}]},  # type: ignore[index]
            "objects[0].script[0].orbit.radius_m",
            "is required",
        ),
        (
            {"objects": [{**BASE["objects"][0], "adsb": {"icao": "xyz"}}]},  # type: ignore[index]
            "objects[0].adsb.icao",
            "6 hex",
        ),
        ({"origin": {"lat": 95, "lon": 0}}, "origin.lat", "outside"),
    ],
)
def test_bad_scenarios_name_field_and_reason(patch: dict, field: str, reason: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError) as ei:
        parse_scenario({**BASE, **patch}, source="t.yaml")
    assert ei.value.field == field
    assert reason in ei.value.reason
    assert ei.value.source == "t.yaml"


def test_yaml_and_toml_files(tmp_path: Path) -> None:
    y = tmp_path / "s.yaml"
    y.write_text("name: y\nduration_s: 5\norigin: {lat: 1, lon: 2}\n")
    assert load_scenario(y).name == "y"
    t = tmp_path / "s.toml"
    t.write_text(
        'name = "t"\nduration_s = 5\n[origin]\nlat = 1\nlon = 2\n'
        '[[sensors]]\nid = "a"\nkind = "acoustic"\nposition_enu_m = [0, 0, 1]\n'
        "sigma = {az_rad = 0.05, el_rad = 0.05}\nmax_range_m = 300\n"
    )
    sc = load_scenario(t)
    assert sc.site.sensors[0].measures.value == "az_el"
    bad = tmp_path / "b.yaml"
    bad.write_text("name: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_scenario(bad)
    with pytest.raises(ConfigError, match="no such scenario"):
        load_scenario("no_such_library_scenario")


def test_replay_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    obj = {"id": "u", "type": "replay", "path": str(tmp_path / "nope.csv")}
    sc = parse_scenario({**BASE, "objects": [obj]})
    with pytest.raises(ConfigError, match="trajectory file not found"):
        simulate(sc, 1)
    sc = parse_scenario({**BASE, "objects": [{**obj, "required": False}]})
    assert simulate(sc, 1).world.ids == ()


TRAJ = SHARED / "data" / "trajectories"


@pytest.mark.parametrize(
    ("fname", "cls"),
    [
        ("UAV_Rot.csv", "drone"),
        ("traffic_helicopter_rega_zh.json", "aircraft"),
        ("bird_marsh_harrier_H173481_2013-06-03_05.csv", "bird"),
        ("uzhfpv_outdoor_forward_5_snapdragon_with_gt.txt", "drone"),
        ("OpenSky_Plane_States.csv", "aircraft"),
    ],
)
def test_replay_real_trajectories(fname: str, cls: str) -> None:
    path = TRAJ / fname
    if not path.exists():
        pytest.skip(f"{path} absent: the shared trajectory data is needed")
    obj = {
        "id": "u",
        "type": "replay",
        "path": str(path),
        "class": cls,
        "anchor_enu_m": [100, 200, 50],
        "start_s": 2,
        "max_gap_s": 4000,
    }
    sc = parse_scenario({**BASE, "duration_s": 60, "objects": [obj]})
    run = simulate(sc, 1)
    rows = list(run.truth())
    assert rows and rows[0]["t"] == 2.0 and {r["class"] for r in rows} == {cls}
    assert abs(rows[0]["x"] - 100) < 1e-6 and abs(rows[0]["y"] - 200) < 1e-6
    speeds = [(r["vx"] ** 2 + r["vy"] ** 2) ** 0.5 for r in rows]
    assert max(speeds) < 400.0
