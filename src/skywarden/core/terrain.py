"""Terrain: a digital elevation model (DEM) read with numpy, and the ground height in ENU.

Why: a drone takes off from the ground and a mortar bomb lands on it. With flat ground at the
site origin's height, a launch point on a hill 60 m above the site is put hundreds of metres
too far back along the climb-out, and a round's impact on a slope too far downrange. The
launch estimator (``threat.launch``) and the ballistic impact and origin
(``tracking.ballistic.to_ground``) take a :class:`GroundHeight`, a function
``(east, north) -> u`` in the site's ENU frame.

Formats (pure numpy, no GDAL):

- **SRTM ``.hgt``** (one or more tiles): big-endian int16, a square of 1201 (3 arc-second) or
  3601 (1 arc-second) samples, rows from north to south, the tile's south-west corner in the
  file name (``N33E044.hgt``), -32768 for voids. Heights are metres above the EGM96 geoid.
- **ASCII grid** (``.asc``, ESRI): ``ncols``, ``nrows``, ``xllcorner``/``xllcenter``,
  ``yllcorner``/``yllcenter``, ``cellsize`` (degrees of longitude/latitude), optional
  ``nodata_value``, then rows from north to south.

Heights are taken as the site origin's altitude reference (``GeoOrigin.alt_m``): give the
origin's altitude in the same datum as the DEM (the geoid-ellipsoid separation is tens of
metres, the same for the site and for points a few km away, so it cancels).
Voids are filled with the nearest valid sample along each row, then column.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin

F64 = NDArray[np.float64]
Terrain = Callable[[F64, F64], F64]
"""Ground height (ENU u, metres) at arrays of east/north: a :class:`GroundHeight`, or any
function of that shape (a test's synthetic hill)."""
EARTH_R_M = 6_371_008.8  # mean radius: the ENU up of a point on the ground d away drops d²/2R
_HGT_NAME = re.compile(r"^([NS])(\d{2})([EW])(\d{3})\.hgt$", re.IGNORECASE)
_HGT_VOID = -32768


@dataclass(frozen=True, eq=False)
class DemGrid:
    """Heights on a regular latitude/longitude grid: ``h[i, j]`` at latitude
    ``lat0 + i * dlat``, longitude ``lon0 + j * dlon`` (row 0 is the southern edge)."""

    lat0: float
    lon0: float
    dlat: float
    dlon: float
    h: F64

    def height(self, lat: F64, lon: F64) -> F64:
        """Bilinear height (metres) at the given points; outside the grid: the nearest edge."""
        fi = (np.asarray(lat, dtype=float) - self.lat0) / self.dlat
        fj = (np.asarray(lon, dtype=float) - self.lon0) / self.dlon
        ni, nj = self.h.shape
        fi = np.clip(fi, 0.0, ni - 1.0)
        fj = np.clip(fj, 0.0, nj - 1.0)
        i0 = np.minimum(np.floor(fi).astype(int), ni - 2) if ni > 1 else np.zeros_like(fi, int)
        j0 = np.minimum(np.floor(fj).astype(int), nj - 2) if nj > 1 else np.zeros_like(fj, int)
        a, b = fi - i0, fj - j0
        i1, j1 = np.minimum(i0 + 1, ni - 1), np.minimum(j0 + 1, nj - 1)
        h = self.h
        return np.asarray(
            (1 - a) * ((1 - b) * h[i0, j0] + b * h[i0, j1])
            + a * ((1 - b) * h[i1, j0] + b * h[i1, j1]),
            dtype=float,
        )


def _fill_voids(h: F64) -> F64:
    """Voids (NaN) take the nearest valid sample along the row, then along the column."""
    if not np.isnan(h).any():
        return h
    for axis in (1, 0):
        a = np.moveaxis(h, axis, -1)
        for row in a:
            ok = ~np.isnan(row)
            if ok.any() and not ok.all():
                idx = np.arange(row.size)
                row[~ok] = row[ok][np.abs(idx[~ok, None] - idx[ok][None]).argmin(axis=1)]
    if np.isnan(h).any():
        raise ConfigError("dem", "the DEM holds no valid height")
    return h


def read_hgt(path: str | Path) -> DemGrid:
    """One SRTM ``.hgt`` tile."""
    p = Path(path)
    m = _HGT_NAME.match(p.name)
    if not m:
        raise ConfigError("dem", f"{p.name}: an SRTM tile is named like N33E044.hgt")
    try:
        raw = np.fromfile(p, dtype=">i2")
    except OSError as e:
        raise ConfigError("dem", f"cannot read: {e.strerror}", str(p)) from None
    n = math.isqrt(raw.size)
    if n * n != raw.size or n < 2:
        raise ConfigError("dem", f"{p.name}: {raw.size} samples is not a square tile")
    lat = int(m.group(2)) * (1 if m.group(1).upper() == "N" else -1)
    lon = int(m.group(4)) * (1 if m.group(3).upper() == "E" else -1)
    h = raw.reshape(n, n)[::-1].astype(float)  # file rows run north to south
    h[h == _HGT_VOID] = np.nan
    step = 1.0 / (n - 1)
    return DemGrid(float(lat), float(lon), step, step, _fill_voids(h))


def read_ascii_grid(path: str | Path) -> DemGrid:
    """An ESRI ASCII grid in degrees (``.asc``)."""
    p = Path(path)
    try:
        lines = p.read_text(encoding="ascii").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError("dem", f"cannot read: {e}", str(p)) from None
    head: dict[str, float] = {}
    k = 0
    while k < len(lines) and lines[k].split() and lines[k].split()[0][0].isalpha():
        key, val = lines[k].split()[:2]
        head[key.lower()] = float(val)
        k += 1
    for need in ("ncols", "nrows", "cellsize"):
        if need not in head:
            raise ConfigError("dem", f"{p.name}: the header has no {need}")
    nr, nc, cs = int(head["nrows"]), int(head["ncols"]), head["cellsize"]
    try:
        h = np.array([float(v) for ln in lines[k:] for v in ln.split()], dtype=float)
    except ValueError:
        raise ConfigError("dem", f"{p.name}: a height is not a number") from None
    if h.size != nr * nc or nr < 2 or nc < 2:
        raise ConfigError("dem", f"{p.name}: {h.size} heights for {nr} x {nc}")
    h = h.reshape(nr, nc)[::-1].copy()
    if "nodata_value" in head:
        h[h == head["nodata_value"]] = np.nan
    if "xllcenter" in head:
        lon0, lat0 = head["xllcenter"], head["yllcenter"]
    elif "xllcorner" in head:
        lon0, lat0 = head["xllcorner"] + cs / 2, head["yllcorner"] + cs / 2
    else:
        raise ConfigError("dem", f"{p.name}: the header has no xllcorner or xllcenter")
    return DemGrid(lat0, lon0, cs, cs, _fill_voids(h))


def read_dem(paths: str | Path | Sequence[str | Path]) -> DemGrid:
    """One DEM from a file, or several SRTM tiles that form a rectangle (mosaicked)."""
    ps = [Path(paths)] if isinstance(paths, str | Path) else [Path(x) for x in paths]
    if not ps:
        raise ConfigError("dem", "no DEM file given")
    if len(ps) == 1:
        p = ps[0]
        return read_ascii_grid(p) if p.suffix.lower() == ".asc" else read_hgt(p)
    tiles = [read_hgt(p) for p in ps]
    step = tiles[0].dlat
    if any(abs(t.dlat - step) > 1e-12 or t.h.shape != tiles[0].h.shape for t in tiles):
        raise ConfigError("dem", "SRTM tiles of different resolutions")
    lats = sorted({t.lat0 for t in tiles})
    lons = sorted({t.lon0 for t in tiles})
    if len(tiles) != len(lats) * len(lons):
        raise ConfigError("dem", "the SRTM tiles do not form a rectangle")
    n = tiles[0].h.shape[0] - 1  # neighbouring tiles share their edge row/column
    h = np.zeros((len(lats) * n + 1, len(lons) * n + 1))
    for t in tiles:
        i, j = lats.index(t.lat0) * n, lons.index(t.lon0) * n
        h[i : i + n + 1, j : j + n + 1] = t.h
    return DemGrid(lats[0], lons[0], step, step, h)


@dataclass(frozen=True, eq=False)
class GroundHeight:
    """The DEM in the site's ENU frame: ``ground(e, n)`` is the ENU ``u`` of the terrain.

    ``u`` is the terrain height above the origin's altitude minus the Earth's curvature drop
    ``(e² + n²) / 2R`` (the ENU plane is tangent at the origin; 2 m at 5 km, 7.8 m at 10 km).
    East/north go to latitude/longitude on a local sphere (under a metre off at 10 km), which
    keeps a call over thousands of points (a ballistic batch) one array operation."""

    dem: DemGrid
    origin: GeoOrigin

    def __call__(self, e: F64, n: F64) -> F64:
        e = np.asarray(e, dtype=float)
        n = np.asarray(n, dtype=float)
        lat = self.origin.lat_deg + np.degrees(n / EARTH_R_M)
        lon = self.origin.lon_deg + np.degrees(
            e / (EARTH_R_M * math.cos(math.radians(self.origin.lat_deg)))
        )
        drop = (e * e + n * n) / (2.0 * EARTH_R_M)
        return np.asarray(self.dem.height(lat, lon) - self.origin.alt_m - drop, dtype=float)


def ground_height(paths: str | Path | Sequence[str | Path], origin: GeoOrigin) -> GroundHeight:
    """``read_dem`` + the site origin: the terrain function the estimators take."""
    return GroundHeight(read_dem(paths), origin)
