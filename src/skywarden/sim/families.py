"""Benchmark families drawn afresh for any seed: the public drone families, other geometries.

The public skybench files (``radar3d_site``, ``multisensor_attack``, ``birds_night``,
``night_launch``) are one draw each. A tracker and a warning rule tuned on one draw may fail
on the next, so :func:`family_scenario` builds a scenario of the same family (the same
sensors with the same data-sheet values, the same zones, the same kinds of objects) whose
geometry is drawn from ``seed``: hostile drones come from random bearings and ranges, first
fly an *offset leg* toward a point 1-2 km to one side of the residence, then turn in and
dive; remotely piloted ones carry an RF emitter; night-launch drones take off from the
ground, climb and fly a dog-leg. Birds, a crossing helicopter, an unknown (non-hostile) drone
and the site's own whitelisted drone are drawn the same way.

``harder=True`` replaces the kind radar of the public files by the harder model of
``sim.sensors`` (radar equation with a Doppler notch at low radial speed, persistent
ground-clutter patches, clutter RCS growing with range) and draws object RCS from the
measured table (``sim.run.RCS_MEASURED_DBSM``: bird and drone RCS overlap); ADS-B reports
at 2 Hz. (Remote ID System messages, barometric altitude and SAPIENT node types are not
simulated yet.) The returned mapping is an ordinary scenario (``sim.scenario.parse_scenario``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from skywarden.sim.run import SimRun, simulate
from skywarden.sim.scenario import parse_scenario

FAMILIES = ("radar3d_site", "multisensor_attack", "birds_night", "night_launch")
FRIEND_RID = "1581F4XFC228R00B2B4A"
_ORIGIN = {"lat": 33.3128, "lon": 44.3615, "alt_m": 34.0}
_RESIDENCE = {
    "id": "residence",
    "kind": "protected",
    "center_enu_m": [0, 0],
    "radius_m": 150,
    "ceiling_m": 300,
}
_WARNING = {
    "id": "warning",
    "kind": "warning",
    "center_enu_m": [0, 0],
    "radius_m": 1500,
    "ceiling_m": 1000,
}
_PD = {"drone": 0.85, "bird": 0.8, "aircraft": 0.98}
_SIG = {"range_m": 4.0, "az_rad": 0.008, "el_rad": 0.01, "radial_mps": 0.5}


def _radar(
    pos: list[float],
    rng_m: float,
    clutter: int,
    pd: dict[str, float],
    sigma: dict[str, float],
    harder: bool,
) -> dict[str, Any]:
    r: dict[str, Any] = {
        "id": "radar-1",
        "kind": "radar",
        "measures": "range_az_el_radial",
        "position_enu_m": pos,
        "sigma": sigma,
        "update_s": 1.0,
        "max_range_m": rng_m,
        "clutter_per_scan": clutter,
        "pd": pd,
    }
    if harder:  # a -20 dBsm target: Pd about 0.5 at max range, MTI notch +-1.5 m/s
        r.update(
            pd_model="radar_equation",
            snr_ref_db=13.0,
            ref_range_m=rng_m,
            ref_rcs_dbsm=-20.0,
            blind_speed_mps=1.5,
            clutter_rcs="range",
            clutter_regions=[
                {"center_enu_m": [700, 900], "radius_m": 150, "per_scan": 2, "height_m": 20},
                {"center_enu_m": [-1400, -600], "radius_m": 250, "per_scan": 3, "height_m": 15},
            ],
        )
    return r


def _rf(sid: str, pos: list[float], rng_m: float, sd: float) -> dict[str, Any]:
    return {
        "id": sid,
        "kind": "rf",
        "measures": "az",
        "position_enu_m": pos,
        "sigma": {"az_rad": sd},
        "update_s": 1.0,
        "max_range_m": rng_m,
        "pd": 0.9,
    }


def _rid(harder: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": "rid-1",
        "kind": "remote_id",
        "measures": "position_id",
        "position_enu_m": [0.0, 0.0, 5.0],
        "sigma": {"pos_m": 3.0},
        "update_s": 1.0,
        "pd": 0.95,
    }
    return d


def _adsb(harder: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "id": "adsb-1",
        "kind": "adsb",
        "measures": "position_id",
        "position_enu_m": [0.0, 0.0, 5.0],
        "sigma": {"pos_m": 10.0},
        "update_s": 0.5 if harder else 1.0,
        "pd": 0.9,
    }
    return d


def _pt(r: float, bearing: float, z: float) -> list[float]:
    """ENU point at horizontal range ``r`` and ``bearing`` (radians clockwise from north)."""
    return [round(r * math.sin(bearing), 1), round(r * math.cos(bearing), 1), round(z, 1)]


def _bearings(rng: np.random.Generator, n: int) -> list[float]:
    """``n`` bearings at least 60 degrees apart (attackers come from different sides)."""
    base = rng.uniform(0, 2 * math.pi)
    gaps = rng.dirichlet(np.ones(n)) * (2 * math.pi - n * math.radians(60))
    out, b = [], base
    for g in gaps:
        out.append(b % (2 * math.pi))
        b += math.radians(60) + float(g)
    return out


def _hostiles(
    rng: np.random.Generator,
    n: int,
    r0: tuple[float, float] | list[tuple[float, float]],
    t0: tuple[float, float],
    rf_index: int | None,
    ground: bool = False,
) -> list[dict[str, Any]]:
    """Attackers: an offset leg toward a point 1-2 km to one side, then the run-in. ``r0`` is
    the start range interval of every attacker, or one interval per attacker."""
    out = []
    for i, brg in enumerate(_bearings(rng, n)):
        fixed = rng.random() < 0.3
        r_start = float(rng.uniform(*(r0[i] if isinstance(r0, list) else r0)))
        side = 1.0 if rng.random() < 0.5 else -1.0
        r_turn = float(rng.uniform(1000.0, 2000.0))
        off = side * math.radians(float(rng.uniform(35.0, 80.0)))
        alt = float(rng.uniform(50.0, 130.0))
        speed = float(rng.uniform(20.0, 36.0)) if not fixed else float(rng.uniform(20.0, 30.0))
        start = _pt(r_start, brg, 3.0 if ground else alt)
        script: list[dict[str, Any]] = []
        if ground:  # take off, climb out, then the dog-leg
            script.append({"transit": {"to": _pt(r_start - 300.0, brg, alt)}})
        script.append({"transit": {"to": _pt(r_turn, brg + off, alt)}})
        if rng.random() < 0.3:
            script.append({"loiter": float(rng.uniform(5.0, 20.0))})
        script.append({"dive": {"to": [0.0, 0.0, 15.0], "speed_mps": speed}})
        d: dict[str, Any] = {
            "id": f"H{i}",
            "type": "fixed_wing" if fixed else "multirotor",
            "hostile": True,
            "start_s": round(float(rng.uniform(*t0)) + 15.0 * i, 1),
            "start_enu_m": start,
            "speed_mps": round(speed, 1),
            "script": [s for s in script if not (fixed and "loiter" in s)],
        }
        if fixed:
            d["min_turn_radius_m"] = 80.0
        else:
            d.update(climb_mps=5.0, descent_mps=6.0, turn_rate_dps=60.0)
        if rf_index == i:
            d["rf"] = {"protocol": "OcuSync-2"}
        out.append(d)
    return out


def _launches(rng: np.random.Generator, radar_range_m: float) -> list[dict[str, Any]]:
    """The night-launch attackers (what the investigation is scored on): all three take off
    from the ground; two inside radar coverage (1.5 km to 0.9 of the radar's range), one
    beyond it (500 m past the edge to 7 km), remotely piloted, so its control link is heard
    by the direction finders from take-off and nothing else sees it until it flies in."""
    inside = (1500.0, 0.9 * radar_range_m)
    beyond = (radar_range_m + 500.0, max(7000.0, radar_range_m + 1000.0))
    return _hostiles(rng, 3, [inside, inside, beyond], (20.0, 60.0), 2, ground=True)


def _birds(
    rng: np.random.Generator, count: int, half_width: float, alt: tuple[float, float]
) -> dict[str, Any]:
    return {
        "id": "B",
        "type": "migration",
        "count": count,
        "half_width_m": half_width,
        "heading_deg": round(float(rng.uniform(0, 360)), 1),
        "heading_spread_deg": 120.0,
        "speed_mps": 11.0,
        "speed_sd_mps": 2.5,
        "alt_median_m": alt[0],
        "alt_log_sigma": alt[1],
        "alt_min_m": 20.0,
        "alt_max_m": 400.0,
        # the public families' birds turn by 0.25 rad/s (sd of the per-second heading change
        # in their truth); the simulator's default wander is 2 deg/s, seven times steadier
        "heading_wander_dps": 14.0,
    }


def _helicopter(rng: np.random.Generator, alt: float, speed: float, adsb: bool) -> dict[str, Any]:
    b = float(rng.uniform(0, 2 * math.pi))
    miss = float(rng.uniform(-2000.0, 2000.0))
    a = _pt(5000.0, b, alt)
    c = _pt(5000.0, b + math.pi, alt)
    ox, oy = miss * math.cos(b), -miss * math.sin(b)  # perpendicular shift
    d: dict[str, Any] = {
        "id": "A0",
        "type": "helicopter",
        "speed_mps": speed,
        "waypoints": [[a[0] + ox, a[1] + oy, alt], [c[0] + ox, c[1] + oy, alt]],
    }
    if adsb:
        d["adsb"] = {"icao": "73a1b2", "callsign": "POL21"}
    return d


def _friend(rng: np.random.Generator) -> dict[str, Any]:
    r = float(rng.uniform(250.0, 450.0))
    return {
        "id": "F0",
        "type": "multirotor",
        "remote_id": FRIEND_RID,
        "start_enu_m": _pt(r, float(rng.uniform(0, 2 * math.pi)), 60.0),
        "speed_mps": 8.0,
        "script": [{"orbit": {"center_enu_m": [0, 0], "radius_m": r, "alt_m": 60}}],
    }


def _unknown_drone(rng: np.random.Generator) -> dict[str, Any]:
    """A hobby drone near the site: not hostile, yet an unknown drone worth a warning."""
    b = float(rng.uniform(0, 2 * math.pi))
    r = float(rng.uniform(700.0, 1200.0))
    return {
        "id": "U0",
        "type": "multirotor",
        "start_enu_m": _pt(r, b, 10.0),
        "speed_mps": 8.0,
        "script": [
            {"transit": {"to": _pt(r + 600.0, b + 0.4, 50.0)}},
            {"loiter": 60},
            {"transit": {"to": _pt(r + 200.0, b + 0.9, 40.0)}},
        ],
    }


def family_scenario(
    name: str, seed: int, harder: bool = False, site: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A scenario mapping of family ``name`` whose geometry is drawn from ``seed``. ``site``:
    a skybench header (e.g. a public file's) whose origin, sensors, zones and whitelist
    replace the family's own, so that other seeds of a public file keep its sensors."""
    if name not in FAMILIES:
        raise ValueError(f"unknown family {name!r} (families: {', '.join(FAMILIES)})")
    rng = np.random.default_rng(np.random.SeedSequence([seed & 0xFFFFFFFF, len(name), 19]))
    zones: list[dict[str, Any]] = [_RESIDENCE]
    whitelist: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    duration = 300.0
    if name == "radar3d_site":
        sensors = [_radar([0.0, 0.0, 8.0], 5000.0, 30, _PD, _SIG, harder)]
        objects += _hostiles(rng, 3, (3300.0, 4200.0), (20.0, 35.0), None)
        objects += [_unknown_drone(rng), _helicopter(rng, 300.0, 45.0, False)]
        objects.append(_birds(rng, 25, 3000.0, (120.0, 0.5)))
    elif name == "multisensor_attack":
        sig = {"range_m": 5.0, "az_rad": 0.01, "el_rad": 0.015, "radial_mps": 0.6}
        sensors = [
            _radar(
                [30.0, -20.0, 10.0],
                2500.0,
                20,
                {"drone": 0.7, "bird": 0.75, "aircraft": 0.98},
                sig,
                harder,
            ),
            _rf("rf-west", [-900.0, 100.0, 15.0], 6000.0, 0.035),
            _rf("rf-east", [850.0, -200.0, 12.0], 6000.0, 0.035),
            {
                "id": "acoustic-1",
                "kind": "acoustic",
                "measures": "az_el",
                "position_enu_m": [0.0, 40.0, 3.0],
                "sigma": {"az_rad": 0.05, "el_rad": 0.07},
                "update_s": 1.0,
                "max_range_m": 400.0,
                "pd": 0.8,
            },
            _rid(harder),
            _adsb(harder),
        ]
        zones.append(_WARNING)
        whitelist.append({"remote_id": FRIEND_RID, "note": "site security drone"})
        objects += _hostiles(rng, 3, (3300.0, 4000.0), (25.0, 40.0), int(rng.integers(0, 3)))
        objects += [_friend(rng), _helicopter(rng, 250.0, 50.0, True)]
        objects.append(_birds(rng, 15, 2500.0, (120.0, 0.5)))
    elif name == "birds_night":
        duration = 240.0
        sensors = [_radar([0.0, 0.0, 8.0], 5000.0, 40, _PD, _SIG, harder)]
        objects.append(_birds(rng, 300, 4000.0, (220.0, 0.5)))
    else:  # night_launch
        duration = 600.0
        sig = {"range_m": 5.0, "az_rad": 0.01, "el_rad": 0.012, "radial_mps": 0.6}
        sensors = [
            _radar(
                [0.0, 0.0, 10.0],
                5000.0,
                25,
                {"drone": 0.8, "bird": 0.75, "aircraft": 0.98},
                sig,
                harder,
            ),
            _rf("rf-west", [-1200.0, 300.0, 15.0], 9000.0, 0.03),
            _rf("rf-east", [1100.0, -250.0, 12.0], 9000.0, 0.03),
            _rid(harder),
        ]
        whitelist.append({"remote_id": FRIEND_RID, "note": "site security drone"})
        radars = [x for x in (site or {}).get("sensors", sensors) if x["kind"] == "radar"]
        objects += _launches(rng, float(radars[0]["max_range_m"]) if radars else 5000.0)
        friend = _friend(rng)
        friend["rf"] = {"protocol": "OcuSync-3"}  # its own control link: heard by the DFs too
        objects.append(friend)
        objects.append(_birds(rng, 20, 3000.0, (100.0, 0.5)))
    return {
        "name": f"{name}{'_harder' if harder else ''}_s{seed}",
        "description": f"{name} family drawn from seed {seed}"
        + (" on the harder sensor models" if harder else ""),
        "duration_s": duration,
        "seed": seed,
        "origin": _ORIGIN,
        "zones": zones,
        "whitelist": whitelist,
        "rcs_model": "measured" if harder else "default",
        "sensors": sensors,
        "objects": objects,
    } | {k: site[k] for k in ("origin", "sensors", "zones", "whitelist") if site and k in site}


def family_run(spec: str, seed: int | None) -> SimRun | None:
    """``family:NAME`` or ``harder:NAME`` simulated for ``seed`` (default 1); None otherwise."""
    kind, _, name = spec.partition(":")
    if kind not in ("family", "harder"):
        return None
    s = 1 if seed is None else int(seed)
    sc = parse_scenario(family_scenario(name, s, harder=kind == "harder"), source=spec)
    return simulate(sc, s)
