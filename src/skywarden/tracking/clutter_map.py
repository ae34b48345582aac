"""Online clutter map: where a sensor's false reports really are, learnt scan by scan.

A data sheet gives one number, false reports per scan, which the sensor model spreads evenly
over the sensor's measurement space (``sensor_model.log_lambda``). Real clutter is not even:
ground clutter near the radar, a wind farm, waves, a motorway, a lake of birds. A track score
that assumes the average density confirms false tracks where clutter is dense and is slow to
confirm real ones where it is sparse.

The map counts, per cell, the reports that no established track explained, with exponential
forgetting (memory ``memory_scans``), and estimates each cell's density as a ratio to the data
sheet's even spread. The estimate is the posterior mean of a gamma-Poisson model whose prior is
the data sheet itself, worth ``prior_scans`` scans of evidence (Blackman & Popoli 1999, §6.2.2
on clutter density estimation; the gamma prior keeps a new or quiet cell at the sheet value
rather than at zero)::

    ratio_c = (prior_scans * e_c + sum_k w^k n_ck) / ((prior_scans + sum_k w^k) * e_c)

with ``e_c`` the cell's expected count per scan under the sheet and ``n_ck`` the unexplained
reports in cell c at scan k. The tracker uses ``ln lambda_j = ln lambda_sheet + ln ratio_c(j)``
for every report j, in association costs, track scores and the initial score of new tracks.

Cells: for a polar radar (range, azimuth) bins, since clutter follows the radar's own geometry;
for x/y plot sensors square cells over the sensor's area. Only scanning sensors (radar, plots)
keep a map: for passive sensors silence is not a measurement, so there is nothing to count.

Ground clutter (polar radars with elevation and Doppler): a patch of trees or an orchard
leaves plots scan after scan near the ground at near-zero radial speed (what the MTI notch
does not remove: the wind-blown residue). Spread over the whole range-azimuth cell and the
whole elevation and Doppler span, a patch of a few plots a scan hardly moves the cell's
ratio (about 5 in harder night_launch, ln 5 = 1.6 nats a plot), and a chain of its plots
across the beam (near-zero Doppler, but moving 25-40 m/s across azimuth) was confirmed and
called a drone. So a second layer counts, per cell, whether the scan had an unexplained
*ground-like* plot (height below ``ground_height_m``, ``|radial| < ground_speed_mps``): an
occupancy (the forgotten fraction of scans), persistent where it reaches
``ground_min_occupancy`` (one object passing occupies a cell for the few scans it is
tentative; a patch does so most scans). In a persistent cell a ground-like plot gets the
density of that small volume, ``-ln(1 - o) / V_ground`` (the Poisson rate behind occupancy
o), as its clutter density when that is more than the cell's ratio says. A real object low
and slow over the patch is discounted too, which is what a real radar's clutter map does;
it counts again once it climbs or moves radially. The ground layer's cells are the plain
cells plus ``n_cells``, so the tracker passes cells around as before.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.core.observation import MeasurementKind
from skywarden.tracking.sensor_model import SensorModel

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


@dataclass(frozen=True)
class ClutterMapConfig:
    """Cell sizes, memory and limits of the online clutter map."""

    enabled: bool = True
    cell_m: float = 500.0  # range bin (polar) or square cell side (x/y)
    az_cell_rad: float = math.radians(10.0)
    memory_scans: float = 50.0
    prior_scans: float = 20.0
    min_ratio: float = 0.05
    max_ratio: float = 100.0
    ground: bool = True  # the ground-clutter layer (polar radars only; module docstring)
    ground_height_m: float = 30.0
    ground_speed_mps: float = 4.0
    ground_min_occupancy: float = 0.2


class ClutterMap:
    """The clutter density ratio map of one scanning sensor."""

    def __init__(self, sm: SensorModel, cfg: ClutterMapConfig) -> None:
        self.cfg = cfg
        spec = sm.spec
        self.polar = spec.measures is MeasurementKind.RANGE_AZ_EL_RADIAL
        rmax = spec.max_range_m or 10_000.0
        if self.polar:
            self.n_r = max(1, math.ceil(rmax / cfg.cell_m))
            self.n_a = max(1, math.ceil(2 * math.pi / cfg.az_cell_rad))
            self.lo = np.zeros(2)
            shape = (self.n_r, self.n_a)
            # even spread over range x azimuth: each cell's share of the volume
            share = np.full(shape, 1.0 / (self.n_r * self.n_a))
        else:
            if spec.area_m:
                (x0, x1), (y0, y1) = spec.area_m[0], spec.area_m[1]
            else:
                x0 = y0 = -rmax
                x1 = y1 = rmax
            self.lo = np.array([x0, y0])
            self.n_r = max(1, math.ceil((x1 - x0) / cfg.cell_m))
            self.n_a = max(1, math.ceil((y1 - y0) / cfg.cell_m))
            shape = (self.n_r, self.n_a)
            share = np.full(shape, cfg.cell_m**2 / ((x1 - x0) * (y1 - y0)))
        self._top = np.array([self.n_r - 1, self.n_a - 1])  # the last cell on each axis
        per_scan = max(spec.clutter_per_scan, 0.1)
        self.expected = (share * per_scan).ravel()  # e_c
        self.counts = np.zeros(self.expected.shape[0])  # sum_k w^k n_ck
        self.weight = 0.0  # sum_k w^k
        self.scans = 0
        self.n_cells = self.expected.shape[0]
        self.sensor_z = float(spec.position_enu[2]) if len(spec.position_enu) > 2 else 0.0
        self.ground = self.polar and cfg.ground
        self.occupied = np.zeros(self.n_cells)  # sum_k w^k [ground-like plot in c at scan k]
        if self.ground:
            # ln(rate / V_ground) - ln lambda_sheet per cell: V_ground is the cell's range x
            # azimuth x the elevation band of the lowest ground_height_m x the Doppler band
            r_mid = (np.arange(self.n_r) + 0.5) * cfg.cell_m
            d_el = np.minimum(cfg.ground_height_m / r_mid, math.pi / 2)
            vol = cfg.cell_m * cfg.az_cell_rad * d_el * 2.0 * cfg.ground_speed_mps
            self._ground_base = np.repeat(-np.log(vol) - sm.log_lambda, self.n_a)

    def cells(self, Z: F64, sensor_pos: F64) -> I64:
        """Flat cell index of each report (measurement rows ``Z``)."""
        if self.polar:
            r = np.clip((Z[:, 0] / self.cfg.cell_m).astype(np.int64), 0, self.n_r - 1)
            az = np.mod(Z[:, 1], 2 * math.pi)
            a = np.clip((az / self.cfg.az_cell_rad).astype(np.int64), 0, self.n_a - 1)
        else:  # both axes in one pass
            ij = np.clip(((Z[:, :2] - self.lo) // self.cfg.cell_m).astype(np.int64), 0, self._top)
            r, a = ij[:, 0], ij[:, 1]
        out: I64 = r * self.n_a + a
        if self.ground and Z.shape[1] >= 4:
            c = self.cfg
            height = self.sensor_z + Z[:, 0] * np.sin(Z[:, 2])
            low = (height < c.ground_height_m) & (np.abs(Z[:, 3]) < c.ground_speed_mps)
            out = np.where(low, out + self.n_cells, out)
        return out

    def log_ratio(self, cells: I64) -> F64:
        """``ln ratio_c`` for each listed cell (0 everywhere before any scan)."""
        c = self.cfg
        ground = cells >= self.n_cells
        base = np.where(ground, cells - self.n_cells, cells)
        e = self.expected[base]
        ratio = (c.prior_scans * e + self.counts[base]) / ((c.prior_scans + self.weight) * e)
        out: F64 = np.log(np.clip(ratio, c.min_ratio, c.max_ratio))
        if self.ground and ground.any() and self.weight > 0:
            occ = self.occupied[base] / self.weight
            persistent = ground & (occ >= c.ground_min_occupancy)
            if persistent.any():
                rate = -np.log1p(-np.clip(occ, c.ground_min_occupancy, 0.99))
                g = np.minimum(self._ground_base[base] + np.log(rate), math.log(c.max_ratio))
                out = np.where(persistent, np.maximum(out, g), out)
        return out

    def observe(self, unexplained_cells: I64) -> None:
        """One scan: forget a little, then count the reports no established track explained."""
        w = 1.0 - 1.0 / self.cfg.memory_scans
        self.counts *= w
        self.weight = self.weight * w + 1.0
        if self.ground:
            self.occupied *= w
        if unexplained_cells.shape[0]:
            n = self.n_cells
            ground = unexplained_cells >= n
            base = np.where(ground, unexplained_cells - n, unexplained_cells)
            self.counts += np.bincount(base, minlength=n)
            if ground.any():
                self.occupied[np.unique(base[ground])] += 1.0
        self.scans += 1
