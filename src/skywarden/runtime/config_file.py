"""``skywarden.toml``: a site's whole configuration in one file, read by one typed loader.

Sections (``examples/skywarden.toml`` shows each)::

    [site]        name, origin                     -> core.site
    [[sensors]]   with [sensors.link]              -> core.site + sensors.links (one kind each)
    [[zones]]     with [zones.policy]              -> core.zone (+ threat.policy's keys)
    [[whitelist]]                                  -> core.site
    [outputs]     queue, [[outputs.webhook]], ...  -> runtime.outputs.config
    [service]     the run's settings and the web service's (host, port, journal, tick_s, ...)
    [tracker] [threat] [alerts]                    -> runtime.pipeline.PipelineConfig
    [[cue.cameras]] with [cue.cameras.onvif]       -> runtime.cue.config (slew-to-cue PTZ)

Every table is checked strictly: an unknown key fails the load with its path and the
nearest valid key (``core.strict``), and ``skywarden`` exits 2 with that message.
Command-line flags override ``[service]`` (``skywarden run --config FILE --port 9000``).
Secrets never go in the file (it is journaled, copied into reports and tickets): the
admin password, the household token, MQTT and ONVIF passwords and NATS credentials come
from the environment (``SKYWARDEN_ADMIN_PASSWORD``, ``SKYWARDEN_HOUSEHOLD_TOKEN``, a link's
or a camera's ``password_env``, ...); a secret key in the file is refused with that reason.

The separate files keep loading (a site file, ``--outputs``, ``replay --tracker-config``);
``load_site`` also reads the site part of a ``skywarden.toml``, so every command that takes
a site takes this file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from skywarden.core import config_fields as f
from skywarden.core.errors import ConfigError
from skywarden.core.site import CONFIG_SECTIONS, Site, parse_site, site_mapping
from skywarden.core.strict import check_keys
from skywarden.runtime.cue.config import CueCamera, parse_cue
from skywarden.runtime.engine.pipeline import PipelineConfig
from skywarden.runtime.offline.replay import pipeline_config_from_mapping
from skywarden.runtime.outputs.config import OutputsConfig, parse_outputs
from skywarden.sensors.links.registry import parse_links
from skywarden.threat.policy import zone_policy

#: ServiceSettings fields that are secrets: environment only
_SECRETS = {
    "admin_password": "SKYWARDEN_ADMIN_PASSWORD",
    "household_token": "SKYWARDEN_HOUSEHOLD_TOKEN",
}


@dataclass(frozen=True)
class RunSettings:
    """The ``[service]`` keys the runtime itself reads (the rest go to ``ServiceSettings``)."""

    journal: str = "var/skywarden.sqlite"
    speed: float = 1.0
    seed: int = 1
    restore_window_s: float = 120.0
    snapshot_every_s: float = 10.0
    tick_s: float = 0.5
    lag_s: float = 0.5
    retention_days: float | None = None
    retention_gb: float | None = None
    retention_every_s: float = 600.0


_RUN_KEYS = frozenset(x.name for x in fields(RunSettings))
_POSITIVE = frozenset({"speed", "tick_s", "retention_every_s", "retention_days", "retention_gb"})


@dataclass(frozen=True)
class SkywardenConfig:
    """Everything ``skywarden.toml`` says; None where a section is absent (defaults apply)."""

    site: Site | None = None
    outputs: OutputsConfig | None = None
    run: RunSettings = field(default_factory=RunSettings)
    service: Mapping[str, Any] = field(default_factory=dict)  # ServiceSettings fields given
    pipeline: PipelineConfig | None = None
    source: str = ""
    cameras: tuple[CueCamera, ...] = ()  # [[cue.cameras]]: the PTZ heads slew-to-cue tasks


def load_config(path: str | Path) -> SkywardenConfig:
    """Read and check a ``skywarden.toml``; ConfigError naming the file, key and reason."""
    return parse_config(f.read_toml(path), str(path))


def parse_config(data: Mapping[str, Any], source: str = "") -> SkywardenConfig:
    try:
        return _parse(data, source)
    except ConfigError as e:
        if e.source:
            raise
        raise ConfigError(e.field, e.reason, source) from None


def _parse(data: Mapping[str, Any], source: str) -> SkywardenConfig:
    check_keys(data, CONFIG_SECTIONS, "")
    site = None
    if "site" in data:
        f.table(data["site"], "site")
        try:
            site = parse_site(site_mapping(data))
        except ConfigError as e:  # name and origin are keys of [site] here
            top = e.field.split(".")[0].split("[")[0]
            where = f"site.{e.field}" if top in ("name", "origin") else e.field
            raise ConfigError(where, e.reason) from None
        check_site(site)
    else:
        for k in ("sensors", "zones", "whitelist"):
            if k in data:
                raise ConfigError(k, "needs a [site] table (name, origin)")
    outputs = None
    if "outputs" in data:
        try:
            outputs = parse_outputs(f.table(data["outputs"], "outputs"))
        except ConfigError as e:
            raise ConfigError(f"outputs.{e.field}", e.reason) from None
        outputs = replace(outputs, source=source)
    run, service = _service(f.table(data.get("service", {}), "service"))
    tables = {k: data[k] for k in ("tracker", "threat", "alerts") if k in data}
    pipeline = pipeline_config_from_mapping(tables) if tables else None
    cameras = parse_cue(f.table(data["cue"], "cue")) if "cue" in data else ()
    if site is not None:
        for i, cam in enumerate(cameras):
            if cam.id in site.sensor_map:
                raise ConfigError(f"cue.cameras[{i}].id", f"{cam.id!r} is already a sensor")
    return SkywardenConfig(site, outputs, run, service, pipeline, source, cameras)


def check_site(site: Site) -> Site:
    """What the site parser in ``core`` cannot know: every link parsed by its kind (conflicts
    refused) and every zone policy key known to the warning policy."""
    parse_links(site)
    for i, z in enumerate(site.zones):
        try:
            zone_policy(z)
        except ConfigError as e:
            key = e.field.rpartition(".policy")[2]
            raise ConfigError(f"zones[{i}].policy{key}", e.reason) from None
    return site


def _service(d: Mapping[str, Any]) -> tuple[RunSettings, dict[str, Any]]:
    """``[service]``: the runtime's keys and ServiceSettings' fields, secrets refused."""
    from pydantic import ValidationError

    from skywarden.service.settings import ServiceSettings

    for k, env in _SECRETS.items():
        if k in d:
            raise ConfigError(
                f"service.{k}",
                f"a secret never goes in the file: set the environment variable {env}",
            )
    web_keys = set(ServiceSettings.model_fields) - set(_SECRETS)
    check_keys(d, _RUN_KEYS | web_keys, "service")
    run: dict[str, Any] = {}
    for k in _RUN_KEYS & set(d):
        where = f"service.{k}"
        if k == "journal":
            run[k] = f.string(d[k], where)
        elif k == "seed":
            run[k] = f.integer(d[k], where, 0, 2**31 - 1)
        else:
            run[k] = f.num(d[k], where, positive=k in _POSITIVE, nonneg=True)
    web = {k: d[k] for k in web_keys & set(d)}
    try:
        ServiceSettings(**web)
    except ValidationError as e:
        err = e.errors()[0]
        loc = ".".join(str(x) for x in err["loc"])
        raise ConfigError(f"service.{loc}", err["msg"]) from None
    return RunSettings(**run), web


# ----------------------------------------------------------------------------- skywarden check

FILE_KINDS = ("config", "site", "outputs", "scenario", "tracker")
_OUTPUT_TABLES = frozenset({"queue", "webhook", "email", "tak", "sapient", "push"})


def file_kind(path: str | Path) -> str:
    """Which of :data:`FILE_KINDS` a file is, from its suffix and top-level keys."""
    p = Path(path)
    if p.suffix.lower() in (".yaml", ".yml"):
        return "scenario"
    if p.suffix.lower() == ".json":
        return "tracker"
    data = f.read_toml(p)
    if isinstance(data.get("site"), Mapping):
        return "config"
    if "duration_s" in data or "objects" in data:
        return "scenario"
    if "origin" in data:
        return "site"
    if _OUTPUT_TABLES & set(data):
        return "outputs"
    return "tracker"


def check_file(path: str | Path, kind: str | None = None) -> str:
    """Load one configuration file of any kind the project reads; a line saying what it
    holds, or ConfigError (``skywarden check`` exits 2 with it)."""
    from skywarden.core.site import load_site
    from skywarden.runtime.offline.replay import pipeline_config_from_file
    from skywarden.runtime.outputs.config import load_outputs

    kind = kind or file_kind(path)
    if kind == "config":
        c = load_config(path)
        n = 0 if c.site is None else len(c.site.sensors)
        return (
            f"{path}: skywarden.toml, {n} sensors, {len(c.cameras)} cue cameras, "
            f"outputs {c.outputs is not None}"
        )
    if kind == "site":
        site = load_site(path)
        try:
            check_site(site)
        except ConfigError as e:
            raise ConfigError(e.field, e.reason, str(path)) from None
        return f"{path}: site {site.name!r}, {len(site.sensors)} sensors, {len(site.zones)} zones"
    if kind == "outputs":
        return f"{path}: outputs {', '.join(load_outputs(path).names) or 'none'}"
    if kind == "scenario":
        from skywarden.sim import load_scenario

        sc = load_scenario(path)
        return f"{path}: scenario {sc.name!r}, {len(sc.objects)} objects"
    pipeline_config_from_file(path)
    return f"{path}: tracker settings"
