"""Scenario files: a site, its sensors with their simulation models, and the objects that fly.

A scenario is YAML or TOML. The top level is a site (``core.site`` layout: ``origin``,
``sensors``, ``zones``, ``whitelist``) plus ``name``, ``description``, ``duration_s``,
``seed`` (the default seed), ``sim_dt_s`` (kinematic step), ``rcs_model`` (``default`` or
``measured``, ``sim.run``) and ``objects``. Each sensor carries its data-sheet fields (what
the skybench header and the tracker see) and the simulation-only fields of its model
(``sim.sensors`` documents them). Every field is checked; unknown fields are rejected; a
bad file raises :class:`core.errors.ConfigError` naming the field path and the reason.

Paths inside a scenario (``replay.path``) are resolved relative to the scenario file, and
``${SKYWARDEN_DATA}`` expands to the shared data directory (default ``../shared/data``
next to the working directory).
"""

from __future__ import annotations

import importlib
import json
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from skywarden.core.errors import ConfigError
from skywarden.core.observation import MeasurementKind
from skywarden.core.site import SENSOR_KEYS, SensorKind, Site, parse_site
from skywarden.sim import fields as fl
from skywarden.sim.objects import ObjectSpec, parse_objects
from skywarden.sim.sensors import SensorModel, parse_sensor_model

_TOP_KEYS = (
    "name",
    "description",
    "duration_s",
    "seed",
    "sim_dt_s",
    "rcs_model",
    "origin",
    "sensors",
    "zones",
    "whitelist",
    "objects",
)

DEFAULT_MEASURES: dict[SensorKind, MeasurementKind] = {
    SensorKind.RADAR: MeasurementKind.RANGE_AZ_EL_RADIAL,
    SensorKind.RF: MeasurementKind.AZ,
    SensorKind.ACOUSTIC: MeasurementKind.AZ_EL,
    SensorKind.CAMERA: MeasurementKind.AZ_EL,
    SensorKind.REMOTE_ID: MeasurementKind.POSITION_ID,
    SensorKind.ADSB: MeasurementKind.POSITION_ID,
    SensorKind.PLOTS: MeasurementKind.XYZ,
}


@dataclass(frozen=True, eq=False)
class SimScenario:
    """A validated scenario: the site, one model per sensor, the object specs."""

    name: str
    description: str
    duration_s: float
    seed: int
    sim_dt_s: float
    site: Site
    sensors: tuple[SensorModel, ...]
    objects: tuple[ObjectSpec, ...]
    source: str = ""
    rcs_model: str = "default"  # or "measured" (sim.run.RCS_MEASURED_DBSM)


def _read_mapping(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ConfigError("(file)", f"cannot read: {e.strerror}", str(path)) from None
    suffix = path.suffix.lower()
    if suffix == ".toml":
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError("(file)", f"not valid TOML: {e}", str(path)) from None
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ConfigError("(file)", f"not valid JSON: {e}", str(path)) from None
    else:
        yaml: Any = importlib.import_module("yaml")
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise ConfigError("(file)", f"not valid YAML: {e}", str(path)) from None
    if not isinstance(data, Mapping):
        raise ConfigError("(file)", "the top level must be a table", str(path))
    return data


def _library_dir() -> Path:
    return Path(str(resources.files("skywarden.sim").joinpath("scenarios")))


def library_names() -> list[str]:
    """Names of the scenarios shipped in the package (``sim/scenarios/*.yaml``)."""
    return sorted(p.stem for p in _library_dir().glob("*.yaml"))


def resolve_scenario_path(path_or_name: str | Path) -> Path:
    p = Path(path_or_name)
    if p.suffix.lower() in (".yaml", ".yml", ".toml", ".json") or p.exists():
        return p
    cand = _library_dir() / f"{path_or_name}.yaml"
    if cand.exists():
        return cand
    raise ConfigError(
        "(file)",
        f"no such scenario file or library name {str(path_or_name)!r} "
        f"(library: {', '.join(library_names())})",
    )


def load_scenario(path_or_name: str | Path) -> SimScenario:
    """Load a scenario file (YAML/TOML/JSON) or a library scenario by name."""
    path = resolve_scenario_path(path_or_name)
    data = _read_mapping(path)
    return parse_scenario(data, source=str(path), base_dir=path.parent)


def parse_scenario(
    data: Mapping[str, Any], source: str = "", base_dir: Path | None = None
) -> SimScenario:
    """Validate a parsed scenario mapping; raise :class:`ConfigError` naming the field."""
    try:
        return _parse(data, base_dir or Path.cwd())
    except ConfigError as e:
        if source and not e.source:
            raise ConfigError(e.field, e.reason, source) from None
        raise


def _parse(d: Mapping[str, Any], base_dir: Path) -> SimScenario:
    fl.only_keys(d, _TOP_KEYS, "")
    name = fl.string(d, "name", "", "scenario")
    description = d.get("description", "")
    if not isinstance(description, str):
        raise ConfigError("description", "must be a string")
    duration = fl.num(d, "duration_s", "", lo=0.0, lo_open=True)
    seed = fl.integer(d, "seed", "", 0)
    sim_dt = fl.num(d, "sim_dt_s", "", 0.1, lo=0.01, hi=1.0)
    sensors_raw = fl.array(d.get("sensors", []), "sensors")
    site_sensors = []
    for i, s in enumerate(sensors_raw):
        st = fl.table(s, f"sensors[{i}]")
        if "measures" not in st and "kind" in st:
            try:
                kind = SensorKind(st["kind"])
            except ValueError:
                kind = None
            if kind is not None:
                st = {**st, "measures": DEFAULT_MEASURES[kind].value}
        site_sensors.append(st)
    site_d = {
        "name": name,
        "origin": d.get("origin"),
        # the site's keys only: the simulator's own (pd_model, latency_s, ...) are checked
        # by parse_sensor_model below
        "sensors": [{k: v for k, v in st.items() if k in SENSOR_KEYS} for st in site_sensors],
        "zones": d.get("zones", []),
        "whitelist": d.get("whitelist", []),
    }
    if "origin" not in d:
        raise ConfigError("origin", "is required")
    site = parse_site(site_d)
    models = tuple(
        parse_sensor_model(raw, spec, f"sensors[{i}]", duration)
        for i, (raw, spec) in enumerate(zip(site_sensors, site.sensors, strict=True))
    )
    objects = parse_objects(fl.array(d.get("objects", []), "objects"), "objects", base_dir, site)
    rcs_model = fl.string(d, "rcs_model", "", "default", ("default", "measured"))
    return SimScenario(
        name, description, duration, seed, sim_dt, site, models, objects, rcs_model=rcs_model
    )
