"""Benchmark families drawn from other seeds and the harder radar model (issue 19)."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from skywarden.sim.families import FAMILIES, family_run, family_scenario
from skywarden.sim.scenario import parse_scenario
from skywarden.sim.sensors import doppler_visibility


@pytest.mark.parametrize("name", FAMILIES)
def test_every_family_parses_and_seeds_differ(name: str) -> None:
    a, b = family_scenario(name, 1), family_scenario(name, 2)
    parse_scenario(a)
    parse_scenario(family_scenario(name, 1, harder=True))
    assert a["objects"] != b["objects"] and a["sensors"] == b["sensors"]
    assert family_scenario(name, 1) == a  # reproducible


def test_hostiles_fly_an_offset_leg_then_turn_in() -> None:
    for seed in range(1, 6):
        for o in family_scenario("radar3d_site", seed)["objects"]:
            if not o.get("hostile"):
                continue
            leg = next(iter(o["script"][0].values()))["to"]
            start = o["start_enu_m"]
            # the leg's end is 1-2 km out and 35-80 degrees off the start's bearing
            assert 1000.0 <= math.hypot(leg[0], leg[1]) <= 2000.0 + 1.0
            off = abs(math.atan2(leg[0], leg[1]) - math.atan2(start[0], start[1])) % (2 * math.pi)
            assert math.radians(34) <= min(off, 2 * math.pi - off) <= math.radians(81)
            assert "dive" in o["script"][-1]


def test_family_run_truth_has_the_hostiles_entering() -> None:
    run = family_run("family:multisensor_attack", 3)
    assert run is not None and family_run("residence", 3) is None
    hostile = {r["id"] for r in run.truth() if r["hostile"]}
    assert hostile == {"H0", "H1", "H2"}


def test_doppler_notch_hides_hovering_and_crossing_targets() -> None:
    sc = parse_scenario(family_scenario("radar3d_site", 1, harder=True))
    radar = sc.sensors[0]
    rel = np.array([[1000.0, 0.0, 0.0]] * 4)
    vel = np.array([[0.0, 0.0, 0.0], [0.0, 20.0, 0.0], [1.5, 0.0, 0.0], [-20.0, 0.0, 0.0]])
    v = doppler_visibility(radar, rel, vel)
    assert v[0] == 0.0 and v[1] == 0.0  # hovering, crossing
    assert v[2] == pytest.approx(1.0 - math.exp(-1.0)) and v[3] > 0.999


def test_misspelt_scenario_key_exits_2_naming_the_path_and_nearest_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: bad\nduration_s: 10\norigin: {lat: 33.3, lon: 44.3}\nsensors:\n"
        "  - {id: r, kind: radar, position_enu_m: [0, 0, 0], update_s: 1, max_rnage_m: 900,\n"
        "     sigma: {range_m: 1, az_rad: 0.01, el_rad: 0.01, radial_mps: 1}}\n"
    )
    res = subprocess.run(
        [sys.executable, "-m", "skywarden.cli.main", "simulate", str(bad), "--out", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert res.returncode == 2, res.stderr
    assert "sensors[0].max_rnage_m" in res.stderr and "did you mean 'max_range_m'" in res.stderr
    assert "Traceback" not in res.stderr


def test_residence_harder_library_scenario_uses_the_harder_models() -> None:
    from skywarden.sim import load_scenario

    sc = load_scenario("residence_harder")
    radar = next(m for m in sc.sensors if m.id == "radar-1")
    assert sc.rcs_model == "measured" and radar.params["blind_speed_mps"] == 1.5
    assert radar.params["clutter_rcs"] == "range" and len(radar.regions) == 2
    rid = next(m for m in sc.sensors if m.id == "rid-1")
    adsb = next(m for m in sc.sensors if m.id == "adsb-1")
    assert rid.params["system_messages"] is True and adsb.spec.update_s == 0.5
