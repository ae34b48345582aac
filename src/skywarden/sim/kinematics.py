"""Object motion: every object spec becomes one or more sampled trajectories on a time grid.

The grid is ``t_k = k * sim_dt_s``; a trajectory is an array ``(K, 6)`` of
``[e, n, u, ve, vn, vu]`` with NaN rows while the object is not in the air. Sensors
interpolate linearly between grid rows. Randomness comes only from the Generator passed
in (one per object, derived from the run seed and the object id).

Drones follow their script with a simple guidance law inside their limits: horizontal
speed changes at most ``accel_mps2``, heading at most ``turn_rate_dps`` (multirotor) or
``speed / min_turn_radius_m`` (fixed wing, which never slows below cruise and orbits
instead of hovering); vertical speed is clipped to ``climb_mps`` / ``descent_mps`` (a dive
may descend at dive speed). Birds flap (speed +-15 %, height oscillating a few metres,
heading wandering as a random walk) or soar (thermal circles while climbing, then glides).
Typical values follow the bird-radar literature: 8-18 m/s air speed, nocturnal migrants
mostly below 500 m with a median near 200 m.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from skywarden.sim.objects import FAMILY, ObjectSpec, Step

Arr = NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Trajectory:
    """One object's sampled flight and what it emits; ``states`` is (K, 6), NaN = absent."""

    id: str
    type: str
    family: str
    states: Arr
    hostile: bool = False
    friendly: bool = False
    rf_protocol: str | None = None
    remote_id: str | None = None
    icao: str | None = None
    callsign: str | None = None
    rcs_dbsm: float | None = None


def grid(duration_s: float, dt: float) -> Arr:
    k = math.floor(duration_s / dt + 1e-9) + 1
    return np.arange(k, dtype=float) * dt


def _window(states: Arr, t: Arr, start: float, end: float | None) -> Arr:
    mask = t < start - 1e-9
    if end is not None:
        mask |= t > end + 1e-9
    states[mask] = np.nan
    return states


# ----------------------------------------------------------------------------- drones


