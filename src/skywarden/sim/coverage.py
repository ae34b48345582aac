"""Coverage maps: per-scan detection probability of a small drone over the site, per sensor.

``coverage_map`` evaluates each sensor's model (``sim.sensors.detection_probability``: the
radar equation or data-sheet Pd, range and elevation limits, line of sight, camera field of
view and range fall-off) for one object of the chosen class and RCS at every point of a
horizontal grid at ``altitude_m``, and combines the sensors as independent looks:
``1 - prod(1 - Pd_i)``. Cooperative receivers (Remote ID, ADS-B) are drawn but left out of
the combined map: a hostile drone does not announce itself. The RF direction-finder panels
assume the drone keeps a control link; the combined map counts them only when
``rf_emitting`` is true (default false: the conservative case of an RF-silent drone flying
a pre-programmed route).

``plot_coverage`` draws one panel per sensor plus the combined map with the zones and
sensor positions (matplotlib, Agg backend) and writes a PNG. This is how an integrator
checks sensor placement before buying: "would my sensors have seen that drone?".
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from skywarden.core.site import SensorKind, Site, load_site
from skywarden.sim.scenario import SimScenario, load_scenario, resolve_scenario_path
from skywarden.sim.sensor_model import _KIND_KEYS, SensorModel
from skywarden.sim.sensors import World, detection_probability

Arr = NDArray[np.float64]
COOPERATIVE = (SensorKind.REMOTE_ID, SensorKind.ADSB)


def default_model(spec: Any) -> SensorModel:
    """A sensor model with default simulation parameters for a bare site sensor."""
    params: dict[str, Any] = {}
    for k, v in _KIND_KEYS[spec.kind].items():
        if k == "clutter_regions":
            continue
        if k in ("ref_range_m", "range_half_m") and v is None:
            v = spec.max_range_m or 5000.0
        params[k] = v
    return SensorModel(spec=spec, params=params)


def _models(site: Site | SimScenario) -> tuple[Site, tuple[SensorModel, ...]]:
    if isinstance(site, SimScenario):
        return site.site, site.sensors
    return site, tuple(default_model(s) for s in site.sensors)


def load_site_or_scenario(path_or_name: str | Path) -> Site | SimScenario:
    """A site TOML (``core.site`` layout, no ``duration_s``) or a scenario file / name."""
    p = resolve_scenario_path(path_or_name)
    if p.suffix.lower() == ".toml":
        with p.open("rb") as f:
            data = tomllib.load(f)
        if "duration_s" not in data:
            return load_site(p)
    return load_scenario(p)


def _extent(site: Site, models: tuple[SensorModel, ...]) -> float:
    r = 0.0
    for m in models:
        if m.spec.kind in (*COOPERATIVE, SensorKind.RF):
            continue
        pos = float(np.hypot(m.spec.position_enu[0], m.spec.position_enu[1]))
        r = max(r, pos + min(m.spec.max_range_m or 3000.0, 6000.0))
    return max(1.15 * r, 500.0)


def coverage_map(
    site: Site | SimScenario,
    altitude_m: float = 50.0,
    *,
    extent_m: float | None = None,
    resolution_m: float | None = None,
    object_class: str = "drone",
    rcs_dbsm: float = -20.0,
    rf_emitting: bool = False,
) -> dict[str, Any]:
    """Per-scan Pd grids for an object at ``altitude_m`` (metres above the site origin).

    Returns ``{"e": (W,), "n": (H,), "per_sensor": {id: (H, W)}, "combined": (H, W),
    "altitude_m": float}``; rows follow ``n``, columns ``e``.
    """
    st, models = _models(site)
    ext = extent_m if extent_m is not None else _extent(st, models)
    res = resolution_m if resolution_m is not None else max(ext / 150.0, 5.0)
    e = np.arange(-ext, ext + res / 2, res)
    n = np.arange(-ext, ext + res / 2, res)
    E, N = np.meshgrid(e, n)
    pts = np.column_stack([E.ravel(), N.ravel(), np.full(E.size, float(altitude_m))])
    k = len(pts)
    world = World(
        t=np.zeros(1),
        S=np.zeros((1, k, 6)),
        ids=tuple(str(i) for i in range(k)),
        family=np.full(k, object_class),
        type=np.full(k, "multirotor"),
        rcs_dbsm=np.full(k, float(rcs_dbsm)),
        rf=("link",) * k,
        remote_id=("rid",) * k,
        icao=(None,) * k,
    )
    idx = np.arange(k, dtype=np.intp)
    per: dict[str, Arr] = {}
    miss = np.ones(k)
    for m in models:
        sp = np.asarray(m.spec.position_enu, dtype=float)
        pd = detection_probability(m, world, pts - sp, float(sp[2]), idx)
        if m.spec.kind is SensorKind.ADSB and object_class == "drone":
            continue
        per[m.id] = pd.reshape(E.shape)
        if m.spec.kind not in COOPERATIVE and (rf_emitting or m.spec.kind is not SensorKind.RF):
            miss *= 1.0 - pd
    return {
        "e": e,
        "n": n,
        "per_sensor": per,
        "combined": (1.0 - miss).reshape(E.shape),
        "altitude_m": float(altitude_m),
    }


def plot_coverage(
    site: Site | SimScenario,
    path_png: str | Path,
    altitude_m: float = 50.0,
    **kw: Any,
) -> Path:
    """Write a PNG: one panel per sensor and the combined map, zones and sensors drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Circle, Polygon

    st, models = _models(site)
    cov = coverage_map(site, altitude_m, **kw)
    panels = [*cov["per_sensor"].items(), ("combined", cov["combined"])]
    cols = min(4, len(panels))
    rows = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(
        rows,
        cols,
        figsize=(3.6 * cols + 1.0, 3.4 * rows + 0.6),
        squeeze=False,
        layout="constrained",
    )
    e, n = cov["e"], cov["n"]
    ext = (e[0] / 1000, e[-1] / 1000, n[0] / 1000, n[-1] / 1000)
    im = None
    for ax, (name, grid) in zip(axes.ravel(), panels, strict=False):
        im = ax.imshow(grid, origin="lower", extent=ext, vmin=0.0, vmax=1.0, cmap="viridis")
        ax.set_title(name if name == "combined" else f"{name} ({_kind(models, name)})", fontsize=9)
        ax.set_xlabel("east, km", fontsize=8)
        ax.set_ylabel("north, km", fontsize=8)
        ax.tick_params(labelsize=7)
        for z in st.zones:
            color = "red" if z.kind.value == "protected" else "orange"
            if z.center_enu is not None and z.radius_m is not None:
                ax.add_patch(
                    Circle(
                        (z.center_enu[0] / 1000, z.center_enu[1] / 1000),
                        z.radius_m / 1000,
                        fill=False,
                        color=color,
                        lw=1.0,
                    )
                )
            elif z.polygon_enu is not None:
                ax.add_patch(
                    Polygon(
                        [(a / 1000, b / 1000) for a, b in z.polygon_enu],
                        fill=False,
                        color=color,
                        lw=1.0,
                    )
                )
        for m in models:
            sp = m.spec.position_enu
            mark = "^" if m.id == name else "."
            ax.plot(sp[0] / 1000, sp[1] / 1000, mark, color="white", ms=6 if mark == "^" else 3)
    for ax in axes.ravel()[len(panels) :]:
        ax.axis("off")
    if im is not None:
        fig.colorbar(im, ax=axes.ravel().tolist(), shrink=0.8, label="P(detect) per scan")
    link = "with control link" if kw.get("rf_emitting") else "RF-silent"
    fig.suptitle(
        f"{st.name}: small drone ({kw.get('rcs_dbsm', -20.0):.0f} dBsm, {link}) at "
        f"{altitude_m:.0f} m",
        fontsize=11,
    )
    out = Path(path_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=90)
    plt.close(fig)
    return out


def _kind(models: tuple[SensorModel, ...], sid: str) -> str:
    for m in models:
        if m.id == sid:
            return m.spec.kind.value
    return ""
