"""``skywarden investigate`` front end: run the investigation, write its tracks and its record.

The record (``investigation.json`` beside the tracks, or ``--record PATH``) is what the
report and the evidence package carry: per retrospective track its span, the live track ids
it joins, when the live picture first confirmed it against its earliest trace, its launch
region (``threat.launch``) and, per sensor, what it should have seen against what it did
(``runtime.investigate.missed``).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

import numpy as np

from skywarden.core.errors import ConfigError
from skywarden.core.geo import GeoOrigin
from skywarden.runtime.investigate.missed import SensorAccount, missed_report
from skywarden.runtime.investigate.output import write_tracks
from skywarden.runtime.investigate.rerun import Investigation, RetroTrack, investigate_source


def _kinematics(r: RetroTrack) -> dict[str, float]:
    """Speed profile and approach: median and max ground speed, heading of the last third."""
    X = r.smoothed.X
    sp = np.hypot(X[:, 3], X[:, 4])
    tail = X[2 * len(X) // 3 :]
    ve, vn = float(tail[:, 3].mean()), float(tail[:, 4].mean())
    return {
        "speed_median_mps": round(float(np.median(sp)), 2),
        "speed_max_mps": round(float(sp.max()), 2),
        "approach_heading_deg": round(math.degrees(math.atan2(ve, vn)) % 360.0, 1),
        "cruise_height_m": round(float(np.median(X[:, 2])), 1),
    }


def _launch(r: RetroTrack, origin: GeoOrigin) -> dict[str, Any] | None:
    lp = r.launch
    if lp is None:
        return None
    lat, lon, _ = origin.to_geodetic(*lp.origin_enu)
    return {
        "latlon": [round(float(lat), 7), round(float(lon), 7)],
        "method": lp.method,
        "origin_enu_m": [round(v, 1) for v in lp.origin_enu],
        "origin_t": round(lp.origin_t, 2),
        "ellipse_m": {
            "semi_major": round(lp.ellipse.semi_major_m, 1),
            "semi_minor": round(lp.ellipse.semi_minor_m, 1),
            "orientation_deg": round(lp.ellipse.orientation_deg, 1),
            "confidence": lp.ellipse.confidence,
        },
        "operator_enu_m": None
        if lp.operator_enu is None
        else [round(v, 1) for v in lp.operator_enu],
    }


def _missed(accts: list[SensorAccount]) -> list[dict[str, Any]]:
    return [
        {
            "sensor": a.sensor_id,
            "kind": a.kind,
            "verdict": a.verdict,
            "expected": a.expected,
            "detected": a.detected,
            "first_expected_t": a.first_expected_t,
            "first_detected_t": a.first_detected_t,
            "gaps": [
                {"from": g.t_from, "to": g.t_to, "expected": g.expected, "closed_by": g.closed_by}
                for g in a.gaps
            ],
        }
        for a in accts
    ]


def record(inv: Investigation, source: str) -> dict[str, Any]:
    """The investigation record (JSON-ready): hostile (unknown drone) tracks first."""
    white = inv.site.whitelisted_identities
    missed = missed_report(inv)
    rows = []
    for r in inv.tracks:
        hostile = r.cls == "drone" and (r.identity is None or r.identity not in white)
        rows.append(
            {
                "id": r.id,
                "live_ids": list(r.merged_ids),
                "class": r.cls,
                "identity": r.identity,
                "suspect": hostile,
                "first_trace_t": round(r.first_t, 3),
                "live_first_confirmed_t": round(r.live_first_confirmed_t, 3),
                "earlier_by_s": round(r.live_first_confirmed_t - r.first_t, 3),
                "last_t": round(r.last_t, 3),
                "detections": len(r.smoothed.used),
                "extended_back_plots": r.extended_by,
                "sensors": list(r.sensors),
                "launch": _launch(r, inv.site.origin),
                **_kinematics(r),
                "in_flight_at_start": r.in_flight_at_start,
                "missed": _missed(missed[r.id]) if r.id in missed else None,
            }
        )
    rows.sort(key=lambda d: (not d["suspect"], d["class"] != "drone", d["first_trace_t"]))
    return {
        "type": "investigation",
        "source": source,
        "site": inv.site.name,
        "origin": {
            "lat": inv.site.origin.lat_deg,
            "lon": inv.site.origin.lon_deg,
            "alt_m": inv.site.origin.alt_m,
        },
        "window": [inv.frame_times[0], inv.frame_times[-1]] if inv.frame_times else None,
        "tracks": rows,
    }


def _journal_record(url: str, inv: Investigation, rec: dict[str, Any]) -> int:
    """Append the record to the journal it explains (hash-chained like everything else)."""
    from skywarden.store.journal import open_journal
    from skywarden.store.records import InvestigationRecord

    t0, t1 = inv.frame_times[0], inv.frame_times[-1]
    with open_journal(url) as j:
        return j.append(InvestigationRecord(t1, "investigate", t0, t1, rec))


def investigate_command(a: argparse.Namespace) -> int:
    try:
        inv = investigate_source(a.source, a.t_from, a.t_to, dem=a.dem or ())
    except (ConfigError, ValueError, FileNotFoundError) as e:
        print(f"skywarden investigate: {e}", file=sys.stderr)
        return 2
    out = Path(a.output)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as f:
        n = write_tracks(inv, f)
    rec_path = Path(a.record) if a.record else out.with_name("investigation.json")
    rec = record(inv, a.source)
    rec_path.write_text(json.dumps(rec, indent=1), encoding="utf-8")
    if not a.source.endswith(".jsonl") and inv.frame_times and not a.no_journal_record:
        seq = _journal_record(a.source, inv, rec)
        print(f"{a.source}: investigation record journaled as seq {seq}")
    suspects = [t for t in rec["tracks"] if t["suspect"]]
    print(f"{out}: {n} snapshots, {len(inv.tracks)} tracks ({len(suspects)} suspect drones)")
    for t in suspects:
        lp = t["launch"]
        where = "-" if lp is None else f"{lp['origin_enu_m'][:2]} ({lp['method']})"
        print(
            f"  track {t['id']}: first trace t={t['first_trace_t']} "
            f"({t['earlier_by_s']:+.1f} s before live), launch {where}"
        )
    print(f"{rec_path}: investigation record")
    return 0