def fly_drone(spec: ObjectSpec, t: Arr) -> Arr:
    """Integrate a drone's script on the grid (deterministic: no noise in the guidance)."""
    p = spec.params
    fixed = spec.type == "fixed_wing"
    speed = float(p.get("speed_mps", 22.0 if fixed else 15.0))
    climb = float(p.get("climb_mps", 3.0 if fixed else 4.0))
    descent = float(p.get("descent_mps", 4.0 if fixed else 3.0))
    accel = float(p.get("accel_mps2", 2.0 if fixed else 4.0))
    r_min = float(p.get("min_turn_radius_m", 60.0))
    turn = speed / r_min if fixed else math.radians(float(p.get("turn_rate_dps", 90.0)))
    dive_speed = float(p.get("dive_speed_mps", 1.3 * speed))
    after = str(p.get("after", "hover"))
    dt = float(t[1] - t[0]) if len(t) > 1 else 0.1
    pos = np.array([float(x) for x in p["start_enu_m"]])
    steps = list(spec.script)
    # initial velocity: towards the first goal at start speed
    v0 = float(p.get("start_speed_mps", speed))
    hdg = 0.0
    if steps and steps[0].kind in ("transit", "dive"):
        d = np.asarray(steps[0].target[:2]) - pos[:2]
        hdg = math.atan2(d[0], d[1])
    hs = v0
    vu = 0.0
    out = np.full((len(t), 6), np.nan)
    k0 = int(np.searchsorted(t, spec.start_s - 1e-9))
    si = 0
    step_t = 0.0
    gone = False
    for k in range(k0, len(t)):
        if spec.end_s is not None and t[k] > spec.end_s + 1e-9:
            break
        out[k, :3] = pos
        out[k, 3:] = (hs * math.sin(hdg), hs * math.cos(hdg), vu)
        step: Step | None = steps[si] if si < len(steps) else None
        # desired horizontal velocity (speed, heading) and vertical speed
        want_s, want_h, want_u = 0.0, hdg, 0.0
        vmax_u, vmin_u = climb, -descent
        done = False
        if step is None:
            if after == "vanish":
                gone = True
            elif fixed:
                step = Step("orbit", (pos[0], pos[1], pos[2]), None, math.inf, r_min)
                steps.append(step)
        if gone:
            break
        if step is not None:
            sp = step.speed_mps or (dive_speed if step.kind == "dive" else speed)
            if step.kind in ("transit", "dive"):
                d = np.asarray(step.target) - pos
                dh = math.hypot(d[0], d[1])
                dist = float(np.linalg.norm(d))
                want_h = math.atan2(d[0], d[1]) if dh > 1e-6 else hdg
                if step.kind == "dive":
                    # straight at the target: split the speed along the line of sight
                    want_s = sp * dh / max(dist, 1e-6)
                    want_u = sp * d[2] / max(dist, 1e-6)
                    vmin_u = -max(descent, sp)
                else:
                    brake = math.sqrt(2.0 * accel * dh) if not fixed else sp
                    want_s = min(sp, brake)
                    want_u = d[2] / 2.0
                done = dist < max(3.0, 1.5 * max(hs, abs(vu)) * dt)
            elif step.kind == "loiter":
                want_s = 0.0
                if fixed:
                    step = Step("orbit", (pos[0], pos[1], pos[2]), None, step.duration_s, r_min)
                    steps[si] = step
                done = step_t >= step.duration_s
            if step.kind == "orbit":
                c = np.asarray(step.target[:2])
                r = pos[:2] - c
                rr = max(float(np.hypot(r[0], r[1])), 1e-6)
                rad = max(step.radius_m, r_min if fixed else 1.0)
                tang = np.array([-r[1], r[0]]) / rr if step.ccw else np.array([r[1], -r[0]]) / rr
                corr = np.clip((rr - rad) * 0.5, -sp, sp)
                vd = tang * sp - (r / rr) * corr
                want_h = math.atan2(vd[0], vd[1])
                want_s = min(sp, float(np.hypot(vd[0], vd[1])))
                alt = step.target[2] if step.target[2] >= 0 else pos[2]
                want_u = (alt - pos[2]) / 2.0
                done = step_t >= step.duration_s
        want_u = min(max(want_u, vmin_u), vmax_u)
        # apply limits
        dpsi = (want_h - hdg + math.pi) % (2 * math.pi) - math.pi
        if hs < 0.5 and not fixed:
            hdg = want_h
        else:
            lim = turn * dt
            hdg += max(-lim, min(lim, dpsi))
            if not fixed:
                want_s *= max(math.cos(dpsi), 0.0)
        if fixed:
            want_s = max(want_s, speed) if step is None or step.kind != "dive" else want_s
        hs += max(-accel * dt, min(accel * dt, want_s - hs))
        vu += max(-accel * dt * 2, min(accel * dt * 2, want_u - vu))
        pos = pos + np.array([hs * math.sin(hdg), hs * math.cos(hdg), vu]) * dt
        pos[2] = max(pos[2], 0.0)
        step_t += dt
        if done:
            if step is not None and step.kind == "dive":
                break
            si += 1
            step_t = 0.0
    return out


# ----------------------------------------------------------------------------- birds


