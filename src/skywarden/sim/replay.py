"""Replayed real trajectories: read a flight log at run time and place it on the site.

The files are never copied into the repository: a scenario names a path (``${SKYWARDEN_DATA}``
expands to the shared data folder) and the file is read when the run starts. Supported
formats (``format: auto`` picks by file name):

- ``gps_csv``: columns ``timestamp`` (s), ``latitude``, ``longitude``, ``altitude (m)``
  (Stone Soup's ``UAV_Rot.csv``).
- ``movebank_csv``: ``timestamp`` (ISO 8601), ``location-lat``, ``location-long``,
  ``height-above-mean-sea-level`` (Movebank bird GPS tracks).
- ``traffic_json``: a JSON array of records ``timestamp`` (ms epoch), ``latitude``,
  ``longitude``, ``altitude`` (ft) (``traffic`` samples, OpenSky derived).
- ``opensky_csv``: ``time``, ``icao24``, ``lat``, ``lon``, ``geoaltitude``/``baroaltitude``
  (m); one aircraft, chosen by ``icao24`` (default: the first).
- ``xyz_txt``: whitespace rows ``t x y z ...`` in local metres (UZH-FPV ground truth).

Positions are used relative to the first fix (several files are anonymised or offset), then
rotated by ``rotate_deg`` and shifted to ``anchor_enu_m``. Fixes are sorted by time,
duplicates dropped, and linearly interpolated onto the grid; across gaps longer than
``max_gap_s`` the object is absent. Velocity is the interpolated finite difference.
"""

from __future__ import annotations

import csv
import json
import math
import os
from datetime import datetime
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin
from skywarden.sim.objects import ObjectSpec

Arr = NDArray[np.float64]
_FT = 0.3048


def _find_shared_data(base_dir: Path) -> Path | None:
    env = os.environ.get("SKYWARDEN_DATA")
    if env:
        return Path(env)
    for start in (Path.cwd(), base_dir):
        for d in (start, *start.parents):
            cand = d / "shared" / "data"
            if cand.is_dir():
                return cand
            cand = d.parent / "shared" / "data"
            if cand.is_dir():
                return cand
    return None


def resolve_data_path(raw: str, base_dir: Path) -> Path:
    if "${SKYWARDEN_DATA}" in raw:
        root = _find_shared_data(base_dir)
        if root is None:
            return Path(raw.replace("${SKYWARDEN_DATA}", "<SKYWARDEN_DATA unset>"))
        raw = raw.replace("${SKYWARDEN_DATA}", str(root))
    p = Path(raw)
    return p if p.is_absolute() else base_dir / p


def _guess_format(path: Path) -> str:
    n = path.name.lower()
    if n.endswith(".json"):
        return "traffic_json"
    if n.endswith(".txt"):
        return "xyz_txt"
    if "opensky" in n:
        return "opensky_csv"
    if n.startswith("bird_") or "movebank" in n:
        return "movebank_csv"
    if n.endswith(".csv"):
        return "gps_csv"
    raise ConfigError("format", f"cannot guess the format of {path.name}; set format")


