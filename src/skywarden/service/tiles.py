"""The offline basemap: raster tiles (and terrain for hill shading) served by skywarden itself
from MBTiles files.

Why MBTiles: it is what a site already carries (QGIS "Generate XYZ tiles (MBTiles)",
``gdal_translate -of MBTILES``, ATAK map packages, TileMill exports): one SQLite file, no
tile server, no internet. The console draws these tiles under the tracks; with no basemap
configured it draws its plain grid.

MBTiles 1.3 layout (mapbox/mbtiles-spec ``1.3/spec.md``)::

    metadata(name TEXT, value TEXT)   -- name, format (png|jpg|webp|pbf), bounds
                                      -- "W,S,E,N" degrees, minzoom, maxzoom, attribution
    tiles(zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB)

Rows follow the TMS scheme (row 0 at the south): the XYZ row ``y`` the browser asks for is
``2**z - 1 - y``. Only raster formats are served; a vector (``pbf``) file is refused when it
is opened, with the reason, since the console's canvas renderer draws images.

A second, optional file is a digital elevation model as terrain-RGB PNG tiles (what
``rio rgbify`` writes from a GeoTIFF DEM): height = -10000 m + (R * 65536 + G * 256 + B) * 0.1 m
(``encoding`` = ``mapbox``, the default) or, with metadata ``encoding`` = ``terrarium``,
R * 256 + G + B / 256 - 32768 m. The console shades the relief from it (NW light) over the
basemap; it is served as ``/api/dem/{z}/{x}/{y}``.

The files are opened read-only (``mode=ro`` URI), one connection per request thread, so a tile
request never writes and never blocks another.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Response
from pydantic import BaseModel, Field

from skywarden.core.errors import ConfigError
from skywarden.service.auth import Viewer
from skywarden.service.state import ServiceState, get_state

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}


@dataclass(frozen=True)
class BasemapInfo:
    """The metadata the console needs to draw the file."""

    name: str
    format: str
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north (degrees)
    attribution: str
    encoding: str = "mapbox"  # of a terrain-RGB file: mapbox or terrarium


class MBTiles:
    """A read-only raster MBTiles file (see module doc); ``what`` names it in errors."""

    def __init__(self, path: str | Path, what: str = "basemap") -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise ConfigError(what, f"{self.path} is not a file")
        self._local = threading.local()
        try:
            meta = dict(self._db().execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db().execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles")
            zmin, zmax = zooms.fetchone()
        except sqlite3.DatabaseError as e:
            raise ConfigError(what, f"{self.path} is not an MBTiles file: {e}") from None
        fmt = str(meta.get("format", "png")).lower()
        if fmt not in MEDIA_TYPES:
            raise ConfigError(
                what, f"{self.path}: tile format {fmt!r} is not a raster format (png/jpg/webp)"
            )
        if zmin is None:
            raise ConfigError(what, f"{self.path} holds no tiles")
        encoding = str(meta.get("encoding", "mapbox")).lower()
        if encoding not in ("mapbox", "terrarium"):
            raise ConfigError(what, f"{self.path}: unknown terrain encoding {encoding!r}")
        self.info = BasemapInfo(
            name=str(meta.get("name", self.path.stem)),
            format=fmt,
            minzoom=int(meta.get("minzoom", zmin)),
            maxzoom=int(meta.get("maxzoom", zmax)),
            bounds=_bounds(meta.get("bounds")),
            attribution=str(meta.get("attribution", "")),
            encoding=encoding,
        )

    def _db(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(
                f"file:{self.path.resolve()}?mode=ro", uri=True, check_same_thread=False
            )
            self._local.db = db
        return db

    def tile(self, z: int, x: int, y: int) -> bytes | None:
        """The tile at XYZ ``z/x/y`` (row flipped to TMS), or None when the file has none."""
        n = 1 << z
        if not (0 <= x < n and 0 <= y < n):
            return None
        row = (
            self._db()
            .execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, n - 1 - y),
            )
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    @property
    def media_type(self) -> str:
        return MEDIA_TYPES[self.info.format]


def _bounds(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        w, s, e, n = (float(v) for v in text.split(","))
    except ValueError:
        return None
    return (w, s, e, n)


class DemOut(BaseModel):
    url: str = Field(description="terrain-RGB tile URL template, {z}/{x}/{y}")
    encoding: str = Field(description="mapbox or terrarium")
    minzoom: int
    maxzoom: int


class BasemapOut(BaseModel):
    available: bool = Field(description="false: no basemap configured, draw the plain grid")
    name: str | None = None
    format: str | None = None
    minzoom: int | None = None
    maxzoom: int | None = None
    bounds: list[float] | None = Field(default=None, description="[west, south, east, north]")
    attribution: str | None = None
    url: str | None = Field(default=None, description="tile URL template, {z}/{x}/{y}")
    dem: DemOut | None = Field(default=None, description="terrain for hill shading, if given")


router = APIRouter(prefix="/api")
State = Annotated[ServiceState, Depends(get_state)]


def _basemap(st: ServiceState) -> MBTiles | None:
    bm = st.basemap
    return bm if isinstance(bm, MBTiles) else None


def _dem_out(st: ServiceState) -> DemOut | None:
    dem = st.dem
    if not isinstance(dem, MBTiles):
        return None
    i = dem.info
    return DemOut(
        url="/api/dem/{z}/{x}/{y}", encoding=i.encoding, minzoom=i.minzoom, maxzoom=i.maxzoom
    )


@router.get("/basemap")
def basemap(_: Viewer, st: State) -> BasemapOut:
    bm = _basemap(st)
    if bm is None:
        return BasemapOut(available=False, dem=_dem_out(st))
    i = bm.info
    return BasemapOut(
        dem=_dem_out(st),
        available=True,
        name=i.name,
        format=i.format,
        minzoom=i.minzoom,
        maxzoom=i.maxzoom,
        bounds=list(i.bounds) if i.bounds else None,
        attribution=i.attribution,
        url="/api/tiles/{z}/{x}/{y}",
    )


def _serve(tiles: MBTiles | None, what: str, z: int, x: int, y: int, st: ServiceState) -> Response:
    if tiles is None:
        raise HTTPException(404, f"no {what} configured")
    if not 0 <= z <= 24:
        raise HTTPException(404, f"zoom {z} out of range")
    data = tiles.tile(z, x, y)
    if data is None:
        st.security.counters.inc(f"{what}.missing")
        return Response(status_code=204)
    st.security.counters.inc(f"{what}.served")
    return Response(data, media_type=tiles.media_type, headers={"Cache-Control": "max-age=3600"})


@router.get(
    "/dem/{z}/{x}/{y}",
    responses={
        200: {"content": {"image/png": {}}, "description": "a terrain-RGB tile"},
        204: {"description": "no tile there (outside the file)"},
        404: {"description": "no DEM configured, or zoom out of range"},
    },
    response_class=Response,
)
def dem_tile(z: int, x: int, y: int, _: Viewer, st: State) -> Response:
    dem = st.dem if isinstance(st.dem, MBTiles) else None
    return _serve(dem, "dem", z, x, y, st)


@router.get(
    "/tiles/{z}/{x}/{y}",
    responses={
        200: {"content": {"image/png": {}, "image/jpeg": {}, "image/webp": {}}},
        204: {"description": "no tile there (outside the file)"},
        404: {"description": "no basemap configured, or zoom out of range"},
    },
    response_class=Response,
)
def tile(z: int, x: int, y: int, _: Viewer, st: State) -> Response:
    return _serve(_basemap(st), "tiles", z, x, y, st)