def flapping_birds(
    rng: np.random.Generator,
    t: Arr,
    p0: Arr,
    heading: Arr,
    speed: Arr,
    wander_dps: float = 3.0,
    flap: bool = True,
) -> Arr:
    """``n`` birds at once: returns (K, n, 6). Heading random walk, speed and height oscillate."""
    n = len(p0)
    K = len(t)
    dt = float(t[1] - t[0]) if K > 1 else 0.1
    dpsi = rng.normal(0.0, math.radians(wander_dps) * math.sqrt(dt), (K, n))
    dpsi[0] = 0.0
    psi = heading[None, :] + np.cumsum(dpsi, axis=0)
    amp_s = 0.15 if flap else 0.0
    per_s = rng.uniform(20.0, 60.0, n)
    ph = rng.uniform(0, 2 * math.pi, (2, n))
    s = speed[None, :] * (1.0 + amp_s * np.sin(2 * math.pi * t[:, None] / per_s + ph[0]))
    a_z = 2.5 if flap else 0.5
    per_z = rng.uniform(9.0, 12.0, n)
    w = 2 * math.pi / per_z
    u = p0[None, :, 2] + a_z * np.sin(w * t[:, None] + ph[1]) - a_z * np.sin(ph[1])
    vu = a_z * w * np.cos(w * t[:, None] + ph[1])
    ve = s * np.sin(psi)
    vn = s * np.cos(psi)
    e = p0[None, :, 0] + np.concatenate([np.zeros((1, n)), np.cumsum(ve[:-1] * dt, axis=0)])
    nn = p0[None, :, 1] + np.concatenate([np.zeros((1, n)), np.cumsum(vn[:-1] * dt, axis=0)])
    return np.stack([e, nn, np.maximum(u, 1.0), ve, vn, vu], axis=2)


def soaring_bird(rng: np.random.Generator, t: Arr, p0: Arr, heading: float, speed: float) -> Arr:
    """Thermal soaring: circles of ~40 m radius while climbing, then straight glides sinking."""
    K = len(t)
    dt = float(t[1] - t[0]) if K > 1 else 0.1
    omega = np.zeros(K)
    vu = np.zeros(K)
    k = 0
    circling = bool(rng.random() < 0.5)
    direction = 1.0 if rng.random() < 0.5 else -1.0
    while k < K:
        dur = rng.uniform(40.0, 120.0) if circling else rng.uniform(30.0, 80.0)
        m = min(K, k + max(1, int(dur / dt)))
        if circling:
            omega[k:m] = direction * speed / rng.uniform(30.0, 50.0)
            vu[k:m] = rng.uniform(0.8, 2.0)
        else:
            vu[k:m] = -rng.uniform(0.5, 1.2)
        circling = not circling
        k = m
    psi = heading + np.concatenate([[0.0], np.cumsum(omega[:-1] * dt)])
    ve = speed * np.sin(psi)
    vn = speed * np.cos(psi)
    e = p0[0] + np.concatenate([[0.0], np.cumsum(ve[:-1] * dt)])
    nn = p0[1] + np.concatenate([[0.0], np.cumsum(vn[:-1] * dt)])
    u = p0[2] + np.concatenate([[0.0], np.cumsum(vu[:-1] * dt)])
    vu = np.where(u < 15.0, np.maximum(vu, 0.0), vu)
    u = np.maximum(u, 15.0)
    return np.stack([e, nn, u, ve, vn, vu], axis=1)


# ----------------------------------------------------------------------------- aircraft


def polyline(waypoints: Arr, speed: float, start: float, t: Arr) -> Arr:
    """Constant speed along straight legs; absent before ``start`` and after the last point."""
    seg = np.diff(waypoints, axis=0)
    lens = np.linalg.norm(seg, axis=1)
    cum = np.concatenate([[0.0], np.cumsum(lens)])
    s = (t - start) * speed
    out = np.full((len(t), 6), np.nan)
    ok = (s >= -1e-9) & (s <= cum[-1] + 1e-9)
    if not ok.any():
        return out
    idx = np.clip(np.searchsorted(cum, s[ok], side="right") - 1, 0, len(seg) - 1)
    frac = (s[ok] - cum[idx]) / np.maximum(lens[idx], 1e-9)
    out[ok, :3] = waypoints[idx] + seg[idx] * frac[:, None]
    out[ok, 3:] = seg[idx] / np.maximum(lens[idx], 1e-9)[:, None] * speed
    return out


# ----------------------------------------------------------------------------- expansion


