"""Strict keys in every file kind skywarden reads: a misspelt key is refused with its path
and the nearest valid key, and the command line exits 2 with that message.

The cases of issue 17 first (a scenario's ``cieling_m``, ``pd = {drones = 0.8}`` and
``sigma.vel_mp`` used to load silently with defaults), then one per file kind through
``skywarden check`` and through the command that reads the file.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from skywarden.cli.main import main
from skywarden.core.errors import ConfigError
from skywarden.core.site import load_site, parse_site
from skywarden.core.strict import check_keys, nearest
from skywarden.runtime.offline.replay import pipeline_config_from_file
from skywarden.runtime.outputs.config import parse_outputs
from skywarden.sim import load_scenario
from skywarden.sim.scenario import parse_scenario
from skywarden.store.journal import open_journal

SCENARIO: dict[str, Any] = {
    "name": "strict",
    "duration_s": 10,
    "origin": {"lat": 33.3, "lon": 44.3},
    "sensors": [
        {
            "id": "rid",
            "kind": "remote_id",
            "position_enu_m": [0, 0, 5],
            "sigma": {"pos_m": 5.0, "vel_mps": 1.0},
            "pd": {"drone": 0.9},
        }
    ],
    "zones": [{"id": "z", "kind": "protected", "center_enu_m": [0, 0], "radius_m": 100}],
    "objects": [
        {
            "id": "d",
            "type": "multirotor",
            "start_enu_m": [0, 500, 50],
            "script": [{"transit": [0, 0, 50]}],
        }
    ],
}


def _with(path: list[Any], key: str, value: Any, base: dict[str, Any] = SCENARIO) -> Any:
    d = copy.deepcopy(base)
    t = d
    for p in path:
        t = t[p]
    t[key] = value
    return d


def test_helper_names_the_path_and_the_nearest_key() -> None:
    assert nearest("cieling_m", ["ceiling_m", "floor_m"]) == "ceiling_m"
    assert nearest("zzz", ["ceiling_m"]) is None
    with pytest.raises(ConfigError) as e:
        check_keys({"cieling_m": 1}, ["ceiling_m", "floor_m"], "zones[0]")
    assert e.value.field == "zones[0].cieling_m"
    assert "did you mean 'ceiling_m'?" in e.value.reason
    assert "(valid: ceiling_m, floor_m)" in e.value.reason


@pytest.mark.parametrize(
    ("path", "key", "value", "field", "near"),
    [
        (["zones", 0], "cieling_m", 300, "zones[0].cieling_m", "ceiling_m"),
        (["sensors", 0, "pd"], "drones", 0.8, "sensors[0].pd.drones", "drone"),
        (["sensors", 0, "sigma"], "vel_mp", 1.0, "sensors[0].sigma.vel_mp", "vel_mps"),
        (["sensors", 0], "max_rang_m", 10.0, "sensors[0].max_rang_m", "max_range_m"),
        (["origin"], "alt", 3.0, "origin.alt", "alt_m"),
        ([], "whitelst", [], "whitelist", "whitelist"),
    ],
)
def test_the_issue_cases_in_a_scenario_are_refused(
    path: list[Any], key: str, value: Any, field: str, near: str
) -> None:
    bad = _with(path, key, value)
    if field == "whitelist":  # a top-level misspelling
        field = "whitelst"
    with pytest.raises(ConfigError) as e:
        parse_scenario(bad, source="s.yaml")
    assert e.value.field == field and e.value.source == "s.yaml"
    assert f"did you mean {near!r}?" in e.value.reason
    parse_scenario(SCENARIO)  # the unchanged file loads


def test_site_file_tables_are_strict() -> None:
    site = {k: v for k, v in SCENARIO.items() if k in ("name", "origin", "sensors", "zones")}
    site["sensors"] = [{**site["sensors"][0], "measures": "position_id"}]
    parse_site(site)
    cases = [
        (_with([], "zone", [], site), "zone", "zones"),
        (_with(["zones", 0], "radius", 1, site), "zones[0].radius", "radius_m"),
        (_with(["sensors", 0], "updates_s", 1, site), "sensors[0].updates_s", "update_s"),
        (
            {**site, "whitelist": [{"remote_id": "X", "notes": "n"}]},
            "whitelist[0].notes",
            "note",
        ),
    ]
    for d, field, near in cases:
        with pytest.raises(ConfigError) as e:
            parse_site(d)
        assert e.value.field == field and f"did you mean {near!r}?" in e.value.reason


def test_outputs_and_tracker_settings_are_strict(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as e:
        parse_outputs({"webhook": [{"url": "http://127.0.0.1:9/h", "timout_s": 5}]})
    assert e.value.field == "webhook[0].timout_s" and "'timeout_s'" in e.value.reason
    with pytest.raises(ConfigError) as e:
        parse_outputs({"webhooks": []})
    assert e.value.field == "webhooks" and "'webhook'" in e.value.reason
    tracker = tmp_path / "tracker.toml"
    tracker.write_text("[tracker]\nassociaton = 'jpda'\n")
    with pytest.raises(ConfigError) as e:
        pipeline_config_from_file(tracker)
    assert e.value.field == "tracker.associaton" and "'association'" in e.value.reason
    tracker.write_text("[tracker.managment]\nalpha = 0.01\n")
    with pytest.raises(ConfigError) as e:
        pipeline_config_from_file(tracker)
    assert e.value.field == "tracker.managment" and "'management'" in e.value.reason
    tracker.write_text("[tracker.management]\nalpha = 0.02\n")
    assert pipeline_config_from_file(tracker).tracker.management.alpha == 0.02


def _files(tmp: Path) -> dict[str, tuple[Path, str]]:
    """One misspelt file per kind, and the path its error must name."""
    scen = _with(["zones", 0], "cieling_m", 300)
    site = (
        '[origin]\nlat = 51.0\nlon = -1.0\n[[sensors]]\nid = "r"\nkind = "radar"\n'
        'measures = "xyz"\nposition_enu_m = [0, 0, 0]\nsigma = {x_m = 1, y_m = 1, z_m = 1}\n'
        "pd = {drones = 0.8}\n"
    )
    files = {
        "scenario": ("bad.yaml", yaml.safe_dump(scen), "zones[0].cieling_m"),
        "site": ("site.toml", site, "sensors[0].pd.drones"),
        "outputs": ("outputs.toml", '[[tak]]\nhost = "127.0.0.1"\nprot = 8087\n', "tak[0].prot"),
        "tracker": ("tracker.toml", "[threat]\nhorizon = 100.0\n", "threat.horizon"),
        "config": (
            "skywarden.toml",
            '[site]\nname = "x"\norigin = {lat = 1, lon = 2}\n[service]\nprot = 9000\n',
            "service.prot",
        ),
    }
    out = {}
    for kind, (name, text, field) in files.items():
        (tmp / name).write_text(text)
        out[kind] = (tmp / name, field)
    return out


@pytest.mark.parametrize("kind", ["scenario", "site", "outputs", "tracker", "config"])
def test_skywarden_check_exits_2_naming_the_path(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, field = _files(tmp_path)[kind]
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: {field}: unknown key; did you mean" in err, err


def test_the_commands_reading_each_file_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = _files(tmp_path)
    commands = {
        "scenario": ["simulate", str(f["scenario"][0]), "--out", str(tmp_path / "out")],
        "site": ["coverage", str(f["site"][0]), "-o", str(tmp_path / "c.png")],
        "config": ["run", "--config", str(f["config"][0]), "--journal", ":memory:"],
    }
    open_journal(str(tmp_path / "j.sqlite")).close()  # an empty journal to replay
    example = Path(__file__).resolve().parents[1] / "examples" / "skywarden.toml"
    commands["tracker"] = [
        "replay", str(tmp_path / "j.sqlite"), "--site", str(example),
        "--tracker-config", str(f["tracker"][0]),
    ]  # fmt: skip
    for kind, argv in commands.items():
        assert main(argv) == 2, kind
        err = capsys.readouterr().err
        assert f[kind][1] in err and "did you mean" in err, (kind, err)


def test_library_scenarios_and_example_load_strictly() -> None:
    from skywarden.sim.scenario import library_names

    for name in library_names():
        load_scenario(name)
    load_site(Path(__file__).resolve().parents[1] / "examples" / "skywarden.toml")


def test_zone_policy_and_link_keys_are_checked_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Zone policies belong to ``threat.policy`` and links to their kinds: ``core`` keeps
    both as data, ``skywarden check`` (and the run) check them with the same helper."""
    base = (
        '[origin]\nlat = 51.0\nlon = -1.0\n[[zones]]\nid = "house"\nkind = "protected"\n'
        "center_enu_m = [0, 0]\nradius_m = 50\n"
    )
    site = tmp_path / "site.toml"
    site.write_text(base + "[zones.policy]\nwarnig_s = 60\n")
    assert main(["check", str(site)]) == 2
    assert "zones[0].policy.warnig_s: unknown key; did you mean 'warning_s'?" in (
        capsys.readouterr().err
    )
    site.write_text(
        base + '[[sensors]]\nid = "a"\nkind = "adsb"\nmeasures = "position_id"\n'
        "position_enu_m = [0, 0, 0]\nsigma = {pos_m = 30.0}\n"
        '[sensors.link]\nprotocol = "adsb_sbs"\nhost = "h"\ntopic = "x"\n'
    )
    assert main(["check", str(site)]) == 2
    assert "sensors[0].link.topic: does not apply to protocol adsb_sbs" in capsys.readouterr().err
    site.write_text(base + "[zones.policy]\nwarning_s = 60\n")
    assert main(["check", str(site)]) == 0
