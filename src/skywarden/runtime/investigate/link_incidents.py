"""Linking incidents: which suspect drones of several investigations likely share an origin.

Input: investigation records (``skywarden investigate`` writes them; each names its site's
geodetic origin and, per suspect track, the launch region in latitude/longitude with its 95 %
ellipse, the identity and the speed profile). All launch points go into one local frame (ENU
about the first record's origin). Two tracks, of the same or different incidents and sites,
are linked when

* their launch regions overlap: ``d' (C1 + C2 + s^2 I)^-1 d <= chi2_2(p)`` with ``d`` the
  distance between the launch points, ``C`` each ellipse's covariance and ``s`` (default
  150 m) for a crew that moves its launch spot a little between sorties; or
* they carry the same cooperative identity (Remote ID serial).

Linked tracks are grouped (union-find) into likely common origins, each listed with its
members, the centroid of their launch points (lat/lon) and the evidence of every link,
including whether the speed profiles agree (median ground speed within ``speed_tol_mps``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from skywarden.core.geo import GeoOrigin
from skywarden.tracking.gating import chi2_gate


@dataclass(frozen=True)
class Member:
    incident: str
    track: str
    e: float
    n: float
    cov: np.ndarray
    identity: str | None
    speed: float | None
    first_t: float


@dataclass(frozen=True)
class Origin:
    members: tuple[Member, ...]
    lat: float
    lon: float
    evidence: tuple[str, ...]


def _cov(ell: dict[str, Any]) -> np.ndarray:
    k2 = chi2_gate(2, float(ell.get("confidence", 0.95)))
    a = float(ell["semi_major"]) ** 2 / k2
    b = float(ell["semi_minor"]) ** 2 / k2
    th = math.radians(float(ell["orientation_deg"]))  # clockwise from north
    u = np.array([math.sin(th), math.cos(th)])  # major axis (east, north)
    v = np.array([u[1], -u[0]])
    cov: np.ndarray = a * np.outer(u, u) + b * np.outer(v, v)
    return cov


def members(
    records: Sequence[dict[str, Any]], names: Sequence[str]
) -> tuple[GeoOrigin, list[Member]]:
    """Suspect tracks with a launch region, in ENU about the first record's origin."""
    o = records[0]["origin"]
    frame = GeoOrigin(float(o["lat"]), float(o["lon"]), float(o.get("alt_m", 0.0)))
    out = []
    for rec, name in zip(records, names, strict=True):
        for t in rec.get("tracks", []):
            lp = t.get("launch")
            if not t.get("suspect") or not lp or "latlon" not in lp:
                continue
            enu = frame.to_enu(float(lp["latlon"][0]), float(lp["latlon"][1]), frame.alt_m)
            out.append(
                Member(
                    name,
                    str(t["id"]),
                    float(enu[0]),
                    float(enu[1]),
                    _cov(lp["ellipse_m"]),
                    t.get("identity"),
                    t.get("speed_median_mps"),
                    float(t.get("first_trace_t", 0.0)),
                )
            )
    return frame, out


def link(
    records: Sequence[dict[str, Any]],
    names: Sequence[str],
    p: float = 0.99,
    move_m: float = 150.0,
    speed_tol_mps: float = 3.0,
) -> list[Origin]:
    """Likely common origins (groups of two or more), most members first."""
    if not records:
        return []
    frame, ms = members(records, names)
    gate = chi2_gate(2, p)
    parent = list(range(len(ms)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    why: dict[int, list[str]] = {}
    for i in range(len(ms)):
        for j in range(i + 1, len(ms)):
            a, b = ms[i], ms[j]
            if a.incident == b.incident and a.track == b.track:
                continue
            d = np.array([a.e - b.e, a.n - b.n])
            S = a.cov + b.cov + np.eye(2) * move_m**2
            d2 = float(d @ np.linalg.solve(S, d))
            reasons = []
            if d2 <= gate:
                reasons.append(f"launch regions overlap ({math.hypot(*d):.0f} m apart)")
            if a.identity and a.identity == b.identity:
                reasons.append(f"same identity {a.identity}")
            if not reasons:
                continue
            if a.speed is not None and b.speed is not None:
                same = abs(a.speed - b.speed) <= speed_tol_mps
                reasons.append(
                    f"speed {a.speed:.0f} vs {b.speed:.0f} m/s ({'alike' if same else 'differ'})"
                )
            ra, rb = find(i), find(j)
            parent[ra] = rb
            text = f"{a.incident}:{a.track} ~ {b.incident}:{b.track}: " + "; ".join(reasons)
            why.setdefault(rb, []).append(text)
    groups: dict[int, list[int]] = {}
    for i in range(len(ms)):
        groups.setdefault(find(i), []).append(i)
    evidence: dict[int, list[str]] = {}
    for k, texts in why.items():
        evidence.setdefault(find(k), []).extend(texts)
    out = []
    for root, idx in groups.items():
        if len(idx) < 2:
            continue
        e = float(np.mean([ms[i].e for i in idx]))
        n = float(np.mean([ms[i].n for i in idx]))
        lat, lon, _ = frame.to_geodetic(e, n, frame.alt_m)
        out.append(
            Origin(
                tuple(sorted((ms[i] for i in idx), key=lambda m: (m.incident, m.first_t))),
                float(lat),
                float(lon),
                tuple(evidence.get(root, [])),
            )
        )
    return sorted(out, key=lambda o: -len(o.members))


def link_command(paths: Sequence[str]) -> tuple[int, str]:
    """``skywarden link-incidents REC.json ...``: exit code and the text printed."""
    import json
    from pathlib import Path

    recs = []
    for p in paths:
        try:
            recs.append(json.loads(Path(p).read_text(encoding="utf-8")))
        except (OSError, ValueError) as e:
            return 2, f"skywarden link-incidents: {p}: {e}"
    origins = link(recs, list(paths))
    n = len(members(recs, list(paths))[1]) if recs else 0
    lines = [f"{n} suspect tracks with a launch region in {len(recs)} investigations"]
    if not origins:
        lines.append("no likely common origin")
    for k, o in enumerate(origins, 1):
        lines.append(f"origin {k}: {o.lat:.6f}, {o.lon:.6f} ({len(o.members)} tracks)")
        lines += [f"  {m.incident}: track {m.track}" for m in o.members]
        lines += [f"    {w}" for w in o.evidence]
    return 0, "\n".join(lines)