def expand(spec: ObjectSpec, t: Arr, rng: np.random.Generator) -> list[Trajectory]:
    """Turn one spec into trajectories (groups into many; ids ``<id>-<k>``)."""
    p = spec.params
    fam = FAMILY.get(spec.type, "drone")

    def one(tid: str, states: Arr, **kw: object) -> Trajectory:
        typ = str(kw.pop("type", spec.type))
        family = str(kw.pop("family", fam))
        base: dict[str, object] = {
            "hostile": spec.hostile,
            "friendly": spec.friendly,
            "rf_protocol": spec.rf_protocol,
            "remote_id": spec.remote_id,
            "icao": spec.icao,
            "callsign": spec.callsign,
            "rcs_dbsm": p.get("rcs_dbsm"),
        }
        base.update(kw)
        return Trajectory(tid, typ, family, _window(states, t, spec.start_s, spec.end_s), **base)  # type: ignore[arg-type]

    if spec.type in ("multirotor", "fixed_wing"):
        return [one(spec.id, fly_drone(spec, t))]
    if spec.type == "bird":
        p0 = np.array([float(x) for x in p["start_enu_m"]])
        hdg = math.radians(float(p.get("heading_deg", rng.uniform(0, 360))))
        sp = float(p.get("speed_mps", rng.uniform(8.0, 14.0)))
        if p.get("mode", "flapping") == "soaring":
            return [one(spec.id, soaring_bird(rng, t, p0, hdg, sp))]
        st = flapping_birds(
            rng,
            t,
            p0[None, :],
            np.array([hdg]),
            np.array([sp]),
            float(p.get("heading_wander_dps", 3.0)),
        )
        return [one(spec.id, st[:, 0, :])]
    if spec.type == "flock":
        n = int(p["count"])
        c = np.array([float(x) for x in p["center_enu_m"]])
        spread = float(p.get("spread_m", 25.0))
        hdg = math.radians(float(p.get("heading_deg", rng.uniform(0, 360))))
        sp = float(p.get("speed_mps", rng.uniform(9.0, 13.0)))
        lead = flapping_birds(
            rng,
            t,
            c[None, :],
            np.array([hdg]),
            np.array([sp]),
            float(p.get("heading_wander_dps", 2.0)),
        )[:, 0, :]
        offs = rng.normal(0.0, spread, (n, 3)) * np.array([1.0, 1.0, 0.2])
        wob = flapping_birds(
            rng,
            t,
            np.zeros((n, 3)) + np.array([0, 0, 50.0]),
            rng.uniform(0, 2 * math.pi, n),
            np.full(n, 0.4),
            30.0,
        )
        wob[:, :, 2] -= 50.0
        out = []
        for k in range(n):
            st = lead.copy()
            st[:, :3] += offs[k] + wob[:, k, :3] - wob[0, k, :3]
            st[:, 3:] += wob[:, k, 3:] * np.array([1.0, 1.0, 0.3])
            out.append(one(f"{spec.id}-{k:02d}", st))
        return out
    if spec.type == "migration":
        n = int(p["count"])
        hw = float(p.get("half_width_m", 4000.0))
        hdg0 = math.radians(float(p.get("heading_deg", 200.0)))
        spread = math.radians(float(p.get("heading_spread_deg", 30.0)))
        med = float(p.get("alt_median_m", 200.0))
        alts = med * np.exp(rng.normal(0.0, float(p.get("alt_log_sigma", 0.6)), n))
        alts = np.clip(alts, float(p.get("alt_min_m", 20.0)), float(p.get("alt_max_m", 1500.0)))
        p0 = np.column_stack([rng.uniform(-hw, hw, n), rng.uniform(-hw, hw, n), alts])
        hd = hdg0 + rng.normal(0.0, spread, n)
        spd = np.clip(
            rng.normal(float(p.get("speed_mps", 12.0)), float(p.get("speed_sd_mps", 3.0)), n),
            6.0,
            22.0,
        )
        st = flapping_birds(rng, t, p0, hd, spd, float(p.get("heading_wander_dps", 2.0)))
        w = len(str(n - 1))
        return [one(f"{spec.id}{k:0{w}d}", st[:, k, :]) for k in range(n)]
    if spec.type == "traffic":
        n = int(p["count"])
        hw = float(p.get("half_width_m", 20000.0))
        p0 = np.column_stack(
            [
                rng.uniform(-hw, hw, n),
                rng.uniform(-hw, hw, n),
                rng.uniform(float(p.get("alt_min_m", 50.0)), float(p.get("alt_max_m", 2000.0)), n),
            ]
        )
        spd = rng.uniform(
            float(p.get("speed_min_mps", 5.0)), float(p.get("speed_max_mps", 35.0)), n
        )
        cls = str(p.get("class", "drone"))
        st = flapping_birds(
            rng,
            t,
            p0,
            rng.uniform(0, 2 * math.pi, n),
            spd,
            float(p.get("heading_wander_dps", 1.0)),
            flap=cls == "bird",
        )
        w = len(str(n - 1))
        typ = {"drone": "multirotor", "bird": "bird", "aircraft": "aircraft"}[cls]
        return [one(f"{spec.id}{k:0{w}d}", st[:, k, :], type=typ, family=cls) for k in range(n)]
    if spec.type in ("aircraft", "helicopter"):
        wps = np.array([[float(x) for x in w] for w in p["waypoints"]])
        sp = float(p.get("speed_mps", 50.0 if spec.type == "aircraft" else 40.0))
        return [one(spec.id, polyline(wps, sp, spec.start_s, t))]
    if spec.type == "swarm":
        return _swarm(spec, t, rng, one)
    if spec.type == "replay":
        from skywarden.sim.replay import replay_states

        states = replay_states(spec, t)
        if states is None:
            return []
        cls = str(p.get("class", "drone"))
        typ = {"drone": "multirotor", "bird": "bird", "aircraft": "aircraft"}[cls]
        return [one(spec.id, states, type=typ, family=cls)]
    raise AssertionError(spec.type)


