"""What we missed: per suspect track, what each sensor should have seen against what it did.

Along the track's reconstructed (smoothed) path, at every report time of every sensor, the
sensor's expected detection probability is its data-sheet Pd for the track's class
(``SensorSpec.pd_for``) inside its coverage (``sim.sensors.coverage_mask``: range, elevation
limits, field of view, radio horizon, with the default simulation parameters of a bare site
sensor), and 0 outside. A direction finder is expected to hear the track only if it was heard
by some direction finder at all (an RF-silent drone owes nothing to RF), a cooperative
receiver only if the track carried an identity. Against this, the reports that actually
held one of the track's detections give, per sensor:

* ``expected``: the sum of Pd (the detections it should have made) and ``detected``;
* ``first_expected_t`` and ``first_detected_t``: a late first detection;
* ``gaps``: runs of at least ``min_gap_scans`` reports in which it should have seen the
  track (Pd >= 0.5) and did not, each with the sensors that did see it meanwhile (who closed
  the gap) — or none;
* a one-line ``verdict``: never saw it / late / gaps / as expected / out of coverage.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from skywarden.core.site import SensorKind, SensorSpec, Site
from skywarden.runtime.investigate.rerun import Investigation, RetroTrack
from skywarden.sim.coverage import default_model
from skywarden.sim.sensors import coverage_mask

_BEARING = (SensorKind.RF,)
RF_HEARD_SHARE = 0.2  # bearings per second of track life for "its control link was heard"
_COOPERATIVE = (SensorKind.REMOTE_ID, SensorKind.ADSB)


@dataclass(frozen=True)
class Gap:
    t_from: float
    t_to: float
    expected: float  # detections it should have made in the gap
    closed_by: tuple[str, ...]  # sensors that saw the track meanwhile


@dataclass(frozen=True)
class SensorAccount:
    sensor_id: str
    kind: str
    reports: int  # reports of this sensor during the track's life
    in_coverage: int
    expected: float
    detected: int
    first_expected_t: float | None
    first_detected_t: float | None
    gaps: tuple[Gap, ...]
    verdict: str


def _expected_pd(
    spec: SensorSpec, cls: str, rel: np.ndarray, heard_rf: bool, identity: str | None
) -> np.ndarray:
    cov = coverage_mask(default_model(spec), rel, float(spec.position_enu[2]))
    if spec.kind in _BEARING and not heard_rf:
        return np.zeros(len(rel))
    if spec.kind in _COOPERATIVE and identity is None:
        return np.zeros(len(rel))
    return np.where(cov, spec.pd_for(cls if cls != "unknown" else None), 0.0)


def account(
    site: Site,
    track: RetroTrack,
    reports: Sequence[tuple[float, str]],
    min_gap_scans: int = 3,
) -> list[SensorAccount]:
    """Per sensor of ``site``: expected against actual along ``track`` (see module doc)."""
    sm = track.smoothed
    t0, t1 = track.first_t, track.last_t
    hit: dict[str, set[float]] = defaultdict(set)
    for d in sm.used:
        hit[d.sensor_id].add(round(d.t, 6))
    n_rf = sum(
        len(ts) for s, ts in hit.items() if (sp := site.sensor_map.get(s)) and sp.kind in _BEARING
    )
    # a few bearings can be another emitter's, wrongly associated: heard means often heard
    heard_rf = n_rf >= max(5.0, RF_HEARD_SHARE * (t1 - t0))
    by_sensor: dict[str, list[float]] = defaultdict(list)
    for t, sid in reports:
        if t0 - 1e-6 <= t <= t1 + 1e-6:
            by_sensor[sid].append(t)
    out = []
    for spec in site.sensors:
        times = sorted(set(by_sensor.get(spec.id, [])))
        if not times:
            continue
        pos = np.array([sm.state_at(t)[0][:3] for t in times])
        rel = pos - np.asarray(spec.position_enu, dtype=float)
        pd = _expected_pd(spec, track.cls, rel, heard_rf, track.identity)
        got = np.array([round(t, 6) in hit[spec.id] for t in times])
        gaps = _gaps(times, pd, got, hit, spec.id, min_gap_scans)
        fe = next((t for t, p in zip(times, pd, strict=True) if p > 0), None)
        fd = next((t for t, g in zip(times, got, strict=True) if g), None)
        out.append(
            SensorAccount(
                sensor_id=spec.id,
                kind=spec.kind.value,
                reports=len(times),
                in_coverage=int((pd > 0).sum()),
                expected=round(float(pd.sum()), 1),
                detected=int(got.sum()),
                first_expected_t=fe,
                first_detected_t=fd,
                gaps=tuple(gaps),
                verdict=(
                    "not expected: no control link heard (RF-silent)"
                    if spec.kind in _BEARING and not heard_rf
                    else _verdict(pd, got, fe, fd, gaps)
                ),
            )
        )
    return out


def _gaps(
    times: list[float],
    pd: np.ndarray,
    got: np.ndarray,
    hit: dict[str, set[float]],
    sid: str,
    min_scans: int,
) -> list[Gap]:
    out: list[Gap] = []
    run: list[int] = []
    for i in range(len(times) + 1):
        if i < len(times) and pd[i] >= 0.5 and not got[i]:
            run.append(i)
            continue
        if len(run) >= min_scans:
            a, b = times[run[0]], times[run[-1]]
            closers = tuple(
                sorted(o for o, ts in hit.items() if o != sid and any(a <= t <= b for t in ts))
            )
            out.append(Gap(a, b, round(float(pd[run].sum()), 1), closers))
        run = []
    return out


def _verdict(
    pd: np.ndarray, got: np.ndarray, fe: float | None, fd: float | None, gaps: list[Gap]
) -> str:
    if fe is None:
        return "out of coverage (not expected to see it)" if not got.any() else "as expected"
    if fd is None:
        return f"never saw it (expected {pd.sum():.0f} detections)"
    parts = []
    if fd - fe >= 3.0:
        parts.append(f"late by {fd - fe:.0f} s")
    if gaps:
        open_ = sum(1 for g in gaps if not g.closed_by)
        parts.append(f"{len(gaps)} gaps ({open_} not covered by another sensor)")
    ratio = got.sum() / max(pd.sum(), 1e-9)
    if not parts:
        return f"as expected ({ratio:.0%} of expected detections)"
    return "; ".join(parts) + f"; {ratio:.0%} of expected detections"


def missed_report(inv: Investigation, suspects_only: bool = True) -> dict[str, list[SensorAccount]]:
    """``account`` for every (suspect) track of an investigation."""
    reports = [(t, sid) for t, sid, _ in inv.scans]
    white = inv.site.whitelisted_identities
    out = {}
    for r in inv.tracks:
        suspect = r.cls == "drone" and (r.identity is None or r.identity not in white)
        if suspects_only and not suspect:
            continue
        out[r.id] = account(inv.site, r, reports)
    return out