def _iso(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def read_fixes(path: Path, fmt: str, icao24: str | None = None) -> tuple[Arr, Arr, bool]:
    """Return (times s, positions (n, 3), geodetic?) — geodetic rows are (lat, lon, alt_m)."""
    rows: list[tuple[float, float, float, float]] = []
    geo = True
    if fmt == "gps_csv":
        with path.open(newline="") as f:
            for r in csv.DictReader(f):
                rows.append(
                    (
                        float(r["timestamp"]),
                        float(r["latitude"]),
                        float(r["longitude"]),
                        float(r["altitude (m)"]),
                    )
                )
    elif fmt == "movebank_csv":
        with path.open(newline="") as f:
            for r in csv.DictReader(f):
                h = r.get("height-above-mean-sea-level") or "nan"
                rows.append(
                    (
                        _iso(r["timestamp"]),
                        float(r["location-lat"]),
                        float(r["location-long"]),
                        float(h),
                    )
                )
    elif fmt == "traffic_json":
        for r in json.loads(path.read_text()):
            alt = r.get("altitude")
            if alt is None or r.get("latitude") is None:
                continue
            rows.append(
                (
                    float(r["timestamp"]) / 1000.0,
                    float(r["latitude"]),
                    float(r["longitude"]),
                    float(alt) * _FT,
                )
            )
    elif fmt == "opensky_csv":
        with path.open(newline="") as f:
            for r in csv.DictReader(f):
                if icao24 is None:
                    icao24 = r["icao24"]
                if r["icao24"] != icao24 or not r["lat"]:
                    continue
                alt = r.get("geoaltitude") or r.get("baroaltitude") or "0"
                if float(alt) == 0.0 and r.get("baroaltitude"):
                    alt = r["baroaltitude"]
                rows.append((float(r["time"]), float(r["lat"]), float(r["lon"]), float(alt)))
    elif fmt == "xyz_txt":
        geo = False
        with path.open() as f:
            for line in f:
                if line.startswith("#") or not line.strip():
                    continue
                v = line.split()
                rows.append((float(v[0]), float(v[1]), float(v[2]), float(v[3])))
    else:
        raise ConfigError("format", f"unsupported format {fmt!r}")
    a = np.array(rows, dtype=float).reshape(-1, 4)
    a = a[np.isfinite(a[:, 0]) & np.isfinite(a[:, 1]) & np.isfinite(a[:, 2])]
    a = a[np.argsort(a[:, 0], kind="stable")]
    if len(a):
        keep = np.concatenate([[True], np.diff(a[:, 0]) > 0])
        a = a[keep]
    if np.isnan(a[:, 3]).any():
        a[:, 3] = np.where(np.isnan(a[:, 3]), np.nanmedian(a[:, 3]), a[:, 3])
    return a[:, 0] - (a[0, 0] if len(a) else 0.0), a[:, 1:], geo


def replay_states(spec: ObjectSpec, t: Arr) -> Arr | None:
    """The replayed trajectory on the grid, or None when the file is absent and optional."""
    p = spec.params
    path = spec.source_path
    assert path is not None
    if not path.exists():
        if p.get("required", True):
            raise ConfigError(
                f"objects[{spec.id}].path",
                f"trajectory file not found: {path} (set SKYWARDEN_DATA to the shared data "
                "folder, or mark the object required: false)",
            )
        return None
    fmt = str(p.get("format", "auto"))
    if fmt == "auto":
        fmt = _guess_format(path)
    ts, pos, geo = read_fixes(path, fmt, p.get("icao24"))
    if len(ts) < 2:
        raise ConfigError(f"objects[{spec.id}].path", f"{path.name}: fewer than 2 usable fixes")
    if geo:
        o = GeoOrigin(float(pos[0, 0]), float(pos[0, 1]), float(pos[0, 2]))
        import pymap3d

        e, n, u = pymap3d.geodetic2enu(
            pos[:, 0], pos[:, 1], pos[:, 2], o.lat_deg, o.lon_deg, o.alt_m
        )
        local = np.column_stack([e, n, u])
    else:
        local = pos - pos[0]
    rot = math.radians(float(p.get("rotate_deg", 0.0)))
    c, s = math.cos(rot), math.sin(rot)
    # rotate clockwise (a compass rotation) about the first fix
    e2 = c * local[:, 0] + s * local[:, 1]
    n2 = -s * local[:, 0] + c * local[:, 1]
    anchor = np.array([float(x) for x in p.get("anchor_enu_m", (0.0, 0.0, 0.0))])
    local = np.column_stack([e2, n2, local[:, 2]]) + anchor
    scale = float(p.get("time_scale", 1.0))
    ft = (ts - float(p.get("file_start_s", 0.0))) / scale + spec.start_s
    max_gap = float(p.get("max_gap_s", 30.0))
    out = np.full((len(t), 6), np.nan)
    inside = (t >= ft[0]) & (t <= ft[-1])
    if not inside.any():
        return out
    tk = t[inside]
    for j in range(3):
        out[inside, j] = np.interp(tk, ft, local[:, j])
    idx = np.clip(np.searchsorted(ft, tk, side="right") - 1, 0, len(ft) - 2)
    vel = np.diff(local, axis=0) / np.diff(ft)[:, None]
    out[inside, 3:] = vel[idx]
    gap = np.diff(ft)[idx] > max_gap
    rows = np.flatnonzero(inside)[gap]
    out[rows] = np.nan
    out[:, 2] = np.where(np.isnan(out[:, 2]), np.nan, np.maximum(out[:, 2], 0.0))
    return out