def _swarm(spec: ObjectSpec, t: Arr, rng: np.random.Generator, one: object) -> list[Trajectory]:
    p = spec.params
    n = int(p["count"])
    c = np.array([float(x) for x in p["spawn_center_enu_m"]])
    tgt = np.array([float(x) for x in p["target_enu_m"]])
    rad = float(p.get("spawn_radius_m", 300.0))
    sp0 = float(p.get("speed_mps", 15.0))
    stagger = float(p.get("stagger_s", 30.0))
    beh = str(p.get("behaviour", "dive"))
    orb = float(p.get("orbit_radius_m", 200.0))
    lo, hi = float(p.get("alt_min_m", 40.0)), float(p.get("alt_max_m", 120.0))
    rf_frac = float(p.get("rf_fraction", 0.0))
    out = []
    w = len(str(n - 1))
    for k in range(n):
        a = rng.uniform(0, 2 * math.pi)
        r = rad * math.sqrt(rng.uniform())
        start = c + np.array([r * math.sin(a), r * math.cos(a), 0.0])
        start[2] = rng.uniform(lo, hi)
        sp = sp0 * rng.uniform(0.85, 1.15)
        if beh == "dive":
            aim = tgt + np.array([*rng.normal(0, 20.0, 2), 0.0])
            script: tuple[Step, ...] = (Step("dive", (aim[0], aim[1], aim[2])),)
        elif beh == "orbit":
            b = rng.uniform(0, 2 * math.pi)
            entry = tgt + np.array([orb * math.sin(b), orb * math.cos(b), 0.0])
            script = (
                Step("transit", (entry[0], entry[1], start[2])),
                Step("orbit", (tgt[0], tgt[1], start[2]), None, math.inf, orb),
            )
        else:
            script = (Step("transit", (tgt[0], tgt[1], start[2])),)
        sub = ObjectSpec(
            id=f"{spec.id}{k:0{w}d}",
            type="multirotor",
            start_s=spec.start_s + rng.uniform(0.0, stagger),
            end_s=spec.end_s,
            params={"start_enu_m": list(start), "speed_mps": sp, "after": "hover"},
            script=script,
        )
        rfp = "swarm-link" if rng.uniform() < rf_frac else None
        out.append(one(sub.id, fly_drone(sub, t), rf_protocol=rfp))  # type: ignore[operator]
    return out
