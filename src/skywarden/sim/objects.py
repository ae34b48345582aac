"""Object specs in a scenario and their parsing: drones, birds, aircraft, groups, replays.

An ``objects`` entry has a ``type``:

- ``multirotor`` / ``fixed_wing``: a drone flying a ``script`` of steps (``transit``,
  ``loiter``, ``orbit``, ``dive``) within its limits (speed, climb, descent, acceleration,
  turn rate or minimum turn radius). Kinematics live in ``sim.kinematics``.
- ``bird``: one bird, ``flapping`` (speed and height oscillate, heading wanders) or
  ``soaring`` (thermal circling with climb, then gliding).
- ``flock``: ``count`` birds holding formation offsets around one flight path.
- ``migration``: a stream of ``count`` birds over a square area, headings about a mean,
  speeds and heights drawn from the configured statistics.
- ``aircraft`` / ``helicopter``: constant speed along ``waypoints``.
- ``swarm``: ``count`` multirotors launched from a region towards a target (dive, orbit or
  transit), staggered in time.
- ``traffic``: ``count`` objects of one class on wandering straight paths (stress sites).
- ``replay``: a real trajectory file read at run time (see ``sim.replay``).

Every object may carry emitters: ``rf: {protocol}`` (a remotely piloted drone that an RF
direction finder hears), ``remote_id: SERIAL`` and ``adsb: {icao, callsign}``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skywarden.core.errors import ConfigError
from skywarden.core.site import Site
from skywarden.sim import fields as fl

FAMILY = {
    "multirotor": "drone",
    "fixed_wing": "drone",
    "swarm": "drone",
    "bird": "bird",
    "flock": "bird",
    "migration": "bird",
    "aircraft": "aircraft",
    "helicopter": "aircraft",
}

_COMMON = ("id", "type", "hostile", "friendly", "start_s", "end_s", "rf", "remote_id", "adsb")

_TYPE_KEYS: dict[str, tuple[str, ...]] = {
    "multirotor": (
        "start_enu_m",
        "speed_mps",
        "climb_mps",
        "descent_mps",
        "accel_mps2",
        "turn_rate_dps",
        "dive_speed_mps",
        "start_speed_mps",
        "script",
        "after",
        "rcs_dbsm",
    ),
    "fixed_wing": (
        "start_enu_m",
        "speed_mps",
        "climb_mps",
        "descent_mps",
        "min_turn_radius_m",
        "dive_speed_mps",
        "script",
        "after",
        "rcs_dbsm",
    ),
    "bird": ("start_enu_m", "heading_deg", "speed_mps", "mode", "heading_wander_dps"),
    "flock": (
        "count",
        "center_enu_m",
        "spread_m",
        "heading_deg",
        "speed_mps",
        "mode",
        "heading_wander_dps",
    ),
    "migration": (
        "count",
        "half_width_m",
        "heading_deg",
        "heading_spread_deg",
        "speed_mps",
        "speed_sd_mps",
        "alt_median_m",
        "alt_log_sigma",
        "alt_min_m",
        "alt_max_m",
        "heading_wander_dps",
    ),
    "aircraft": ("waypoints", "speed_mps"),
    "helicopter": ("waypoints", "speed_mps"),
    "swarm": (
        "count",
        "spawn_center_enu_m",
        "spawn_radius_m",
        "target_enu_m",
        "behaviour",
        "orbit_radius_m",
        "speed_mps",
        "stagger_s",
        "alt_min_m",
        "alt_max_m",
        "rf_fraction",
    ),
    "traffic": (
        "count",
        "class",
        "half_width_m",
        "alt_min_m",
        "alt_max_m",
        "speed_min_mps",
        "speed_max_mps",
        "heading_wander_dps",
    ),
    "replay": (
        "path",
        "format",
        "class",
        "anchor_enu_m",
        "file_start_s",
        "rotate_deg",
        "icao24",
        "required",
        "max_gap_s",
        "time_scale",
    ),
}

STEP_KINDS = ("transit", "loiter", "orbit", "dive")


@dataclass(frozen=True)
class Step:
    """One script step of a drone. ``kind`` is one of :data:`STEP_KINDS`."""

    kind: str
    target: tuple[float, float, float] = (0.0, 0.0, 0.0)
    speed_mps: float | None = None
    duration_s: float = 0.0
    radius_m: float = 0.0
    ccw: bool = True


@dataclass(frozen=True, eq=False)
class ObjectSpec:
    """One ``objects`` entry after validation (groups expand at run time, with the seed)."""

    id: str
    type: str
    hostile: bool = False
    friendly: bool = False
    start_s: float = 0.0
    end_s: float | None = None
    rf_protocol: str | None = None
    remote_id: str | None = None
    icao: str | None = None
    callsign: str | None = None
    params: Mapping[str, Any] = field(default_factory=dict)
    script: tuple[Step, ...] = ()
    source_path: Path | None = None


def _emitters(
    d: Mapping[str, Any], path: str
) -> tuple[str | None, str | None, str | None, str | None]:
    rf = None
    if "rf" in d:
        v = d["rf"]
        if isinstance(v, str) and v:
            rf = v
        else:
            t = fl.table(v, f"{path}.rf")
            fl.only_keys(t, ("protocol",), f"{path}.rf")
            rf = fl.string(t, "protocol", f"{path}.rf", "unknown")
    rid = fl.string(d, "remote_id", path) if "remote_id" in d else None
    icao = callsign = None
    if "adsb" in d:
        t = fl.table(d["adsb"], f"{path}.adsb")
        fl.only_keys(t, ("icao", "callsign"), f"{path}.adsb")
        icao = fl.string(t, "icao", f"{path}.adsb").lower()
        if len(icao) != 6 or any(c not in "0123456789abcdef" for c in icao):
            raise ConfigError(f"{path}.adsb.icao", "must be 6 hex digits")
        callsign = fl.string(t, "callsign", f"{path}.adsb", "") if "callsign" in t else None
    return rf, rid, icao, callsign


def _parse_step(s: Any, path: str, is_fixed_wing: bool) -> Step:
    t = fl.table(s, path)
    if len(t) != 1:
        raise ConfigError(path, f"a step is one of {', '.join(STEP_KINDS)} (one key)")
    kind, body = next(iter(t.items()))
    if kind not in STEP_KINDS:
        raise ConfigError(f"{path}.{kind}", f"unknown step (use one of {', '.join(STEP_KINDS)})")
    p = f"{path}.{kind}"
    if kind in ("transit", "dive"):
        if isinstance(body, list):
            return Step(kind, tuple(fl.as_vec(body, p, 3)))  # type: ignore[arg-type]
        b = fl.table(body, p)
        fl.only_keys(b, ("to", "speed_mps"), p)
        to = fl.vec(b, "to", p, 3)
        return Step(
            kind, (to[0], to[1], to[2]), fl.opt_num(b, "speed_mps", p, lo=0.0, lo_open=True)
        )
    if kind == "loiter":
        if isinstance(body, int | float) and not isinstance(body, bool):
            return Step(kind, duration_s=fl.as_num(body, p, lo=0.0))
        b = fl.table(body, p)
        fl.only_keys(b, ("duration_s",), p)
        return Step(kind, duration_s=fl.num(b, "duration_s", p, lo=0.0))
    b = fl.table(body, p)
    fl.only_keys(
        b, ("center_enu_m", "radius_m", "alt_m", "duration_s", "speed_mps", "direction"), p
    )
    c = fl.vec(b, "center_enu_m", p, 2)
    alt = fl.num(b, "alt_m", p, -1.0)
    return Step(
        "orbit",
        (c[0], c[1], alt),
        fl.opt_num(b, "speed_mps", p, lo=0.0, lo_open=True),
        fl.num(b, "duration_s", p, math.inf, lo=0.0),
        fl.num(b, "radius_m", p, lo=1.0),
        fl.string(b, "direction", p, "ccw", ("cw", "ccw")) == "ccw",
    )


def parse_objects(raw: list[Any], path: str, base_dir: Path, site: Site) -> tuple[ObjectSpec, ...]:
    out: list[ObjectSpec] = []
    seen: set[str] = set()
    white = site.whitelisted_identities
    for i, o in enumerate(raw):
        p = f"{path}[{i}]"
        d = fl.table(o, p)
        typ = fl.string(d, "type", p, choices=_TYPE_KEYS)
        fl.only_keys(d, _COMMON + _TYPE_KEYS[typ], p)
        oid = fl.string(d, "id", p)
        if oid in seen:
            raise ConfigError(f"{p}.id", f"duplicate object id {oid!r}")
        seen.add(oid)
        rf, rid, icao, callsign = _emitters(d, p)
        friendly = fl.boolean(d, "friendly", p, False) or (rid is not None and rid in white)
        friendly = friendly or (icao is not None and f"icao:{icao}" in white)
        start = fl.num(d, "start_s", p, 0.0, lo=0.0)
        end = fl.opt_num(d, "end_s", p, lo=0.0)
        if end is not None and end <= start:
            raise ConfigError(f"{p}.end_s", f"must be after start_s ({start})")
        script: tuple[Step, ...] = ()
        if typ in ("multirotor", "fixed_wing"):
            fl.vec(d, "start_enu_m", p, 3)
            steps = fl.array(d.get("script", []), f"{p}.script")
            script = tuple(
                _parse_step(s, f"{p}.script[{k}]", typ == "fixed_wing") for k, s in enumerate(steps)
            )
            fl.string(d, "after", p, "hover", ("hover", "vanish"))
            for key in (
                "speed_mps",
                "climb_mps",
                "descent_mps",
                "accel_mps2",
                "turn_rate_dps",
                "dive_speed_mps",
                "min_turn_radius_m",
            ):
                if key in d:
                    fl.num(d, key, p, lo=0.0, lo_open=True)
        _validate_type(typ, d, p)
        src = None
        if typ == "replay":
            from skywarden.sim.replay import resolve_data_path

            src = resolve_data_path(fl.string(d, "path", p), base_dir)
        out.append(
            ObjectSpec(
                id=oid,
                type=typ,
                hostile=fl.boolean(d, "hostile", p, False),
                friendly=friendly,
                start_s=start,
                end_s=end,
                rf_protocol=rf,
                remote_id=rid,
                icao=icao,
                callsign=callsign,
                params=dict(d),
                script=script,
                source_path=src,
            )
        )
    return tuple(out)


def _validate_type(typ: str, d: Mapping[str, Any], p: str) -> None:
    """Type-specific checks; defaults are applied where the object is generated."""
    positive = {
        "speed_mps",
        "spread_m",
        "half_width_m",
        "alt_median_m",
        "alt_log_sigma",
        "spawn_radius_m",
        "orbit_radius_m",
        "speed_min_mps",
        "speed_max_mps",
        "time_scale",
        "max_gap_s",
    }
    nonneg = {
        "heading_wander_dps",
        "heading_spread_deg",
        "speed_sd_mps",
        "stagger_s",
        "alt_min_m",
        "alt_max_m",
        "file_start_s",
        "start_speed_mps",
    }
    for k in positive:
        if k in d:
            fl.num(d, k, p, lo=0.0, lo_open=True)
    for k in nonneg:
        if k in d:
            fl.num(d, k, p, lo=0.0)
    for k in ("heading_deg", "rotate_deg", "rcs_dbsm"):
        if k in d:
            fl.num(d, k, p)
    if "count" in d:
        fl.integer(d, "count", p, lo=1)
    if typ in ("flock", "migration", "swarm", "traffic") and "count" not in d:
        raise ConfigError(f"{p}.count", "is required")
    if "mode" in d:
        fl.string(d, "mode", p, choices=("flapping", "soaring"))
    if typ == "bird":
        fl.vec(d, "start_enu_m", p, 3)
    if typ == "flock":
        fl.vec(d, "center_enu_m", p, 3)
    if typ in ("aircraft", "helicopter"):
        wps = (
            fl.array(fl.table(d, p).get("waypoints"), f"{p}.waypoints") if "waypoints" in d else []
        )
        if len(wps) < 2:
            raise ConfigError(f"{p}.waypoints", "needs at least 2 points [e, n, u]")
        for j, w in enumerate(wps):
            fl.as_vec(w, f"{p}.waypoints[{j}]", 3)
    if typ == "swarm":
        fl.vec(d, "spawn_center_enu_m", p, 3)
        fl.vec(d, "target_enu_m", p, 3)
        fl.string(d, "behaviour", p, "dive", ("dive", "orbit", "transit"))
        if "rf_fraction" in d:
            fl.num(d, "rf_fraction", p, lo=0.0, hi=1.0)
    if typ == "traffic":
        fl.string(d, "class", p, "drone", ("drone", "bird", "aircraft"))
    if typ == "replay":
        fl.string(d, "class", p, "drone", ("drone", "bird", "aircraft"))
        fl.string(
            d,
            "format",
            p,
            "auto",
            ("auto", "gps_csv", "movebank_csv", "traffic_json", "opensky_csv", "xyz_txt"),
        )
        fl.vec(d, "anchor_enu_m", p, 3, (0.0, 0.0, 0.0))
        fl.boolean(d, "required", p, True)
